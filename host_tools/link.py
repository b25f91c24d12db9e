"""Host side of the Statim serial link (docs/protocol.md), over pyserial.

    with open_link("/dev/ttyACM0") as unit:     # a board; or a pty, socket://h:p, emu://
        unit.hello()                            # {'proto': '1', 'unit': 'STATIM-0001', ...}
        unit.request("ONSET")                   # 'seq=1 t=...'
        unit.dose("lorazepam", "iv", dose="4 mg")
        for ev in unit.log(): ...
        unit.login(key); unit.push_druglib(text, key)

Every request gets a fresh id (random session prefix + counter) and is framed
with its CRC.  The client waits for the reply with that id; unsolicited
`! ...` lines go to `on_event` (and `events`).  A reply that does not arrive
in time, or a `- ERR` (the unit could not read our frame), is retried with
the SAME id, which is what makes retries safe: the unit answers a repeated id
from its cache and never logs twice.

pyserial handles the transport: anything serial_for_url accepts works,
including ``emu://`` (host_tools/protocol_emu.py, registered here).
"""
import binascii
import json
import os
import sys
import time

import serial

from firmware.core import auth as _auth
from firmware.core import frames as _f

if "host_tools" not in serial.protocol_handler_packages:
    serial.protocol_handler_packages.append("host_tools")  # emu:// -> host_tools.protocol_emu

DEFAULT_TIMEOUT = 2.0
DEFAULT_RETRIES = 3
KEY_ENV = "STATIM_KEY"


class LinkError(Exception):
    """The unit did not answer (after retries), or answered something unreadable."""


class RemoteError(Exception):
    """The unit answered ERR <code> <message>."""

    def __init__(self, code, message, rid=None):
        Exception.__init__(self, "%s %s" % (code, message))
        self.code = code
        self.message = message
        self.rid = rid


REPLY_MAX_FIELDS = 64  # a reply line is bounded by its length; requests keep frames.MAX_ARGS


def parse_kv(text):
    """'a=1 b="x y"' -> {'a': '1', 'b': 'x y'}; bare words map to ''."""
    out = {}
    for key, value in _f.tokens(text, 0, REPLY_MAX_FIELDS):
        if key is None:
            out[value] = ""
        else:
            out[key] = value
    return out


def body(rid, word, pos=(), kw=None):
    parts = [rid, word]
    for v in pos:
        parts.append(_f.quote(v))
    for k, v in (kw or {}).items():
        if v is not None:
            parts.append("%s=%s" % (k, _f.quote(v)))
    return " ".join(parts)


def load_key(key_file=None, port=None):
    """The maintenance key: --key-file (hex or raw bytes), $STATIM_KEY (hex),
    or, for emu:// only, the emulator's public development key.  None if none."""
    if key_file:
        with open(key_file, "rb") as f:
            raw = f.read()
        try:
            return bytes.fromhex(raw.decode("ascii").strip())
        except (UnicodeDecodeError, ValueError):
            return raw
    env = os.environ.get(KEY_ENV)
    if env:
        return bytes.fromhex(env.strip())
    if port and str(port).startswith("emu://"):
        q = str(port).split("?", 1)[1] if "?" in str(port) else ""
        for part in q.split("&"):
            if part.startswith("key="):
                return bytes.fromhex(part[4:])
        from emulator.live import DEV_KEY

        return DEV_KEY
    return None


