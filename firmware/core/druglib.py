# Drug library: load, verify, look up -- one drug route at a time.
#
# The source of truth is the readable druglib.json in the repository (with
# its sources).  It carries a version and a seal: the SHA-256 of its
# canonical content (every key except "sha256", encoded by canon.py).
#
# On a unit the library is kept in its device form (druglib.lib), a file
# whose body IS those canonical bytes, after one ASCII header line:
#
#   statim-druglib/1 compact sha256=<64 hex> tag=<64 '-'> size=<body bytes> version=<canonical JSON string>\n
#   {"drug_aliases":{...},"drugs":{...},"format":"statim-druglib/1",...}
#
# so verifying it is a streaming SHA-256 over the stored bytes (512-byte
# reads into one preallocated buffer): no parse and no re-encoding, which on
# a Pico needed ~225 KB of heap.  The same pass scans the bytes (string,
# escape and depth state only) and records where each drug, its "routes"
# object and each route entry lie; settings and the two alias tables are
# small and kept parsed; a route entry is parsed (json.loads of its slice)
# only when it is used, and the last one is cached.  The index is built from
# the same bytes the hash covers, and it is used only if the hash matches.
#
# The header's tag field is unset ('-' * 64) in every file, and anything else
# there is refused.  A library installed on a unit (DLCOMMIT) carries its
# per-unit tag, auth.druglib_tag over the whole file, in a file beside it
# (druglib.tag); libtag.installed checks seal and tag at every boot.
#
# A library that cannot be read, has the wrong format, a missing version, a
# seal mismatch or a shape the unit cannot use (libcheck.py; see open_device
# for what is checked when) is returned with verified == False and a reason,
# and dosecheck refuses to check doses against it.  An entry that fails to
# parse or check on use raises LibraryError, which dosecheck turns into an
# ERROR verdict.  All numbers are integers.
import json


FORMAT = "statim-druglib/1"
FILENAME = "druglib.json"  # readable, sealed (repository; host tools)
DEVICE_FILENAME = "druglib.lib"  # device form (written by `statim deploy`, DLCOMMIT)
MAGIC = b"statim-druglib/1 compact "
TAG_UNSET = "-" * 64
REFERENCES = ("aes", "ncs")
AGE_GROUPS = ("adult", "child")

CHUNK = 512  # read size while verifying: the one buffer verification needs
HEADER_MAX = 256
MAX_DEPTH = 16  # JSON nesting the scanner accepts (the library uses 9)
MAX_KEY = 64  # bytes of a drug or route key
MAX_SMALL = 4096  # bytes of settings or an alias table kept parsed
MAX_ENTRY = 8192  # bytes of one route entry or drug head parsed on use

try:
    import hashlib as _hashlib

    _HAVE_HASHLIB = hasattr(_hashlib, "sha256")
except ImportError:  # pragma: no cover - minimal ports
    _HAVE_HASHLIB = False

from array import array as _array

from . import heap as _heap


class LibraryError(ValueError):
    """A library slice that cannot be used (unreadable, not JSON, wrong shape)."""


def _sha256():
    if _HAVE_HASHLIB:
        return _hashlib.sha256()
    from .sha256_fallback import Sha256

    return Sha256()


def sha256_hex(data):
    h = _sha256()
    h.update(data)
    return _hex(h.digest())


def _hex(b):
    out = ""
    for x in b:
        out += "0123456789abcdef"[x >> 4] + "0123456789abcdef"[x & 15]
    return out


def canonical_bytes(doc):
    """Canonical encoding of the whole document except its "sha256" field (host side)."""
    from . import canon as _canon

    body = {}
    for k in doc:
        if k != "sha256":
            body[k] = doc[k]
    return _canon.encode(body, "library")


def compute_hash(doc):
    return sha256_hex(canonical_bytes(doc))


