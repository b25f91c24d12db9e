"""Episode events: constructors and validation.

An episode is an append-only list of events.  Each event is a small dict that
serialises to JSON as is: string keys, values of int / bool / str only (no
floats, no None; optional fields are simply absent).  Every event has
`type` (str) and `t` (int, episode seconds, see clock.py).  Events are ordered
by `t` (equal times keep log order).

Types and their fields (besides type, t):

  onset      se_type ("convulsive" | "focal_impaired" | "absence");
             optional at (int <= t): when the seizure really began, if it is
             logged late (the SE clock starts at `at`).
  stop       clinical seizure stopped.
  recur      clinical seizure started again.
  recovered  patient back to baseline (separates seizures: two seizures
             without recovery between them count as SE from the first onset).
  dose       drug (str), route (str), amount_ug (int > 0), line (1 first,
             2 second, 3 third line), bzd_permille (int >= 0: per-mille of the
             ESETT-adequate benzodiazepine dose for the weight, 0 for other
             drugs), second_line_adequate (bool: full second-line load), and
             optional end_t (int >= t: end of a loading infusion).  The values
             are the dose checker's verdict when the dose was logged.  Also
             optional (str or null): kind ("bolus" | "infusion"),
             counts_toward, reference, age_group, verdict, library_version,
             and rate_ng_per_kg_h (int or null): the checker's metadata, kept
             for re-assessment; repeat_max, repeat_after_s (int or null):
             the library's repeat rule the checker applied (0 = none set),
             which the due list's "repeat" follows.  A dose of kind "infusion" is not a bolus: it
             never counts toward the benzodiazepine gate or as first line.
             Continuous anesthetic therapy is logged with `infusion` events
             (they start the super-refractory clock), not as doses.
  infusion   action ("start" | "change" | "stop"), drug (str); optional
             rate_ug_kg_h (int >= 0).  Continuous anesthetic therapy.
  wean       action ("start" | "stop"): weaning of anesthetic therapy.
  eeg        state (one of EEG_STATES); "seizure" counts as seizure activity.
  weight     grams (int); optional age_months (int), the age entered with it.
  flag       name (one of FLAG_NAMES), value (bool): entered by staff.
  alarm      action ("raise" | "clear" | "ack" | "pause"); cond (alarm name)
             for raise / clear / ack; none for pause (pauses all audio).
             raise / clear are written by the engine as the record (IEC
             60601-1-8 clause 6.12 log); ack / pause come from staff.
  note       text (str, at most NOTE_MAX characters).
  power_up   rtc (bool): whether the wall clock was set at start-up.
             Optional gap (int >= -1): seconds from the last logged event
             to this power-up as the battery-backed RTC measured them (the
             timers include them; -1: the RTC is set but the log had no wall
             label to measure from, so the time off is missing); optional
             delta (int): a correction of the wall label at start-up (the
             RTC behind the log).  See clock.py.
  void       ref (int >= 0: the seq, i.e. the index in the log, of an
             earlier entry), ref_type (its type), ref_t (its t), reason
             (str, at most REASON_MAX characters): that entry was entered in
             error.  It stays in the log; the fold leaves it out (voids.py).
  clock      delta (int, seconds), source ("set" | "sync"): the wall clock
             was corrected (a maintenance CLOCK set, or RTC drift caught by
             the minute sync).  Timers never move (`t` is the timer clock);
             an event's wall label is its t plus the deltas logged before it.
  end        episode closed by staff.
  maint      action (one of MAINT_ACTIONS); optional detail (str, at most
             NOTE_MAX characters).  The security record of the serial link
             (protocol.py, auth.py): every login attempt, lock-out, logout
             and maintenance change (clock set, drug library installed or
             refused, settings, REPL unlocked), and settings_damaged: at
             start-up both settings copies were unreadable, so the unit runs
             on its defaults (written by the unit after power_up).  Recorded only: it never
             changes the episode state, except for the unit's own flags:
             clock (clock_unset off), settings_damaged (settings_defaults on,
             until the next power_up or a settings change), druglib_refused
             whose detail starts with BUILTIN_LIB (written by the unit after
             power_up: the installed library failed its boot check;
             library_refused on, until the next power_up or a druglib).
  invalid    reason (str); optional record (the stored record as it was).
             Never logged: the engine puts it in place of a stored record
             that failed validation at replay (quarantine, engine.py).  It
             changes nothing but the count of invalid records.

Any event may also carry `req` (str, at most REQ_MAX characters): "<request
id>:<32 hex digits of the request's SHA-256>", the serial-link request that
logged it (protocol.py), so that after a reboot a retry of that request is
recognised and not executed again.  The episode fold ignores it.

`validate(ev)` checks one event on its own and raises ValueError naming the
problem.  Checks that need the episode so far (order, a stop without a running
seizure, ...) are in episode.apply, which also runs before anything is stored.
"""

from . import rules as _rules

