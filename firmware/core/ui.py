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
# changes (once a second), outside the engine's allocation-free tick.
from . import alarms as _alarms
from . import episode as _episode
from . import hal as _hal
from . import phases as _phases
from . import screen as _screen

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
SE_SHORT = {"convulsive": "convulsive", "focal_impaired": "focal impaired", "absence": "absence"}
STAGE_SHORT = {"idle": "READY", "seizure": "SEIZURE", "se": "SE", "established": "ESTABLISHED SE",
               "refractory": "REFRACTORY SE", "super_refractory": "SUPER-REFRACT."}
DUE_SHORT = {"first_line": "1st line BZD", "bzd_repeat": "repeat BZD", "second_line": "2nd line",
             "third_line": "3rd line", "wean_window": "wean OK"}
PHASE_SHORT = {"stabilization": "stabilize", "initial": "initial", "second": "2nd therapy",
               "third": "3rd therapy", "beyond": ">60 min"}
# Override reasons offered for a soft limit (pump DERS practice, clinical.md §8).
OVERRIDE_REASONS = ("physician order", "pt-specific need", "protocol", "repeat intended")

# The home screen is redrawn every second (the timer runs) and must allocate
# nothing doing it (the idle loop allocates 0 bytes: heap_lock test in
# tests/test_unit_unixport.py), so its rows are assembled from strings made
# once: labels per stage, phase, due slot and alarm, and numbers digit by
# digit from DIGITS -- indexing a str gives MicroPython's interned one-character
# string, no heap, the same object every time.  (A tuple "00".."99" would cost
# ~8 KB: a .mpy loads each element of a constant tuple as its own str object.)
DIGITS = "0123456789"
_STAGE_ROW = tuple(STAGE_SHORT.get(x, x) for x in _episode.STAGES)  # index: state.stage
_AES_ROW = tuple("AES " + PHASE_SHORT.get(x, x) for x in _episode.PHASES)  # index: phases.phase()
_SE_ROW = {k: "> " + v for k, v in SE_SHORT.items()}
_DUE_OVERDUE = tuple("OVERDUE " + DUE_SHORT.get(x, x) for x in _phases.DUE_NAMES)  # index: due slot
_DUE_WAITING = tuple(DUE_SHORT.get(x, x) + " in " for x in _phases.DUE_NAMES)
_DUE_OPEN = tuple(DUE_SHORT.get(x, x) + " " for x in _phases.DUE_NAMES)
_ALARM_MARK = ("!!!", "!!", "!")  # index: priority (high, medium, low)
_ALARM_NAME = tuple(x.replace("_", " ") for x in _alarms.NAMES)  # index: alarm


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


