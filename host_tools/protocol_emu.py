"""pyserial URL handler ``emu://``: an emulated Statim unit, started in-process.

    import serial, host_tools.link          # host_tools.link registers the handler
    s = serial.serial_for_url("emu://", timeout=1)        # a fresh unit, gone on close
    s = serial.serial_for_url("emu://bed1?weight=70kg")     # a named unit: reopening attaches to it

Options (query string): ``weight=70kg`` or ``weight=154lb`` (enter a weight at boot), ``speed=N``
(virtual seconds per real second), ``flash=DIR`` (the unit's flash directory),
``key=HEX`` (maintenance key; default: the emulator's public DEV_KEY),
``nokey`` (no key provisioned), ``unit=ID`` (unit id).

Like pyserial's ``loop://`` this is a full ``Serial`` (read/write/in_waiting/
timeouts), so everything above it -- the Statim client, mpremote's
SerialTransport -- cannot tell it from a board.  ``s.live`` is the
emulator.live.LiveUnit behind it (tests use it to jump virtual time).
"""
import errno
import threading
import time
import urllib.parse

from serial.serialutil import PortNotOpenError, SerialBase, SerialException, to_bytes

_units = {}  # name -> LiveUnit (named units outlive their connections)
_held = set()  # names of units a connection has opened with exclusive=True
_lock = threading.Lock()


def _options(url):
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() != "emu":
        raise SerialException("expected emu://[name][?options], got %r" % (url,))
    name = (parts.netloc + parts.path).strip("/")
    opts = {}
    for key, values in urllib.parse.parse_qs(parts.query, keep_blank_values=True).items():
        if key not in ("weight", "speed", "flash", "key", "nokey", "unit"):
            raise SerialException("emu:// does not know the option %r (weight, speed, flash, key, nokey, unit)" % key)
        opts[key] = values[-1]
    return name, opts


def get_unit(url):
    """The LiveUnit for an emu:// URL (started on first use)."""
    from emulator import live as _live

    name, opts = _options(url)
    with _lock:
        if name and name in _units:
            return _units[name], False
        key = _live.AUTO  # the flash's provisioned key if it has one, else the development key
        if "nokey" in opts:
            key = None
        elif "key" in opts:
            try:
                key = bytes.fromhex(opts["key"])
            except ValueError:
                raise SerialException("emu:// key must be hex")
        config = {"unit_id": opts["unit"]} if "unit" in opts else None
        try:
            weight_kg = None
            if "weight" in opts:  # 70kg or 154lb, as every statim command spells it (a bare 70: kg, deprecated)
                from host_tools import cliutil

                try:
                    weight_kg = cliutil.parse_weight(opts["weight"], "emu:// weight=", allow_bare=True) / 1000.0
                except cliutil.UsageError as e:
                    raise ValueError(str(e))
            unit = _live.LiveUnit(uart="pipe", key=key, speed=float(opts.get("speed", 1.0)),
                                  flash_dir=opts.get("flash"), config=config, name=name or None, weight_kg=weight_kg)
        except ValueError as e:
            raise SerialException("emu://: %s" % e)
        unit.start()
        if name:
            _units[name] = unit
        return unit, not name


def shutdown(name=None):
    """Stop a named emulated unit (or all of them)."""
    with _lock:
        names = [name] if name else list(_units)
        for n in names:
            u = _units.pop(n, None)
            if u is not None:
                u.stop()


class Serial(SerialBase):
    def __init__(self, *args, **kwargs):
        self.live = None
        self._owned = False
        self._holds = None
        super().__init__(*args, **kwargs)

    def open(self):
        if self.is_open:
            raise SerialException("Port is already open.")
        if self._port is None:
            raise SerialException("Port must be configured before it can be used.")
        name = _options(self._port)[0]
        with _lock:
            if name and name in _held:  # like flock on a board's port: one exclusive holder
                raise SerialException(errno.EAGAIN, "%s is busy: another connection holds it" % self._port)
            if name and self._exclusive:
                _held.add(name)
                self._holds = name
        try:
            self.live, self._owned = get_unit(self._port)
        except BaseException:
            self._release()
            raise
        self.live.uart.host_connect()  # a new connection: a maintenance session does not carry over
        self.is_open = True
        self.reset_input_buffer()

    def _release(self):
        if self._holds:
            with _lock:
                _held.discard(self._holds)
            self._holds = None

    def close(self):
        self._release()
        if self.is_open:
            self.is_open = False
            if self.live is not None:
                self.live.uart.host_disconnect()
            if self._owned and self.live is not None:
                self.live.stop()
        super().close()

    def _reconfigure_port(self):
        pass

    def _update_dtr_state(self):
        pass

    def _update_rts_state(self):
        pass

    def _update_break_state(self):
        pass

    @property
    def in_waiting(self):
        if not self.is_open:
            raise PortNotOpenError()
        return self.live.uart.host_waiting()

    def read(self, size=1):
        if not self.is_open:
            raise PortNotOpenError()
        pipe = self.live.uart
        timeout = self._timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        data = bytearray()
        while len(data) < size:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            chunk = pipe.host_read(size - len(data), left)
            if not chunk:
                break
            data += chunk
        return bytes(data)

    def write(self, data):
        if not self.is_open:
            raise PortNotOpenError()
        data = to_bytes(data)
        self.live.uart.host_write(data)
        return len(data)

    def reset_input_buffer(self):
        if not self.is_open:
            raise PortNotOpenError()
        self.live.uart.host_reset_input()

    def reset_output_buffer(self):
        pass

    def flush(self):
        pass

    @property
    def cts(self):
        return True

    @property
    def dsr(self):
        return True

    @property
    def ri(self):
        return False

    @property
    def cd(self):
        return True