class Client:
    def __init__(self, ser, timeout=DEFAULT_TIMEOUT, retries=DEFAULT_RETRIES, on_event=None, trace=None):
        self.ser = ser
        self.timeout = timeout
        self.retries = retries
        self.on_event = on_event
        self.trace = trace  # callable(direction, line) for --verbose
        self.events = []  # unsolicited lines seen (body text)
        self.prefix = binascii.hexlify(os.urandom(3)).decode()
        self.counter = 0
        self._buf = bytearray()
        self.retried = 0

    # ------------------------------------------------------------ transport
    def close(self):
        self.ser.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def next_id(self):
        self.counter += 1
        return "%s.%d" % (self.prefix, self.counter)

    def _write(self, frame):
        if self.trace:
            self.trace(">", frame.decode().rstrip("\n"))
        self.ser.write(frame)

    def read_line(self, timeout):
        """One line (bytes, no newline) or None on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            nl = self._buf.find(b"\n")
            if nl >= 0:
                line = bytes(self._buf[:nl]).rstrip(b"\r")
                del self._buf[: nl + 1]
                return line
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.ser.timeout = min(left, 0.2)
            chunk = self.ser.read(max(1, min(4096, self.ser.in_waiting or 1)))
            if chunk:
                self._buf += chunk

    def _unsolicited(self, text):
        self.events.append(text)
        if self.on_event is not None:
            self.on_event(text)

    def pump(self, timeout=0.0):
        """Read and dispatch unsolicited lines for up to timeout seconds."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.read_line(max(0.0, deadline - time.monotonic()))
            if line is None:
                return
            self._dispatch(line)

    def _dispatch(self, line):
        """Returns (rid, ok, code, text) for a reply, None otherwise."""
        try:
            text = _f.unseal(line, len(line))
        except _f.FrameError:
            return None  # line noise from the unit's side: ignore (the request will time out and retry)
        if self.trace:
            self.trace("<", text)
        if text.startswith("! "):
            self._unsolicited(text[2:])
            return None
        try:
            return _f.parse_reply(text)
        except _f.FrameError:
            return None

    def request_raw(self, text_after_id, rid=None):
        """Send '<id> text' and return the reply (ok, code, text)."""
        rid = rid or self.next_id()
        frame = _f.seal(rid + " " + text_after_id)
        if len(frame) - 1 > _f.MAX_LINE:
            raise LinkError("request longer than %d bytes" % _f.MAX_LINE)
        for attempt in range(self.retries + 1):
            if attempt:
                self.retried += 1
                self.ser.write(b"\n")  # end whatever partial line the unit may hold, then resend
            self._write(frame)
            deadline = time.monotonic() + self.timeout
            while True:
                line = self.read_line(max(0.0, deadline - time.monotonic()))
                if line is None:
                    break  # timeout: retry with the same id
                r = self._dispatch(line)
                if r is None:
                    continue
                got, ok, code, text = r
                if got == rid:
                    return ok, code, text
                if got == "-" and code in (_f.E_CRC, _f.E_FRAME, _f.E_BINARY, _f.E_TOOLONG):
                    break  # the unit could not read a frame (ours, most likely): resend
        raise LinkError("no reply to %s after %d attempts (is a Statim unit on %s?)" % (
            text_after_id.split(" ")[0], self.retries + 1, getattr(self.ser, "port", "?")))

    def request(self, word, *pos, **kw):
        """Send a command; return the text after OK, raise RemoteError on ERR."""
        rid = kw.pop("_id", None) or self.next_id()
        text = body(rid, word, pos, kw)[len(rid) + 1:]
        ok, code, data = self.request_raw(text, rid)
        if not ok:
            raise RemoteError(code, data, rid)
        return data

    # ------------------------------------------------------------ commands
    def hello(self):
        return parse_kv(self.request("HELLO", proto=1))

    def status(self):
        return json.loads(self.request("STATUS"))

    def stats(self):
        return json.loads(self.request("STATS"))

    def check(self, drug, route, **kw):
        return json.loads(self.request("CHECK", drug, route, **kw))

    def dose(self, drug, route, _id=None, **kw):
        return json.loads(self.request("DOSE", drug, route, _id=_id, **kw))

    def log(self, start=0):
        """Every logged event from sequence number start: [(seq, event)]."""
        out = []
        seq = start
        while True:
            page = json.loads(self.request("LOG", **{"from": seq}))
            for ev in page["events"]:
                out.append((seq, ev))
                seq += 1
            if seq >= page["total"] or not page["events"]:
                return out

    def get_druglib(self):
        chunks = []
        off = 0
        while True:
            r = parse_kv(self.request("DLGET", off=off))
            data = binascii.a2b_base64(r["data"]) if r["data"] else b""
            chunks.append(data)
            off += len(data)
            if off >= int(r["size"]) or not data:
                blob = b"".join(chunks)
                if _auth.hexlify(_auth.sha256(blob)) != r["sha256"]:
                    raise LinkError("drug library download corrupted (SHA-256 mismatch)")
                return blob

    def login(self, key):
        if key is None:
            raise LinkError("no maintenance key: give --key-file or set %s" % KEY_ENV)
        r = parse_kv(self.request("CHALLENGE"))
        mac = _auth.login_mac(key, r["unit"], r["nonce"])
        return self.request("LOGIN", mac=_auth.hexlify(mac))

    def logout(self):
        return self.request("LOGOUT")

    def push_druglib(self, data, key, downgrade=False):
        """Upload and install a drug library (needs a session: login first)."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        r = parse_kv(self.request("DLPUT", size=len(data), sha256=_auth.hexlify(_auth.sha256(data))))
        chunk = int(r.get("chunk", 576))
        off = 0
        while off < len(data):
            part = data[off: off + chunk]
            self.request("DLDATA", off=off, data=binascii.b2a_base64(part, newline=False).decode())
            off += len(part)
        tag = _auth.hexlify(_auth.druglib_tag(key, data))
        if downgrade:
            return parse_kv(self.request("DLCOMMIT", tag=tag, downgrade=1))
        return parse_kv(self.request("DLCOMMIT", tag=tag))


def open_link(port, timeout=DEFAULT_TIMEOUT, retries=DEFAULT_RETRIES, baudrate=115200, on_event=None, trace=None):
    """A Client on a board's port, a pty, socket://host:port or emu://."""
    try:
        ser = serial.serial_for_url(port, baudrate=baudrate, timeout=0.2, exclusive=None)
    except (serial.SerialException, OSError, ValueError) as e:
        raise LinkError("cannot open %s: %s" % (port, e))
    time.sleep(0.01)
    try:
        ser.reset_input_buffer()
    except (serial.SerialException, OSError):
        pass
    return Client(ser, timeout=timeout, retries=retries, on_event=on_event, trace=trace)


