# Serial-link framing: one ASCII line per frame, a CRC on every frame.
#
#   frame   = body " *" crc "\n"         crc = 4 upper-case hex digits
#   body    = id " " word *(" " arg)     (requests)
#           | id " OK" [" " data]        (replies; id "-" when the request's id is unknown)
#           | id " ERR " code " " text
#           | "! " word ...              (unsolicited event lines)
#   arg     = key "=" value | value       (a bare value after key= may contain "=")
#   value   = 1*safe-char | '"' *(qchar | '\"' | '\\') '"'
#
# crc is CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF; check("123456789") =
# 0x29B1) over the body's bytes.  Bytes are printable ASCII (0x20..0x7E) only.
# A line is at most MAX_LINE bytes, the CRC included, the newline not.
# docs/protocol.md is the contract in prose.
#
# Parsing raises FrameError(code, message) and nothing else: it is fed
# whatever arrives on the wire (tests fuzz it).

from array import array

MAX_LINE = 1024
MAX_ID = 16
MAX_ARGS = 12

# Error codes (the word after ERR).  docs/protocol.md lists what each means.
E_FRAME = "FRAME"  # not a frame: no CRC trailer, bad id, bad quoting
E_CRC = "CRC"  # CRC mismatch
E_TOOLONG = "TOOLONG"  # line longer than MAX_LINE
E_BINARY = "BINARY"  # bytes outside printable ASCII
E_UNKNOWN = "UNKNOWN"  # unknown command word
E_ARGS = "ARGS"  # missing, unexpected or malformed arguments
E_DUPID = "DUPID"  # id already used for a different request
E_PROTO = "PROTO"  # protocol version not spoken
E_REFUSED = "REFUSED"  # the unit refused the action (message says why)
E_HARD = "HARD"  # dose refused: hard limit
E_SOFT = "SOFT"  # dose needs an override reason
E_INVALID = "INVALID"  # dose input cannot be verified (the checker's "error")
E_AUTH = "AUTH"  # maintenance command without an authenticated session
E_DENIED = "DENIED"  # login failed
E_LOCKED = "LOCKED"  # too many failed logins: locked out for a while
E_NOKEY = "NOKEY"  # no maintenance key provisioned on this unit
E_TAG = "TAG"  # drug library update without a valid tag for this unit's key
E_STATE = "STATE"  # out of sequence (e.g. druglib data without a begin)
E_UNSUPPORTED = "UNSUPPORTED"  # this unit/build cannot do that
E_INTERNAL = "INTERNAL"  # a bug; nothing was changed


class FrameError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


# ---------------------------------------------------------------- CRC

def _table():
    t = array("H", bytes(512))
    for i in range(256):
        c = i << 8
        for _ in range(8):
            c = ((c << 1) ^ 0x1021) if c & 0x8000 else (c << 1)
        t[i] = c & 0xFFFF
    return t


_CRC_TABLE = _table()


def crc16(data, start=0, end=-1, crc=0xFFFF):
    """CRC-16/CCITT-FALSE of data[start:end] (bytes-like or str of ASCII); no copy."""
    if end < 0:
        end = len(data)
    t = _CRC_TABLE
    i = start
    if isinstance(data, str):
        while i < end:
            crc = ((crc << 8) & 0xFFFF) ^ t[((crc >> 8) ^ ord(data[i])) & 0xFF]
            i += 1
    else:
        while i < end:
            crc = ((crc << 8) & 0xFFFF) ^ t[((crc >> 8) ^ data[i]) & 0xFF]
            i += 1
    return crc


_HEX = "0123456789ABCDEF"


def hex4(v):
    return _HEX[(v >> 12) & 15] + _HEX[(v >> 8) & 15] + _HEX[(v >> 4) & 15] + _HEX[v & 15]


def seal(body):
    """The frame for body (str, printable ASCII): bytes ending in newline."""
    return (body + " *" + hex4(crc16(body)) + "\n").encode()


def _hexval(c):
    if 48 <= c <= 57:
        return c - 48
    if 65 <= c <= 70:
        return c - 55
    return -1  # upper-case only: one spelling per CRC


def unseal(buf, n):
    """Check the frame in buf[:n] (no newline); return its body as str.

    Raises FrameError(E_BINARY | E_FRAME | E_CRC)."""
    i = 0
    while i < n:
        c = buf[i]
        if c < 0x20 or c > 0x7E:
            raise FrameError(E_BINARY, "frame has a byte 0x%02x outside printable ASCII at %d" % (c, i))
        i += 1
    if n < 7 or buf[n - 6] != 0x20 or buf[n - 5] != 0x2A:  # " *XXXX"
        raise FrameError(E_FRAME, "frame must end with ' *' and a 4-digit hex CRC")
    want = 0
    i = n - 4
    while i < n:
        h = _hexval(buf[i])
        if h < 0:
            raise FrameError(E_FRAME, "CRC trailer is not 4 hex digits")
        want = (want << 4) | h
        i += 1
    got = crc16(buf, 0, n - 6)
    if got != want:
        raise FrameError(E_CRC, "CRC mismatch (frame says %s, body gives %s)" % (hex4(want), hex4(got)))
    return bytes(buf[: n - 6]).decode()


# ---------------------------------------------------------------- ids, tokens

def _id_char(ch):
    return ("0" <= ch <= "9") or ("a" <= ch <= "z") or ("A" <= ch <= "Z") or ch in "._-"


def valid_id(s):
    if not s or len(s) > MAX_ID or s == "-":
        return False
    for ch in s:
        if not _id_char(ch):
            return False
    return True


