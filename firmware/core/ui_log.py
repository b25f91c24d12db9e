# The front panel's log page (newest first, in words, EEG runs collapsed, a filter)
# and the marking of an entry entered in error.  Imported by ui_pages when the log
# is opened; let go with it when the panel is back home (heap.forget).
from . import alarms as _alarms
from . import phases as _phases
from .ui import ALARM_SHORT, HOME, LOG, SE_SHORT
from .ui_pages import VOID, decimal, draw_list, fmt_mg, mmss, wrap


# Entered in error (clinical.md review round 2 rule 15): on the log page the
# top row is the selected entry; OK asks why it was entered in error (a short
# fixed list), OK on a reason marks it.  The entry stays in the log, shown "X".
VOID_REASONS = ("wrong patient", "wrong drug/dose", "wrong time", "duplicate", "not given", "by mistake")
# what the unit writes itself: never marked from the panel (nor the link)
_UNIT_RECORDS = ("alarm", "power_up", "maint", "clock", "void")


# The log page lists entries newest first: UP goes to older ones, DOWN to newer,
# and DOWN from the newest to the filter row (sel -1), where OK shows all entries,
# doses only or alarms only.  A run of EEG state changes is one entry.
LOG_FILTERS = ("all", "doses", "alarms")
_FILTER_TYPES = (None, ("dose", "infusion"), ("alarm",))
# The page reaches this many entries back: older ones are on flash (logwindow.py) and the
# whole log is read over the link (LOG, statim export); the doses' totals come from the fold.
LOG_REACH = 160


def log_items(ui):
    """[(seq, t, text, type)] newest first, filtered, from the newest LOG_REACH entries;
    consecutive EEG events are one run (the seq and time of its last change, how many
    changes, the state it ended in)."""
    evs = ui.unit.events
    kinds = _FILTER_TYPES[ui.log_filter]
    out = []  # type: list
    run = 0
    state = ""
    seq = len(evs) - 1
    stop = seq - LOG_REACH
    while seq >= 0 and seq > stop:
        ev = evs[seq]
        k = ev["type"]
        if kinds is None or k in kinds:
            if k != "eeg":
                run = 0
                out.append((seq, ev["t"], event_text(ui, ev), k))
            elif run:  # an earlier change of the run below: the newest change's entry counts it
                run += 1
                out[-1] = (out[-1][0], out[-1][1], "EEG %d changes, now %s" % (run, state), k)
            else:
                run = 1
                state = ev["state"].replace("_", " ")
                out.append((seq, ev["t"], "EEG %s" % state, k))
        seq -= 1
    return out


def on_log(ui, b):
    items = log_items(ui)
    n = len(items)
    if b == "back":
        ui.page = HOME
    elif b == "up":
        ui.sel = min(ui.sel + 1, max(0, n - 1))
    elif b == "down":
        ui.sel = max(-1, ui.sel - 1)
    elif b == "ok" and ui.sel < 0:
        ui.log_filter = (ui.log_filter + 1) % len(LOG_FILTERS)
    elif b == "ok" and n:
        seq = items[min(ui.sel, n - 1)][0]
        kind = ui.unit.events[seq]["type"]
        if kind in _UNIT_RECORDS:
            raise ValueError("unit record")  # written by the unit, not entered by staff
        if seq in ui.unit.state.voided:
            raise ValueError("already in error")
        ui.void_seq = seq
        ui.page = VOID
        ui.sel = 0


def on_void_reason(ui, b):
    if b == "back":
        ui.page = LOG
        ui.sel = 0
        items = log_items(ui)
        for k in range(len(items)):
            if items[k][0] == ui.void_seq:
                ui.sel = k
    elif b in ("up", "down"):
        ui.sel = (ui.sel + (1 if b == "down" else -1)) % len(VOID_REASONS)
    elif b == "ok":
        reason = VOID_REASONS[ui.sel]
        seq = ui.void_seq
        ui.page = LOG  # on a refusal its message shows over the log
        ui.sel = 0
        ui.unit.void(seq, reason)
        ui.page = HOME
        ui.message = "#%d in error" % seq


def signed_time(x):
    """Seconds from the onset, signed: "+06:30", "-00:30", "+1h45"."""
    return ("-" if x < 0 else "+") + mmss(-x if x < 0 else x)


def draw_log(ui, s, t):
    s.clear(LOG)
    st = ui.unit.state
    items = log_items(ui)
    n = len(items)
    s.set(1, "show %s %d" % (LOG_FILTERS[ui.log_filter], n))
    if ui.sel >= n:
        ui.sel = n - 1 if n else -1
    onset = _phases.clock_start(st) if st.started else t
    voided = st.voided
    row = 2
    i = ui.sel if ui.sel >= 0 else 0
    while row < 7 and i < n:
        seq, et, text, k = items[i]
        text = "%s %s%s" % (signed_time(et - onset), "X " if seq in voided else "", text)
        lines = wrap(text)
        s.set(row, lines[0])
        row += 1
        rest = wrap(" ".join(text[len(lines[0]):].split()), 14)  # continued under it, indented
        for more in rest:
            if row < 7:
                s.set(row, "  " + more)
                row += 1
        i += 1
    if ui.sel < 0:
        s.mark(invert=1)
        s.set(7, "OK=filter  BACK")
    else:
        if n:
            s.mark(invert=2)
        s.set(7, "OK=in error BACK" if st.t >= 0 else "")


def draw_void_reason(ui, s, t):
    draw_list(ui, s, "#%d IN ERROR" % ui.void_seq, list(VOID_REASONS), t)
    s.set(7, "OK mark  BACK")


_EVENT_WORDS = {"stop": "seizure stopped", "recur": "seizure again", "recovered": "recovered",
                "power_up": "power on", "end": "episode end", "clock": "clock adjusted"}
_ALARM_ACTION = {"raise": "alarm %s", "clear": "end %s", "ack": "ack %s"}


def event_text(ui, ev):
    """A log entry in words: names and amounts."""
    k = ev["type"]
    if k == "dose":
        return "%s %s %s" % (ev["drug"], fmt_mg(ev["amount_ug"]), ev["route"])
    if k == "alarm":
        cond = ev.get("cond")
        if cond is None or ev["action"] not in _ALARM_ACTION:
            return "audio paused" if ev["action"] == "pause" else "alarm " + ev["action"]
        try:
            name = ALARM_SHORT[_alarms.index(cond)]
        except ValueError:
            name = cond
        return _ALARM_ACTION[ev["action"]] % name
    if k == "onset":
        return "onset " + SE_SHORT.get(ev.get("se_type"), str(ev.get("se_type")))
    if k == "weight":
        return "weight %d kg" % ((ev["grams"] + 500) // 1000)
    if k == "infusion":
        rate = ev.get("rate_ug_kg_h")
        if rate is None:
            return "%s %s" % (ev["drug"], ev["action"])
        return "%s %s %s mg/kg/h" % (ev["drug"], ev["action"], decimal(rate // 10))
    if k == "wean":
        return "wean " + ev["action"]
    if k == "void":
        return "#%d in error: %s" % (ev["ref"], ev["reason"])
    if k == "note":
        return ev["text"]
    if k == "flag":
        return "%s %s" % (ev["name"].replace("_", " "), "on" if ev["value"] else "off")
    if k == "maint":
        return "maintenance " + ev["action"]
    return _EVENT_WORDS.get(k, k)
