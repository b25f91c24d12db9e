# Canonical JSON: sorted keys, no whitespace, integers only, UTF-8.
#
# One encoding for everything whose bytes must be the same on every port and
# every run: the drug library's integrity hash and the event log's records.
# Floats are refused (a float32 board and CPython would print them
# differently); so is anything that is not null, bool, int, str, list or dict.


def _enc_str(s, out):
    out.append('"')
    start = 0
    i = 0
    n = len(s)
    while i < n:
        c = s[i]
        if c == '"' or c == "\\" or ord(c) < 0x20:
            if i > start:
                out.append(s[start:i])  # copy plain runs whole, not per character
            if c == '"':
                out.append('\\"')
            elif c == "\\":
                out.append("\\\\")
            else:
                out.append("\\u%04x" % ord(c))
            start = i + 1
        i += 1
    if start < n:
        out.append(s[start:])
    out.append('"')


def _enc(v, out, what):
    if v is None:
        out.append("null")
    elif v is True:
        out.append("true")
    elif v is False:
        out.append("false")
    elif isinstance(v, int):
        out.append("%d" % v)
    elif isinstance(v, str):
        _enc_str(v, out)
    elif isinstance(v, (list, tuple)):
        out.append("[")
        first = True
        for x in v:
            if not first:
                out.append(",")
            first = False
            _enc(x, out, what)
        out.append("]")
    elif isinstance(v, dict):
        out.append("{")
        first = True
        for k in sorted(v):
            if not isinstance(k, str):
                raise ValueError("%s key %r is not a string" % (what, k))
            if not first:
                out.append(",")
            first = False
            _enc_str(k, out)
            out.append(":")
            _enc(v[k], out, what)
        out.append("}")
    else:
        raise ValueError("%s value of type %s is not allowed (integers only: null, bool, int, str, list, dict)"
                         % (what, type(v).__name__))


def encode(obj, what="value"):
    """Canonical JSON bytes of obj; ValueError names `what` for anything not encodable."""
    out = []  # type: list
    _enc(obj, out, what)
    try:
        return "".join(out).encode("utf-8")
    except UnicodeError:
        raise ValueError("%s text is not valid Unicode" % what)
