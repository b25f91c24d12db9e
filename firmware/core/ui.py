# Nurse-facing screens and the five-button front panel.
#
# Buttons: UP, DOWN, OK, BACK, ALARM (hal.BTN_*).  One press starts the
# seizure timer (OK on the idle home screen); logging a dose is a few presses
# (OK menu, OK "Give dose", pick drug, OK amount, OK confirm).  The ALARM key
# pauses alarm audio for 2 minutes anywhere; acknowledging is on the alarm
# screen.  Every action goes through the Unit's methods (the same ones the
# serial link uses), so the panel can never log something the protocol could
# not, and vice versa.
#
# Pages: HOME (timer, stage, phase, next action, alarm), MENU, DOSE (drug ->
# amount -> verdict -> confirm / override reason), WEIGHT, ALARMS, LOG, EEG.
# Rendering fills one preallocated Screen; it runs when time or input
# changes (once a second), outside the engine's allocation-free tick.  Only
# HOME lives here; the other pages are in ui_pages.py, imported when the
# nurse leaves home and let go when the panel is back (the board's heap).
from . import alarms as _alarms
from .eventlog import StorageFull
from . import episode as _episode
from . import hal as _hal
from . import heap as _heap
from . import phases as _phases
from . import screen as _screen
from . import staging as _staging

HOME = "home"
MENU = "menu"
DOSE_DRUG = "dose_drug"
DOSE_AMOUNT = "dose_amount"
DOSE_VERDICT = "dose_verdict"
DOSE_REASON = "dose_reason"
WEIGHT = "weight"
ALARMS = "alarms"
LOG = "log"
EEG = "eeg"

SE_TYPES = ("convulsive", "focal_impaired", "absence")
# The panel's words: a fixed vocabulary that fits 16 columns whole (docs/panel-glossary.md).
# Lines of therapy are numbered one way on every screen: 1st line, 2nd line, 3rd line.
SE_SHORT = {"convulsive": "convulsive", "focal_impaired": "focal impaired", "absence": "absence"}
STAGE_SHORT = {"idle": "READY", "seizure": "SEIZURE", "se": "SE", "established": "ESTAB SE",
               "refractory": "REFRACT SE", "super_refractory": "SUPER-R SE"}
DUE_SHORT = {"first_line": "1st line", "bzd_repeat": "BZD rpt", "second_line": "2nd line",
             "third_line": "3rd line", "wean_window": "wean"}
PHASE_SHORT = {"stabilization": "stabilize", "initial": "1st line", "second": "2nd line",
               "third": "3rd line", "beyond": ">60 min"}
# Alarm names, 8 columns at most (index: alarms.NAMES), after the IEC 60601-1-8 priority mark.
ALARM_SHORT = ("1st late", "2nd late", "3rd late", "t2 past", "stage up", "brkthru", "BZD low", "wean sz",
               "no clock", "log full", "defaults", "lib fail")
PAGE_TIMEOUT_S = 30  # any page returns home after this long without a press
_DOSE_PAGES = (DOSE_AMOUNT, DOSE_VERDICT, DOSE_REASON, "dose_confirm")  # a dose entry half done: kept by the timeout

# The home screen is redrawn every second (the timer runs) and must allocate
# nothing doing it (the idle loop allocates 0 bytes: heap_lock test in
# tests/test_unit_unixport.py), so its rows are assembled from strings made
# once: labels per stage, phase, due slot and alarm, and numbers digit by
# digit from DIGITS -- MicroPython's interned one-character strings, no heap, the
# same object every time.  A tuple of them, made once: indexing a str would look
# the character up in the interned-string pool on every use (~0.1 ms each on a
# Pico).  (A tuple "00".."99" would cost ~8 KB: a .mpy loads each element of a
# constant tuple as its own str object.)
DIGITS = tuple("0123456789")
_STAGE_ROW = tuple(STAGE_SHORT.get(x, x) for x in _episode.STAGES)  # index: state.stage
_AES_ROW = tuple("AES " + PHASE_SHORT.get(x, x) for x in _episode.PHASES)  # index: phases.phase()
_SE_ROW = {k: "> " + v for k, v in SE_SHORT.items()}
_DUE_OVERDUE = tuple("OVERDUE " + DUE_SHORT.get(x, x) for x in _phases.DUE_NAMES)  # index: due slot
_DUE_WAITING = tuple(DUE_SHORT.get(x, x) + " in " for x in _phases.DUE_NAMES)
_DUE_OPEN = tuple(DUE_SHORT.get(x, x) + " " for x in _phases.DUE_NAMES)
_ALARM_MARK = ("!!!", "!!", "!")  # index: priority (high, medium, low)