SE_TYPES = _rules.SE_TYPES
EEG_STATES = ("no_seizure", "seizure", "burst_suppression", "suppression", "artifact", "off")
FLAG_NAMES = ("norse", "fires")
INFUSION_ACTIONS = ("start", "change", "stop")
WEAN_ACTIONS = ("start", "stop")
ALARM_ACTIONS = ("raise", "clear", "ack", "pause")
NOTE_MAX = 200
MAINT_ACTIONS = ("login", "login_fail", "locked", "logout", "clock", "druglib", "druglib_refused",
                 "settings", "clear_log", "repl", "settings_damaged")
NAME_MAX = 32
BUILTIN_LIB = "built-in library in use: "  # starts the detail of the boot check's druglib_refused
REQ_MAX = 50  # "req": "<request id>:<32 hex digits>", the link request that logged the event
WEIGHT_MIN_G = 300  # smallest preterm neonate; anything below is an entry error
WEIGHT_MAX_G = 350000
AGE_MAX_MONTHS = 1800

# Optional dose metadata written by the dose checker (dosecheck.dose_event_fields);
# kept in the event so its assess() can re-check the dose later.  JSON null
# (None) is accepted for these and means "not given".
DOSE_META_STR = ("kind", "counts_toward", "reference", "age_group", "verdict", "library_version")
DOSE_META_INT = ("rate_ng_per_kg_h", "repeat_max", "repeat_after_s", "age_months")
DOSE_KINDS = ("bolus", "infusion")

CLOCK_SOURCES = ("set", "sync")

TYPES = ("onset", "stop", "recur", "recovered", "dose", "infusion", "wean", "eeg",
         "weight", "flag", "alarm", "note", "power_up", "end", "maint", "invalid", "clock", "void")
REASON_MAX = 64

# Allowed keys per type (besides "type" and "t"), and which are required.
_FIELDS = {
    "onset": (("se_type",), ("at",)),
    "stop": ((), ()),
    "recur": ((), ()),
    "recovered": ((), ()),
    "dose": (("drug", "route", "amount_ug", "line", "bzd_permille", "second_line_adequate"),
             ("end_t",) + DOSE_META_STR + DOSE_META_INT),
    "infusion": (("action", "drug"), ("rate_ug_kg_h",)),
    "wean": (("action",), ()),
    "eeg": (("state",), ()),
    "weight": (("grams",), ("age_months",)),
    "flag": (("name", "value"), ()),
    "alarm": (("action",), ("cond",)),
    "note": (("text",), ()),
    "power_up": (("rtc",), ("gap", "delta")),
    "end": ((), ()),
    "maint": (("action",), ("detail",)),
    "invalid": (("reason",), ("record",)),
    "clock": (("delta", "source"), ()),
    "void": (("ref", "ref_type", "ref_t", "reason"), ()),
}


def _err(ev, msg):
    raise ValueError("%s event: %s" % (ev.get("type", "?"), msg))


def _int(ev, key, lo=None, hi=None):
    v = ev[key]
    # bool is not an int here (True would be a dose of 1 ug).
    if type(v) is not int:
        _err(ev, "%s must be an integer, got %r" % (key, v))
    if lo is not None and v < lo:
        _err(ev, "%s must be >= %d, got %d" % (key, lo, v))
    if hi is not None and v > hi:
        _err(ev, "%s must be <= %d, got %d" % (key, hi, v))
    return v


def _str(ev, key, choices=None, maxlen=NAME_MAX):
    v = ev[key]
    if type(v) is not str or not v:
        _err(ev, "%s must be a non-empty string, got %r" % (key, v))
    if len(v) > maxlen:
        _err(ev, "%s is longer than %d characters" % (key, maxlen))
    if choices is not None and v not in choices:
        _err(ev, "%s must be one of %s, got %r" % (key, ", ".join(choices), v))
    return v


def _bool(ev, key):
    v = ev[key]
    if type(v) is not bool:
        _err(ev, "%s must be true or false, got %r" % (key, v))
    return v


