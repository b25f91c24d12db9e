# The front panel's pages other than home: menu, dose entry (drug -> amount ->
# verdict -> override reason), weight, alarms, log and EEG.
#
# Kept apart from ui.py so that a bedside unit carries only the home screen's
# code: ui.Ui imports this module when the nurse leaves the home screen and
# lets it go when the panel is back home (heap.forget), which on a Pico gives
# its code's heap back.  Each function takes the Ui (its state lives there).
from . import alarms as _alarms
from . import drugnames as _names
from . import phases as _phases
from .screen import wrap  # noqa: F401  (ui.py and ui_log.py take it from here)
from .ui import (ALARM_SHORT, ALARMS, DOSE_AMOUNT, DOSE_DRUG, DOSE_REASON, DOSE_VERDICT, EEG, HOME, LOG, MENU,
                 WEIGHT)

# Override reasons offered for a soft limit (pump DERS practice, clinical.md §8).
OVERRIDE_REASONS = ("physician order", "pt-specific", "protocol", "repeat intended")


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


def menu_items(ui):
    st = ui.unit.state
    items = [("Give dose", lambda: start_dose(ui))]
    if st.active:
        items.append(("Seizure stopped", ui.unit.seizure_stop))
    else:
        items.append(("Seizure again", ui.unit.seizure_recur))
    items.append(("Weight", lambda: start_weight(ui)))
    items.append(("Alarms", goto(ui, ALARMS)))
    items.append(("Start weaning", ui.unit.wean))
    items.append(("Event log", goto(ui, LOG)))
    items.append(("EEG", goto(ui, EEG)))
    return items


def goto(ui, page):
    def go():
        ui.page = page
        ui.sel = 0
    return go


def open_menu(ui):
    ui.page = MENU
    ui.sel = 0
    ui._menu = menu_items(ui)


def on_menu(ui, b):
    if b == "back":
        ui.page = HOME
    elif b in ("up", "down"):
        ui.sel = (ui.sel + (1 if b == "down" else -1)) % len(ui._menu)
    elif b == "ok":
        label, action = ui._menu[ui.sel]
        ui.page = HOME
        action()
        if ui.page == HOME and label not in ("Give dose", "Weight"):
            ui.message = label.lower() + ": logged"


# dose entry
def start_dose(ui):
    if ui.unit.weight_g is None:
        start_weight(ui, then_dose=True)
        return
    ui.entries = dose_entries(ui)
    if not ui.entries:
        raise ValueError("drug library not verified: no dose checks")
    ui.page = DOSE_DRUG
    ui.dsel = 0


LINE_NAME = ("", "1st line", "2nd line", "3rd line")
# due slot (phases.DUE_NAMES) -> the line of therapy it asks for
_SLOT_LINE = (1, 1, 2, 3)


def due_line(ui):
    """The line of therapy due now: the home screen's next action, else the first line not given."""
    slot = ui._due[0]
    if 0 <= slot < len(_SLOT_LINE):
        return _SLOT_LINE[slot]
    st = ui.unit.state
    return 1 if st.first_line_n == 0 else 2 if st.second_line_n == 0 else 3


def dose_entries(ui):
    """(drug, route, line) of every library entry, grouped by line of therapy, the line due now
    first, then the others in order; the library's order within a line."""
    lib = ui.unit.library
    if not lib.verified:
        return []
    first = due_line(ui)
    out = []
    for d, r in lib.entries():
        line = lib.entry(d, r).get("line", 0)
        out.append((0 if line == first else line, d, r, line))
    out.sort()
    return [(d, r, line) for k, d, r, line in out]


def resume(ui):
    """Back to a dose entry the page timeout left half done: its drug and amount."""
    ui.entries = dose_entries(ui)
    d, r = ui.drug[0], ui.drug[1]
    ui.dsel = 0
    for k in range(len(ui.entries)):
        if ui.entries[k][0] == d and ui.entries[k][1] == r:
            ui.dsel = k
    ui.page = DOSE_AMOUNT  # the amount as it was; OK checks it again, at the time it is given
    ui.held = ""


