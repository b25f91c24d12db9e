# Drug library verification: the seal, the header and the JSON structure of a
# library in its device form, in one streaming pass that also indexes it (see
# druglib.py for the format).  Loaded only while a library is verified -- at
# boot and on an install (druglib.open_device lets it go after), so a unit
# keeps the index and the lookups, not the scanner.
import json
from array import array as _array

from . import druglib as _d  # _d._MemOpener looked up at each call: tests wrap it
from .druglib import (CHUNK, FORMAT, HEADER_MAX, MAGIC, MAX_DEPTH, MAX_KEY, MAX_SMALL, TAG_UNSET, Library,
                      LibraryError, _hex, _loads, _refuse, _sha256, device_bytes)


# ------------------------------------------------------------- the scanner --
_QUOTE = 34
_BSLASH = 92
_LBRACE = 123
_RBRACE = 125
_LBRACK = 91
_RBRACK = 93
_COMMA = 44
_COLON = 58
_OBJ = 1
_ARR = 2

try:
    bytearray(b"a").find(b"a", 0, 1)
    _FIND = True  # C search through string runs (most of the library is text)
except (AttributeError, TypeError):  # pragma: no cover - ports without bytearray.find
    _FIND = False


class _Scan:
    """Streaming scan of a JSON object: depth, strings and escapes only.

    Records (start, end) byte spans, relative to the body, of each top-level
    value, each drug under "drugs", the drug's "routes" value and each route
    entry; refuses unbalanced or truncated text, a top level that is not one
    object, nesting deeper than MAX_DEPTH and duplicate keys where it indexes.
    Whether each value is valid JSON is checked when its slice is parsed."""

    def __init__(self):
        self.pos = 0
        self.depth = 0
        self.kinds = bytearray(MAX_DEPTH + 1)
        self.in_str = False
        self.esc = False
        self.want_key = False
        # one reused buffer for the key being read: no allocation per key, so
        # the scan leaves few holes in the heap between the index's objects
        self.kbuf = bytearray(MAX_KEY)
        self.klen = -1  # bytes in kbuf, -1 when the current string is not captured
        self.key = None  # the last key read (str, or None if not indexed) until its ':'
        self.keys = [None, None, None, None, None]  # current key per object depth 1..4
        self.vstart = [0, 0, 0, 0, 0]
        self.open = bytearray(5)  # a value is open at this depth (between ':' and ',' / '}')
        self.top = {}  # top-level key (str) -> (start, end)
        self.names = []  # drug keys, in body order
        self.dspan = _array("i")  # per drug: start, end, routes start, routes end, first route, count
        self.rnames = []  # route keys, all drugs, in body order
        self.rspan = _array("i")  # per route: start, end
        self.ended = False
        self.err = None

    def feed(self, buf, i, n):
        """Scan buf[i:n]; self.pos is the body offset of buf[0]."""
        while i < n and self.err is None:
            if self.in_str:
                i = self._string(buf, i, n)
                continue
            c = buf[i]
            if self.ended:
                self.err = "data after the end of the library object"
            elif c == _QUOTE:
                self.in_str = True
                if self.want_key and self._indexing(self.depth):
                    self.klen = 0
            elif c == _LBRACE or c == _LBRACK:
                self._push(_OBJ if c == _LBRACE else _ARR)
            elif c == _RBRACE or c == _RBRACK:
                self._pop(_OBJ if c == _RBRACE else _ARR, self.pos + i)
            elif c == _COLON:
                self._colon(self.pos + i)
            elif c == _COMMA:
                if self.depth == 0:
                    self.err = "misplaced ','"
                elif self.kinds[self.depth] == _OBJ:
                    self._end_value(self.depth, self.pos + i)
                    self.want_key = True
            elif self.depth == 0:
                self.err = "the library is not one JSON object"
            i += 1
        self.pos += n

    def _string(self, buf, i, n):
        if self.esc:
            self.esc = False
            self._cap(buf, i, i + 1)
            return i + 1
        if _FIND:
            q = buf.find(b'"', i, n)
            b = buf.find(b"\\", i, q if q >= 0 else n)
            j = b if b >= 0 else (q if q >= 0 else n)
        else:
            j = i
            while j < n and buf[j] != _QUOTE and buf[j] != _BSLASH:
                j += 1
        if self.klen >= 0 and j > i:
            self._cap(buf, i, j)
            if self.err is not None:
                return n
        if j >= n:
            return n
        if buf[j] == _BSLASH:
            self.esc = True
            self._cap(buf, j, j + 1)
            return j + 1
        self.in_str = False  # closing quote
        if self.want_key:
            self.key = self._key_text() if self.klen >= 0 else None
        self.klen = -1
        return j + 1

    def _cap(self, buf, i, j):
        k = self.klen
        if k < 0:
            return
        if k + j - i > MAX_KEY:
            if self.depth == 2 or self.depth == 4:
                self.err = "a drug or route name is longer than %d bytes" % MAX_KEY
            self.klen = -1  # a long top-level or drug field name: not one the index uses
            return
        kb = self.kbuf
        while i < j:
            kb[k] = buf[i]
            k += 1
            i += 1
        self.klen = k

    def _key_text(self):
        k = self.klen
        kb = self.kbuf
        if self.depth == 3:
            # a drug's field names: only "routes" matters, and comparing in
            # place avoids a string per field
            if k == 6 and kb[0] == 114 and kb[1] == 111 and kb[2] == 117 and kb[3] == 116 \
                    and kb[4] == 101 and kb[5] == 115:
                return "routes"
            return None
        raw = bytes(kb[0:k])
        if b"\\" in raw:
            return json.loads(b'"' + raw + b'"')
        return raw.decode()

    def _indexing(self, d):
        """Whether keys at object depth d matter to the index."""
        if d == 1:
            return True
        if self.keys[1] != "drugs" or d > 4:
            return False
        return d < 4 or (self.kinds[2] == _OBJ and self.keys[3] == "routes")

    def _push(self, kind):
        d = self.depth + 1
        if self.ended or (d == 1 and kind != _OBJ):
            self.err = "the library is not one JSON object"
            return
        if d > MAX_DEPTH:
            self.err = "nested deeper than %d levels" % MAX_DEPTH
            return
        self.depth = d
        self.kinds[d] = kind
        self.want_key = kind == _OBJ
        if d <= 4:
            self.keys[d] = None
            self.open[d] = 0

    def _pop(self, kind, at):
        d = self.depth
        if d == 0 or self.kinds[d] != kind:
            self.err = "unbalanced brackets"
            return
        if kind == _OBJ:
            self._end_value(d, at)
        self.depth = d - 1
        self.want_key = False
        if d == 1:
            self.ended = True

    def _colon(self, at):
        d = self.depth
        if d == 0 or self.kinds[d] != _OBJ or not self.want_key:
            self.err = "misplaced ':'"
            return
        self.want_key = False
        k = self.key
        self.key = None
        if d > 4:
            return
        self.keys[d] = k
        self.open[d] = 1
        self.vstart[d] = at + 1
        if k is None or not self._indexing(d):
            return
        if d == 1:
            name = k
            if name in self.top:
                self.err = "duplicate key %s" % name
            self.top[name] = (at + 1, -1)
        elif d == 2:
            name = k
            if name in self.names:
                self.err = "duplicate drug %s" % name
            self.names.append(name)
            self.dspan.extend((at + 1, -1, -1, -1, len(self.rnames), 0))
        elif d == 3 and k == "routes" and self.kinds[2] == _OBJ:
            base = len(self.dspan) - 6
            if self.dspan[base + 2] >= 0:
                self.err = "duplicate routes in drug %s" % self.names[-1]
            self.dspan[base + 2] = at + 1
        elif d == 4 and self._indexing(4):
            base = len(self.dspan) - 6
            name = k
            first = self.dspan[base + 4]
            if name in self.rnames[first:]:
                self.err = "duplicate route %s in drug %s" % (name, self.names[-1])
            if name in self.rnames:
                name = self.rnames[self.rnames.index(name)]  # one "iv" string for every drug's iv route
            self.rnames.append(name)
            self.rspan.extend((at + 1, -1))
            self.dspan[base + 5] += 1

    def _end_value(self, d, at):
        if d > 4 or not self.open[d]:
            return
        self.open[d] = 0
        k = self.keys[d]
        if k is None or not self._indexing(d):
            return
        if d == 1:
            name = k
            self.top[name] = (self.top[name][0], at)
        elif d == 2:
            self.dspan[len(self.dspan) - 5] = at
        elif d == 3 and k == "routes" and self.kinds[2] == _OBJ:
            self.dspan[len(self.dspan) - 3] = at
        elif d == 4:
            self.rspan[len(self.rspan) - 1] = at


