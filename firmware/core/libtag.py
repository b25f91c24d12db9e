# The drug library installed on a unit's flash (by DLCOMMIT), checked at every
# boot whatever wrote the file, and the version order behind the downgrade
# rule.  Imported at boot and by DLCOMMIT only (a board lets it go after
# boot), so the dose checker's shape checks (libcheck.py) stay small.


def version_key(v):
    """(major, minor, ...) of a version such as "0.1.1" or "2.0.0-rc1", or None."""
    if not isinstance(v, str):
        return None
    out = []
    for part in v.split("-")[0].split("."):
        if not part or not part.isdigit() or len(part) > 6:
            return None
        out.append(int(part))
    return tuple(out) if out else None


def is_downgrade(new, current):
    """Installing `new` over `current` goes back (or cannot be compared): it needs
    the maintainer to ask for it."""
    a = version_key(new)
    b = version_key(current)
    if b is None:
        return False  # nothing comparable in use (no library): anything is an upgrade
    return a is None or a < b


def installed(open_fn, size_fn, name, tag_name, key):
    """The library installed on flash (by DLCOMMIT), verified the same way at
    every boot whatever wrote the file: its seal, format and shape
    (druglib.open_device) AND its tag, HMAC-SHA256(this unit's key, sha256 of
    the file) stored beside it in tag_name.  Returns (library, None) if it is
    good, (None, reason) if it is there but refused, (None, None) if none is
    installed."""
    if size_fn(name) < 0:
        return None, None
    from . import druglib

    lib = druglib.open_device(open_fn, name)
    if not lib.verified:
        return None, "installed drug library refused: " + lib.reason
    if key is None:
        return None, "installed drug library refused: no key on this unit to check its tag"
    try:
        f = open_fn(tag_name, "rb")
        try:
            text = f.read(80)
        finally:
            f.close()
    except OSError:
        return None, "installed drug library %s refused: it has no tag for this unit" % lib.version
    from . import auth

    tag = auth.unhex(bytes(text).decode().strip()) if text else None
    if tag is None or not auth.equal(tag, auth.druglib_tag_sha(key, lib.file_sha256)):
        return None, "installed drug library %s refused: its tag is not this unit's" % lib.version
    return lib, None
