"""The runtime episode engine: the event log, its folded state, and the tick.

    eng = boot(hal.ticks_ms, hal.rtc_s, stored_events, rules, assess, sink)
                            # power-up: replay the log, start the clock, log power_up
    eng = Engine(rules=None, assess=None, sink=None, clock=None, store=None)
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
    eng.events              # the log (event dicts by index; do not mutate): a list, or on
                            # a unit with a flash log a window on it (logwindow.py)

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
- `store(event)` writes an event to flash; it is called BEFORE the event is
  applied (write first, then apply): an event counts only once it is stored.
  A store error leaves the log and the state as they were and is raised to
  the caller; one whose `code` is "FULL" (eventlog.StorageFull) also sets
  `store_full` (state.storage_full, the storage_full alarm) until a later
  write succeeds.  While the store is full the engine does not try to write
  its alarm records (the alarms themselves are derived, and sound), and a
  boot whose power_up record does not fit still comes up.
- Memory (a unit on a flash log keeps a window on it in RAM, logwindow.py; what the fold needs
  for the whole episode is in the state): the room for one more event in `events` is made
  before the write, so a heap that cannot give it refuses the event (MemoryError) with
  nothing written.  Routine records (ROUTINE) are refused while fewer than ROUTINE_FLOOR bytes
  are free (`heap_free`, a hook the unit sets).  An event written but not applied for lack of
  memory sets `replay_needed`: the health check stops feeding the watchdog, and the replay at
  the reset makes RAM the log again.
- `sink(event)` is called for every appended event, including the alarm
  records the engine writes itself, once it is applied (protocol event lines).
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
from . import heap as _heap

# Records the unit can do without when its heap runs short, and the free heap (bytes, after a
# collection) they must leave: the dose checker loads in about 32 KB (emulated Pico), so notes
# and EEG changes stop before they take the room a dose check needs.  Doses, stage records and
# the alarm records go on to the last byte.
ROUTINE = ("note", "flag", "eeg")
ROUTINE_FLOOR = 49152  # 48 KB: the checker's ~32 KB, and a margin for a heap cut into gaps


class Engine:
    def __init__(self, rules=None, assess=None, sink=None, clock=None, store=None, events=None):
        self.assess = assess
        self.sink = sink
        self.store = store
        self.store_full = False
        self.replay_needed = False  # an event on flash that RAM could not apply (no memory): reset and replay
        self.heap_free = _heap.free_now  # bytes free (-1: no heap to watch, CPython)
        self.clock = clock
        self.events = [] if events is None else events  # or a window on the flash log (logwindow.py)
        self.state = _episode.State(rules)
        self.rules = self.state.rules
        self.next_deadline = -1

    # -- log

    def load(self, evs):
        """Replay a stored log.  A record that cannot be applied is quarantined
        (see the module notes) and replay goes on.  The stored alarm records
        are replayed as they are; records that are missing (power lost before
        they were written) are written now, through `sink`.  `evs` may be a
        window the log's replay filled (logwindow.py) when `events` is an empty
        one on the same log: the entries are then read back one group at a time."""
        if not hasattr(self.events, "reserve"):  # a list (not a window on the flash log)
            evs = list(evs)
            _episode.prepare(self.state, self.events + evs)
            self._replay(evs, None)
        elif len(evs):
            if evs.voids:  # (the index saw every mark: a log without one needs no scan for them)
                _episode.prepare(self.state, evs)
            self._replay(evs, evs.log)
        if self.events:
            self._sync_alarms(self.state.t)
        self.next_deadline = self.state.next_deadline

    def _replay(self, evs, log):
        i = 0
        n = len(evs)
        while i < n:
            if log is None:
                ev = evs[i]
            else:
                ev, log.last_pos = evs.at(i)  # the window's entry i is this record
            i += 1
            t0 = self.state.t
            try:
                if type(ev) is dict and ev.get("type") == "invalid" and "t" not in ev:
                    raise ValueError(ev.get("reason") or "invalid record")  # marked by the log
                self._commit(ev, False)
            except MemoryError:
                raise
            except Exception as e:
                self._quarantine(ev, e, t0)

    def append(self, ev):
        """Validate, apply and store one event; returns the stored copy (the
        log keeps its own dict, so a caller mutating theirs cannot rewrite it)."""
        _events.validate(ev)
        # A collection first: the event is kept for the whole episode, and on a board it then
        # takes the lowest free run rather than one between the garbage of the request that
        # made it -- long-lived events packed low keep the heap's free space in large blocks
        # (measured on the emulated Pico: largest free block after 120 logged requests 2.3 KB
        # without, 16 KB with).
        _heap.collect()
        if ev["type"] in ROUTINE:
            free = self.heap_free()
            if 0 <= free < ROUTINE_FLOOR:
                raise MemoryError("%d bytes free, kept for dose checks: %s not logged" % (free, ev["type"]))
        ev = dict(ev)
        t = ev["t"]
        if t < self.state.t:
            raise ValueError("%s event at t=%d: earlier than the engine time %d (events must be in time order)"
                             % (ev["type"], t, self.state.t))
        before = None
        if ev["type"] == "void":
            from . import voids  # a mark refolds the log without the entry it marks

            before = self.state
            voids.refold(self, ev)
            _heap.forget("voids")
        self.tick(t)
        try:
            self._commit(ev, True)
        except Exception:
            if before is not None:  # the mark is not on flash: the fold without it stands
                before.storage_full = self.store_full
                self.state = before
                self.reevaluate()
            raise
        self._sync_alarms(t)
        self.next_deadline = self.state.next_deadline
        return ev

    def _commit(self, ev, to_sink):
        st = self.state
        t_before = st.t
        stored = to_sink and self.store is not None
        # The RAM log's slot before the write: on a board a full list grows into a new block for
        # every event's pointer (MicroPython doubles it: 2 KB at 257 events, 4 KB at 513), the
        # one allocation of a commit big enough to fail on a heap a long episode has cut up.
        # It fails here, with nothing written (MemoryError to the caller), not after the write.
        evs = self.events
        if hasattr(evs, "reserve"):
            evs.reserve()  # a window on the flash log (logwindow.py)
        else:
            evs.append(ev)
            evs.pop()
        if stored:
            _episode.check(st, ev)  # refused: nothing written
            self._write(ev)  # not written: nothing applied
        try:
            _episode.apply(st, ev, self.assess)
        except Exception as e:
            if stored and isinstance(e, MemoryError):
                # on flash, half applied in RAM: only a replay of the log (a reset) makes RAM
                # the log again; the health check asks the watchdog for it
                self.replay_needed = True
            elif stored:
                # on flash, yet refused by the fold (a failing assess hook): shown as replay shows it
                self._quarantine(ev, e, t_before)
            elif not isinstance(e, ValueError):
                # apply() checks before it changes anything but the time; anything
                # else is a bug in the fold: rebuild from the untouched log
                self._rebuild(t_before)
            raise
        self.events.append(ev)
        if to_sink and self.sink is not None:
            self.sink(ev)

    def _write(self, ev):
        try:
            self.store(ev)
        except Exception as e:
            if getattr(e, "code", None) == "FULL":
                self._set_full(True)
            raise
        if self.store_full:
            self._set_full(False)

    def _set_full(self, full):
        self.store_full = full
        self.state.storage_full = full
        self.reevaluate()

    def reevaluate(self):
        """Re-derive the state now, after a flag set outside the log."""
        st = self.state
        if st.t >= 0:
            _episode.evaluate(st, st.t)
            self.next_deadline = st.next_deadline

    def silence(self, ev):
        """An alarm ack or pause applied in memory only, for when the store is
        full: the audio follows the staff, the record cannot (the caller says so)."""
        self.tick(ev["t"])
        st = self.state
        _episode.check(st, ev)
        _alarms.apply_event(st, ev)
        _episode.evaluate(st, st.t)
        self.next_deadline = st.next_deadline

    def _quarantine(self, ev, e, t0):
        if self.state.t != t0:
            self._rebuild(t0)  # refusing it must not move the episode time to its t
        from . import record  # lazy: only a log with a bad record needs it

        self._commit(record.entry(ev, e, t0), False)

    def _rebuild(self, t):
        st = _episode.State(self.rules)
        st.voided = self.state.voided
        st.void_at = self.state.void_at
        st.storage_full = self.state.storage_full  # not from the log
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
            if st.al_active[i] != st.al_logged[i] and not self.store_full:
                action = "raise" if st.al_active[i] else "clear"
                try:
                    self._commit(_events.alarm(t, action, _alarms.NAMES[i]), True)
                except Exception:
                    if not self.store_full:
                        raise  # a full flash is alarmed; anything else is the caller's
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


def boot(ticks_ms, rtc_s, stored=(), rules=None, assess=None, sink=None, store=None, events=None):
    """Power-up: replay the stored log, start the clock, log `power_up`.

    `ticks_ms` / `rtc_s` are the HAL's (rtc_s returns Unix seconds or None).
    The timer clock continues from the last logged time plus the gap the RTC
    measured (the one clock that ran while the power was off), so the log
    stays in order even with no RTC (then the time powered off is lost and
    `clock_unset` is flagged; see clock.py) or with an RTC that is behind the
    log (no gap; the wall labels are corrected instead).  A full store does
    not stop it: the unit comes up without the power_up record (an unset
    clock then shows from the clock itself, not from the log)."""
    eng = Engine(rules, assess, sink, None, store, events)
    eng.load(stored)
    st = eng.state
    if eng.events:
        start = st.t if st.t > 0 else 0
        label = -1 if st.clock_unset else start + st.wall_offset
        eng.clock = _clock.Clock(ticks_ms, rtc_s, start, st.wall_offset, label)
    else:
        eng.clock = _clock.Clock(ticks_ms, rtc_s)
    try:
        eng.power_up()
    except Exception:
        if not eng.store_full:
            raise
    return eng
