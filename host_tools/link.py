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
import errno
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


class PortBusy(LinkError):
    """Another program holds the port."""


class RemoteError(Exception):
    """The unit answered ERR <code> <message>."""

    def __init__(self, code, message, rid=None):
        Exception.__init__(self, explain_remote(code, message))
        self.code = code
        self.message = message
        self.rid = rid


_REMOTE_WORDS = {
    _f.E_LOCKED: "the unit has locked out maintenance logins after too many failures",
    _f.E_DENIED: "login refused: this key is not the unit's maintenance key",
    _f.E_NOKEY: "the unit has no maintenance key provisioned",
    _f.E_AUTH: "needs a maintenance session (log in first), every request signed with its key",
    _f.E_PROTO: "the unit speaks another protocol version",
    _f.E_UNKNOWN: "the unit does not know this command (older firmware?)",
}


def explain_remote(code, message):
    """'LOCKED too many ...' as a person reads it: what it means, then the unit's words."""
    words = _REMOTE_WORDS.get(code)
    if words:
        return "%s (%s %s)" % (words, code, message) if message else "%s (%s)" % (words, code)
    return "%s %s" % (code, message) if message else str(code)


def malformed(word, detail):
    return LinkError("malformed reply to %s from the unit (%s): not what this statim expects; "
                     "is the firmware the same version?" % (word, detail))


REPL_SIGNS = (b">>> ", b"raw REPL", b"MicroPython v", b"Traceback (most recent call last)", b"SyntaxError")


REPLY_MAX_FIELDS = 64  # a reply line is bounded by its length; requests keep frames.MAX_ARGS


def parse_kv(text):
    """'a=1 b="x y"' -> {'a': '1', 'b': 'x y'}; bare words map to ''."""
    out = {}
    try:
        toks = _f.tokens(text, 0, REPLY_MAX_FIELDS)
    except _f.FrameError as e:
        raise ValueError("unreadable key=value text: %s" % e)
    for key, value in toks:
        if key is None:
            out[value] = ""
        else:
            out[key] = value
    return out


def malformed(word, why):
    return LinkError("malformed reply to %s from the unit: %s" % (word, why))


def json_reply(word, text, kind=dict):
    """The JSON of a reply, of the type expected, or a LinkError saying what was wrong."""
    try:
        obj = json.loads(text)
    except ValueError as e:
        raise malformed(word, "not JSON (%s)" % e)
    if not isinstance(obj, kind):
        raise malformed(word, "expected a JSON %s, got %s" % (kind.__name__, type(obj).__name__))
    return obj


def _int_field(word, d, key):
    v = d.get(key)
    if type(v) is not int or v < 0:
        raise malformed(word, "%s is %r, not a count" % (key, v))
    return v


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


_session_words = None