def device_bytes(doc):
    """The device form of a parsed readable library (header line + canonical body).

    The header carries the document's own "sha256" as the seal, so a readable
    file changed after sealing gives a device file that fails verification.
    Raises ValueError if the content cannot be encoded canonically."""
    from . import canon as _canon

    body = canonical_bytes(doc)
    tag = doc.get("sha256")
    if not isinstance(tag, str) or len(tag) != 64:
        tag = "0" * 64
    head = "%ssha256=%s tag=%s size=%d version=" % (MAGIC.decode(), tag, TAG_UNSET, len(body))
    return head.encode() + _canon.encode(doc.get("version"), "library version") + b"\n" + body


def default_path():
    """The built-in library next to this module: the device form if deployed, else the readable file."""
    f = __file__
    i = f.rfind("/")
    j = f.rfind("\\")
    if j > i:
        i = j
    d = f[: i + 1] if i >= 0 else ""
    try:
        open(d + DEVICE_FILENAME, "rb").close()
        return d + DEVICE_FILENAME
    except OSError:
        return d + FILENAME


def _open_path(name, mode):
    return open(name, mode)


class _MemFile:
    """Just enough of a file over bytes held in memory (a library built on the host)."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def readinto(self, buf):
        n = len(buf)
        part = self.data[self.pos: self.pos + n]
        k = len(part)
        buf[0:k] = part
        self.pos += k
        return k

    def read(self, n=-1):
        end = len(self.data) if n < 0 else self.pos + n
        part = self.data[self.pos: end]
        self.pos += len(part)
        return part

    def seek(self, pos, whence=0):
        self.pos = pos
        return pos

    def close(self):
        pass


class _MemOpener:
    def __init__(self, data):
        self.data = bytes(data)

    def __call__(self, name, mode):
        return _MemFile(self.data)


# ---------------------------------------------------------------- Library --

class Library:
    """A drug library in its device form.  Use only if .verified; otherwise
    .reason says why.  Lookups read one drug route at a time from the file."""

    def __init__(self, open_fn=None, name=None, path=None):
        self.verified = False
        self.reason = "drug library not loaded"
        self.path = path if path is not None else name
        self.version = None
        self.sha256 = None
        self.settings = {}
        self.size = 0  # bytes of the device file
        self.file_sha256 = None  # SHA-256 of the whole device file (DLGET, the tag)
        self._open = open_fn
        self._name = name
        self._base = 0  # offset of the body in the file
        self._names = ()  # type: tuple
        self._dspan = _array("i")
        self._rnames = ()  # type: tuple
        self._rspan = _array("i")
        self._drug_aliases = b"{}"  # the alias tables as their canonical bytes (see _alias)
        self._route_aliases = b"{}"
        self._head = None  # (drug key, head dict): the last drug's fields other than routes

    # -- lookups ---------------------------------------------------------
    def _di(self, dk):
        try:
            return self._names.index(dk)
        except ValueError:
            return -1

    def drug_names(self):
        return sorted(self._names)

    def has_drug(self, dk):
        return self._di(dk) >= 0

    def resolve_drug(self, name):
        """Drug key for a name or alias (case-insensitive), or None."""
        if not isinstance(name, str):
            return None
        n = name.strip().lower()
        if self._di(n) >= 0:
            return n
        dk = _alias(self._drug_aliases, n)
        return dk if self._di(dk) >= 0 else None

    def _routes(self, dk):
        i = self._di(dk)
        if i < 0:
            return ()
        first = self._dspan[6 * i + 4]
        return self._rnames[first: first + self._dspan[6 * i + 5]]

    def resolve_route(self, drug_key, route):
        if not isinstance(route, str):
            return None
        routes = self._routes(drug_key)
        r = route.strip().lower()
        if r in routes:
            return r
        r = _alias(self._route_aliases, r)
        return r if r in routes else None

    def route_names(self, drug_key):
        return sorted(self._routes(drug_key))

    def entries(self):
        """[(drug key, route key)] of every entry, drugs sorted then routes sorted (no parsing)."""
        out = []
        for dk in self.drug_names():
            for rk in self.route_names(dk):
                out.append((dk, rk))
        return out

    def drug(self, dk):
        """The drug's own fields (name, class, hazards, ...) without its routes."""
        h = self._head
        if h is not None and h[0] == dk:
            return h[1]
        i = self._di(dk)
        if i < 0:
            raise LibraryError("drug %s is not in the library" % (dk,))
        s = self._dspan
        start, end, rs, re = s[6 * i], s[6 * i + 1], s[6 * i + 2], s[6 * i + 3]
        if rs < 0 or re < 0:
            d = self._parse(start, end, "drug %s" % dk)
        else:
            # the drug object with its routes value replaced by null: small to parse
            raw = self._read(start, rs - start) + b"null" + self._read(re, end - re)
            d = _loads(raw, "drug %s" % dk)
        if not isinstance(d, dict):
            raise LibraryError("drug %s is not an object" % dk)
        if "routes" in d:
            d.pop("routes")
        self._head = (dk, d)
        return d

    def drug_name(self, dk):
        """Display name of a drug ("Lorazepam"), its key if it has none."""
        n = self.drug(dk).get("name", dk)
        return n if isinstance(n, str) else dk

    def entry(self, drug_key, route_key):
        """The route entry, parsed from its slice; LibraryError if it cannot be.

        Not cached: a parsed entry is 3-5 KB on a board, more than the rest of
        the library's resident state, and parsing one takes milliseconds."""
        i = self._di(drug_key)
        routes = self._routes(drug_key)
        if route_key not in routes:
            raise LibraryError("route %s is not in the library for %s" % (route_key, drug_key))
        j = self._dspan[6 * i + 4] + routes.index(route_key)
        what = "drug %s route %s" % (drug_key, route_key)
        d = self._parse(self._rspan[2 * j], self._rspan[2 * j + 1], what)
        from .libcheck import entry_error

        bad = entry_error(drug_key, route_key, d)
        if bad is not None:
            raise LibraryError(bad)
        return d

    def check_entries(self):
        """None if every route entry parses and has the shape the unit relies on, else why not.
        One entry in memory at a time."""
        for dk in self._names:
            for rk in self._routes(dk):
                try:
                    self.entry(dk, rk)
                except LibraryError as e:
                    return str(e)
        return None

    def setting(self, name):
        return self.settings[name]

    def drop_cache(self):
        self._head = None

    def rebind(self, name, path=None):
        """The same verified bytes now live under `name` (renamed into place after DLCOMMIT)."""
        self._name = name
        self.path = path if path is not None else name
        self.drop_cache()

    # -- raw bytes (DLGET) ------------------------------------------------
    def read_raw(self, off, n):
        """n bytes of the device file from off (the whole file: header and body)."""
        if self._open is None or off >= self.size:
            return b""
        f = self._open(self._name, "rb")
        try:
            f.seek(off)
            return f.read(min(n, self.size - off))
        finally:
            f.close()

    def _read(self, off, n):
        if n < 0 or n > MAX_ENTRY:
            raise LibraryError("a library slice of %d bytes is out of range" % n)
        try:
            data = self.read_raw(self._base + off, n)
        except OSError as e:
            raise LibraryError("drug library %s cannot be read (%s)" % (self.path, e))
        if len(data) != n:
            raise LibraryError("drug library %s is shorter than when it was verified" % self.path)
        return data

    def _parse(self, start, end, what, limit=MAX_ENTRY):
        if end - start > limit:
            raise LibraryError("%s is larger than %d bytes" % (what, limit))
        return _loads(self._read(start, end - start), what)


