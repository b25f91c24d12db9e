"""A unit's HELLO and STATUS in the nurse's terms: time since onset, stage, due
actions by name with countdowns, alarms by name -- and the same as JSON with
named fields (statim status --json, connect, monitor).

The unit's STATUS carries unit clock seconds (t, se_clock_start, due times) and
positional arrays for due actions and alarms (docs/protocol.md); they are
turned into durations relative to the unit's own clock here, so a host whose
clock differs from the unit's shows the same countdowns as the unit's panel.
A STATUS that is not what this module expects is a LinkError ("malformed
reply"), never a traceback.
"""
import json

from host_tools import link as _link

STAGE_TEXT = {"idle": "ready (no seizure)", "seizure": "seizure", "se": "status epilepticus",
              "established": "established SE", "refractory": "refractory SE",
              "super_refractory": "super-refractory SE"}
DUE_TEXT = {"first_line": "first-line benzodiazepine", "bzd_repeat": "repeat benzodiazepine",
            "second_line": "second-line drug", "third_line": "third-line (anesthetic)",
            "wean_window": "wean window"}
ALARM_TEXT = {"first_line_overdue": "first-line benzodiazepine overdue", "second_line_overdue":
              "second-line drug overdue", "stage_escalation": "stage escalated",
              "library_refused": "drug library refused: built-in library in use"}


def duration(s):
    """Seconds -> '12m05s' / '1h02m' / '45s' (what a nurse reads off a timer)."""
    s = int(s)
    sign = "-" if s < 0 else ""
    s = abs(s)
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    if h:
        return "%s%dh%02dm" % (sign, h, m)
    if m:
        return "%s%dm%02ds" % (sign, m, sec)
    return "%s%ds" % (sign, sec)


def _int(v, what):
    if isinstance(v, bool) or not isinstance(v, int):
        raise _link.malformed("STATUS", "%s is %r, not a number" % (what, v))
    return v


def _due(d, t):
    if not isinstance(d, (list, tuple)) or len(d) < 4 or not isinstance(d[0], str):
        raise _link.malformed("STATUS", "a due action %r is not [name, due_from, due_by, status]" % (d,))
    name, due_from, due_by, status = d[0], _int(d[1], "due_from"), _int(d[2], "due_by"), str(d[3])
    out = {"action": name, "label": DUE_TEXT.get(name, name.replace("_", " ")), "status": status,
           "opens_in_s": due_from - t if due_from >= 0 else None,
           "due_in_s": due_by - t if due_by >= 0 else None}
    if status == "waiting" and due_from >= 0:
        out["countdown"] = "in %s" % duration(due_from - t)
    elif status == "overdue" and due_by >= 0:
        out["countdown"] = "overdue by %s" % duration(t - due_by)
    elif due_by >= 0:
        out["countdown"] = "due within %s" % duration(due_by - t)
    else:
        out["countdown"] = "now"
    return out


def _alarm(a, t):
    if not isinstance(a, (list, tuple)) or len(a) < 3 or not isinstance(a[0], str):
        raise _link.malformed("STATUS", "an alarm %r is not [name, priority, since, audible]" % (a,))
    since = _int(a[2], "alarm since")
    return {"alarm": a[0], "label": ALARM_TEXT.get(a[0], a[0].replace("_", " ")), "priority": str(a[1]),
            "for_s": t - since, "acknowledged": len(a) > 3 and not a[3]}


