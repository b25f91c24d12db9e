# Runs under CPython and under the MicroPython unix port alike (firmware/ and
# tests/ on the module path): the bedside unit -- core.unit.Unit on the
# scripted HAL (tests/guest_hal.py), the serial link attached as on a board --
# through clinical.md §14 staging scenarios, with the collector on.
#
#   unixport_guest.py timeline PLANS.json  one JSON line per scenario
#   unixport_guest.py idle                 heap_lock() around idle steps
#   unixport_guest.py longlog DIR N        N entries logged on a flash log in DIR, then a reboot
#
# timeline: every minute of virtual time is sampled (episode.row_into plus
# tone and LED, run-length encoded as episode.timeline does); every expect-*
# step records a probe (stage, seizure, flags, alarms, due, screen); every
# dose records its verdict.  Under MicroPython the collector runs after every
# allocated KB (gc.threshold) and a full collection runs after every unit
# step, so an object the firmware still needs but the collector cannot see is
# freed and shows as a wrong timeline or a crash.
import gc
import json
import sys

from core import episode as _episode
from core import heap as _heap
from core import protocol as _protocol
from core import rules as _rules
from core import unit as _unit
from guest_hal import ScriptHal

MP = sys.implementation.name == "micropython"
KEY = b"statim-unixport-test-key-0123456"  # a test key: the link only needs one to exist
SAMPLE_MS = 60000
ROW_LEN = _episode.ROW_LEN
GC_THRESHOLD = 1024


def rand(n):
    return bytes(n)  # no session is opened; Auth only keeps the callable


class Mem:
    """Heap figures after each forced collection (MicroPython only)."""

    def __init__(self):
        self.min_free = -1
        self.max_alloc = 0
        self.collections = 0

    def collect(self):
        gc.collect()
        self.collections += 1
        if MP:
            f = gc.mem_free()
            a = gc.mem_alloc()
            if self.min_free < 0 or f < self.min_free:
                self.min_free = f
            if a > self.max_alloc:
                self.max_alloc = a


def boot(case, mem):
    hal = ScriptHal()
    rules = _rules.build(case["rules"]) if case["rules"] else None
    u = _unit.Unit(hal, {"se_type": case["se_type"]}, rules=rules)
    u.link = _protocol.Link(u, hal, key=KEY, rand=rand, repl=None)
    mem.collect()
    u.set_weight(case["weight_g"])
    u.step()
    mem.collect()
    return hal, u


