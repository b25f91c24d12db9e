"""The runtime episode engine: the event log, its folded state, and the tick.

    eng = boot(hal.ticks_ms, hal.rtc_s, stored_events, rules, assess, sink)
                            # power-up: replay the log, start the clock, log power_up
    eng = Engine(rules=None, assess=None, sink=None, clock=None)
    eng.load(events)        # replay a stored log; a bad record is quarantined
    eng.power_up()          # log a power_up event (needs a clock)
    eng.sync_clock(source)  # read the RTC into the wall label; log a correction
    eng.append(event)       # validate + apply + store one event; returns it
                            # (a `void` mark refolds the log without the entry it marks)
    eng.tick(now=None)      # advance to `now` (clock.now() if omitted);
                            # returns the next deadline (episode s) or -1
    eng.next_deadline       # same value, as an attribute
    eng.snapshot(now)       # readable state for screens (allocates)
    eng.state               # the folded episode.State (read-only for callers)
    eng.events              # the log (list of event dicts; do not mutate)

Guarantees
- The log is the truth: `episode.fold(eng.events)` equals `eng.state`.
  A rejected event raises ValueError naming the problem and leaves the log
  and the state as they were (the state may have moved forward in time,
  which is just the passage of time).
- Steady-state `tick(now)` (no deadline reached since the last call)
  allocates nothing.  Reaching a deadline re-derives the state, which also
  allocates nothing, unless an alarm is raised or cleared: then the engine
  appends an alarm record (a new event), and that allocates.
- Alarm records: whenever the derived alarm set differs from what the log
  says, the engine appends `alarm raise` / `alarm clear` events at the time of
  the change (IEC 60601-1-8 clause 6.12 log) and passes them to `sink`.
- Replay never hides a committed record: a stored record that fails
  validation (time going backwards, unknown type, a second onset, ...) is
  quarantined -- kept in `events` as {"type": "invalid", "t", "reason",
  "record": the stored record}, which the fold counts (state.n_invalid, the
  log_invalid flag) and otherwise ignores -- and replay goes on after it.
- Events must come in time order: an event earlier than the engine's time
  (the last tick or event) is refused.  Stamp events with `eng.now()`.
- `sink(event)` is called for every appended event, including the alarm
  records the engine writes itself; persistence hooks in here.
- The engine tells its caller the next deadline (a stage threshold, a due
  time, a phase boundary, the end of an audio pause): an emulator can jump its
  virtual clock straight there; nothing changes in between.

`assess(dose_event, weight_g) -> (bzd_permille, second_line_adequate)` is the
dose checker's hook for re-checking logged doses when the weight changes; see
episode.py for the contract.  Times are integer episode seconds (clock.py).
"""

from . import episode as _episode
from . import events as _events
from . import alarms as _alarms
from . import clock as _clock
from . import canon as _canon
from . import heap as _heap

RECORD_SHOWN = 300  # bytes of a quarantined record kept whole in memory (the rest stays on flash)


