"""statim druglib: verify, hash, seal and list the drug library.

`verify` recomputes the SHA-256 of the canonical content and compares it with
the library's tag (exit 0 if it matches, 1 if not).  `hash` prints the
recomputed hash.  `seal` writes the recomputed hash into the file -- a
maintenance step after a reviewed edit, never a way round a failed check.
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


def run(args):
    path = args.path or druglib.default_path()
    if args.action == "seal":
        doc = _read(path)
        text = seal_text(doc)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        print("sealed %s version %s sha256 %s" % (path, doc.get("version"), json.loads(text)["sha256"]))
        return 0
    if args.action == "hash":
        print(druglib.compute_hash(_read(path)))
        return 0
    lib = druglib.load(path)
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
    p = sub.add_parser("druglib", help="verify, hash, seal or list the drug library")
    p.add_argument("action", choices=["verify", "hash", "seal", "list"])
    p.add_argument("--path", help="library file (default: firmware/core/druglib.json)")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=run)