def needs_session(word, pos=(), kw=None):
    """True for a request the unit takes only in a session, signed (docs/protocol.md):
    the maintenance commands, and SETTINGS with arguments (a change)."""
    global _session_words
    if _session_words is None:
        from firmware.core import protocol as _p

        _session_words = set(w for w, spec in _p.COMMANDS.items() if spec[1] & _p._MAINT)
    word = word.upper()
    if word in _session_words:
        return True
    return word == "SETTINGS" and bool(pos or [v for v in (kw or {}).values() if v is not None])


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
        self.noise = bytearray()  # the last bytes received that were not Statim frames
        self.received = 0  # bytes received in all
        self.skey = None  # the session's request key after a login (auth.session_key)
        self.req_n = 0  # the counter of the last signed request

    # ------------------------------------------------------------ transport
    shared = False  # chained commands (`+`) share one connection: close() leaves it open

    def close(self):
        if not self.shared:
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
                self.received += len(chunk)

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
            self._noise(line + b"\n")
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

    def _noise(self, data):
        self.noise += data
        del self.noise[:-512]

    def at_repl(self):
        """True if what came back looks like MicroPython's REPL, not the Statim protocol."""
        seen = bytes(self.noise) + bytes(self._buf)
        return any(sign in seen for sign in REPL_SIGNS)

    def no_reply(self, word, attempts):
        """Why nothing answered, as precisely as the bytes received allow."""
        port = getattr(self.ser, "port", "?")
        if self.at_repl():
            return LinkError("the unit on %s is at its MicroPython REPL, not in bedside mode: it does not speak "
                             "the Statim protocol there (soft-reset it with Ctrl-D, e.g. `mpremote connect %s "
                             "soft-reset`, or use `statim repl`)" % (port, port))
        seen = (bytes(self.noise) + bytes(self._buf)).strip()
        if seen:
            sample = seen[-60:].decode("ascii", "backslashreplace")
            return LinkError("%s answers, but not the Statim protocol (%r): another device, or the wrong baud "
                             "rate?" % (port, sample))
        return LinkError("no reply to %s from %s: nothing received in %d attempts of %g s (is the unit powered, "
                         "and is a Statim unit on this port? `statim devs` lists the ports)"
                         % (word, port, attempts, self.timeout))

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
            if self.at_repl():
                break  # a REPL will not answer a retry either: say so now
        raise self.no_reply(text_after_id.split(" ")[0], attempt + 1)

    def request(self, word, *pos, **kw):
        """Send a command; return the text after OK, raise RemoteError on ERR."""
        rid = kw.pop("_id", None) or self.next_id()
        text = body(rid, word, pos, kw)
        if self.skey is not None and needs_session(word, pos, kw):
            self.req_n += 1
            text = _auth.sign(self.skey, "%s n=%d" % (text, self.req_n))
        ok, code, data = self.request_raw(text[len(rid) + 1:], rid)
        if not ok:
            raise RemoteError(code, data, rid)
        return data

    # ------------------------------------------------------------ commands
    def json_request(self, word, *pos, **kw):
        """A request whose reply is a JSON object; anything else is a LinkError naming the command."""
        text = self.request(word, *pos, **kw)
        try:
            data = json.loads(text)
        except ValueError as e:
            raise malformed(word, "not JSON: %s" % e)
        if not isinstance(data, dict):
            raise malformed(word, "JSON %s, not an object" % type(data).__name__)
        return data

    def kv_request(self, word, need=(), **kw):
        text = self.request(word, **kw)
        try:
            r = parse_kv(text)
        except ValueError as e:
            raise malformed(word, str(e))
        missing = [k for k in need if k not in r]
        if missing:
            raise malformed(word, "no %s" % ", ".join(missing))
        return r

    def hello(self):
        return self.kv_request("HELLO", proto=1)

    def status(self):
        return self.json_request("STATUS")

    def stats(self):
        return self.json_request("STATS")

    def check(self, drug, route, **kw):
        return self.json_request("CHECK", drug, route, **kw)

    def dose(self, drug, route, _id=None, **kw):
        return self.json_request("DOSE", drug, route, _id=_id, **kw)

    def void(self, seq, reason):
        """Mark log entry `seq` entered in error (VOID); returns the reply data."""
        return self.request("VOID", seq=str(seq), reason=reason)

    def log(self, start=0):
        """Every logged event from sequence number start up to the total the unit
        reported at the first page: [(seq, event)].  Events logged while the
        export runs are left for the next one (a busy unit never keeps it going)."""
        out = []
        seq = start
        end = None
        while True:
            page = self.json_request("LOG", **{"from": seq})
            total = _int_field("LOG", page, "total")
            evs = page.get("events")
            if not isinstance(evs, list):
                raise malformed("LOG", "events is not a list")
            if end is None:
                end = total
            for ev in evs:
                if seq >= end:
                    break
                if not isinstance(ev, dict) or not isinstance(ev.get("type"), str) or type(ev.get("t")) is not int:
                    raise malformed("LOG", "event %d is not an event with a type and a time: %.80r" % (seq, ev))
                out.append((seq, ev))
                seq += 1
            if seq >= end or not evs:
                return out

    def get_druglib(self):
        chunks = []
        off = 0
        while True:
            r = self.kv_request("DLGET", need=("data", "size", "sha256"), off=off)
            try:
                data = binascii.a2b_base64(r["data"]) if r["data"] else b""
                size = int(r["size"])
                want = r["sha256"]
            except (binascii.Error, ValueError) as e:
                raise malformed("DLGET", "%s: %s" % (type(e).__name__, e))
            chunks.append(data)
            off += len(data)
            if off >= size or not data:
                blob = b"".join(chunks)
                if _auth.hexlify(_auth.sha256(blob)) != want:
                    raise LinkError("drug library download corrupted (SHA-256 mismatch)")
                return blob

    def login(self, key):
        if key is None:
            raise LinkError("no maintenance key: give --key-file or set %s" % KEY_ENV)
        r = self.kv_request("CHALLENGE", need=("unit", "nonce"))
        try:
            mac = _auth.login_mac(key, r["unit"], r["nonce"])
            skey = _auth.session_key(key, r["unit"], r["nonce"])
        except (ValueError, TypeError) as e:
            raise malformed("CHALLENGE", "%s: %s" % (type(e).__name__, e))
        self.skey = None
        reply = self.request("LOGIN", mac=_auth.hexlify(mac))
        self.skey = skey  # every request that needs the session is signed with it from now on
        self.req_n = 0
        return reply

    def logout(self):
        self.skey = None
        return self.request("LOGOUT")

    def push_druglib(self, data, key, downgrade=False):
        """Upload and install a drug library (needs a session: login first)."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        r = self.kv_request("DLPUT", size=len(data), sha256=_auth.hexlify(_auth.sha256(data)))
        try:
            chunk = int(r.get("chunk", 576))
        except ValueError:
            raise malformed("DLPUT", "chunk=%r" % r.get("chunk"))
        if chunk <= 0:
            raise malformed("DLPUT", "chunk=%d" % chunk)
        off = 0
        while off < len(data):
            part = data[off: off + chunk]
            self.request("DLDATA", off=off, data=binascii.b2a_base64(part, newline=False).decode())
            off += len(part)
        tag = _auth.hexlify(_auth.druglib_tag(key, data))
        if downgrade:
            return self.kv_request("DLCOMMIT", tag=tag, downgrade=1)
        return self.kv_request("DLCOMMIT", tag=tag)


def open_error(port, e):
    """A LinkError that says why PORT could not be opened, once (pyserial repeats the errno)."""
    text = str(e)
    code = getattr(e, "errno", None)
    if "exclusively lock" in text or code in (errno.EAGAIN, errno.EWOULDBLOCK) or "busy" in text.lower():
        return PortBusy("%s is busy: another program has it open (statim connect or monitor, mpremote, a serial "
                        "terminal?); close it first, or chain commands on one connection with +" % port)
    if code == errno.EBUSY:
        return PortBusy("%s is busy: the system refused to open it (Device or resource busy: another program "
                        "holds it exclusively, e.g. ModemManager)" % port)
    if code == errno.ENOENT:
        return LinkError("cannot open %s: no such port (`statim devs` lists the serial ports)" % port)
    if code == errno.EACCES:
        return LinkError("cannot open %s: permission denied (on Linux, add yourself to the dialout group)" % port)
    if code is not None and getattr(e, "strerror", None):
        return LinkError("cannot open %s: %s" % (port, e.strerror))
    return LinkError("cannot open %s: %s" % (port, text))


def _exclusive_for(port):
    """pyserial's exclusive=True (flock) for device paths; URL handlers ignore or implement it."""
    return True if "://" not in port or port.startswith("emu://") else None