class Engine:
    def __init__(self, rules=None, assess=None, sink=None, clock=None):
        self.assess = assess
        self.sink = sink
        self.clock = clock
        self.events = []
        self.state = _episode.State(rules)
        self.rules = self.state.rules
        self.next_deadline = -1

    # -- log

    def load(self, evs):
        """Replay a stored log.  A record that cannot be applied is quarantined
        (see the module notes) and replay goes on.  The stored alarm records
        are replayed as they are; records that are missing (power lost before
        they were written) are written now, through `sink`."""
        evs = list(evs)
        _episode.prepare(self.state, self.events + evs)
        for ev in evs:
            t0 = self.state.t
            try:
                if type(ev) is dict and ev.get("type") == "invalid" and "t" not in ev:
                    raise ValueError(ev.get("reason") or "invalid record")  # marked by the log
                self._commit(ev, False)
            except MemoryError:
                raise
            except Exception as e:
                self._quarantine(ev, e, t0)
        if self.events:
            self._sync_alarms(self.state.t)
        self.next_deadline = self.state.next_deadline

    def append(self, ev):
        """Validate, apply and store one event; returns the stored copy (the
        log keeps its own dict, so a caller mutating theirs cannot rewrite it)."""
        _events.validate(ev)
        ev = dict(ev)
        t = ev["t"]
        if t < self.state.t:
            raise ValueError("%s event at t=%d: earlier than the engine time %d (events must be in time order)"
                             % (ev["type"], t, self.state.t))
        if ev["type"] == "void":
            from . import voids  # a mark refolds the log without the entry it marks

            voids.refold(self, ev)
            _heap.forget("voids")
        self.tick(t)
        self._commit(ev, True)
        self._sync_alarms(t)
        self.next_deadline = self.state.next_deadline
        return ev

    def _commit(self, ev, to_sink):
        st = self.state
        t_before = st.t
        try:
            _episode.apply(st, ev, self.assess)
        except ValueError:
            # apply() checks before it changes anything but the time.  A
            # failing assess hook is undone in episode._effect.
            raise
        except Exception:
            # Anything else is a bug in the fold: rebuild from the untouched log.
            self._rebuild(t_before)
            raise
        self.events.append(ev)
        if to_sink and self.sink is not None:
            self.sink(ev)

    def _quarantine(self, ev, e, t0):
        if self.state.t != t0:
            self._rebuild(t0)  # refusing it must not move the episode time to its t
        rec = ev
        if type(ev) is dict and ev.get("type") == "invalid" and "t" not in ev:
            rec = ev.get("record")
        try:
            enc = _canon.encode(rec, "record")
        except Exception:
            enc = b"?"
        if len(enc) > RECORD_SHOWN:  # a LOG reply is one line: show its start, as text
            rec = "".join([chr(b) if 32 <= b < 127 else "?" for b in enc[:RECORD_SHOWN // 2]]) + "..."
        q = {"type": "invalid", "t": t0 if t0 > 0 else 0, "reason": str(e)[:_events.NOTE_MAX], "record": rec}
        self._commit(q, False)

    def _rebuild(self, t):
        st = _episode.State(self.rules)
        st.voided = self.state.voided
        st.void_at = self.state.void_at
        for ev in self.events:
            _episode.apply(st, ev, self.assess)
        _episode.advance(st, t)
        self.state = st

    def _sync_alarms(self, t):
        # Write raise / clear records where the derived alarm set and the log
        # disagree.  Nothing to write in steady state: no allocation.
        st = self.state
        i = 0
        while i < _alarms.N_ALARMS:
            if st.al_active[i] != st.al_logged[i]:
                action = "raise" if st.al_active[i] else "clear"
                self._commit(_events.alarm(t, action, _alarms.NAMES[i]), True)
            i += 1

    # -- time

    def now(self):
        return self.clock.now()

    def tick(self, now=None):
        """Advance to `now`; return the next deadline (-1: none)."""
        if now is None:
            if self.clock is None:
                raise ValueError("tick() needs `now` when the engine has no clock")
            now = self.clock.now()
        st = self.state
        d = st.next_deadline
        while 0 <= d <= now:
            _episode.evaluate(st, d)
            self._sync_alarms(d)
            d = st.next_deadline
        if now > st.t:
            st.t = now
        self.next_deadline = d
        return d

    def sync_clock(self, source="sync"):
        """Read the RTC into the wall label; a correction is logged as a
        `clock` event (its delta) and moves no timer.  Returns the event or None."""
        c = self.clock
        if not c.sync():
            return None
        t = c.now()
        if t < self.state.t:
            t = self.state.t
        return self.append(_events.clock(t, c.delta, source))

    def power_up(self):
        """Log start-up; with no RTC the state gets the clock_unset flag.  The
        gap the RTC measured since the last record (the timers include it)
        and a correction of the wall label are in the event (clock.py)."""
        c = self.clock
        t = c.now()
        if t < self.state.t:
            t = self.state.t
        return self.append(_events.power_up(t, not c.clock_unset, c.gap if c.gap >= -1 else None, c.delta))

    # -- queries

    def snapshot(self, now=None):
        if now is None:
            now = self.state.t
        return _episode.snapshot(self.state, now)


def boot(ticks_ms, rtc_s, stored=(), rules=None, assess=None, sink=None):
    """Power-up: replay the stored log, start the clock, log `power_up`.

    `ticks_ms` / `rtc_s` are the HAL's (rtc_s returns Unix seconds or None).
    The timer clock continues from the last logged time plus the gap the RTC
    measured (the one clock that ran while the power was off), so the log
    stays in order even with no RTC (then the time powered off is lost and
    `clock_unset` is flagged; see clock.py) or with an RTC that is behind the
    log (no gap; the wall labels are corrected instead)."""
    eng = Engine(rules, assess, sink)
    eng.load(stored)
    st = eng.state
    if eng.events:
        start = st.t if st.t > 0 else 0
        label = -1 if st.clock_unset else start + st.wall_offset
        eng.clock = _clock.Clock(ticks_ms, rtc_s, start, st.wall_offset, label)
    else:
        eng.clock = _clock.Clock(ticks_ms, rtc_s)
    eng.power_up()
    return eng