class Timeline:
    def __init__(self, hal, u, mem):
        self.hal = hal
        self.u = u
        self.mem = mem
        self.cur = [0] * (ROW_LEN + 2)
        self.prev = [-9] * (ROW_LEN + 2)
        self.rows = []
        self.steps = 0

    def step(self):
        wait = self.u.step()
        self.steps += 1
        self.mem.collect()
        return wait

    def sample(self):
        u = self.u
        cur = self.cur
        _episode.row_into(u.state, u.now(), cur)
        cur[ROW_LEN] = self.hal.tone
        cur[ROW_LEN + 1] = self.hal.led
        k = 1
        while k < len(cur) and cur[k] == self.prev[k]:
            k += 1
        if k < len(cur):
            cur[0] = self.hal.ms // 1000  # scenario seconds, not episode seconds
            self.rows.append(list(cur))
            self.prev, self.cur = cur, self.prev

    def run_to(self, target):
        """Main loop to scenario time target (ms): step, then sleep to the next
        thing that can happen (the engine's deadline, the next sample, the
        target), sampling every minute on the way."""
        hal = self.hal
        u = self.u
        while True:
            self.step()
            if hal.ms % SAMPLE_MS == 0:
                self.sample()
            if hal.ms >= target:
                return
            nxt = (hal.ms // SAMPLE_MS + 1) * SAMPLE_MS
            if nxt > target:
                nxt = target
            d = u.engine.next_deadline
            if d >= 0:
                dl = hal.ms + (d - u.now()) * 1000
                if hal.ms < dl < nxt:
                    nxt = dl
            hal.sleep_ms(nxt - hal.ms)


def probe(u, number):
    s = u.status()
    alarms = [[a[0], a[1]] for a in s["alarms"]]
    due = [[d[0], d[3]] for d in s["due"]]
    return {"step": number, "stage": s["stage"], "phase": s["phase"], "seizure": bool(u.state.active),
            "flags": sorted(s["flags"]), "alarms": alarms, "due": due, "screen": u.ui.render(u.now()).text()}


def do_event(u, ev):
    kind = ev["type"]
    if kind == "onset":
        u.onset(ev.get("se_type"))
    elif kind == "seizure_stop":
        u.seizure_stop()
    elif kind == "seizure_recur":
        u.seizure_recur()
    elif kind == "wean_start":
        u.wean("start")
    elif kind == "anesthetic_start" or kind == "anesthetic_change":
        v = u.give(ev["drug"], "infusion", rate=ev["rate"], override=ev.get("override"))
        return [kind + " " + ev["drug"] + " " + ev["rate"], v["verdict"], v["logged"]]
    elif kind == "anesthetic_stop":
        u.infusion("stop", ev["drug"])
    elif kind == "norse":
        u.flag("norse", True)
    elif kind == "note":
        u.note(ev.get("text", ""))
    elif kind == "eeg":
        u.eeg_state(ev["state"])
    else:
        raise ValueError("event %s is not a staging step" % kind)
    return None


def run_case(case):
    mem = Mem()
    hal, u = boot(case, mem)
    tl = Timeline(hal, u, mem)
    tl.sample()
    probes = []
    verdicts = []
    for number, command, value in case["steps"]:
        if command == "at":
            tl.run_to(value)
        elif command == "event":
            try:
                v = do_event(u, value)
            except ValueError as e:  # refused: the step fails (recorded, the scenario goes on)
                v = [value["type"], "refused: " + str(e), False]
            if v is not None:
                verdicts.append([number] + v)
            tl.step()
        elif command == "dose":
            v = u.give(value["drug"], value["route"], dose=value["amount"], over=value.get("over"),
                       override=value.get("override"))
            verdicts.append([number, value["drug"] + " " + value["amount"], v["verdict"], v["logged"]])
            v = None
            tl.step()
        else:  # expect-*
            probes.append(probe(u, number))
            mem.collect()
    kinds = [e["type"] for e in u.events]
    out = {"name": case["name"], "rows": tl.rows, "probes": probes, "verdicts": verdicts, "events": kinds,
           "steps": tl.steps, "end_ms": hal.ms, "health_failures": u.health.failures,
           "health_reason": u.health.last_reason, "library": [u.library.verified, u.library.reason]}
    if MP:
        out["heap"] = {"min_free": mem.min_free, "max_alloc": mem.max_alloc, "collections": mem.collections}
    return out


def timeline(path):
    with open(path) as f:
        cases = json.load(f)
    for case in cases:
        out = run_case(case)
        print(json.dumps(out))
        out = None
        gc.collect()


# ------------------------------------------------------------ idle step under heap_lock

IDLE_ITERATIONS = 100


def locked_calls(fn, n, between):
    """Call fn() n times, each under micropython.heap_lock(); between() runs
    unlocked after each call.  Returns (calls that completed, traceback text
    of the first MemoryError or None)."""
    import io
    import micropython

    i = 0
    while i < n:
        micropython.heap_lock()
        try:
            fn()
            err = None
        except MemoryError as e:
            err = e
        micropython.heap_unlock()
        if err is not None:
            buf = io.StringIO()
            sys.print_exception(err, buf)
            return i, buf.getvalue()
        between()
        i += 1
    return i, None


IDLE_CASES = ("power_on", "refractory", "countdown", "acknowledged")


def idle_unit(case):
    """A unit as a board runs it (link attached), warmed up, then idle: nothing
    pressed, nothing on the wire, no deadline within the next IDLE_ITERATIONS s.
    The cases cover every kind of home-screen row that changes while idle:
      power_on      READY, weight set
      refractory    clinical.md §14 case 5 at 1 h 11 min: refractory SE on
                    midazolam, alarms acknowledged, the timer in minutes
      countdown     30 min, lorazepam + levetiracetam given: "3rd line mm:ss"
                    counting down, t2 exceeded active and sounding, the EEG
                    row (its BSR changes every second, see idle())
      acknowledged  6 min, no drug: first line overdue acknowledged (silent,
                    " ack"), stage escalation still sounding"""
    mem = Mem()
    hal, u = boot({"se_type": "convulsive", "rules": None, "weight_g": 70000}, mem)
    tl = Timeline(hal, u, mem)
    if case == "refractory":
        u.onset()
        tl.run_to(5 * 60000)
        u.give("lorazepam", "iv", dose="4 mg")
        tl.run_to(15 * 60000)
        u.give("levetiracetam", "iv", dose="4200 mg", over=600)
        tl.run_to(60 * 60000)
        u.give("midazolam", "infusion", rate="0.2 mg/kg/h")
        tl.run_to(70 * 60000)
        u.ack_alarm()
    elif case == "countdown":
        u.onset()
        tl.run_to(5 * 60000)
        u.give("lorazepam", "iv", dose="4 mg")
        tl.run_to(15 * 60000)
        u.give("levetiracetam", "iv", dose="4200 mg", over=600)
        tl.run_to(30 * 60000)
        u.eeg["attached"] = True  # the EEG row as unit._poll_eeg leaves it (no detector on this HAL)
        u.eeg["seizure"] = True
        u.eeg["bsr_percent"] = 0
    elif case == "acknowledged":
        u.onset()
        tl.run_to(6 * 60000)
        u.ack_alarm("first_line_overdue")
    tl.run_to(hal.ms + 60000)
    i = 0
    while i < 5:  # warm-up: the loop as a board runs it, one wake a second
        hal.sleep_ms(u.step())
        i += 1
    gc.collect()
    return hal, u


def idle(case):
    hal, u = idle_unit(case)
    ticks = [0]
    deadline = u.engine.next_deadline
    before = u.now()
    screens = [u.ui.screen.text()]  # first and last screen of the locked run (for the test to read)
    versions = u.ui.screen.version

    def step():
        ticks[0] = u.step()

    def sleep():
        hal.sleep_ms(ticks[0])
        if u.eeg["attached"]:
            u.eeg["bsr_percent"] = (u.eeg["bsr_percent"] + 7) % 101  # 0..100: one, two and three digits
            # new figures come with samples, and a step that reads samples redraws the whole page
            # (unit.step: busy): that redraw, EEG row included, must allocate nothing either
            u.ui._rendered_t = -1
        gc.collect()

    n, err = locked_calls(step, IDLE_ITERATIONS, sleep)
    screens.append(u.ui.screen.text())
    versions = u.ui.screen.version - versions
    # The same loop again, part by part, each part under its own heap_lock:
    # which parts allocate, and where (each part's first allocation, as a
    # traceback).
    parts = []
    if err is not None:
        seen = {}
        for _ in range(3):
            for name, fn in idle_parts(u):
                k, e = locked_calls(fn, 1, lambda: None)
                if e is not None and name not in seen:
                    seen[name] = True
                    parts.append([name, e])
            hal.sleep_ms(1000)
            gc.collect()
    st = u.status()
    out = {"case": case, "episode": case != "power_on", "locked_steps": n, "error": err,
           "parts": parts, "seconds": u.now() - before, "stage": st["stage"],
           "alarms": [[a[0], a[3]] for a in st["alarms"]],
           "deadline_unchanged": u.engine.next_deadline == deadline, "screens": screens,
           "redraws": versions, "link": u.link is not None, "health_failures": u.health.failures}
    st = None
    hal = u = None
    gc.collect()
    out.update(idle_figure(case))
    print(json.dumps(out))


def idle_figure(case):
    """The unit's own figure: idle_alloc, the bytes its last window of
    IDLE_WINDOW consecutive idle steps allocated (heap.Watch).  A second unit
    brought to the same state runs the loop as a board does -- no heap_lock,
    no collections but the unit's own and the allocator's -- for one window
    (and the step that opens it), from a fresh heap.Watch."""
    hal, u = idle_unit(case)
    u.heap = _heap.Watch()
    events = len(u.engine.events)
    deadline = u.engine.next_deadline
    # micropython.mem_total(): every byte the allocator was asked for, so also the Python
    # frames that live only for a call (Unit.step: a frame over 11 words is asked of the heap
    # and costs the board a search of it).  Asked while heap.quiet has the heap locked, the
    # answer is no at once and the frame goes on the C stack: those asks are counted apart.
    import micropython

    total = micropython.mem_total
    locked = [0, 0]  # mem_total() at the lock, bytes asked while locked

    def lock():
        locked[0] = total()
        micropython.heap_lock()

    def unlock():
        micropython.heap_unlock()
        locked[1] += total() - locked[0]

    _heap._heap_lock, _heap._heap_unlock = lock, unlock
    step_total = 0
    counted = 0
    i = 0
    while i < _heap.IDLE_WINDOW + 1:
        synced = u._synced_t
        a = total()
        k = locked[1]
        w = u.step()
        asked = total() - a - (locked[1] - k)
        # not counted: the first step (the fresh Watch's first calls) and the once-a-minute
        # clock sync, which reads the RTC and redraws the page whole (a step that is not idle)
        if i and u._synced_t == synced:
            step_total += asked
            counted += 1
        hal.sleep_ms(w)
        i += 1
    _heap._heap_lock, _heap._heap_unlock = micropython.heap_lock, micropython.heap_unlock
    return {"idle_alloc": u.heap.idle_alloc, "idle_step_total": step_total, "idle_steps_counted": counted,
            "idle_events": len(u.engine.events) - events,
            "idle_deadline_unchanged": u.engine.next_deadline == deadline,
            "idle_health_failures": u.health.failures}


def idle_parts(u):
    """Unit.step's parts, in its order, as zero-argument callables."""
    hal = u.hal
    t = [0]

    def now():
        t[0] = u.now()

    def tick():
        u.engine.tick(t[0])

    def outputs():
        u._drive_outputs(t[0])

    def render():
        u.ui.render(t[0])

    def health():
        u.health(u)

    return [("hal.poll_buttons", hal.poll_buttons), ("link.poll", u.link.poll), ("unit._poll_eeg", u._poll_eeg),
            ("unit.now", now), ("engine.tick", tick), ("unit._drive_outputs", outputs), ("ui.render", render),
            ("health", health), ("hal.wdt_feed", hal.wdt_feed)]


def sensitivity():
    """The heap_lock harness catches an allocation (the idle test is not vacuous)."""
    box = []

    def alloc():
        box.append([0, 0, 0])

    n, err = locked_calls(alloc, 1, lambda: None)
    print(json.dumps({"locked_steps": n, "error": err}))


# ------------------------------------------------------------ a long log on flash

class FileHal(ScriptHal):
    """The scripted HAL with its storage in a directory (the unit's flash)."""

    def __init__(self, root):
        ScriptHal.__init__(self)
        self.root = root

    def fs_open(self, name, mode):
        return open(self.root + "/" + name, mode)

    def fs_rename(self, old, new):
        import os

        os.rename(self.root + "/" + old, self.root + "/" + new)

    def fs_remove(self, name):
        import os

        os.remove(self.root + "/" + name)

    def fs_size(self, name):
        import os

        try:
            return os.stat(self.root + "/" + name)[6]
        except OSError:
            return -1


def longlog(root, n):
    """n entries (notes and EEG changes, a dose check every 250) on a flash log, the heap's use
    after the first 100 and at the end (after a collection), then a reboot on the same log."""
    from core import eventlog as _eventlog

    mem = Mem()
    hal = FileHal(root)
    u = _unit.Unit(hal, {"se_type": "convulsive"}, store=_eventlog.EventLog(hal))
    u.link = _protocol.Link(u, hal, key=KEY, rand=rand, repl=None)
    u.set_weight(70000)
    u.onset()
    hal.ms += 60000
    u.step()
    dose = u.give("lorazepam", "iv", dose="4 mg")["verdict"]
    verdicts = []
    used_100 = 0
    k = 0
    while k < n:
        hal.ms += 1000
        if k % 5 == 4:
            u.eeg_state("seizure" if k % 10 == 4 else "no_seizure")
        else:
            u.note("note %d" % k)
        if k % 250 == 0:
            verdicts.append(u.check("levetiracetam", "iv", dose="4200 mg")["verdict"])
        if k % 20 == 0:
            u.step()
        if k == 100:
            mem.collect()
            used_100 = gc.mem_alloc() if MP else 0
        k += 1
    u.step()
    mem.collect()
    used_end = gc.mem_alloc() if MP else 0
    count = len(u.events)
    last = u.events[-1]
    first_note = [ev for ev in u.events if ev.get("text") == "note 0"]
    u = None
    mem.collect()
    again = _unit.Unit(hal, {"se_type": "convulsive"}, store=_eventlog.EventLog(hal))
    repeat = again.check("lorazepam", "iv", dose="4 mg")
    print(json.dumps({"dose": dose, "verdicts": verdicts, "count": count, "last": last,
                      "first_note": first_note, "used_100": used_100, "used_end": used_end,
                      "min_free": mem.min_free, "replayed": len(again.events),
                      "replayed_last": again.events[count - 1], "weight_g": again.weight_g,
                      "stage": again.state.stage, "repeat_messages": repeat["messages"]}))


def main():
    if MP:
        gc.enable()
        gc.threshold(GC_THRESHOLD)
    cmd = sys.argv[1]
    if cmd == "timeline":
        timeline(sys.argv[2])
    elif cmd == "idle":
        for case in IDLE_CASES:
            idle(case)
        sensitivity()
    elif cmd == "longlog":
        longlog(sys.argv[2], int(sys.argv[3]))
    else:
        raise ValueError("unknown command " + cmd)


main()
