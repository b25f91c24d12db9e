# Main-loop health checks: the watchdog is fed only when these pass.
#
#   unit.health = health.Monitor()     # callable(unit) -> None or a reason
#
# A stalled loop never reaches the feed, so the watchdog catches it by
# itself.  These checks catch a loop that still runs but whose state can no
# longer be trusted; each is something a reset fixes, because the unit comes
# back by replaying the event log (the truth) and RAM is rebuilt from it:
#   clock      the episode clock went backwards, or the engine's time is
#              ahead of it (RAM corruption or a broken tick source)
#   deadline   a stage/phase/alarm deadline has passed without being
#              processed (the engine is stuck)
#   alarms     the alarm set differs from what the alarm log says
#              (IEC 60601-1-8 clause 6.12 record not written) -- except while
#              the flash is full: then the records cannot be written, a reset
#              would not help, and the storage_full alarm says so
# An event whose write to flash failed is never in RAM (the engine writes
# first, then applies), so a failed write needs no reset.
#   memory     free heap below the floor even after a collection, or an event
#              written to flash that RAM had no memory to apply
# Cheap and allocation-free in the steady state (one call per loop step).
from . import heap as _heap

try:
    import gc

    _mem_free = gc.mem_free  # type: ignore
except (ImportError, AttributeError):  # CPython: no heap to watch
    _mem_free = None  # type: ignore

DEADLINE_SLACK_S = 2  # the loop ticks every second; allow one missed wake-up
MIN_FREE_BYTES = 4096


class Monitor:
    """Stateful health check for Unit.health.  .checks, .failures and
    .last_reason count what happened (for the status screen and tests)."""

    def __init__(self, min_free=MIN_FREE_BYTES, require_log=True):
        self.min_free = min_free
        self.require_log = require_log
        self.last_now = -1
        self.checks = 0
        self.failures = 0
        self.last_reason = None
        self._reason = None  # the last check's answer (set inside heap.quiet)
        self._check_into = self._check  # bound once: a bound method is made, on the heap, at each use

    def __call__(self, unit):
        self.checks += 1
        # The check only reads: run it with the heap locked (its frame then comes
        # off the C stack, not a search of the heap, every loop step) and again
        # unlocked in the rare case it needed the heap (a reason it formats).
        if not _heap.quiet(self._check_into, unit):
            self._check(unit)
        reason = self._reason
        if reason is None:
            self.last_now = unit.engine.clock.now()
        else:
            self.failures += 1
            self.last_reason = reason
        return reason

    def _check(self, unit):
        self._reason = check(unit, self.last_now, self.min_free, self.require_log)


def check(unit, last_now=-1, min_free=MIN_FREE_BYTES, require_log=True, log_failures_ok=0):
    """None if the unit is healthy, else a short reason (str)."""
    eng = unit.engine
    st = eng.state
    now = eng.clock.now() if eng.clock is not None else st.t
    if now < last_now:
        return "clock: episode time went backwards"
    if st.t > now:
        return "clock: engine time is ahead of the clock"
    if eng.replay_needed:
        return "memory: an event on flash could not be applied in RAM (a replay of the log fixes it)"
    d = eng.next_deadline
    if 0 <= d < now - DEADLINE_SLACK_S:
        return "deadline: a deadline passed without being processed"
    if st.al_active != st.al_logged and not eng.store_full:  # two lists of flags: compared in C
        return "alarms: the alarm log disagrees with the active alarms"
    # the heap watch's last sample (after a collection): gc.mem_free() itself
    # walks the whole allocation table, too slow for every loop step
    heap = getattr(unit, "heap", None)
    free = heap.last_free if heap is not None else (_mem_free() if _mem_free is not None else -1)
    if free >= 0 and min_free > 0 and free < min_free:
        gc.collect()
        if _mem_free() < min_free:
            return "memory: free heap below the floor"
    return None


def warnings(unit):
    """Things to show on the status screen that a reset would not fix."""
    out = []
    store = unit.store
    if store is not None and getattr(store, "skipped", None):
        out.append("event log damaged: %d region(s) skipped" % len(store.skipped))
    if store is not None and getattr(store, "cut_bytes", None):
        out.append("event log: torn tail of %d bytes cut at start-up" % store.cut_bytes)
    lib = getattr(unit, "library", None)
    if lib is not None and not lib.verified:
        out.append("drug library not verified: dose checks refused")
    if getattr(unit, "library_refused", None):
        out.append("installed drug library refused: built-in in use")
    if eng_clock_unset(unit):
        out.append("clock not set: elapsed times uncertain")
    return out


def eng_clock_unset(unit):
    c = unit.engine.clock
    return bool(c is not None and c.clock_unset)