def id_of(buf, n):
    """Best-effort request id from a raw (maybe broken) line, or "-"."""
    i = 0
    out = ""
    while i < n and i <= MAX_ID:
        c = buf[i]
        if c == 0x20:
            break
        if c < 0x20 or c > 0x7E or not _id_char(chr(c)):
            return "-"
        out += chr(c)
        i += 1
    return out if valid_id(out) else "-"


def _safe(ch):
    return ch != " " and ch != '"' and ch != "\\" and ch != "=" and " " < ch <= "~"


def tokens(text, start=0, limit=MAX_ARGS):
    """Split text[start:] into [(key or None, value)], at most `limit` of them
    (a request's bound; a host reading a reply may allow more).  Raises FrameError."""
    out = []  # type: list
    i = start
    n = len(text)
    while i < n:
        if text[i] == " ":
            i += 1
            continue
        if len(out) >= limit:
            raise FrameError(E_ARGS, "more than %d arguments" % limit)
        key = None
        j = i
        while j < n and _safe(text[j]):
            j += 1
        if j < n and text[j] == "=":
            key = text[i:j]
            if not key:
                raise FrameError(E_FRAME, "argument with an empty name at column %d" % i)
            i = j + 1
        if i < n and text[i] == '"':
            i += 1
            parts = []
            while True:
                if i >= n:
                    raise FrameError(E_FRAME, "unterminated quoted value")
                ch = text[i]
                if ch == '"':
                    i += 1
                    break
                if ch == "\\":
                    if i + 1 >= n or text[i + 1] not in '"\\':
                        raise FrameError(E_FRAME, "bad escape in quoted value at column %d" % i)
                    parts.append(text[i + 1])
                    i += 2
                    continue
                parts.append(ch)
                i += 1
            value = "".join(parts)
            if i < n and text[i] != " ":
                raise FrameError(E_FRAME, "text after a closing quote at column %d" % i)
        else:
            j = i
            while j < n and (_safe(text[j]) or (key is not None and text[j] == "=")):
                j += 1
            if j < n and text[j] != " ":
                raise FrameError(E_FRAME, "unexpected %r at column %d (quote values with spaces)" % (text[j], j))
            value = text[i:j]
            if not value and key is None:
                raise FrameError(E_FRAME, "empty argument at column %d" % i)
            i = j
        out.append((key, value))
    return out


def quote(v):
    """A value as an argument token: bare if safe, else double-quoted.
    Characters outside printable ASCII become '?'."""
    s = str(v)
    if s and all_safe(s):
        return s
    parts = ['"']
    for ch in s:
        if ch == '"' or ch == "\\":
            parts.append("\\" + ch)
        elif " " <= ch <= "~":
            parts.append(ch)
        else:
            parts.append("?")
    parts.append('"')
    return "".join(parts)


def all_safe(s):
    for ch in s:
        if not _safe(ch):
            return False
    return True


def kv(pairs):
    """'k=v k=v' from a sequence of (key, value)."""
    return " ".join([k + "=" + quote(v) for k, v in pairs])


def parse_request(body):
    """body -> (id, command word upper-cased, {key: value}, [positional]).

    Raises FrameError (E_FRAME / E_ARGS)."""
    sp = body.find(" ")
    if sp < 0:
        rid = body
        rest = ""
    else:
        rid = body[:sp]
        rest = body[sp + 1:]
    if not valid_id(rid):
        raise FrameError(E_FRAME, "request id must be 1-%d characters of A-Z a-z 0-9 . _ -" % MAX_ID)
    rest = rest.lstrip(" ")
    sp = rest.find(" ")
    word = rest if sp < 0 else rest[:sp]
    if not word:
        raise FrameError(E_FRAME, "request has no command word")
    if not all_safe(word):
        raise FrameError(E_FRAME, "command word must be plain ASCII letters")
    args = {}
    pos = []
    if sp >= 0:
        for key, value in tokens(rest, sp + 1):
            if key is None:
                pos.append(value)
            else:
                k = key.lower()
                if k in args:
                    raise FrameError(E_ARGS, "argument %s given twice" % k)
                args[k] = value
    return rid, word.upper(), args, pos


def parse_reply(body):
    """Host side: body -> (id, ok, code, text).  ok replies have code None."""
    sp = body.find(" ")
    if sp < 0:
        raise FrameError(E_FRAME, "reply has no status")
    rid = body[:sp]
    rest = body[sp + 1:]
    if rest == "OK" or rest.startswith("OK "):
        return rid, True, None, rest[3:]
    if rest.startswith("ERR "):
        rest = rest[4:]
        sp = rest.find(" ")
        if sp < 0:
            return rid, False, rest, ""
        return rid, False, rest[:sp], rest[sp + 1:]
    raise FrameError(E_FRAME, "reply is neither OK nor ERR")


# ---------------------------------------------------------------- JSON, ASCII only

def ascii_json(s):
    """Escape every non-ASCII character of a JSON text as \\uXXXX (valid JSON).

    MicroPython's json.dumps writes UTF-8 as is; the wire is ASCII."""
    for ch in s:
        if ord(ch) > 0x7E:
            break
    else:
        return s
    out = []
    for ch in s:
        o = ord(ch)
        if o <= 0x7E:
            out.append(ch)
        elif o < 0x10000:
            out.append("\\u%04x" % o)
        else:
            o -= 0x10000
            out.append("\\u%04x\\u%04x" % (0xD800 + (o >> 10), 0xDC00 + (o & 0x3FF)))
    return "".join(out)