def _alias(raw, name):
    """The value of key `name` in a canonical JSON object of strings held as bytes, or None.

    In canonical JSON a key is always preceded by '{' or ',' and followed by
    ':', and a plain name (no quote, backslash or control character) is
    encoded as its own UTF-8 bytes, so the search cannot match inside a value."""
    if not isinstance(name, str) or not name:
        return None
    for c in name:
        if c == '"' or c == "\\" or ord(c) < 0x20:
            return None
    key = b'"' + name.encode() + b'":'
    i = raw.find(key)
    while i > 0 and raw[i - 1] != 44 and raw[i - 1] != 123:  # preceded by ',' or '{'
        i = raw.find(key, i + 1)
    if i <= 0:
        return None
    start = i + len(key)
    j = start + 1
    while j < len(raw) and raw[j] != 34:
        j += 2 if raw[j] == 92 else 1
    try:
        v = json.loads(raw[start: j + 1])
    except ValueError:
        return None
    return v if isinstance(v, str) else None


def _loads(raw, what):
    try:
        return json.loads(raw)
    except MemoryError:
        raise LibraryError("%s does not fit in memory" % what)
    except Exception:
        raise LibraryError("%s is not valid JSON" % what)


def _refuse(lib, reason):
    lib.verified = False
    lib.reason = reason
    lib._names = ()
    lib._dspan = _array("i")
    lib._rnames = ()
    lib._rspan = _array("i")
    lib.settings = {}
    lib._drug_aliases = b"{}"
    lib._route_aliases = b"{}"
    lib.drop_cache()
    return lib