def _header(line):
    """(sha256 hex, version raw bytes, body size) from the header line, or a reason string."""
    if not line.startswith(MAGIC):
        return "not a compact drug library (its first line is not the %r header)" % MAGIC.decode().strip()
    parts = bytes(line[len(MAGIC):]).split(b" ", 3)
    if len(parts) != 4 or not parts[0].startswith(b"sha256=") or not parts[1].startswith(b"tag=") \
            or not parts[2].startswith(b"size=") or not parts[3].startswith(b"version="):
        return "the drug library header is malformed"
    sha = parts[0][7:].decode()
    if len(sha) != 64 or not _is_hex(sha):
        return "the drug library header has no SHA-256 seal"
    if parts[1][4:] != TAG_UNSET.encode():
        return "the drug library header's tag field is malformed"
    size = parts[2][5:].decode()
    if not size or not size.isdigit() or len(size) > 9:
        return "the drug library header's size is malformed"
    return sha, parts[3][8:], int(size)


def _is_hex(s):
    for c in s:
        if c not in "0123456789abcdef":
            return False
    return True


def verify(lib, buf=None, entries=False):
    """Verify the device-form library lib (a new druglib.Library: opened by
    lib._open(lib._name, 'rb')) and index it.  Never raises: lib, verified or
    with a reason.

    Checked here: the seal, the header, the JSON structure, format, version,
    settings, alias tables and each drug's own fields.  Route entries are
    checked when a library is made or installed (entries=True: `statim
    deploy`, DLCOMMIT, the host tools), and again as each is parsed on use;
    the seal proves the bytes have not changed since.  Parsing every entry at
    boot would double the heap the verification needs on a board."""
    try:
        return _verify(lib, buf, entries)
    except MemoryError:
        return _refuse(lib, "drug library %s does not fit in memory" % lib.path)
    except OSError as e:
        return _refuse(lib, "drug library %s cannot be read (%s)" % (lib.path, e))
    except LibraryError as e:
        return _refuse(lib, "drug library %s is sealed but malformed: %s" % (lib.version, e))
    except Exception as e:  # whatever the bytes, a refusal with a reason, never a crash
        return _refuse(lib, "drug library %s cannot be used (%s: %s)" % (lib.path, type(e).__name__, e))


