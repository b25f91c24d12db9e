"""statim druglib: verify, hash, seal, list and push the drug library.

`verify` recomputes the SHA-256 of the canonical content and compares it with
the library's tag (exit 0 if it matches, 1 if not).  `hash` prints the
recomputed hash.  `seal` writes the recomputed hash into the file -- a
maintenance step after a reviewed edit, never a way round a failed check.
`compact` writes the device form (druglib.lib: one header line with the
seal, then the canonical bytes the seal covers), the file a unit keeps and
verifies by hashing; `statim deploy` and `push` make it themselves.
`push PORT FILE` installs a library on a unit over the serial link: it is
verified here first, converted to the device form, then sent in a
maintenance session (HMAC-SHA256 login with the unit's key) with a tag made
from the same key; the unit verifies the tag and the library again before it
replaces the one in use.  verify, hash and list take either form.
"""
import json
import sys

from firmware.core import druglib


def seal_text(doc):
    """The library document with a fresh hash, as the file's text."""
    doc = dict(doc)
    doc["sha256"] = druglib.compute_hash(doc)
    ordered = {}
    for k in ("format", "version", "sha256"):
        if k in doc:
            ordered[k] = doc[k]
    for k, v in doc.items():
        if k not in ordered:
            ordered[k] = v
    return json.dumps(ordered, indent=1, ensure_ascii=False) + "\n"


def _read(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def device_form(path):
    """(device-form bytes, Library) of a library file in either form."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw.startswith(druglib.MAGIC):
        data = raw
    else:
        try:
            data = druglib.device_bytes(json.loads(raw))
        except (ValueError, AttributeError):
            data = raw  # loads() below says why
    return data, druglib.loads(data, path)


def _hash(path):
    """The recomputed seal of a file in either form."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw.startswith(druglib.MAGIC):
        return druglib.sha256_hex(raw[raw.index(b"\n") + 1:])
    return druglib.compute_hash(json.loads(raw))


def push(args):
    from host_tools import link as _link

    if len(args.targets) != 2:
        print("usage: statim druglib push PORT FILE [--key-file KEY]", file=sys.stderr)
        return 2
    port, path = args.targets
    data, lib = device_form(path)
    if not lib.verified:
        print("NOT VERIFIED, not sent: %s" % lib.reason, file=sys.stderr)
        return 1
    key = _link.load_key(args.key_file, port)
    if key is None:
        print("no maintenance key: give --key-file or set %s" % _link.KEY_ENV, file=sys.stderr)
        return 1
    try:
        with _link.open_link(port, timeout=args.timeout) as c:
            hello = c.hello()
            c.login(key)
            try:
                r = c.push_druglib(data, key, downgrade=getattr(args, "downgrade", False))
            finally:
                c.logout()
    except (_link.LinkError, _link.RemoteError) as e:
        print("statim druglib push: %s" % e, file=sys.stderr)
        return 1
    print("unit %s now runs drug library %s (sha256 %s), was %s" % (
        hello.get("unit"), r.get("version"), r.get("sha256"), hello.get("druglib")))
    return 0


def run(args):
    if args.action == "push":
        return push(args)
    if len(args.targets) > 1 or (args.targets and args.path and args.targets[0] != args.path):
        print("usage: statim druglib %s [FILE] (one file, or --path FILE)" % args.action, file=sys.stderr)
        return 2
    path = (args.targets[0] if args.targets else None) or args.path or druglib.default_path()
    if args.action == "seal":
        doc = _read(path)
        text = seal_text(doc)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        print("sealed %s version %s sha256 %s" % (path, doc.get("version"), json.loads(text)["sha256"]))
        return 0
    if args.action == "hash":
        print(_hash(path))
        return 0
    if args.action == "compact":
        data, lib = device_form(path)
        if not lib.verified:
            print("NOT VERIFIED, not written: %s" % lib.reason, file=sys.stderr)
            return 1
        out = args.output or (path[:-5] if path.endswith(".json") else path) + ".lib"
        with open(out, "wb") as f:
            f.write(data)
        print("wrote %s: drug library %s, %d bytes, sha256 %s" % (out, lib.version, len(data), lib.sha256))
        return 0
    lib = druglib.load(path, entries=True)
    if args.action == "verify":
        if args.json:
            print(json.dumps({"path": path, "verified": lib.verified, "reason": lib.reason,
                              "version": lib.version, "sha256": lib.sha256}, indent=2))
        elif lib.verified:
            print("OK: %s version %s sha256 %s" % (path, lib.version, lib.sha256))
        else:
            print("NOT VERIFIED: %s" % lib.reason, file=sys.stderr)
        return 0 if lib.verified else 1
    # list
    if not lib.verified:
        print("NOT VERIFIED: %s" % lib.reason, file=sys.stderr)
        return 1
    rows = []
    for dk in lib.drug_names():
        for rk in lib.route_names(dk):
            e = lib.entry(dk, rk)
            rows.append({"drug": dk, "route": rk, "mode": e.get("mode"), "line": e.get("line"),
                         "counts_toward": e.get("counts_toward"), "dose_unit": e.get("dose_unit")})
    if args.json:
        print(json.dumps({"version": lib.version, "entries": rows}, indent=2))
    else:
        print("drug library %s (sha256 %s)" % (lib.version, lib.sha256))
        for r in rows:
            print("  %-14s %-9s %-8s line %s  %s" % (r["drug"], r["route"], r["mode"], r["line"], r["counts_toward"]))
    return 0


def register(sub):
    p = sub.add_parser("druglib", help="verify, hash, seal, list, compact (device form) or push (to a unit) the drug library")
    p.add_argument("action", choices=["verify", "hash", "seal", "list", "compact", "push"],
                   help="verify, hash, seal, list, compact (device form) or push (to a unit)")
    p.add_argument("targets", nargs="*", metavar="PORT FILE",
                   help="the library file (default: firmware/core/druglib.json); push: the unit's port and the file")
    p.add_argument("--path", help="library file (default: firmware/core/druglib.json)")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.add_argument("-o", "--output", help="compact: where to write the device form (default: FILE with .lib)")
    p.add_argument("--key-file", help="push: maintenance key file (hex); default $STATIM_KEY")
    p.add_argument("--downgrade", action="store_true",
                   help="push: install a library older than the one in use (refused without it; logged)")
    p.add_argument("--timeout", type=float, default=2.0, help="push: seconds to wait for each reply")
    p.set_defaults(func=run)
