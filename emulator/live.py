"""An emulated unit running live behind a serial port, for the host tools.

    live = LiveUnit(uart="pty")          # or "pipe" (in-process, emu://) or "tcp" (socket://)
    live.start()
    print(live.port)                     # /dev/pts/N, or socket://127.0.0.1:PORT
    live.advance(600_000)                # tests: jump 10 virtual minutes (fast mode)
    live.stop()

The unit's main loop runs in a background thread: it steps when the UART has
input or the unit's wait has elapsed, and advances the virtual clock with
real time (times `speed`).  The serial link (firmware/core/protocol.py) is
attached with the maintenance key `key` -- by default (AUTO) the key
provisioned on its flash (FLASH/unit.key), else DEV_KEY (a public,
emulator-only key); .key_source says which -- and the maintenance REPL (emulator/repl.py) on the
emulated flash, so mpremote works once a maintenance session unlocks it.

`python -m emulator.live [--pty|--tcp PORT]` runs one and prints its port.
"""
import argparse
import collections
import hashlib
import os
import select
import socket
import sys
import threading
import time

from emulator.board import EmulatedUnit
from emulator.uart import PtyUart
from firmware.core import druglib as _druglib
from firmware.core import protocol as _protocol

# Public on purpose: anyone can read it here.  Never provision it on a board.
DEV_KEY = hashlib.sha256(b"statim emulator development key - not for patients").digest()
KEY_FILE = "unit.key"  # on the flash: 64 hex digits
AUTO = "auto"  # LiveUnit's key: the provisioned one if the flash has it, else DEV_KEY


class PipeUart:
    """A thread-safe byte pipe: the unit's side (readinto/write) and the host's."""

    def __init__(self):
        self._rx = collections.deque()
        self._tx = bytearray()
        self._cond = threading.Condition()
        self._wake = threading.Event()
        self.conn = 0  # bumped when a host opens or closes the port

    def link_id(self):
        return self.conn

    def host_connect(self):
        self.conn += 1
        self._wake.set()

    host_disconnect = host_connect

    # unit side
    def readinto(self, buf):
        n = 0
        rx = self._rx
        while rx and n < len(buf):
            buf[n] = rx.popleft()
            n += 1
        return n

    def write(self, data):
        with self._cond:
            self._tx.extend(data)
            self._cond.notify_all()
        return len(data)

    def wait_input(self, timeout):
        if not self._rx:
            self._wake.wait(timeout)
        self._wake.clear()

    # host side
    def host_write(self, data):
        self._rx.extend(bytes(data))
        self._wake.set()

    def host_read(self, size, timeout):
        """Up to size bytes; waits up to timeout (None: forever) for the first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._tx:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return b""
                self._cond.wait(left)
            out = bytes(self._tx[:size])
            del self._tx[:size]
            return out

    def host_waiting(self):
        return len(self._tx)

    def host_reset_input(self):
        with self._cond:
            self._tx.clear()

    def close(self):
        pass


class PtyWaitUart(PtyUart):
    def wait_input(self, timeout):
        try:
            select.select([self.master], [], [], timeout)
        except (OSError, ValueError):
            time.sleep(timeout)


class TcpUart:
    """A TCP server on 127.0.0.1 for pyserial's socket:// (one client at a time: a
    new client replaces the old one).  Every accept and every disconnect is a
    connection change (link_id), which ends a maintenance session."""

    def __init__(self, port=0):
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", port))
        self.server.listen(1)
        self.server.setblocking(False)
        self.port = self.server.getsockname()[1]
        self.client = None
        self.conn = 0

    def link_id(self):
        self._accept()
        return self.conn

    def _accept(self):
        try:
            c, _ = self.server.accept()
        except (BlockingIOError, OSError):
            return
        if self.client is not None:
            self.client.close()
        c.setblocking(False)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32768)  # a board's stack buffers KBs, not MBs
        self.client = c
        self.conn += 1

    def readinto(self, buf):
        self._accept()
        if self.client is None:
            return 0
        try:
            data = self.client.recv(len(buf))
        except BlockingIOError:
            return 0
        except OSError:
            data = b""
        if not data:  # peer closed
            self.client.close()
            self.client = None
            self.conn += 1
            return 0
        buf[: len(data)] = data
        return len(data)

    def write(self, data):
        """Non-blocking, as the HAL's uart_write: what the socket takes now."""
        if self.client is None:
            return len(data)  # nobody listening: a board's UART drops it too
        try:
            return self.client.send(data)
        except BlockingIOError:
            return 0
        except OSError:
            return len(data)

    def wait_input(self, timeout):
        socks = [self.server] + ([self.client] if self.client is not None else [])
        try:
            select.select(socks, [], [], timeout)
        except (OSError, ValueError):
            time.sleep(timeout)

    def close(self):
        for s in (self.client, self.server):
            if s is not None:
                s.close()


def read_key(flash):
    """The unit's maintenance key from its flash, or None."""
    if flash.size(KEY_FILE) < 0:
        return None
    with flash.open(KEY_FILE, "rb") as f:
        text = f.read().decode("ascii", "replace").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        return None
    return key if len(key) >= 16 else None


def flash_library(flash, key):
    """(the drug library installed on the flash, refusal reason): as a board checks
    it at every boot, by its seal and this unit's tag (libtag.installed)."""
    from firmware.core import libtag

    return libtag.installed(flash.open, flash.size, _protocol.FLASH_LIBRARY, _protocol.FLASH_LIBRARY_TAG, key)