def number_parts(n, out, k):
    """Decimal n (0..999) as out[k..k+2], one digit each, without allocating ("%d" % n beyond)."""
    if n < 0 or n > 999:
        out[k] = "%d" % n  # never on a screen: weights, hours and percents stay below 1000
        out[k + 1] = ""
        out[k + 2] = ""
    elif n < 10:
        out[k] = DIGITS[n]
        out[k + 1] = ""
        out[k + 2] = ""
    elif n < 100:
        out[k] = DIGITS[n // 10]
        out[k + 1] = DIGITS[n % 10]
        out[k + 2] = ""
    else:
        out[k] = DIGITS[n // 100]
        out[k + 1] = DIGITS[n // 10 % 10]
        out[k + 2] = DIGITS[n % 10]


def mmss_parts(seconds, out):
    """mmss(seconds) as out[0..5] without allocating: "0" "4" ":" "0" "7" "", or "1" "" "" "h" "0" "5"."""
    if seconds < 0:
        seconds = 0
    if seconds < 6000:
        m = seconds // 60
        s = seconds % 60
        out[0] = DIGITS[m // 10]
        out[1] = DIGITS[m % 10]
        out[2] = ":"
        out[3] = DIGITS[s // 10]
        out[4] = DIGITS[s % 10]
        out[5] = ""
    else:
        number_parts(seconds // 3600, out, 0)
        m = seconds % 3600 // 60
        out[3] = "h"
        out[4] = DIGITS[m // 10]
        out[5] = DIGITS[m % 10]


class Ui:
    def __init__(self, unit):
        self.unit = unit
        self.screen = _screen.Screen()
        self.page = HOME
        self.sel = 0  # selection index on list pages
        self.se_type = unit.config["se_type"]
        self.entries = []  # type: list  # (drug, route) pairs, listed when a dose is started
        self.drug = ("", "", {})  # type: tuple  # (drug, route, library entry) being dosed
        self.amount = 0  # ug (bolus) or ng/kg/h (rate)
        self.verdict = {}  # type: dict
        self.weight_kg = 0  # the weight page's digits (ui_pages.start_weight)
        self.message = ""  # feedback, cleared on the next press (two rows at most, wrapped at words)
        self._rendered_t = -1
        self._rendered_n = -1
        self._menu = []  # type: list
        self._due = [-1, -1, 0]  # phases.next_due's answer
        self._tp = [""] * 6  # a time as parts (mmss_parts)
        self._alarm_counting = False  # the alarm row shows an audio pause's time left (it moves with the clock)
        self._np = [""] * 3  # a number as parts (number_parts)
        self._menu_pages = None  # ui_pages while the panel is away from home
        self._msg = []  # the message's rows
        self._press_t = 0  # unit time of the last press (the page timeout)
        self.held = ""  # the dose page the timeout left (home offers to resume it), or ""
        self.log_filter = 0  # the log page's filter: all, doses, alarms (ui_pages.LOG_FILTERS)

    def pages(self):
        """The pages other than home (ui_pages.py), imported when first needed."""
        if self._menu_pages is None:
            from . import ui_pages

            self._menu_pages = ui_pages
        return self._menu_pages

    # -------------------------------------------------------------- input
    def press(self, mask):
        for name, bit in _hal.BUTTON_NAMES:
            if mask & bit:
                self.button(name)

    def button(self, name):
        self.message = ""
        self._rendered_t = -1
        self._press_t = self.unit.now()
        try:
            if name == "alarm":
                self._alarm_key()
            elif self.page == HOME:
                self._on_home(name)
            else:
                self.pages().ON[self.page](self, name)
        except ValueError as e:
            self.message = str(e)
        except StorageFull:
            self.message = "FULL: NOT LOGGED"
        m = self.message
        if m:  # a long message is wrapped at words (by ui_pages: rarely needed at home)
            self._msg = [m] if len(m) <= _screen.COLS else self.pages().wrap(m)

    def _alarm_key(self):
        t = self.unit.now()
        if _alarms.highest_audible(self.unit.state, t) >= 0:
            self.unit.pause_audio()
            self.message = "audio paused 2m"
        elif _alarms.active_list(self.unit.state, t):
            self.page = ALARMS
            self.sel = 0
        else:
            self.message = "no alarms"

    def _on_home(self, b):
        started = self.unit.state.started
        if not started:
            if b == "ok":
                self.unit.onset(self.se_type)
            elif b in ("up", "down"):
                i = SE_TYPES.index(self.se_type)
                self.se_type = SE_TYPES[(i + (1 if b == "down" else -1)) % len(SE_TYPES)]
            return
        if b == "ok":
            if self.held:
                self.pages().resume(self)
            else:
                self.pages().open_menu(self)
        elif b == "down":
            self.page = EEG
        elif b == "up":
            self.page = LOG
            self.sel = 0

    def render(self, t, changed=True):
        """Draw the page for time t.  changed=False (the loop's idle step: no
        input, no deadline crossed) lets the home screen redraw only what moves
        with the clock -- a board's idle step must be short as well as
        allocation-free."""
        if self.page != HOME and t - self._press_t >= PAGE_TIMEOUT_S:
            if self.page in _DOSE_PAGES:
                self.held = self.page
            self.page = HOME
            self._rendered_t = -1
        n = len(self.unit.events)
        if t == self._rendered_t and n == self._rendered_n:
            return self.screen
        if n != self._rendered_n or self._rendered_t < 0 or self.message:
            changed = True
        self._rendered_t = t
        self._rendered_n = n
        s = self.screen
        if self.page == HOME and not changed:
            if self.unit.state.started:
                self._home_clock(s, t)
            elif self._alarm_counting:  # READY: only an audio pause's time left moves with the clock
                self._alarm_row(s, 6, t)
        elif self.page == HOME:
            self._draw_home(s, t)
            if self._menu_pages is not None:  # back home: the other pages' code can go
                # forget first: it needs the heap, and a locked redraw (the page timeout
                # comes in an idle step) is then done again unlocked with nothing changed yet
                _heap.forget("ui_log")
                _heap.forget("ui_pages")
                self._menu = []
                self.entries = []
                self._menu_pages = None
        else:
            p = self.pages()
            p.DRAW[self.page](self, s, t)
            p.top_row(self, s, t)
        if self.message:
            m = self._msg  # up to three rows, at the bottom
            n = len(m) if len(m) < 3 else 3
            for k in range(n):
                s.set(8 - n + k, m[k])
        s.finish()
        self.unit.hal.show(s)
        return s

    def redraw_moving(self, t):
        """render(t, False): the idle step's redraw, of what moves with the clock alone."""
        self.render(t, False)

    def redraw_whole(self, t):
        """render(t, True): the page whole (a step where something came in or changed)."""
        self.render(t, True)

    def _alarm_row(self, s, row, t):
        st = self.unit.state
        self._alarm_counting = False
        i = _alarms.top_active(st)
        if i < 0:
            s.set(row, "")  # a refused library shows here as its alarm (library_refused)
            return
        mark = _ALARM_MARK[st.rules.alarm_priority[i]]
        if _alarms.audible(st, i, t):
            s.set_parts(row, mark, ALARM_SHORT[i])
        elif 0 <= st.al_since[i] <= st.al_ack_t[i]:
            s.set_parts(row, mark, ALARM_SHORT[i], " ack")
        else:  # audio paused: the time it has left, m:ss
            self._alarm_counting = True
            left = st.al_silence_until[i] - t
            if left < 0:
                left = 0
            m = left // 60
            s.set_parts(row, mark, ALARM_SHORT[i], " ", DIGITS[m if m < 10 else 9], ":", DIGITS[left % 60 // 10],
                        DIGITS[left % 10])

    def _next_due(self, s, row, t):
        st = self.unit.state
        due = self._due
        _phases.next_due(st, t, due)
        # The stage rules can make the next line due before its AES deadline (ESETT:
        # established SE 5 min after an adequate benzodiazepine; refractory SE at the end
        # of the second line's window): the row counts down to that time, not to a jump
        # to OVERDUE.  Integers only: a full home draw allocates nothing either.
        if st.active and st.se_type == 0 and due[2] != _phases.OVERDUE:
            r = st.rules
            slot = -1
            if st.first_line_n > 0 and st.second_line_n == 0 and st.stage < _staging.ESTABLISHED \
                    and _staging.gate_met(st):
                slot = _phases.SECOND_LINE
                d = st.last_bzd_t + r.established_after_bzd_s
                if st.stage < _staging.SE and st.cur_start + st.t1 > d:
                    d = st.cur_start + st.t1  # established SE comes after SE
                by = _phases.clock_start(st) + r.second_line_due_s
            elif st.second_line_n > 0 and st.third_line_n == 0 and st.anesthetic_t < 0 \
                    and st.stage < _staging.REFRACTORY and _staging._refractory_ready(st):
                slot = _phases.THIRD_LINE
                d = st.second_line_end + r.refractory_window_s
                by = _phases.clock_start(st) + r.third_line_due_s
            if slot >= 0:
                if by < d:
                    d = by
                if d > t and (due[0] < 0 or d < due[1]):
                    due[0] = slot
                    due[1] = d
                    due[2] = _phases.OPEN
        self._due_row(s, row, t)

    def _due_row(self, s, row, t):
        """The due row from self._due as of the last full draw: which action is next and its
        status change only at an engine deadline or an event, and either redraws the page."""
        due = self._due
        i = due[0]
        if i < 0:
            s.set(row, "")
        elif due[2] == _phases.OVERDUE:
            s.set(row, _DUE_OVERDUE[i])
        else:
            tp = self._tp
            mmss_parts(due[1] - t, tp)
            s.set_parts(row, (_DUE_WAITING if due[2] == _phases.WAITING else _DUE_OPEN)[i], tp[0], tp[1], tp[2],
                        tp[3], tp[4], tp[5])

    def _home_clock(self, s, t):
        """The home rows that move with the clock alone: the time since onset and the
        due countdown.  (The EEG figures change only as samples arrive, and a step
        that reads samples is not idle: it redraws the whole page.)"""
        tp = self._tp
        mmss_parts(t - _phases.clock_start(self.unit.state), tp)
        s.set_parts(1, tp[0], tp[1], tp[2], tp[3], tp[4], tp[5])
        self._due_row(s, 4, t)
        if self._alarm_counting:  # an audio pause counts down (anything else on that row comes with an event)
            self._alarm_row(s, 5, t)

    def _draw_home(self, s, t):
        # Every row from prebuilt strings and DIGITS: redrawn each second, allocation-free.
        st = self.unit.state
        s.clear(HOME)
        if not st.started:
            s.set(0, "STATIM   READY")
            s.set(1, "--:--")
            s.mark(big=1)
            s.set(3, "SE type (up/dn):")
            s.set(4, _SE_ROW[self.se_type])
            w = self.unit.weight_g
            if w:
                np = self._np
                number_parts((w + 500) // 1000, np, 0)
                s.set_parts(5, "weight ", np[0], np[1], np[2], " kg")
            else:
                s.set(5, "weight not set")
            self._alarm_row(s, 6, t)
            s.set(7, "OK = start timer")
            return
        s.set_parts(0, _STAGE_ROW[st.stage], " *SZ" if st.active else "")
        tp = self._tp
        mmss_parts(t - _phases.clock_start(st), tp)
        s.set_parts(1, tp[0], tp[1], tp[2], tp[3], tp[4], tp[5])
        s.mark(big=1)
        p = _phases.phase(st, t)
        if p >= 0:
            s.set(3, _AES_ROW[p])
        else:
            self._ilae_row(s, 3, st)
        self._next_due(s, 4, t)
        self._alarm_row(s, 5, t)
        self._status_row(s, 6)
        if st.clock_corr_n:  # the wall clock was corrected during the episode: by how much (no timer moved)
            tp = self._tp
            mmss_parts(st.clock_corr_s if st.clock_corr_s >= 0 else -st.clock_corr_s, tp)
            s.set_parts(7, "CLK ADJ ", "+" if st.clock_corr_s >= 0 else "-", tp[0], tp[1], tp[2], tp[3], tp[4],
                        tp[5])
        else:
            s.set(7, "OK=resume dose" if self.held else "OK=menu")

    def _ilae_row(self, s, row, st):
        """Outside AES scope (focal, absence; RR2 rule 9): the ILAE t1/t2 in
        minutes, "t2>60" for "> 60 min", "t2 -" where t2 is not defined."""
        np = self._np
        number_parts(st.t1 // 60, np, 0)
        a, b, c = np[0], np[1], np[2]
        if st.t2 < 0:
            s.set_parts(row, "ILAE t1 ", a, b, c, "/t2 -")
        else:
            number_parts(st.t2 // 60, np, 0)
            s.set_parts(row, "ILAE t1 ", a, b, c, "/t2>" if st.t2 % 60 else "/t2 ", np[0], np[1], np[2])

    def _status_row(self, s, row):
        eeg = self.unit.eeg
        if self.unit.engine.store_full:
            s.set(row, "STORAGE FULL")
        elif self.unit.engine.clock.clock_unset:
            s.set(row, "CLOCK NOT SET")
        elif self.unit.library_refused:
            s.set(row, "LIB REFUSED")
        elif eeg["attached"]:
            np = self._np
            number_parts(int(eeg["bsr_percent"]), np, 0)
            s.set_parts(row, "EEG SZ BSR" if eeg["seizure"] else "EEG ok BSR", np[0], np[1], np[2], "%")
        else:
            s.set(row, "")
