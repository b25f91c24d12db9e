"""The board's native EEG detector module (firmware/core_c/natmod -> statim_det.mpy).

`statim deploy` ships it to a Pico (armv6m) when it can be built here; the tests
build it for the MicroPython unix port (x64).  Building needs the architecture's
C compiler (arm-none-eabi-gcc for armv6m, gcc for x64) and MicroPython's linker
for native modules (tools/mpy_ld.py, vendored with the headers it needs in
firmware/core_c/natmod/micropython; it needs the pyelftools and ar packages).
Without them the firmware's detector runs as its Python twin, which gives the
same events but costs the board about ten times the CPU.
"""
import os
import shutil
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NATMOD = os.path.join(REPO, "firmware", "core_c", "natmod")
COMPILERS = {"armv6m": "arm-none-eabi-gcc", "x64": "gcc"}
DEVICE_PATH = "/lib/statim_det.mpy"


class NatmodUnavailable(Exception):
    pass


def output(arch):
    return os.path.join(NATMOD, "build", arch, "statim_det.mpy")


def missing(arch):
    """Why the module cannot be built for arch here, or None."""
    if arch not in COMPILERS:
        return "no native detector for the %s architecture" % (arch or "bytecode-only")
    if shutil.which(COMPILERS[arch]) is None or shutil.which("make") is None:
        return "%s (and make) not found" % COMPILERS[arch]
    for mod, pkg in (("elftools", "pyelftools"), ("ar", "ar")):
        try:
            __import__(mod)
        except ImportError:
            return "MicroPython's native-module linker needs the %s package (pip install %s)" % (pkg, pkg)
    return None


def build(arch):
    """Path of statim_det.mpy for arch, (re)built by make when its sources changed."""
    why = missing(arch)
    if why:
        raise NatmodUnavailable(why)
    proc = subprocess.run(["make", "-s", "-C", NATMOD, "ARCH=" + arch, "PYTHON=" + sys.executable],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise NatmodUnavailable("building statim_det.mpy for %s failed: %s" % (
            arch, (proc.stderr or proc.stdout).strip()[-1500:]))
    return output(arch)