def view(hello, st):
    """HELLO (dict) + STATUS (dict) -> the nurse's view, named fields only."""
    if not isinstance(st, dict):
        raise _link.malformed("STATUS", "not an object")
    t = _int(st.get("t"), "t")
    start = st.get("se_clock_start", -1)
    start = _int(start, "se_clock_start") if start is not None else -1
    due, alarms = st.get("due") or [], st.get("alarms") or []
    if not isinstance(due, list) or not isinstance(alarms, list):
        raise _link.malformed("STATUS", "due and alarms must be lists")
    stage = st.get("stage")
    if not isinstance(stage, str):
        raise _link.malformed("STATUS", "no stage")
    w = st.get("weight_g")
    return {
        "unit": hello.get("unit"), "firmware": hello.get("fw"), "protocol": hello.get("proto"),
        "drug_library": {"version": hello.get("druglib"), "verified": hello.get("druglib_ok") == "1"},
        "stage": stage, "stage_label": STAGE_TEXT.get(stage, stage),
        "seizure_active": bool(st.get("seizure_active")),
        "phase": st.get("phase") or None,
        "since_onset_s": t - start if start >= 0 else None,
        "since_onset": duration(t - start) if start >= 0 else None,
        "weight_kg": w / 1000.0 if isinstance(w, int) and w > 0 else None,
        "due": [_due(d, t) for d in due],
        "alarms": [_alarm(a, t) for a in alarms],
        "flags": list(st.get("flags") or []),
        "events": st.get("events"),
        "clock_set": not st.get("clock_unset"),
        "unit_time": t,
        "warnings": _warnings(st),
        "age_months": st.get("age_months"),
        "evidence": evidence(st),
    }


# What each state flag means for the team, and what it rests on: a guideline
# (tags as in clinical.md: [C] confirmed, [S] secondary source) or a design
# choice of the unit [D] where the guidelines are silent (docs/clinical-rules.md).
FLAG_NOTES = {
    "t2_exceeded": ("seizure beyond t2: long-term consequences likely", "ILAE 2015 [C]"),
    "bzd_underdosed": ("the benzodiazepine given was below the adequate dose", "ESETT / AES 2016 [C]"),
    "weaning_recurrence_lt_24h": ("recurrence on weaning within 24 h of the anesthetic", "Shorvon & Ferlisi 2011 [C]"),
    "norse": ("NORSE (staff entry)", "Hirsch 2018 [C]"),
    "fires": ("FIRES (staff entry)", "Hirsch 2018 [C]"),
    "prolonged_rse": ("refractory SE for 7 days or more", "Hirsch 2018 [U]"),
    "prolonged_srse": ("super-refractory SE for 7 days or more", "Hirsch 2018 [U]"),
    "clock_unset": ("the wall clock is not set: times since power-up only", "design choice [D]"),
    "first_line_phenobarbital": ("phenobarbital as initial therapy: first line answered, ESETT gate not met",
                                 "AES 2016 [S]; the gate rule is a design choice [D], RR2 rule 7"),
    "log_invalid": ("stored records quarantined at start-up (kept, not replayed)", "design choice [D]"),
    "anesthetic_before_second_line": ("anesthetic started before any second-line load; SRSE timed from it",
                                      "design choice [D], RR2 rule 10 (Shorvon & Ferlisi assume RSE first)"),
    "power_gap": ("power was lost during the episode; the RTC's gap is in the timers", "design choice [D], RR2 rule 1"),
    "settings_defaults": ("both settings copies unreadable: defaults in use", "design choice [D]"),
    "log_seq_gaps": ("sequence gaps in the stored log (kept, counted)", "design choice [D]"),
    "library_refused": ("the installed drug library was refused at start-up: the built-in library is in use",
                        "design choice [D]"),
}
UNDER_TWO = ("outside the guideline's population (under 2 years: ESETT enrolled from 2 y, AES excludes "
             "neonates): neonatal dosing needs a neonatal protocol; gate and adequacy labels are extrapolated")


def evidence(st):
    """What the evidence does not cover for this patient, and which active flags are design choices."""
    out = []
    age = st.get("age_months")
    if isinstance(age, int) and not isinstance(age, bool) and age < 24:
        out.append(UNDER_TWO)
    for f in st.get("flags") or []:
        note = FLAG_NOTES.get(f)
        if note:
            out.append("%s: %s (%s)" % (f, note[0], note[1]))
    return out