def on_dose_drug(ui, b):
    if b == "back":
        ui.page = HOME
    elif b in ("up", "down"):  # the list's own cursor: other pages' scrolling never moves it
        ui.dsel = (ui.dsel + (1 if b == "down" else -1)) % len(ui.entries)
    elif b == "ok":
        d, r = ui.entries[ui.dsel][0], ui.entries[ui.dsel][1]
        entry = ui.unit.library.entry(d, r)
        ui.drug = (d, r, entry)
        if entry.get("mode") == "infusion":
            ui.amount = entry.get("rate", {}).get("lo_ng_per_kg_h", 0)
        else:  # the reference dose for this patient, in the entry's own unit (mg, mg PE)
            v = ui.unit.check(d, r, dose="1 " + entry.get("dose_unit", "mg"))
            ui.amount = v.get("target_ug") or v.get("target_low_ug") or 1000
        ui.page = DOSE_AMOUNT


def rate_text(ui):
    entry = ui.drug[2]
    disp = entry.get("rate", {}).get("display", "mg/kg/h")
    per = 60000 if disp == "mcg/kg/min" else 1000000  # ng/kg/h per display unit
    return "%s %s" % (decimal(ui.amount * 100 // per), disp), per


def decimal(hundredths):
    """12.5 from 1250, 12 from 1200, 0.05 from 5: no trailing zeros (the row fits 16 columns)."""
    w, f = hundredths // 100, hundredths % 100
    if f == 0:
        return "%d" % w
    if f % 10 == 0:
        return "%d.%d" % (w, f // 10)
    return "%d.%02d" % (w, f)


def amount_text(ui):
    if ui.drug[2].get("mode") == "infusion":
        return rate_text(ui)[0]
    unit = ui.drug[2].get("dose_unit", "mg")
    return fmt_mg(ui.amount).replace(" mg", " " + unit)


def on_dose_amount(ui, b):
    infusion = ui.drug[2].get("mode") == "infusion"
    if b == "back":
        ui.page = DOSE_DRUG
    elif b in ("up", "down"):
        if infusion:
            per = rate_text(ui)[1]
            step = per * 5 if per == 60000 else per // 10  # 5 mcg/kg/min or 0.1 mg/kg/h
        else:
            step = amount_step_ug(ui.amount)
        ui.amount += step if b == "up" else -step
        if ui.amount < step:
            ui.amount = step
    elif b == "ok":
        d, r, entry = ui.drug
        if infusion:
            ui.verdict = ui.unit.check(d, r, rate=amount_text(ui))
        else:
            ui.verdict = ui.unit.check(d, r, dose=amount_text(ui))
        ui.page = DOSE_VERDICT
        ui.sel = 0


def give(ui, override=None):
    d, r, entry = ui.drug
    if entry.get("mode") == "infusion":
        v = ui.unit.give(d, r, rate=amount_text(ui), override=override)
    else:
        v = ui.unit.give(d, r, dose=amount_text(ui), override=override)
    ui.verdict = v
    if v.get("logged"):
        ui.page = HOME
        ui.message = "%s logged" % _names.drug(d)
    else:
        ui.page = DOSE_VERDICT


def on_dose_verdict(ui, b):
    verdict = ui.verdict["verdict"]
    if b == "back":
        ui.page = DOSE_AMOUNT
    elif b in ("up", "down"):
        scroll(ui, b, len(dose_text(ui)), VERDICT_ROWS)
    elif b == "ok":
        if verdict in ("adequate", "underdosed"):
            give(ui)
        elif verdict == "soft":
            ui.page = DOSE_REASON
            ui.sel = -1  # no reason preselected: the nurse picks one
        else:
            ui.page = DOSE_AMOUNT  # hard / error: never given from here


def on_dose_reason(ui, b):
    if b == "back":
        ui.page = DOSE_VERDICT
        ui.sel = 0
    elif b in ("up", "down"):
        pick(ui, b, len(OVERRIDE_REASONS))
    elif b == "ok":
        if ui.sel < 0:
            ui.message = "pick a reason"
            return
        ui.reason = OVERRIDE_REASONS[ui.sel]
        ui.armed = False
        ui.page = DOSE_CONFIRM


def pick(ui, b, n):
    """UP / DOWN on a list with nothing selected yet (-1): DOWN takes the first, UP the last."""
    if ui.sel < 0:
        ui.sel = 0 if b == "down" else n - 1
    else:
        ui.sel = (ui.sel + (1 if b == "down" else -1)) % n


# A soft-limit override is confirmed by a sequence no other page uses: UP, then OK
# (the HAL reports button presses, not how long a button is held, so "hold OK for
# 2 s" cannot be told from a press; see docs/panel-glossary.md).  OK alone, DOWN,
# or anything between UP and OK starts over; BACK returns to the reasons.
DOSE_CONFIRM = "dose_confirm"


def on_dose_confirm(ui, b):
    if b == "back":
        ui.page = DOSE_REASON
        return
    if b == "up":
        ui.armed = True
        return
    if b == "ok" and ui.armed:
        ui.armed = False
        give(ui, ui.reason)
        return
    ui.armed = False
    if b == "ok":
        ui.message = "UP then OK"


def limit_text(ui):
    """The soft limit the dose is beyond, in the dose's own unit ("limit 4 mg")."""
    for lim in ui.verdict.get("limits") or []:
        x = lim.get("limit")
        if isinstance(x, int):
            if ui.drug[2].get("mode") == "infusion":
                disp = ui.drug[2].get("rate", {}).get("display", "mg/kg/h")
                per = 60000 if disp == "mcg/kg/min" else 1000000
                return "limit " + decimal(x * 100 // per)
            return "limit " + fmt_mg(x).replace(" mg", " " + ui.drug[2].get("dose_unit", "mg"))
    return "limit -"


def draw_dose_confirm(ui, s, t):
    s.clear(DOSE_CONFIRM)
    s.set(1, "OVERRIDE LIMIT")
    s.mark(invert=1)
    s.set(2, drug_route(ui.drug[0], ui.drug[1]))
    s.set(3, "give " + amount_text(ui))
    s.set(4, limit_text(ui))
    s.set(5, ui.reason)
    s.set(7, "now OK=give" if ui.armed else "UP then OK=give")


# weight
WEIGHT_VERDICT = "weight_verdict"
WEIGHT_REASON = "weight_reason"
# Why a weight that changed a lot (or looks like lb typed as kg) is right after all.
WEIGHT_REASONS = ("re-weighed", "was estimated", "physician order")


# The weight is keyed digit by digit: hundreds, tens and units of kg.  UP / DOWN
# change the digit under the cursor (wrapping 9 <-> 0), OK moves to the next digit
# and saves on the last, BACK goes a digit back (home from the first).  It starts
# at the weight on record, or 000 (no preset weight).
def start_weight(ui, then_dose=False):
    w = ui.unit.weight_g
    ui.weight_kg = (w + 500) // 1000 if w else 0
    if ui.weight_kg > 999:
        ui.weight_kg = 999
    ui.wpos = 0
    ui._weight_then_dose = then_dose
    ui.page = WEIGHT


_PLACE = (100, 10, 1)


def on_weight(ui, b):
    if b == "back":
        if ui.wpos > 0:
            ui.wpos -= 1
        else:
            ui.page = HOME
    elif b in ("up", "down"):
        place = _PLACE[ui.wpos]
        d = ui.weight_kg // place % 10
        ui.weight_kg += ((d + (1 if b == "up" else 9)) % 10 - d) * place
    elif b == "ok" and ui.wpos < 2:
        ui.wpos += 1
    elif b == "ok":
        if ui.weight_kg < 1:
            ui.wpos = 0
            raise ValueError("enter a weight")
        v = ui.unit.check_weight("%d kg" % ui.weight_kg)
        if v["verdict"] == "adequate":
            enter_weight(ui)
        else:  # soft: shown with the previous weight, applied only with a reason; error: never
            ui.verdict = v
            ui.page = WEIGHT_VERDICT
            ui.sel = 0


def enter_weight(ui, override=None):
    v = ui.unit.enter_weight("%d kg" % ui.weight_kg, override)
    if not v["logged"]:
        ui.verdict = v
        ui.page = WEIGHT_VERDICT
        return
    ui.page = HOME
    ui.message = "weight %d kg" % ui.weight_kg
    if ui._weight_then_dose:
        start_dose(ui)


def on_weight_verdict(ui, b):
    if b == "back":
        ui.page = WEIGHT
    elif b in ("up", "down"):
        scroll(ui, b, len(weight_text(ui)), VERDICT_ROWS)
    elif b == "ok":
        if ui.verdict["verdict"] == "soft":
            ui.page = WEIGHT_REASON
            ui.sel = 0
        else:
            ui.page = WEIGHT


def on_weight_reason(ui, b):
    if b == "back":
        ui.page = WEIGHT_VERDICT
    elif b in ("up", "down"):
        ui.sel = (ui.sel + (1 if b == "down" else -1)) % len(WEIGHT_REASONS)
    elif b == "ok":
        enter_weight(ui, WEIGHT_REASONS[ui.sel])


# alarms, log, eeg
def alarm_state(st, i, t):
    """ON (sounding), ack (acknowledged) or the audio pause's time left (m:ss)."""
    if _alarms.audible(st, i, t):
        return "ON"
    if 0 <= st.al_since[i] <= st.al_ack_t[i]:
        return "ack"
    left = max(0, st.al_silence_until[i] - t)
    return "%d:%02d" % (left // 60, left % 60)


def on_alarms(ui, b):
    st = ui.unit.state
    t = ui.unit.now()
    active = _alarms.active_list(st, t)
    if b == "back":
        ui.page = HOME
    elif b in ("up", "down") and active:
        ui.sel = (ui.sel + (1 if b == "down" else -1)) % len(active)
    elif b == "ok" and active:
        name = active[ui.sel % len(active)][0]
        if alarm_state(st, _alarms.index(name), t) == "ack":
            ui.message = "already acked"  # one acknowledgement per alarm and condition
            return
        ui.unit.ack_alarm(name)
        ui.message = "acknowledged"


# The log page and marking an entry entered in error: ui_log.py, imported when the
# log is opened (not needed while a dose is entered, when the dose checker takes its room).
VOID = "void_reason"


def _log():
    from . import ui_log

    return ui_log


def on_log(ui, b):
    _log().on_log(ui, b)


def on_void_reason(ui, b):
    _log().on_void_reason(ui, b)


def draw_log(ui, s, t):
    _log().draw_log(ui, s, t)


def draw_void_reason(ui, s, t):
    _log().draw_void_reason(ui, s, t)


def on_eeg(ui, b):
    ui.page = HOME


def scroll(ui, b, n, rows):
    """Move a text window of `rows` rows over n lines by one line; it stops at either end."""
    top = n - rows if n > rows else 0
    ui.sel = max(0, min(top, ui.sel + (1 if b == "down" else -1)))


# -------------------------------------------------------------- render
LIST_ROWS = 5  # rows 2..6 of a list page (row 0: time and alarm, row 1: title, row 7: keys)


def top_row(ui, s, t):
    """Row 0 of every page but home: the time since onset and the highest active alarm."""
    st = ui.unit.state
    if st.started:
        x = t - _phases.clock_start(st)
        tm = mmss(x)
        if len(tm) > 5:
            tm = "%dh" % (x // 3600)  # 100 h and more: hours only, the alarm name stays whole
    else:
        tm = "--:--"
    i = _alarms.top_active(st)
    if i < 0:
        s.set(0, tm)
        return
    a = ("!!!", "!!", "!")[st.rules.alarm_priority[i]] + ALARM_SHORT[i]
    s.set(0, tm + " " * max(0, 16 - len(tm) - len(a)) + a)


def draw_list(ui, s, title, items, t):
    s.clear(ui.page)
    s.set(1, title)
    n = len(items)
    first = 0 if ui.sel < LIST_ROWS else ui.sel - LIST_ROWS + 1
    row = 2
    i = first
    while row < 7 and i < n:
        s.set(row, (">" if i == ui.sel else " ") + items[i])
        if i == ui.sel:
            s.mark(invert=row)
        row += 1
        i += 1


def draw_menu(ui, s, t):
    draw_list(ui, s, "MENU", [m[0] for m in ui._menu], t)
    s.set(7, "OK select BACK")


def drug_route(d, r):
    return "%s %s" % (_names.drug(d), _names.route(r))


def draw_dose_drug(ui, s, t):
    """The drugs under a header per line of therapy ("-- 2nd line --"); the cursor skips headers."""
    s.clear(DOSE_DRUG)
    s.set(1, "GIVE DOSE: drug")
    rows = []
    at = 0
    line = -1
    for k in range(len(ui.entries)):
        d, r, ln = ui.entries[k]
        if ln != line:
            line = ln
            rows.append("-- %s --" % (LINE_NAME[ln] if 0 < ln < 4 else "other"))
        if k == ui.dsel:
            at = len(rows)
        rows.append((">" if k == ui.dsel else " ") + drug_route(d, r))
    first = at - LIST_ROWS + 1 if at >= LIST_ROWS else 0
    for k in range(LIST_ROWS):
        if first + k < len(rows):
            s.set(2 + k, rows[first + k])
    s.mark(invert=2 + at - first)
    s.set(7, "OK select BACK")


def draw_dose_amount(ui, s, t):
    s.clear(DOSE_AMOUNT)
    d, r, entry = ui.drug
    s.set(1, drug_route(d, r))
    s.set(2, "weight %d kg" % ((ui.unit.weight_g + 500) // 1000))
    s.set(3, "amount (up/dn):")
    s.set(4, amount_text(ui))
    s.mark(invert=4)
    s.set(7, "OK check  BACK")


VERDICT_ROWS = 4  # rows 3..6 of a verdict page: its text, scrolled by UP / DOWN
VERDICT_WORD = {"adequate": "ADEQUATE", "underdosed": "UNDERDOSED", "soft": "SOFT LIMIT", "hard": "HARD LIMIT",
                "error": "NOT CHECKED"}


def dose_text(ui):
    """A dose verdict's text as rows of 16: the limits that decided it first, then what to
    draw or pump (not for a refused dose), the target, and the other messages."""
    v = ui.verdict
    lines = []
    limits = [lim.get("message", "") for lim in v.get("limits") or []]
    for m in limits:
        lines += wrap(m)
    refused = v["verdict"] not in ("adequate", "underdosed", "soft")
    if not refused:
        if v.get("volume_ml"):
            lines.append("draw %s mL" % v["volume_ml"])
        elif v.get("pump_ml_h"):
            lines.append("pump %s mL/h" % v["pump_ml_h"])
        if v.get("min_minutes"):
            lines.append("over >= %s min" % v["min_minutes"])
    if v.get("target"):
        lines += wrap("target " + str(v["target"]))
    for m in v.get("messages") or []:
        if m not in limits and not (refused and (m.startswith("volume") or "give over" in m)):
            lines += wrap(m)  # a refused dose: nothing to draw, nothing to give
    return lines or [""]


def draw_text(s, lines, top, first, rows):
    for k in range(rows):
        i = top + k
        s.set(first + k, lines[i] if i < len(lines) else "")


def draw_dose_verdict(ui, s, t):
    s.clear(DOSE_VERDICT)
    v = ui.verdict
    s.set(1, VERDICT_WORD.get(v["verdict"], v["verdict"].upper()))
    s.mark(invert=1)
    s.set(2, amount_text(ui))
    draw_text(s, dose_text(ui), ui.sel, 3, VERDICT_ROWS)
    action = {"adequate": "OK give  BACK", "underdosed": "OK give  BACK", "soft": "OK override BACK"}
    s.set(7, action.get(v["verdict"], "REFUSED  BACK"))


def verdict_lines(v):
    """The verdict's messages, the limits that decided it first (what the nurse must read)."""
    first = [lim.get("message", "") for lim in v.get("limits") or []]
    return (first + [m for m in v.get("messages") or [] if m not in first]) or [""]


def draw_dose_reason(ui, s, t):
    draw_list(ui, s, "OVERRIDE: why?", list(OVERRIDE_REASONS), t)
    s.set(7, "UP/DN pick  OK" if ui.sel < 0 else "OK next  BACK")


def draw_weight(ui, s, t):
    s.clear(WEIGHT)
    s.set(1, "PATIENT WEIGHT")
    s.set(2, "%03d kg" % ui.weight_kg)
    s.mark(big=2)
    s.set(4, "  " * ui.wpos + "^^")  # under the digit being set (large digits: two columns each)
    s.set(5, "UP/DN digit")
    s.set(7, "OK save  BACK" if ui.wpos == 2 else "OK next  BACK")


def draw_weight_verdict(ui, s, t):
    s.clear(WEIGHT_VERDICT)
    v = ui.verdict
    s.set(1, "%s %d kg" % ("CONFIRM" if v["verdict"] == "soft" else "REFUSED", ui.weight_kg))
    s.mark(invert=1)
    p = v.get("prev_weight_g")
    s.set(2, "previous %s" % ("-" if p is None else "%d kg" % ((p + 500) // 1000)))
    draw_text(s, weight_text(ui), ui.sel, 3, VERDICT_ROWS)
    s.set(7, "OK confirm  BACK" if v["verdict"] == "soft" else "BACK re-enter")


def weight_text(ui):
    lines = []
    for m in verdict_lines(ui.verdict):
        lines += wrap(m)
    return lines


def draw_weight_reason(ui, s, t):
    draw_list(ui, s, "WEIGHT: why?", list(WEIGHT_REASONS), t)
    s.set(7, "OK apply  BACK")


def draw_alarms(ui, s, t):
    active = _alarms.active_list(ui.unit.state, t)
    if not active:
        s.clear(ALARMS)
        s.set(1, "ALARMS")
        s.set(3, "none active")
        s.set(7, "BACK")
        return
    st = ui.unit.state
    s.clear(ALARMS)
    s.set(1, "ALARMS (OK=ack)")
    sel = ui.sel % len(active)
    first = sel - LIST_ROWS + 1 if sel >= LIST_ROWS else 0
    for k in range(first, min(len(active), first + LIST_ROWS)):
        i = _alarms.index(active[k][0])  # mark, name, state in fixed columns; the selection inverted
        s.set(2 + k - first, "%-3s%-8s %4s" % (("!!!", "!!", "!")[st.rules.alarm_priority[i]], ALARM_SHORT[i],
                                              alarm_state(st, i, t)))
    s.mark(invert=2 + sel - first)
    s.set(7, "ALARM=pause BACK")


def draw_eeg(ui, s, t):
    s.clear(EEG)
    e = ui.unit.eeg
    s.set(1, "EEG")
    if not e["attached"]:
        s.set(3, "not attached")
        s.set(7, "BACK")
        return
    s.set(2, "seizure: " + ("YES" if e["seizure"] else "no"))
    s.set(3, "burden %d%%/60m" % int(e["burden_percent"]))
    s.set(4, "BSR %d%%%s" % (e["bsr_percent"], " BS" if e["bs"] else ""))
    s.set(5, "eSE: " + ("YES" if e["se"] else "no"))
    trend = e["bsr_trend"][-16:]
    s.set(6, "".join(_SPARK[min(7, v * 8 // 101)] for v in trend))
    s.set(7, "BACK")


_SPARK = "_.-~=+*#"


# page -> what a button does there, and how it is drawn
ON = {MENU: on_menu, DOSE_DRUG: on_dose_drug, DOSE_AMOUNT: on_dose_amount, DOSE_VERDICT: on_dose_verdict,
      DOSE_REASON: on_dose_reason, DOSE_CONFIRM: on_dose_confirm, WEIGHT: on_weight, WEIGHT_VERDICT: on_weight_verdict,
      WEIGHT_REASON: on_weight_reason, ALARMS: on_alarms, LOG: on_log, EEG: on_eeg, VOID: on_void_reason}
DRAW = {MENU: draw_menu, DOSE_DRUG: draw_dose_drug, DOSE_AMOUNT: draw_dose_amount, DOSE_VERDICT: draw_dose_verdict,
        DOSE_REASON: draw_dose_reason, DOSE_CONFIRM: draw_dose_confirm, WEIGHT: draw_weight, WEIGHT_VERDICT: draw_weight_verdict,
        WEIGHT_REASON: draw_weight_reason, ALARMS: draw_alarms, LOG: draw_log, EEG: draw_eeg, VOID: draw_void_reason}