def mmss(seconds):
    if seconds < 0:
        seconds = 0
    if seconds < 6000:  # up to 99:59 as minutes:seconds
        return "%02d:%02d" % (seconds // 60, seconds % 60)
    return "%dh%02d" % (seconds // 3600, (seconds % 3600) // 60)


def amount_step_ug(target_ug):
    """A sensible UP/DOWN step for a dose around target_ug."""
    if target_ug < 10000:
        return 500
    if target_ug < 100000:
        return 1000
    if target_ug < 1000000:
        return 10000
    return 50000


def fmt_mg(ug):
    if ug % 1000 == 0:
        return "%d mg" % (ug // 1000)
    return "%d.%d mg" % (ug // 1000, (ug % 1000) // 100)


class Ui:
    def __init__(self, unit):
        self.unit = unit
        self.screen = _screen.Screen()
        self.page = HOME
        self.sel = 0  # selection index on list pages
        self.se_type = unit.config["se_type"]
        self.entries = self._dose_entries()
        self.drug = ("", "", {})  # type: tuple  # (drug, route, library entry) being dosed
        self.amount = 0  # ug (bolus) or ng/kg/h (rate)
        self.verdict = {}  # type: dict
        self.weight_kg = 70
        self.message = ""  # one-line feedback, cleared on the next press
        self._rendered_t = -1
        self._rendered_n = -1
        self._menu = []  # type: list
        self._due = [-1, -1, 0]  # phases.next_due's answer
        self._tp = [""] * 6  # a time as parts (mmss_parts)
        self._np = [""] * 3  # a number as parts (number_parts)

    # -------------------------------------------------------------- input
    def press(self, mask):
        for name, bit in _hal.BUTTON_NAMES:
            if mask & bit:
                self.button(name)

    def button(self, name):
        self.message = ""
        self._rendered_t = -1
        if name == "alarm":
            self._alarm_key()
            return
        try:
            getattr(self, "_on_" + self.page)(name)
        except ValueError as e:
            self.message = str(e)

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
            self._open_menu()
        elif b == "down":
            self.page = EEG
        elif b == "up":
            self.page = LOG
            self.sel = 0

    def _menu_items(self):
        st = self.unit.state
        items = [("Give dose", self._start_dose)]
        if st.active:
            items.append(("Seizure stopped", self.unit.seizure_stop))
        else:
            items.append(("Seizure again", self.unit.seizure_recur))
        items.append(("Weight", self._start_weight))
        items.append(("Alarms", self._goto(ALARMS)))
        items.append(("Start weaning", self.unit.wean))
        items.append(("Event log", self._goto(LOG)))
        items.append(("EEG", self._goto(EEG)))
        return items

    def _goto(self, page):
        def go():
            self.page = page
            self.sel = 0
        return go

    def _open_menu(self):
        self.page = MENU
        self.sel = 0
        self._menu = self._menu_items()

    def _on_menu(self, b):
        if b == "back":
            self.page = HOME
        elif b in ("up", "down"):
            self.sel = (self.sel + (1 if b == "down" else -1)) % len(self._menu)
        elif b == "ok":
            label, action = self._menu[self.sel]
            self.page = HOME
            action()
            if self.page == HOME and label not in ("Give dose", "Weight"):
                self.message = label.lower() + ": logged"

    # dose entry
    def _dose_entries(self):
        # (drug, route) pairs only: an entry is read from the library when chosen
        lib = self.unit.library
        return lib.entries() if lib.verified else []

    def _start_dose(self):
        if self.unit.weight_g is None:
            self._start_weight(then_dose=True)
            return
        self.entries = self._dose_entries()
        if not self.entries:
            raise ValueError("drug library not verified: no dose checks")
        self.page = DOSE_DRUG
        self.sel = 0

    def _on_dose_drug(self, b):
        if b == "back":
            self.page = HOME
        elif b in ("up", "down"):
            self.sel = (self.sel + (1 if b == "down" else -1)) % len(self.entries)
        elif b == "ok":
            d, r = self.entries[self.sel]
            entry = self.unit.library.entry(d, r)
            self.drug = (d, r, entry)
            if entry.get("mode") == "infusion":
                self.amount = entry.get("rate", {}).get("lo_ng_per_kg_h", 0)
            else:
                v = self.unit.check(d, r, dose="1 mg")
                self.amount = v.get("target_ug") or v.get("target_low_ug") or 1000
            self.page = DOSE_AMOUNT

    def _rate_text(self):
        entry = self.drug[2]
        disp = entry.get("rate", {}).get("display", "mg/kg/h")
        per = 60000 if disp == "mcg/kg/min" else 1000000  # ng/kg/h per display unit
        whole = self.amount * 100 // per
        return "%d.%02d %s" % (whole // 100, whole % 100, disp), per

    def _amount_text(self):
        if self.drug[2].get("mode") == "infusion":
            return self._rate_text()[0]
        unit = self.drug[2].get("dose_unit", "mg")
        return fmt_mg(self.amount).replace(" mg", " " + unit)

    def _on_dose_amount(self, b):
        infusion = self.drug[2].get("mode") == "infusion"
        if b == "back":
            self.page = DOSE_DRUG
        elif b in ("up", "down"):
            if infusion:
                per = self._rate_text()[1]
                step = per // 20 if per == 60000 else per // 10  # 5 mcg/kg/min or 0.1 mg/kg/h
            else:
                step = amount_step_ug(self.amount)
            self.amount += step if b == "up" else -step
            if self.amount < step:
                self.amount = step
        elif b == "ok":
            d, r, entry = self.drug
            if infusion:
                self.verdict = self.unit.check(d, r, rate=self._amount_text())
            else:
                self.verdict = self.unit.check(d, r, dose=self._amount_text())
            self.page = DOSE_VERDICT
            self.sel = 0

    def _give(self, override=None):
        d, r, entry = self.drug
        if entry.get("mode") == "infusion":
            v = self.unit.give(d, r, rate=self._amount_text(), override=override)
        else:
            v = self.unit.give(d, r, dose=self._amount_text(), override=override)
        self.verdict = v
        if v.get("logged"):
            self.page = HOME
            self.message = "%s logged" % d
        else:
            self.page = DOSE_VERDICT

    def _on_dose_verdict(self, b):
        verdict = self.verdict["verdict"]
        if b == "back":
            self.page = DOSE_AMOUNT
        elif b in ("up", "down"):
            n = len(self.verdict.get("messages", [])) or 1
            self.sel = (self.sel + (1 if b == "down" else -1)) % n
        elif b == "ok":
            if verdict in ("adequate", "underdosed"):
                self._give()
            elif verdict == "soft":
                self.page = DOSE_REASON
                self.sel = 0
            else:
                self.page = DOSE_AMOUNT  # hard / error: never given from here

    def _on_dose_reason(self, b):
        if b == "back":
            self.page = DOSE_VERDICT
        elif b in ("up", "down"):
            self.sel = (self.sel + (1 if b == "down" else -1)) % len(OVERRIDE_REASONS)
        elif b == "ok":
            self._give(OVERRIDE_REASONS[self.sel])

    # weight
    def _start_weight(self, then_dose=False):
        w = self.unit.weight_g
        self.weight_kg = (w + 500) // 1000 if w else 70
        self._weight_then_dose = then_dose
        self.page = WEIGHT

    def _on_weight(self, b):
        if b == "back":
            self.page = HOME
        elif b in ("up", "down"):
            self.weight_kg += 1 if b == "up" else -1
            if self.weight_kg < 1:
                self.weight_kg = 1
        elif b == "ok":
            self.unit.set_weight("%d kg" % self.weight_kg)
            self.page = HOME
            if self._weight_then_dose:
                self._start_dose()

    # alarms, log, eeg
    def _on_alarms(self, b):
        active = _alarms.active_list(self.unit.state, self.unit.now())
        if b == "back":
            self.page = HOME
        elif b in ("up", "down") and active:
            self.sel = (self.sel + (1 if b == "down" else -1)) % len(active)
        elif b == "ok" and active:
            self.unit.ack_alarm(active[self.sel % len(active)][0])
            self.message = "acknowledged"

    def _on_log(self, b):
        n = len(self.unit.events)
        if b == "back" or (b == "ok"):
            self.page = HOME
        elif b == "up":
            self.sel = min(self.sel + 1, max(0, n - 1))
        elif b == "down":
            self.sel = max(0, self.sel - 1)

    def _on_eeg(self, b):
        self.page = HOME

    # -------------------------------------------------------------- render
    def render(self, t):
        n = len(self.unit.events)
        if t == self._rendered_t and n == self._rendered_n:
            return self.screen
        self._rendered_t = t
        self._rendered_n = n
        s = self.screen
        _DRAW[self.page](self, s, t)  # a table, not getattr: no string, no bound method
        if self.message:
            s.set(7, self.message)
        s.finish()
        self.unit.hal.show(s)
        return s

    def _alarm_row(self, s, row, t):
        st = self.unit.state
        i = _alarms.top_active(st)
        if i < 0:
            s.set(row, "")
            return
        s.set_parts(row, _ALARM_MARK[st.rules.alarm_priority[i]], _ALARM_NAME[i],
                    "" if _alarms.audible(st, i, t) else " (q)")

    def _next_due(self, s, row, t):
        due = self._due
        i = _phases.next_due(self.unit.state, t, due)
        if i < 0:
            s.set(row, "")
        elif due[2] == _phases.OVERDUE:
            s.set(row, _DUE_OVERDUE[i])
        else:
            tp = self._tp
            mmss_parts(due[1] - t, tp)
            s.set_parts(row, (_DUE_WAITING if due[2] == _phases.WAITING else _DUE_OPEN)[i], tp[0], tp[1], tp[2],
                        tp[3], tp[4], tp[5])

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
        s.set(3, _AES_ROW[p] if p >= 0 else "AES -")
        self._next_due(s, 4, t)
        self._alarm_row(s, 5, t)
        eeg = self.unit.eeg
        if self.unit.engine.clock.clock_unset:
            s.set(6, "CLOCK NOT SET")
        elif eeg["attached"]:
            np = self._np
            number_parts(int(eeg["bsr_percent"]), np, 0)
            s.set_parts(6, "EEG SZ BSR" if eeg["seizure"] else "EEG ok BSR", np[0], np[1], np[2], "%")
        s.set(7, "OK=menu")

    def _draw_list(self, s, title, items, t):
        s.clear(self.page)
        s.set(0, title)
        n = len(items)
        first = 0 if self.sel < 6 else self.sel - 5
        row = 1
        i = first
        while row < 7 and i < n:
            s.set(row, (">" if i == self.sel else " ") + items[i])
            if i == self.sel:
                s.mark(invert=row)
            row += 1
            i += 1

    def _draw_menu(self, s, t):
        self._draw_list(s, "MENU", [m[0] for m in self._menu], t)
        s.set(7, "OK select BACK")

    def _draw_dose_drug(self, s, t):
        self._draw_list(s, "GIVE DOSE: drug", ["%s %s" % (d, r) for d, r in self.entries], t)
        s.set(7, "OK select BACK")

    def _draw_dose_amount(self, s, t):
        s.clear(DOSE_AMOUNT)
        d, r, entry = self.drug
        s.set(0, "%s %s" % (d, r))
        s.set(1, "weight %d kg" % ((self.unit.weight_g + 500) // 1000))
        s.set(3, "amount (up/dn):")
        s.set(4, "> " + self._amount_text())
        s.mark(invert=4)
        s.set(7, "OK check  BACK")

    def _draw_dose_verdict(self, s, t):
        s.clear(DOSE_VERDICT)
        v = self.verdict
        word = v["verdict"].upper()
        if v.get("logged") is False and v["verdict"] == "soft":
            word = "SOFT LIMIT"
        s.set(0, "%s %s" % (word, self._amount_text()))
        s.mark(invert=0)
        s.set(1, "target " + str(v.get("target") or "-"))
        if v.get("volume_ml"):
            s.set(2, "draw %s mL" % v["volume_ml"])
        elif v.get("pump_ml_h"):
            s.set(2, "pump %s mL/h" % v["pump_ml_h"])
        if v.get("min_minutes"):
            s.set(3, "over >= %s min" % v["min_minutes"])
        msgs = v.get("messages") or [""]
        msg = msgs[self.sel % len(msgs)]
        s.set(4, msg[:16])
        s.set(5, msg[16:32])
        s.set(6, msg[32:48])
        action = {"adequate": "OK give", "underdosed": "OK give (low)", "soft": "OK override"}
        s.set(7, action.get(v["verdict"], "REFUSED  BACK") + " BACK" if v["verdict"] in action else "REFUSED  BACK")

    def _draw_dose_reason(self, s, t):
        self._draw_list(s, "OVERRIDE reason", list(OVERRIDE_REASONS), t)
        s.set(7, "OK log  BACK")

    def _draw_weight(self, s, t):
        s.clear(WEIGHT)
        s.set(0, "PATIENT WEIGHT")
        s.set(2, "%d kg" % self.weight_kg)
        s.mark(big=2)
        s.set(5, "up/dn 1 kg")
        s.set(7, "OK save  BACK")

    def _draw_alarms(self, s, t):
        active = _alarms.active_list(self.unit.state, t)
        if not active:
            s.clear(ALARMS)
            s.set(0, "ALARMS")
            s.set(2, "none active")
            s.set(7, "BACK")
            return
        items = ["%s %s" % (p[0].upper(), n.replace("_", " ")) for n, p, since, aud in active]
        self._draw_list(s, "ALARMS (OK=ack)", items, t)
        s.set(7, "ALARM=pause BACK")

    def _draw_log(self, s, t):
        s.clear(LOG)
        evs = self.unit.events
        n = len(evs)
        s.set(0, "LOG %d events" % n)
        row = 1
        i = n - 1 - self.sel
        start = self.unit.state.t
        while row < 7 and i >= 0:
            ev = evs[i]
            s.set(row, "%s %s" % (mmss(max(0, t - ev["t"]))[:5], _event_text(ev)))
            row += 1
            i -= 1
        s.set(7, "up/dn BACK" if start >= 0 else "")

    def _draw_eeg(self, s, t):
        s.clear(EEG)
        e = self.unit.eeg
        s.set(0, "EEG")
        if not e["attached"]:
            s.set(2, "not attached")
            s.set(7, "BACK")
            return
        s.set(1, "seizure: " + ("YES" if e["seizure"] else "no"))
        s.set(2, "burden %d%%/60m" % int(e["burden_percent"]))
        s.set(3, "BSR %d%%%s" % (e["bsr_percent"], " BS" if e["bs"] else ""))
        s.set(4, "eSE: " + ("YES" if e["se"] else "no"))
        trend = e["bsr_trend"][-16:]
        s.set(5, "".join(_SPARK[min(7, v * 8 // 101)] for v in trend))
        s.set(7, "BACK")


_SPARK = "_.-~=+*#"

# page -> drawing function (called with the Ui): render's dispatch without allocating
_DRAW = {HOME: Ui._draw_home, MENU: Ui._draw_menu, DOSE_DRUG: Ui._draw_dose_drug, DOSE_AMOUNT: Ui._draw_dose_amount,
         DOSE_VERDICT: Ui._draw_dose_verdict, DOSE_REASON: Ui._draw_dose_reason, WEIGHT: Ui._draw_weight,
         ALARMS: Ui._draw_alarms, LOG: Ui._draw_log, EEG: Ui._draw_eeg}


def _event_text(ev):
    k = ev["type"]
    if k == "dose":
        return "%s %s" % (ev["drug"][:6], ev["route"])
    if k == "alarm":
        return "al %s" % ev["action"]
    if k == "onset":
        return "onset"
    if k == "eeg":
        return "eeg " + ev["state"][:6]
    if k == "weight":
        return "wt %dkg" % ((ev["grams"] + 500) // 1000)
    if k == "infusion":
        return "inf %s %s" % (ev["action"], ev["drug"][:4])
    return k