def open_link(port, timeout=DEFAULT_TIMEOUT, retries=DEFAULT_RETRIES, baudrate=115200, on_event=None, trace=None):
    """A Client on a board's port, a pty, socket://host:port or emu://, opened exclusively."""
    port = resolve_port(port)
    try:
        ser = serial.serial_for_url(port, baudrate=baudrate, timeout=0.2, exclusive=_exclusive_for(port))
    except (serial.SerialException, OSError, ValueError) as e:
        raise open_error(port, e)
    time.sleep(0.01)
    try:
        ser.reset_input_buffer()
    except (serial.SerialException, OSError):
        pass
    return Client(ser, timeout=timeout, retries=retries, on_event=on_event, trace=trace)


PORT_HELP = "serial port (/dev/ttyACM0, COM3; a0/u0/c3 for short), pty path, socket://HOST:PORT, emu://[NAME], " \
            "or auto (the first Statim-looking port; the default)"
RASPBERRY_PI_VID = 0x2E8A  # a Pico running MicroPython: 2E8A:0005


def comports():
    from serial.tools import list_ports

    return list(list_ports.comports())


def statim_looking(info):
    """True for a port that may be a Statim unit: a Raspberry Pi (Pico) or MicroPython USB device."""
    text = " ".join(str(x) for x in (info.manufacturer, info.product, info.description) if x)
    return info.vid == RASPBERRY_PI_VID or "micropython" in text.lower() or "statim" in text.lower()


def resolve_port(port):
    """mpremote's shortcuts (a0 -> /dev/ttyACM0, u0 -> /dev/ttyUSB0, c3 -> COM3) and auto."""
    import re

    if port == "auto":
        for info in sorted(comports(), key=lambda i: i.device):
            if statim_looking(info):
                return info.device
        raise LinkError("auto: no Statim-looking serial port (a Raspberry Pi Pico or MicroPython USB device) is "
                        "plugged in; `statim devs` lists the ports, or give PORT")
    m = re.fullmatch(r"([auc])(\d+)", port or "")
    if m:
        return {"a": "/dev/ttyACM", "u": "/dev/ttyUSB", "c": "COM"}[m.group(1)] + m.group(2)
    return port


def add_port_args(p, key=False):
    p.add_argument("port", metavar="PORT", nargs="?", default=None,
                   help=PORT_HELP + "; after + the previous command's connection")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                   help="seconds to wait for each reply (default %g)" % DEFAULT_TIMEOUT)
    p.add_argument("--retries", type=int, default=DEFAULT_RETRIES,
                   help="resends with the same id before giving up (default %d)" % DEFAULT_RETRIES)
    p.add_argument("-v", "--verbose", action="store_true", help="print every frame")
    if key:
        p.add_argument("--key-file", help="maintenance key file (hex); default $%s" % KEY_ENV)


def port_of(args):
    """The PORT a command names; after +, the previous command's; else auto."""
    port = getattr(args, "port", None)
    if not port and _chain is not None and _chain.last_port:
        port = _chain.last_port
    return port or "auto"


def client_from_args(args, on_event=None):
    trace = None
    if getattr(args, "verbose", False):
        def trace(direction, line):
            print("%s %s" % (direction, line), file=sys.stderr)
    port = resolve_port(port_of(args))
    if _chain is not None:
        _chain.last_port = port
        c = _chain.clients.get(port)
        if c is not None:
            c.on_event, c.trace, c.timeout, c.retries = on_event, trace, args.timeout, args.retries
            return c
    c = open_link(port, timeout=args.timeout, retries=args.retries, on_event=on_event, trace=trace)
    if _chain is not None:
        c.shared = True
        _chain.clients[port] = c
    return c


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