def add_port_args(p, key=False):
    p.add_argument("port", metavar="PORT", help="serial port, pty path, socket://HOST:PORT or emu://[NAME]")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds to wait for a reply")
    p.add_argument("--retries", type=int, default=DEFAULT_RETRIES, help="resends (same id) before giving up")
    p.add_argument("-v", "--verbose", action="store_true", help="print every frame")
    if key:
        p.add_argument("--key-file", help="maintenance key file (hex); default $%s" % KEY_ENV)


def client_from_args(args, on_event=None):
    trace = None
    if getattr(args, "verbose", False):
        def trace(direction, line):
            print("%s %s" % (direction, line), file=sys.stderr)
    return open_link(args.port, timeout=args.timeout, retries=args.retries, on_event=on_event, trace=trace)


class _Chain:
    """Commands chained with `+` share one connection per port."""

    def __init__(self):
        self.clients = {}
        self.last_port = None

    def close(self):
        for c in self.clients.values():
            try:
                c.ser.close()
            except Exception:
                pass
        self.clients.clear()


_chain = None


class chain:
    """`with chain(True):` -- client_from_args reuses one connection per port until the end."""

    def __init__(self, on):
        self.on = on

    def __enter__(self):
        global _chain
        if self.on:
            _chain = _Chain()
        return self

    def __exit__(self, *exc):
        global _chain
        if _chain is not None:
            _chain.close()
            _chain = None