def _verify(lib, buf, entries):
    if buf is None:
        buf = bytearray(CHUNK)
    f = lib._open(lib._name, "rb")
    try:
        n = f.readinto(buf)
        nl = buf.find(b"\n", 0, min(n, HEADER_MAX)) if _FIND else bytes(buf[0:min(n, HEADER_MAX)]).find(b"\n")
        if nl < 0:
            return _refuse(lib, "drug library %s has no header line: %s" % (
                lib.path, "it is empty" if n == 0 else "not a compact drug library"))
        h = _header(bytes(buf[0:nl]))
        if isinstance(h, str):
            return _refuse(lib, h)
        seal, version_raw, size = h
        whole = _sha256()  # the file as stored: DLGET's checksum, basis of the tag
        body = _sha256()  # the seal: canonical bytes only
        scan = _Scan()
        mv = memoryview(buf)
        whole.update(mv[0:n])
        body.update(mv[nl + 1:n])
        scan.pos = -(nl + 1)  # body offsets: the header is not part of the body
        scan.feed(buf, nl + 1, n)
        got = n - nl - 1
        total = n
        while True:
            n = f.readinto(buf)
            if not n:
                break
            total += n
            got += n
            whole.update(mv[0:n] if n < CHUNK else buf)
            body.update(mv[0:n] if n < CHUNK else buf)
            if scan.err is None:
                scan.feed(buf, 0, n)
    finally:
        f.close()
    lib.size = total
    lib._base = nl + 1
    lib.file_sha256 = _hex(whole.digest())
    digest = _hex(body.digest())
    if digest != seal:
        return _refuse(lib, "drug library failed its integrity check (SHA-256 %s..., expected %s...): it was changed after sealing" % (
            digest[:12], seal[:12]))
    if got != size:
        return _refuse(lib, "drug library body is %d bytes, its header says %d" % (got, size))
    # sealed: the index and the parsed parts come from the bytes the seal covers
    if scan.err is not None or scan.depth or scan.in_str or not scan.ended:
        return _refuse(lib, "drug library is sealed but not well-formed JSON: %s" % (
            scan.err or "it ends inside a value"))
    top = scan.top
    lib._names = tuple(scan.names)
    lib._dspan = scan.dspan
    lib._rnames = tuple(scan.rnames)
    lib._rspan = scan.rspan
    span = top.get("format")
    if span is None or lib._read(span[0], span[1] - span[0]) != ('"%s"' % FORMAT).encode():
        return _refuse(lib, "library format is not %r" % FORMAT)
    span = top.get("version")
    vraw = lib._read(span[0], span[1] - span[0]) if span is not None else b""
    ver = _loads(vraw, "version") if vraw else None
    if not isinstance(ver, str) or not ver:
        return _refuse(lib, "library has no version")
    if vraw != version_raw:
        return _refuse(lib, "the drug library header's version does not match the sealed one")
    lib.version = ver
    lib.sha256 = seal
    from .libcheck import settings_error, aliases_error, head_error

    for k in ("settings", "drugs"):
        span = top.get(k)
        if span is None or span[1] - span[0] <= 2:
            return _refuse(lib, "library has no %s" % k)
    span = top["settings"]
    st = lib._parse(span[0], span[1], "settings", MAX_SMALL)
    bad = settings_error(st)
    if bad is None:
        lib.settings = st
        for name in ("drug_aliases", "route_aliases"):
            span = top.get(name)
            raw = lib._read(span[0], span[1] - span[0]) if span is not None else b"{}"
            if len(raw) > MAX_SMALL:
                bad = "%s is larger than %d bytes" % (name, MAX_SMALL)
                break
            bad = aliases_error(name, _loads(raw, name))
            if bad is not None:
                break
            # kept as bytes (a third of the parsed table's heap), searched by _alias
            setattr(lib, "_" + name, raw)
    if bad is None and not lib._names:
        bad = "drugs is not a non-empty object"
    if bad is None:
        for dk in lib._names:
            bad = head_error(dk, lib.drug(dk), lib._routes(dk))
            if bad is not None:
                break
    lib.drop_cache()
    if bad is None and entries:
        bad = lib.check_entries()
    if bad is not None:
        return _refuse(lib, "library %s is sealed but malformed: %s" % (ver, bad))
    lib.verified = True
    lib.reason = ""
    return lib


