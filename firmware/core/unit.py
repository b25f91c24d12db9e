# The bedside unit: HAL + episode engine + dose checks + EEG detector + UI.
#
# One object, one main-loop step.  Every way in — the front-panel buttons
# (ui.py), the serial link (protocol.py), a scenario — goes through the same
# action methods here, so a dose logged from the panel and one logged over the
# wire are checked and recorded identically.
#
#   unit = Unit(hal, config, store)   # boot: replay the stored log, log power_up
#   wait_ms = unit.step()              # poll inputs, tick, drive outputs
#
# Actions raise ValueError with a message a nurse can act on; nothing is
# logged when they do.  Times are episode seconds (clock.py).
#
# Memory: on a board every imported module's code lives in the heap, so the
# dose checker (and the unit parser it uses), the EEG detector and the
# settings store are imported when a task needs them.  The checker is kept
# while doses are being entered and forgotten CHECKER_KEEP_S after its last
# use (heap.forget); the settings store only at boot and on a change.
from . import alarms as _alarms
from . import clock as _clock
from . import druglib as _druglib
from . import engine as _engine
from .eventlog import StorageFull
from . import events as _events
from . import hal as _hal
from . import health as _health
from . import heap as _heap
from . import logwindow as _logwindow
from . import phases as _phases
from . import ui as _ui

try:
    from typing import TYPE_CHECKING
except ImportError:  # MicroPython: annotations are not evaluated
    TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

FIRMWARE_VERSION = "0.1.0"
IDLE_WAKE_MS = 1000  # the home screen shows seconds: wake at least once a second
WAKE_AFTER_MS = 2  # wake just after the second turns, not just before it
EEG_BLOCK = 64  # samples read from the HAL per call
EEG_RETRY_S = 60  # a detector that could not start (no memory) is tried again this much later
CLOCK_SYNC_S = 60  # how often the main loop re-reads the RTC (when the HAL's RTC can drift)
CHECKER_KEEP_S = 30  # the dose checker stays loaded this long after its last use

_TONE = (_hal.TONE_HIGH, _hal.TONE_MEDIUM, _hal.TONE_LOW)
_LED = (_hal.LED_RED, _hal.LED_YELLOW, _hal.LED_CYAN)

SETTING_KEYS = ("se_type", "reference", "age_group")  # what maintenance may change and flash keeps
DEFAULT_CONFIG = {
    "unit_id": "STATIM-0001",
    "se_type": "convulsive",  # what one press on the idle screen starts
    "reference": "aes",  # drug-library reference where sources disagree: aes | ncs
    "age_group": None,  # None: inferred from the weight by the dose checker
}

# detector event -> engine EEG state (trend events are not logged)
_EEG_STATE = {"seizure_on": "seizure", "seizure_off": "no_seizure",
              "bs_on": "burst_suppression", "bs_off": "no_seizure"}