def validate(ev):
    """Check one event in isolation; return it, or raise ValueError."""
    if type(ev) is not dict:
        raise ValueError("event must be a dict, got %r" % (ev,))
    kind = ev.get("type")
    if kind not in _FIELDS:
        raise ValueError("unknown event type %r" % (kind,))
    if "t" not in ev:
        _err(ev, "missing t")
    _int(ev, "t", 0)
    required, optional = _FIELDS[kind]
    for key in required:
        if key not in ev:
            _err(ev, "missing %s" % key)
    for key in ev:
        if key != "type" and key != "t" and key != "req" and key not in required and key not in optional:
            _err(ev, "unexpected field %r" % (key,))
    if "req" in ev and ":" not in _str(ev, "req", None, REQ_MAX):
        _err(ev, "req must be <request id>:<digest>")
    if kind == "onset":
        _str(ev, "se_type", SE_TYPES)
        if "at" in ev:
            _int(ev, "at", 0, ev["t"])
    elif kind == "dose":
        _str(ev, "drug")
        _str(ev, "route")
        _int(ev, "amount_ug", 1)
        # line 0: the checker could not classify the dose; it counts nowhere.
        line = _int(ev, "line", 0, 3)
        permille = _int(ev, "bzd_permille", 0, 100000)
        sla = _bool(ev, "second_line_adequate")
        if permille and ev["drug"] not in _rules.BENZODIAZEPINES:
            _err(ev, "bzd_permille must be 0 for %s, which is not a benzodiazepine" % ev["drug"])
        if sla and line != 2:
            _err(ev, "second_line_adequate can only be true for a second-line (line 2) dose")
        if "end_t" in ev:
            _int(ev, "end_t", ev["t"], ev["t"] + 86400)
        for key in DOSE_META_STR:
            if ev.get(key) is not None:
                _str(ev, key, DOSE_KINDS if key == "kind" else None, 64)
        for key in DOSE_META_INT:
            if ev.get(key) is not None:
                _int(ev, key, 0)
    elif kind == "infusion":
        _str(ev, "action", INFUSION_ACTIONS)
        _str(ev, "drug")
        if "rate_ug_kg_h" in ev:
            _int(ev, "rate_ug_kg_h", 0, 100000000)
    elif kind == "wean":
        _str(ev, "action", WEAN_ACTIONS)
    elif kind == "eeg":
        _str(ev, "state", EEG_STATES)
    elif kind == "weight":
        _int(ev, "grams", WEIGHT_MIN_G, WEIGHT_MAX_G)
        if "age_months" in ev:  # the patient's age, when entered with the weight (dose checks)
            _int(ev, "age_months", 0, AGE_MAX_MONTHS)
    elif kind == "flag":
        _str(ev, "name", FLAG_NAMES)
        _bool(ev, "value")
    elif kind == "alarm":
        action = _str(ev, "action", ALARM_ACTIONS)
        if action == "pause":
            if "cond" in ev:
                _err(ev, "pause applies to all alarms and takes no cond")
        else:
            if "cond" not in ev:
                _err(ev, "%s needs cond" % action)
            _str(ev, "cond", _rules.ALARM_NAMES)
    elif kind == "note":
        _str(ev, "text", None, NOTE_MAX)
    elif kind == "power_up":
        _bool(ev, "rtc")
    elif kind == "invalid":
        _str(ev, "reason", None, NOTE_MAX)
    elif kind == "clock":
        _int(ev, "delta")
        _str(ev, "source", CLOCK_SOURCES)
    elif kind == "void":
        _int(ev, "ref", 0)
        _str(ev, "ref_type", TYPES)
        _int(ev, "ref_t", 0)
        _str(ev, "reason", None, REASON_MAX)
    elif kind == "maint":
        _str(ev, "action", MAINT_ACTIONS)
        if "detail" in ev:
            _str(ev, "detail", None, NOTE_MAX)
    return ev


# Constructors: the same dicts the UI, the protocol and the tests build.

def onset(t, se_type, at=None):
    ev = {"type": "onset", "t": t, "se_type": se_type}
    if at is not None:
        ev["at"] = at
    return validate(ev)


def stop(t):
    return validate({"type": "stop", "t": t})


def recur(t):
    return validate({"type": "recur", "t": t})


def recovered(t):
    return validate({"type": "recovered", "t": t})


def dose(t, drug, route, amount_ug, line, bzd_permille=0, second_line_adequate=False, end_t=None):
    ev = {"type": "dose", "t": t, "drug": drug, "route": route, "amount_ug": amount_ug, "line": line,
          "bzd_permille": bzd_permille, "second_line_adequate": second_line_adequate}
    if end_t is not None:
        ev["end_t"] = end_t
    return validate(ev)


def infusion(t, action, drug, rate_ug_kg_h=None):
    ev = {"type": "infusion", "t": t, "action": action, "drug": drug}
    if rate_ug_kg_h is not None:
        ev["rate_ug_kg_h"] = rate_ug_kg_h
    return validate(ev)


def wean(t, action="start"):
    return validate({"type": "wean", "t": t, "action": action})


def eeg(t, state):
    return validate({"type": "eeg", "t": t, "state": state})


def weight(t, grams, age_months=None):
    ev = {"type": "weight", "t": t, "grams": grams}
    if age_months is not None:
        ev["age_months"] = age_months
    return validate(ev)


def flag(t, name, value=True):
    return validate({"type": "flag", "t": t, "name": name, "value": value})


def alarm(t, action, cond=None):
    ev = {"type": "alarm", "t": t, "action": action}
    if cond is not None:
        ev["cond"] = cond
    return validate(ev)


def note(t, text):
    return validate({"type": "note", "t": t, "text": text})


def power_up(t, rtc, gap=None, delta=0):
    ev = {"type": "power_up", "t": t, "rtc": rtc}
    if gap is not None:
        ev["gap"] = gap
    if delta:
        ev["delta"] = delta
    return validate(ev)


def void(t, ref, ref_type, ref_t, reason):
    return validate({"type": "void", "t": t, "ref": ref, "ref_type": ref_type, "ref_t": ref_t, "reason": reason})


def clock(t, delta, source):
    return validate({"type": "clock", "t": t, "delta": delta, "source": source})


def end(t):
    return validate({"type": "end", "t": t})


def maint(t, action, detail=None):
    ev = {"type": "maint", "t": t, "action": action}
    if detail:
        ev["detail"] = detail[:NOTE_MAX]
    return validate(ev)