def loads(text, path=None):
    """A library from its bytes or text: the device form, or the readable JSON
    (converted to the device form in memory, a host-side convenience: the
    conversion needs the whole document in RAM).  Never raises."""
    if isinstance(text, str):
        text = text.encode("utf-8")
    if bytes(text[0:len(MAGIC)]) == MAGIC:
        return _d.open_device(_d._MemOpener(text), "", path, entries=True)
    try:
        doc = json.loads(text)
    except MemoryError:
        return _refuse(Library(None, None, path), "drug library does not fit in memory")
    except Exception:
        return _refuse(Library(None, None, path), "drug library is not valid JSON")
    ok, reason = _precheck(doc)
    if not ok:
        return _refuse(Library(None, None, path), reason)
    try:
        data = device_bytes(doc)
    except ValueError as e:
        return _refuse(Library(None, None, path), "library content is not canonical: %s" % e)
    except MemoryError:
        return _refuse(Library(None, None, path), "drug library does not fit in memory")
    doc = None
    return _d.open_device(_d._MemOpener(data), "", path, entries=True)


def _precheck(doc):
    """What the device form's header needs from a readable document."""
    if not isinstance(doc, dict):
        return False, "library is not a JSON object"
    if doc.get("format") != FORMAT:
        return False, "library format is %r, expected %r" % (doc.get("format"), FORMAT)
    ver = doc.get("version")
    if not isinstance(ver, str) or not ver:
        return False, "library has no version"
    tag = doc.get("sha256")
    if not isinstance(tag, str) or len(tag) != 64:
        return False, "library has no SHA-256 integrity tag"
    return True, ""