def choose_key(flash, key=AUTO):
    """(key or None, where it comes from).  A provisioned flash's key always wins over the
    public development key; an unreadable key file gives no key at all, never the public one."""
    if key is not AUTO and key != AUTO:
        return key, ("given by the caller" if key is not None else "none (maintenance refused)")
    where = os.path.join(getattr(flash, "root", "?"), KEY_FILE)
    if flash.size(KEY_FILE) >= 0:
        k = read_key(flash)
        if k is None:
            return None, "none: %s is unreadable (not 32+ hex bytes); maintenance refused" % where
        return k, "provisioned %s" % where
    return DEV_KEY, "public development key (emulator only; no %s)" % where


def key_note(live):
    return "maintenance key: %s" % live.key_source


class LiveUnit:
    def __init__(self, uart="pipe", key=AUTO, speed=1.0, flash_dir=None, config=None, weight_kg=None,
                 repl=True, tcp_port=0, tick_start=0, name=None):
        self.name = name
        self.speed = float(speed)
        self.emu = EmulatedUnit(flash_dir=flash_dir, config=config, tick_start=tick_start)
        board = self.emu.board
        if uart == "pipe":
            self.uart = PipeUart()
            self.port = "emu://" + (name or "")
        elif uart == "pty":
            self.uart = PtyWaitUart()
            self.port = self.uart.slave_path
        elif uart == "tcp":
            self.uart = TcpUart(tcp_port)
            self.port = "socket://127.0.0.1:%d" % self.uart.port
        else:
            raise ValueError("uart must be pipe, pty or tcp, got %r" % (uart,))
        board.uart = self.uart
        key, self.key_source = choose_key(board.flash, key)
        lib, refused = flash_library(board.flash, key)
        if lib is not None:
            self.emu.unit.library = lib
        elif refused:
            self.emu.unit.refuse_installed(refused)
        self.repl = None
        if repl:
            from emulator.repl import MaintenanceRepl

            self.repl = MaintenanceRepl(board.flash.root, on_reset=self._repl_reset)
        self.link = _protocol.Link(self.emu.unit, board, key=key, rand=os.urandom, repl=self.repl)
        self.emu.unit.link = self.link
        if weight_kg is not None:
            self.emu.unit.set_weight(int(round(weight_kg * 1000)))
        self.lock = threading.RLock()
        self.resets = 0
        self._stop = threading.Event()
        self._thread = None
        self.error = None

    @property
    def unit(self):
        return self.emu.unit

    @property
    def board(self):
        return self.emu.board

    def _repl_reset(self):
        self.resets += 1  # soft reset from the REPL: back to bedside mode (the link does it)

    def start(self):
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="statim-live-unit", daemon=True)
            self._thread.start()
        return self

    def _run(self):
        last = time.monotonic()
        carry = 0.0
        wait_ms = 0
        try:
            while not self._stop.is_set():
                self.uart.wait_input(min(max(wait_ms, 0), 100) / 1000.0)
                with self.lock:
                    now = time.monotonic()
                    carry += (now - last) * 1000.0 * self.speed
                    last = now
                    if carry >= 1:
                        self.emu.board.clock.advance(int(carry))
                        carry -= int(carry)
                    wait_ms = self.emu.unit.step()
        except Exception as e:  # surfaced to tests; a board would reset on its watchdog
            self.error = e
            raise

    def advance(self, ms):
        """Jump the virtual clock ms ahead in fast mode (deadline to deadline)."""
        with self.lock:
            self.emu.run_for(ms)

    def call(self, fn):
        with self.lock:
            return fn(self.emu.unit)

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self.uart.close()


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m emulator.live", description=__doc__.split("\n\n")[0])
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--pty", action="store_true", help="serve on a pseudo-terminal (default)")
    g.add_argument("--tcp", type=int, metavar="PORT", help="serve on 127.0.0.1:PORT (socket://)")
    ap.add_argument("--flash", help="flash directory (default: a temporary one)")
    ap.add_argument("--speed", type=float, default=1.0, help="virtual seconds per real second")
    ap.add_argument("--weight", help="patient weight entered at boot, with its unit: 70kg, 154lb")
    ap.add_argument("--weight-kg", type=float, help="deprecated: --weight 70kg")
    args = ap.parse_args(argv)
    weight_kg = args.weight_kg
    if weight_kg is not None:
        print("deprecated: --weight-kg %g; write --weight %gkg" % (weight_kg, weight_kg), file=sys.stderr)
    if args.weight:  # the spelling every statim command uses
        from firmware.core import units

        try:
            weight_kg = units.parse_weight(args.weight) / 1000.0
        except units.UnitError as e:
            ap.error("--weight: %s" % e)
    live = LiveUnit(uart="tcp" if args.tcp is not None else "pty", tcp_port=args.tcp or 0, flash_dir=args.flash,
                    speed=args.speed, weight_kg=weight_kg)
    live.start()
    print(key_note(live), file=sys.stderr, flush=True)
    print(live.port, flush=True)
    try:
        while True:
            time.sleep(1)
            if live.error is not None:
                return 1
    except KeyboardInterrupt:
        pass
    finally:
        live.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
