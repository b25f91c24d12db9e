# Drug library: load, verify, look up.
#
# The library is druglib.json next to this file.  It carries a version and
# the SHA-256 of its canonical content (every key except "sha256", encoded by
# canonical_bytes below).  load() recomputes the hash; a library that does
# not parse, has the wrong format, a missing version or a hash mismatch is
# returned with verified == False and a reason, and dosecheck refuses to
# check doses against it.  All numbers in the library are integers.
import json

from . import canon as _canon
from . import units

FORMAT = "statim-druglib/1"
FILENAME = "druglib.json"
REFERENCES = ("aes", "ncs")
AGE_GROUPS = ("adult", "child")

try:
    import hashlib as _hashlib

    _HAVE_HASHLIB = hasattr(_hashlib, "sha256")
except ImportError:  # pragma: no cover - minimal ports
    _HAVE_HASHLIB = False


def sha256_hex(data):
    if _HAVE_HASHLIB:
        d = _hashlib.sha256(data).digest()
    else:
        from .sha256_fallback import sha256_digest

        d = sha256_digest(data)
    return _hex(d)


def _hex(b):
    out = ""
    for x in b:
        out += "0123456789abcdef"[x >> 4] + "0123456789abcdef"[x & 15]
    return out


def canonical_bytes(doc):
    """Canonical encoding of the whole document except its "sha256" field."""
    body = {}
    for k in doc:
        if k != "sha256":
            body[k] = doc[k]
    return _canon.encode(body, "library")


def compute_hash(doc):
    return sha256_hex(canonical_bytes(doc))


def default_path():
    f = __file__
    i = f.rfind("/")
    j = f.rfind("\\")
    if j > i:
        i = j
    return (f[: i + 1] if i >= 0 else "") + FILENAME


class Library:
    """A loaded library.  Use only if .verified; otherwise .reason says why."""

    def __init__(self, doc, verified, reason, path=None):
        self.doc = doc
        self.verified = verified
        self.reason = reason
        self.path = path
        d = doc if isinstance(doc, dict) else {}
        self.version = d.get("version") if isinstance(d.get("version"), str) else None
        self.sha256 = d.get("sha256") if isinstance(d.get("sha256"), str) else None
        s = d.get("settings")
        self.settings = s if isinstance(s, dict) else {}
        dr = d.get("drugs")
        self.drugs = dr if isinstance(dr, dict) else {}

    def drug_names(self):
        return sorted(self.drugs.keys())

    def resolve_drug(self, name):
        """Drug key for a name or alias (case-insensitive), or None."""
        if not isinstance(name, str):
            return None
        n = name.strip().lower()
        if n in self.drugs:
            return n
        aliases = self.doc.get("drug_aliases", {})
        return aliases.get(n)

    def resolve_route(self, drug_key, route):
        if not isinstance(route, str) or drug_key not in self.drugs:
            return None
        r = route.strip().lower()
        routes = self.drugs[drug_key].get("routes", {})
        if r in routes:
            return r
        r = self.doc.get("route_aliases", {}).get(r)
        return r if r in routes else None

    def route_names(self, drug_key):
        return sorted(self.drugs.get(drug_key, {}).get("routes", {}).keys())

    def entry(self, drug_key, route_key):
        return self.drugs[drug_key]["routes"][route_key]

    def setting(self, name):
        return self.settings[name]


def verify_doc(doc):
    """(ok, reason) for a parsed document."""
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
    try:
        got = compute_hash(doc)
    except ValueError as e:
        return False, "library content is not canonical: %s" % e
    if got != tag:
        return False, "library %s failed its integrity check (SHA-256 %s..., expected %s...): it was changed after sealing" % (
            ver, got[:12], tag[:12])
    for k in ("settings", "drugs"):
        if not isinstance(doc.get(k), dict) or not doc.get(k):
            return False, "library has no %s" % k
    from .libcheck import shape_error

    bad = shape_error(doc)
    if bad is not None:
        return False, "library %s is sealed but malformed: %s" % (ver, bad)
    return True, ""


def load(path=None):
    """Load and verify; never raises.  Returns a Library."""
    if path is None:
        path = default_path()
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        return Library({}, False, "drug library %s cannot be read (%s)" % (path, e), path)
    return loads(text, path)


def loads(text, path=None):
    try:
        doc = json.loads(text)
    except Exception:
        return Library({}, False, "drug library is not valid JSON", path)
    ok, reason = verify_doc(doc)
    return Library(doc, ok, reason, path)


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
    if display == "mcg/kg/min":
        return "%s mcg/kg/min" % units.fmt_fixed(num, den * 60000, 2)
    return "%s mg/kg/h" % units.fmt_fixed(num, den * 1000000, 3)