def _warnings(st):
    """What the unit says is wrong with its record or its clock, in words."""
    out = []
    if st.get("storage_full"):
        out.append("STORAGE FULL: actions are refused, nothing new is logged")
    if st.get("settings_defaults"):
        out.append("SETTINGS LOST: both copies unreadable, defaults in use")
    if st.get("log_invalid"):
        out.append("LOG: %s invalid record(s) kept, not replayed" % st.get("log_invalid"))
    if st.get("library_refused"):
        out.append("DRUG LIBRARY REFUSED at start-up (%s): the built-in library is in use" % st.get("library_refused"))
    corr = st.get("clock_corrected_s")
    if isinstance(corr, int) and not isinstance(corr, bool) and corr:
        out.append("wall clock corrected by %+d s during the episode (timers unchanged)" % corr)
    gap = st.get("power_gap_s")
    if isinstance(gap, int) and not isinstance(gap, bool) and gap:
        out.append("power was off for %s during the episode (included in the timers)" % duration(gap) if gap > 0
                   else "power was off during the episode for an unknown time: timers may be short")
    return out


def lines(v):
    """The view as a few lines for a terminal."""
    lib = v["drug_library"]
    out = ["unit %s  firmware %s  protocol %s  drug library %s%s" % (
        v["unit"], v["firmware"], v["protocol"], lib["version"], "" if lib["verified"] else " (NOT VERIFIED)")]
    if v["since_onset"] is None:
        out.append("no seizure timed  stage %s" % v["stage_label"])
    else:
        out.append("%s since onset  stage %s  %s%s" % (
            v["since_onset"], v["stage_label"], "seizure ACTIVE" if v["seizure_active"] else "seizure stopped",
            "  phase %s" % v["phase"] if v["phase"] else ""))
    out.append("weight %s  events %s%s" % ("%.1f kg" % v["weight_kg"] if v["weight_kg"] else "not entered",
                                          v["events"], "" if v["clock_set"] else "  CLOCK NOT SET"))
    out.extend(v.get("warnings") or [])
    for a in v["alarms"]:
        out.append("ALARM %s (%s priority) for %s%s" % (a["label"], a["priority"], duration(a["for_s"]),
                                                        ", acknowledged" if a["acknowledged"] else ""))
    for d in v["due"]:
        out.append("due   %s: %s" % (d["label"], d["countdown"]))
    if v["flags"]:
        out.append("flags %s" % ", ".join(str(f) for f in v["flags"]))
    for e in v.get("evidence") or []:
        out.append("note  " + e)
    return out


def event_line(body, onset_t):
    """An unsolicited '! ...' body -> (text, new onset_t).  onset_t: unit seconds of the SE clock start, or None."""
    parts = body.split(" ", 2)
    if parts[0] == "EVT" and len(parts) == 3:
        try:
            ev = json.loads(parts[2])
        except ValueError:
            return "unreadable event: %s" % body, onset_t
        if not isinstance(ev, dict):
            return "unreadable event: %s" % body, onset_t
        t = ev.get("t")
        if ev.get("type") == "onset" and onset_t is None and isinstance(t, int):
            onset_t = t
        when = ("+" + duration(t - onset_t)) if isinstance(t, int) and onset_t is not None else "-"
        kind = ev.get("type")
        if kind == "dose":
            amount = ev.get("amount_ug")
            what = "DOSE %s %s %s%s" % (ev.get("drug"), ev.get("route"),
                                         "%g mg" % (amount / 1000.0) if isinstance(amount, int) else "",
                                         "  (%s)" % ev["verdict"] if ev.get("verdict") else "")
        elif kind == "alarm":
            what = "ALARM %s %s" % (ev.get("action"), ALARM_TEXT.get(ev.get("cond"), ev.get("cond") or "all audio"))
        else:
            rest = " ".join("%s=%s" % (k, v) for k, v in ev.items() if k not in ("type", "t", "req"))
            what = "%s %s" % (str(kind).upper(), rest)
        return "%-9s #%s %s" % (when, parts[1], what.rstrip()), onset_t
    if parts[0] == "STAGE" and len(parts) >= 2:
        return "%-9s STAGE -> %s" % ("", STAGE_TEXT.get(parts[1], parts[1])), onset_t
    return body, onset_t