def open_device(open_fn, name, path=None, buf=None, entries=False):
    """Verify the device-form library `name` (opened by open_fn(name, 'rb')) and index it;
    never raises: a Library, verified or with a reason (libverify.verify says what is checked).
    The verifier is loaded for the call and let go after: a unit verifies at boot and on
    an install, and keeps only the index."""
    lib = Library(open_fn, name, path)  # first: a refusal needs it when memory runs short
    try:
        libverify = _heap.load("libverify")
    except MemoryError:
        return _refuse(lib, "drug library %s cannot be verified: no memory for the verifier" % lib.path)
    try:
        return libverify.verify(lib, buf, entries)
    finally:
        _heap.forget("libverify")


def load(path=None, entries=False):
    """Load and verify a library file (device form or readable JSON); never raises.
    A readable file is checked whole (it is a host-side form); entries=True checks
    every route entry of a device file too."""
    if path is None:
        path = default_path()
    try:
        f = open(path, "rb")
        try:
            head = f.read(len(MAGIC))
        finally:
            f.close()
    except OSError as e:
        return _refuse(Library(None, None, path), "drug library %s cannot be read (%s)" % (path, e))
    if head == MAGIC:
        return open_device(_open_path, path, path, entries=entries)
    try:
        with open(path, "rb") as f:
            text = f.read()
    except OSError as e:
        return _refuse(Library(None, None, path), "drug library %s cannot be read (%s)" % (path, e))
    except MemoryError:
        return _refuse(Library(None, None, path), "drug library %s does not fit in memory" % path)
    return loads(text, path)


def loads(text, path=None):
    """A library from its bytes or text: the device form, or the readable JSON
    (converted to the device form in memory: a host-side convenience).  Never raises."""
    try:
        libverify = _heap.load("libverify")
    except MemoryError:
        return _refuse(Library(None, None, path), "drug library %s does not fit in memory" % path)
    try:
        return libverify.loads(text, path)
    finally:
        _heap.forget("libverify")


_cached = None


def get():
    """The default library, loaded and verified once."""
    global _cached
    if _cached is None:
        _cached = load()
    return _cached


def reset_cache():
    global _cached
    _cached = None


def pick(value, reference, age_group):
    """Resolve {"by_reference": {...}} and {"by_age": {...}} selectors.

    Missing selector entries resolve to None (= not covered)."""
    for _ in range(4):
        if isinstance(value, dict) and "by_reference" in value:
            value = value["by_reference"].get(reference)
        elif isinstance(value, dict) and "by_age" in value:
            value = value["by_age"].get(age_group)
        else:
            return value
    return value


def fmt_rate_ng_kg_h(num, den, display):
    """A rate num/den ng/kg/h in the display unit ('mg/kg/h' or 'mcg/kg/min')."""
    from . import units  # the dose checker's; loaded with it

    if display == "mcg/kg/min":
        return "%s mcg/kg/min" % units.fmt_fixed(num, den * 60000, 2)
    return "%s mg/kg/h" % units.fmt_fixed(num, den * 1000000, 3)
