"""firmware/core_c cross-compiles for Cortex-M with Debian's gcc-arm-none-eabi.

Cortex-M0+ (RP2040, soft float) and Cortex-M4F (hard float), C99, warnings as
errors, -Os.  Prints the .text size of every object.  Skips with a reason where
the toolchain is absent; .ci/run installs it, so CI never skips.
"""
import glob
import os
import shutil
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORE_C = os.path.join(REPO, "firmware", "core_c")
SOURCES = sorted(glob.glob(os.path.join(CORE_C, "*.c")))
GCC = shutil.which("arm-none-eabi-gcc")
SIZE = shutil.which("arm-none-eabi-size")
COMMON = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-Os", "-ffunction-sections", "-fdata-sections"]
TARGETS = {
    "cortex-m0plus-soft": ["-mcpu=cortex-m0plus", "-mthumb", "-mfloat-abi=soft"],
    "cortex-m4f-hard": ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"],
}

pytestmark = pytest.mark.skipif(
    GCC is None or SIZE is None,
    reason="gcc-arm-none-eabi not installed (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)",
)


def text_size(obj):
    out = subprocess.run([SIZE, "-A", obj], capture_output=True, text=True, check=True).stdout
    return sum(int(line.split()[1]) for line in out.splitlines() if line.startswith(".text"))


def data_size(obj):
    out = subprocess.run([SIZE, "-A", obj], capture_output=True, text=True, check=True).stdout
    return sum(int(line.split()[1]) for line in out.splitlines() if line.startswith((".data", ".bss")))


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("source", SOURCES, ids=os.path.basename)
def test_cross_compiles_without_warnings(source, target, tmp_path, report):
    obj = str(tmp_path / (os.path.basename(source) + ".o"))
    proc = subprocess.run(
        [GCC, *COMMON, *TARGETS[target], "-I", CORE_C, "-c", source, "-o", obj],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr
    size = text_size(obj)
    assert size > 0
    # no hidden mutable state: nothing in .data or .bss
    assert data_size(obj) == 0
    with report():
        print("\n  %-14s %-20s .text %6d bytes" % (os.path.basename(source), target, size), end="")