class Unit:
    def __init__(self, hal, config=None, store=None, library=None, rules=None):
        self.hal = hal
        self.config = dict(DEFAULT_CONFIG)
        self.heap = _heap.Watch()
        self.loop_ms = 0  # duration of the last main-loop step
        self._deadline = 0  # the engine's next deadline as of the last step (0: render whole at first)
        self._events_seen = -1  # events in the log at the end of the last step
        self._t0 = 0  # ticks_ms at the start of this step (loop_ms)
        self._checker = None  # the dose checker module while it is loaded
        self._checker_bytes = 0  # the heap it took when it loaded
        self._checker_t = 0
        lost = None  # why the stored settings could not be used, if they could not
        try:
            st_store = self._settings()
            stored_cfg = st_store.load()  # maintenance changes survive a reboot ...
            lost = st_store.lost()
            st_store = None
        except (OSError, NotImplementedError):  # a unit without storage runs on its defaults
            stored_cfg = {}
        _heap.forget("settings")
        for key in SETTING_KEYS:
            if key in stored_cfg:
                self.config[key] = stored_cfg[key]
        if config:
            self.config.update(config)  # ... an explicit configuration (the emulator's) wins
        self.store = store
        self.library = library if library is not None else _druglib.get()
        self.library_refused = None  # why the installed library was refused at boot (see refuse_installed)
        self.listeners = []  # callables(event): protocol event lines, emulator log
        self._starting = False  # a new log is being started (clear_log): its events wait
        self.link = None  # protocol.Link, when the serial link is attached
        self.req = None  # set by the link while a request runs: written into the events it logs
        self.health = _health.Monitor()  # callable(unit) -> None or reason; gates the watchdog
        self.weight_g = None
        if store is not None and hasattr(store, "read"):
            store.feed = hal.wdt_feed  # a long log's replay outlasts the watchdog (eventlog.REPLAY_COLLECT_EVERY)
        try:
            self.engine = self._boot(self._replay(store), rules)
        finally:
            if store is not None and hasattr(store, "read"):
                store.feed = None  # from here on the health check alone feeds it
        if lost is not None:  # never silently: flagged, alarmed and in the log
            try:
                self.engine.append(_events.maint(self.engine.now(), "settings_damaged", lost))
            except StorageFull:  # no room to log it: the flag and the alarm still show
                self.engine.state.settings_lost = True
                self.engine.reevaluate()
        self._synced_t = self.engine.now()
        # A board whose RTC runs off the same crystal as its tick counter (the
        # Pico) cannot drift from it, and reading its RTC allocates (the Unix
        # time is a big integer there): it is read at boot and when it is set.
        self._rtc_drifts = getattr(hal, "RTC_DRIFTS", True)
        self.weight_g = self.engine.state.weight_g or None  # the last weight not entered in error
        self.age_months = self.engine.state.age_months  # entered with a weight (dose checks by age, under-2 warning)
        self.detector = None  # type: Any
        self._eeg_buf = None  # type: Any
        self._eeg_events = []  # type: list
        self._eeg_retry_t = 0  # when to try again to start a detector that could not start
        self._eeg_t0 = 0
        self._tone = -1
        self._led = -1
        self.eeg = {"attached": False, "seizure": False, "bsr_percent": 0, "burden_percent": 0, "se": False,
                    "bs": False, "bsr_trend": []}  # type: dict
        self.ui = _ui.Ui(self)
        self._redraw_moving = self.ui.redraw_moving  # bound once: the loop passes them to heap.quiet
        self._redraw_whole = self.ui.redraw_whole

    def _replay(self, store):
        """The stored log: a window on it (logwindow.py) when the store is the flash event log,
        which reads its older entries back from flash, else the list the store loads."""
        if store is None:
            return []
        if not hasattr(store, "read"):
            return store.load()
        w = _logwindow.Window(store, 0)  # the replay's index: every entry is read back from flash
        store.load(w.replayed)
        return w

    def _boot(self, stored, rules):
        """Replay the log and start.  A stored record that is not a valid event (its
        CRC was fine, so it was written that way) never stops the unit or hides what
        follows it: the engine quarantines it (shown as invalid, flagged, kept on flash).
        A unit on the flash event log keeps only a window of it in RAM (logwindow.py)."""
        hal = self.hal
        win = _logwindow.Window(self.store) if hasattr(self.store, "read") else None
        eng = _engine.boot(hal.ticks_ms, hal.rtc_s, stored, rules, self._assess, self._sink, self._store, win)
        _heap.forget("record")  # loaded only if a record was quarantined
        eng.heap_free = self._free_for_log
        return eng

    def _free_for_log(self):
        """Free heap as the log's floor for routine records sees it (engine.ROUTINE_FLOOR is the
        room a dose check loads in): a dose checker already loaded holds that room, so its bytes
        count as free."""
        f = _heap.free_now()
        return f + self._checker_bytes if f >= 0 else f

    # ------------------------------------------------------------ plumbing
    def _settings(self):
        from . import settings

        return settings.Settings(self.hal, "settings")

    def checker(self):
        """The dose checker module (imported on first use; see CHECKER_KEEP_S)."""
        if self._checker is None:
            _heap.collect()
            f0 = _heap.free_now()
            from . import dosecheck

            _heap.collect()
            self._checker_bytes = f0 - _heap.free_now() if f0 >= 0 else 0  # what it holds (see _free_for_log)
            self._checker = dosecheck
        self._checker_t = self.engine.now() if getattr(self, "engine", None) is not None else 0
        return self._checker

    def _release_checker(self, t):
        if self._checker is not None and t - self._checker_t >= CHECKER_KEEP_S:
            self._checker = None
            self._checker_bytes = 0
            _heap.forget("unit_doses")
            _heap.forget("dosecheck")
            _heap.forget("units")
            _heap.forget("libcheck")  # the library's per-entry shape check, loaded by a check

    def _assess(self, dose_event, weight_g):
        return self.checker().assess(dose_event, weight_g, self.library)

    def _store(self, ev):
        # write first, then apply (engine.py): raises eventlog.StorageFull on a full flash
        if self.store is not None:
            self.store.append(ev)

    def _sink(self, ev):
        if self._starting:
            return
        for fn in self.listeners:
            fn(ev)

    @property
    def events(self):
        return self.engine.events

    @property
    def state(self):
        return self.engine.state

    def now(self):
        return self.engine.now()

    def _log(self, ev):
        if self.req is not None:
            ev["req"] = self.req  # the link request that logged it (idempotency across a reboot)
        return self.engine.append(ev)

    # ------------------------------------------------------------ actions
    def onset(self, se_type=None, at=None):
        se_type = se_type or self.config["se_type"]
        return self._log(_events.onset(self.now(), se_type, at))

    def seizure_stop(self):
        return self._log(_events.stop(self.now()))

    def seizure_recur(self):
        return self._log(_events.recur(self.now()))

    def recovered(self):
        return self._log(_events.recovered(self.now()))

    # weights and doses: checked, then logged (unit_doses.py, loaded with the dose checker)
    def _doses(self):
        self.checker()  # the doses module is let go with the checker (_release_checker)
        return _heap.load("unit_doses")

    def check_weight(self, weight, age=None):
        """The checker's verdict on a weight entry against the weight in use; logs nothing."""
        return self._doses().check_weight(self, weight, age)

    def enter_weight(self, weight, override=None, age=None):
        """Check, then log a weight (unit_doses.enter_weight): the verdict, with "logged"."""
        return self._doses().enter_weight(self, weight, override, age)

    def set_weight(self, weight, override=None, age=None):
        """enter_weight, for callers that want the event: ValueError when not logged."""
        v = self.enter_weight(weight, override, age)
        if not v["logged"]:
            raise ValueError("%s, not logged: %s" % (v["verdict"], "; ".join(v["messages"])))
        return v["event"]

    def check(self, drug, route, dose=None, rate=None, over=None, duration=None):
        """The dose checker's verdict for this patient now; logs nothing."""
        return self._doses().check(self, drug, route, dose, rate, over, duration)

    def give(self, drug, route, dose=None, rate=None, over=None, duration=None, override=None):
        """Check, then log what was given (unit_doses.give): the verdict, with "logged"."""
        return self._doses().give(self, drug, route, dose, rate, over, duration, override)

    def _infusion_running(self, drug):
        return drug in self.engine.state.infusions

    def infusion(self, action, drug, rate=None):
        """Anesthetic infusion start/change/stop without a dose check (rate in
        ug/kg/h as an int, or None).  Use give(rate=...) to have it checked."""
        return self._log(_events.infusion(self.now(), action, drug, rate))

    def stop_infusion(self, drug):
        """Stop a running infusion (the drug's library name or an alias)."""
        key = self.library.resolve_drug(drug) if self.library.verified else None
        key = key or drug
        if not self._infusion_running(key):
            raise ValueError("no %s infusion is running" % key)
        return self._log(_events.infusion(self.now(), "stop", key))

    def wean(self, action="start"):
        return self._log(_events.wean(self.now(), action))

    def ack_alarm(self, name=None):
        """Acknowledge one alarm, or every active one when name is None."""
        t = self.now()
        self.engine.tick(t)
        names = [name] if name else [a[0] for a in _alarms.active_list(self.state, t)]
        if not names:
            raise ValueError("no active alarm to acknowledge")
        out = []
        full = None
        for n in names:
            try:
                out.append(self._signal(_events.alarm(t, "ack", n)))
            except StorageFull as e:
                full = e
        if full is not None:
            raise full
        return out

    def void(self, seq, reason):
        """Mark the log entry `seq` entered in error, with a reason.  It stays in
        the log; the fold leaves it out of the clinical state (voids.py)."""
        evs = self.engine.events
        if type(seq) is not int or seq < 0 or seq >= len(evs):
            raise ValueError("no log entry with seq %r (the log has 0..%d)" % (seq, len(evs) - 1))
        reason = str(reason or "").strip()
        if not reason:
            raise ValueError("give a reason for marking seq %d entered in error" % seq)
        target = evs[seq]
        ev = self._log(_events.void(self.now(), seq, target["type"], target["t"], reason[:_events.REASON_MAX]))
        self.weight_g = self.engine.state.weight_g or None
        return ev

    def pause_audio(self):
        return self._signal(_events.alarm(self.now(), "pause"))

    def _signal(self, ev):
        """An alarm ack or pause.  With the flash full it cannot be logged: the audio
        still follows the staff (in memory only), and the error says it was not logged."""
        try:
            return self._log(ev)
        except StorageFull:
            self.engine.silence(ev)
            raise StorageFull("storage full: alarm audio silenced but NOT logged")

    def note(self, text):
        return self._log(_events.note(self.now(), text))

    def flag(self, name, value=True):
        return self._log(_events.flag(self.now(), name, value))

    def eeg_state(self, state):
        return self._log(_events.eeg(self.now(), state))

    def set_clock(self, unix_s):
        self.hal.set_rtc(unix_s)
        self.engine.sync_clock("set")  # logged with its delta; no timer moves (clock.py)

    def save_settings(self):
        """Keep the maintenance-changeable configuration on flash (atomic, A/B)."""
        values = {}
        for key in SETTING_KEYS:
            values[key] = self.config.get(key)
        try:
            return self._settings().save(values)
        finally:
            _heap.forget("settings")

    def clear_log(self):
        """Maintenance: start a new record.  The caller checks no episode is running;
        the new log's first records say when and how much was cleared."""
        n = len(self.engine.events)
        if self.store is not None:
            self.store.clear()
        self.weight_g = None
        self.age_months = None
        # The new log's first entry (power_up) goes to the listeners once the new log is the
        # unit's: they read its seq from unit.events, and the old log is no longer on flash.
        self._starting = True
        try:
            self.engine = self._boot([], self.engine.rules)
        finally:
            self._starting = False
        for ev in self.engine.events:
            self._sink(ev)
        self.engine.append(_events.maint(self.engine.now(), "clear_log", "new log: %d records cleared" % n))
        if self.library_refused:  # the new log says it too, and the alarm stays
            self.refuse_installed(self.library_refused)

    def refuse_installed(self, reason):
        """The library installed on flash failed its boot check (seal or this unit's
        tag): the built-in one is in use; the flag shows on HELLO, STATUS and the
        panel, the refusal is logged, and the library_refused alarm is on (the
        fold reads this record; the next power_up or DLCOMMIT ends it)."""
        self.library_refused = reason
        try:
            self.engine.append(_events.maint(self.now(), "druglib_refused", _events.BUILTIN_LIB + reason))
        except StorageFull:  # no room to log it: the flag and the alarm still show
            self.engine.state.library_refused = True
            self.engine.reevaluate()

    # ------------------------------------------------------------ queries
    def status(self):
        t = self.now()
        self.engine.tick(t)
        s = self.engine.snapshot(t)
        s["weight_g"] = self.weight_g
        if self.age_months is not None:
            s["age_months"] = self.age_months  # entered with the weight (dose bands, the under-2 warning)
        s["clock_unset"] = self.engine.clock.clock_unset
        if not s["clock_unset"]:
            s["unix"] = _clock.statim_to_unix(self.engine.clock.wall())  # the wall label of t
        s["eeg"] = dict(self.eeg)
        s["events"] = len(self.engine.events)
        s["storage_full"] = 1 if self.engine.store_full else 0
        s["settings_defaults"] = 1 if self.state.settings_lost else 0
        s["log_invalid"] = self.state.n_invalid
        gaps = getattr(self.store, "seq_gaps", 0)
        s["log_seq_gaps"] = gaps
        if gaps:
            s["flags"].append("log_seq_gaps")
        s["library_version"] = self.library.version
        if self.library_refused:
            s["library_refused"] = self.library_refused
        s.update(self.health_figures())
        return s

    def health_figures(self):
        """The unit's own resource figures, for HELLO and STATUS (-1: not measurable here)."""
        free, largest, min_free = self.heap.figures(self.hal.ticks_ms())
        return {"heap_free": free, "heap_largest": largest, "heap_min_free": min_free, "loop_ms": self.loop_ms,
                "idle_alloc": self.heap.idle_alloc}

    def elapsed_s(self):
        """Seconds since the SE clock started (first onset), or -1."""
        st = self.state
        if not st.started:
            return -1
        return self.now() - _phases.clock_start(st)

    # ------------------------------------------------------------ EEG
    def attach_eeg(self, fs):
        try:
            from . import detect
        except ImportError:  # a build without the detector
            raise ValueError("this build has no EEG detector")
        from array import array

        self.detector = detect.Detector(fs)
        self._eeg_buf = array("f", bytes(4 * EEG_BLOCK))
        self._eeg_t0 = self.now()
        self.eeg["attached"] = True

    def _poll_eeg(self):
        """Feed the detector what the front end has; the number of samples read.
        Small on purpose (a frame off the C stack, see Link.poll): most boards have no EEG."""
        fs = self.hal.eeg_fs()
        if not fs:
            return 0
        return self._feed_eeg(fs)

    def _feed_eeg(self, fs):
        if self.detector is None:
            t = self.now()
            if t < self._eeg_retry_t:
                return 0
            try:
                self.attach_eeg(fs)
            except (MemoryError, ValueError) as e:
                # No detector (no room for it now, or none in this build): the unit goes on
                # timing and checking doses, says why in STATUS, and tries again in a minute;
                # an exception here would stop the loop that runs the seizure timer.
                self.detector = None
                self.eeg["error"] = "EEG detector not running: %s" % (
                    "no memory for it" if isinstance(e, MemoryError) else e)
                self._eeg_retry_t = t + EEG_RETRY_S
                return 0
            if "error" in self.eeg:
                del self.eeg["error"]
        buf = self._eeg_buf
        total = 0
        n = self.hal.eeg_readinto(buf)
        while n:
            total += n
            # no slice (a partial block is not copied), no new list: nothing allocated per block
            evs = self._eeg_events
            if self.detector.process_into(buf, n, evs):
                for ev in evs:
                    self._on_eeg_event(ev)
                del evs[:]
            n = self.hal.eeg_readinto(buf)
        if not total:
            return 0
        d = self.detector
        self.eeg["seizure"] = d.in_seizure
        self.eeg["bsr_percent"] = d.bsr_percent
        self.eeg["burden_percent"] = d.burden_percent
        self.eeg["se"] = d.se
        self.eeg["bs"] = d.bs
        return total

    def _on_eeg_event(self, ev):
        state = ev.get("state")
        if state == "bsr":
            trend = self.eeg["bsr_trend"]  # type: list
            trend.append(ev.get("bsr_permille", 0) // 10)
            if len(trend) > 60:
                trend.pop(0)
            return
        mapped = _EEG_STATE.get(state)
        if mapped is None:
            return
        if mapped == "no_seizure" and state == "bs_off" and self.detector.in_seizure:
            return
        try:
            self.eeg_state(mapped)
        except (MemoryError, StorageFull) as e:
            # Not logged (nothing was written): the loop that runs the timer and the alarms goes
            # on, STATUS says why, and the next change is logged once there is room again.
            self.eeg["error"] = "EEG change to %s not logged: the unit's %s is full" % (
                mapped, "memory" if isinstance(e, MemoryError) else "storage")
            return
        if "error" in self.eeg and self.eeg["error"].startswith("EEG change"):
            del self.eeg["error"]

    # ------------------------------------------------------------ main loop
    def step(self):
        """One main-loop iteration; returns how long the loop may sleep (ms).

        Split into small functions on purpose: MicroPython gives a function whose
        locals and stack take more than 11 words a frame from the heap on each call,
        and on a heap that has run a while the allocator's search for it costs up to
        ~0.4 ms on a Pico.  Every function an idle step calls outside heap.quiet
        keeps its frame under that size (tests/test_unit_unixport.py counts the asks)."""
        hal = self.hal
        self._t0 = hal.ticks_ms()
        busy = self._poll_inputs(hal)
        t = self.now()
        synced = self._rtc_drifts and t - self._synced_t >= CLOCK_SYNC_S
        if synced:
            t = self._sync(t)
        changed = self._advance(t, busy or synced)
        self._redraw(t, changed)
        self._finish_step(t, busy)
        return self._wait_ms(t)

    def _poll_inputs(self, hal):
        """Buttons, the link and the EEG front end: how much came in (0: nothing)."""
        buttons = hal.poll_buttons()
        if buttons:
            self.ui.press(buttons)
        busy = buttons
        if self.link is not None:
            busy |= self.link.poll()
        return busy | self._poll_eeg()

    def _redraw(self, t, changed):
        """The screen for time t: what moves with the clock (idle), or the page whole.
        Locked first (heap.quiet: frames off the heap); a redraw that needed the heap after all
        stopped part-way, and the page is drawn whole again unlocked.  The home page only:
        another page may load its code (ui_pages) as it draws."""
        ui = self.ui
        if not changed:
            if _heap.quiet(self._redraw_moving, t):
                return
        elif ui.page == _ui.HOME and _heap.quiet(self._redraw_whole, t):
            return
        ui._rendered_t = -1
        ui.render(t, True)

    def _sync(self, t):
        # the RTC is read once a minute: ticks drift, and after a reboot the
        # clock may have started up to a second behind the RTC
        self._synced_t = t
        self.engine.sync_clock()
        return self.now()

    def _advance(self, t, busy):
        """The engine to time t; whether the screen must be drawn whole (something came in or changed)."""
        crossed = 0 <= self._deadline <= t  # a stage, phase, alarm or due time changed
        self._deadline = self.engine.tick(t)
        if busy or crossed or len(self.engine.events) != self._events_seen:
            self._drive_outputs(t)  # the tone and the light follow the alarms, which change only then
            return True
        return False

    def _finish_step(self, t, busy):
        self._release_checker(t)
        n = len(self.engine.events)
        # idle: nothing came in, nothing was logged, no dose checker loaded
        self.heap.step_done(not busy and n == self._events_seen and self._checker is None)
        self.heap.quiet_point(t)
        self._events_seen = n  # events logged since the last step (by any way in) change what is shown
        if (self.health(self) if self.health is not None else None) is None:
            self.hal.wdt_feed()
        self.loop_ms = _clock.ticks_diff(self.hal.ticks_ms(), self._t0)

    def _wait_ms(self, t):
        # Wake as the timer clock's second turns, so the seconds shown are never a second late
        # (a fixed 1 s sleep keeps whatever phase the loop happens to have).
        clk = self.engine.clock
        wait = IDLE_WAKE_MS if clk is None else clk.ms_to_next_second() + WAKE_AFTER_MS
        d = self._deadline
        if d >= 0 and (d - t) * 1000 < wait:
            wait = max(0, (d - t) * 1000)
        return wait

    def _drive_outputs(self, t):
        st = self.state
        p = _alarms.highest_audible(st, t)
        tone = _TONE[p] if p >= 0 else _hal.TONE_OFF
        if tone != self._tone:
            self._tone = tone
            self.hal.set_tone(tone)
        led = _hal.LED_GREEN
        i = 0
        best = -1
        while i < _alarms.N_ALARMS:
            if st.al_active[i]:
                q = st.rules.alarm_priority[i]
                if best < 0 or q < best:
                    best = q
            i += 1
        if best >= 0:
            led = _LED[best]
        if led != self._led:
            self._led = led
            self.hal.set_led(led, best == 0)

    def run_forever(self):
        """A board's main loop."""
        while True:
            self.hal.sleep_ms(self.step())

