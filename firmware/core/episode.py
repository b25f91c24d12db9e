"""The episode state as a pure fold over the event log.

    st = fold(events, rules, assess)        # state after the last event
    advance(st, t)                          # the same state, later in time
    apply(st, event, assess)                # one more event (validated first)

Nothing derived is stored in the log: stage, flags, due actions and alarms
are all recomputed from the events.  Time-dependent facts (a seizure reaching
t1, 5 min after the last benzodiazepine, ...) change only at events or at
deadlines that the state computes (`st.next_deadline`), so `advance` visits
those deadlines in order and the state at any time t is exact.  All
arithmetic is on integers (seconds, micrograms, grams, per-mille): CPython and
MicroPython give identical results.

Semantics of "the state at time t": every event with event t <= t has been
applied, and every deadline <= t has been evaluated.  Deadlines at t are
evaluated before events at t (so a seizure stopping exactly at 5:00 has
lasted 5 min: >= t1).

Dose verdicts and weight changes (contract with the dose checker)
------------------------------------------------------------------
A dose event carries the dose checker's verdict at logging time:
`bzd_permille` (integer per-mille of the ESETT-adequate benzodiazepine dose
for the current weight; 0 for non-benzodiazepines), `second_line_adequate`
(the load meets the second-line adequacy rule) and optional `end_t` (end of a
loading infusion).  The fold sums `bzd_permille` of benzodiazepine boluses
(rules.BENZODIAZEPINES) for the ESETT gate
(>= rules.bzd_gate_permille = 1000; mixed drugs by that fractional sum) and
uses `second_line_adequate` + `end_t` for the refractory rule.

When a weight event is applied and an `assess` hook was given, every dose
logged so far is re-assessed: `assess(dose_event, weight_g)` must return
`(bzd_permille, second_line_adequate)` (int >= 0, bool) for that dose at the
new weight.  Without a hook the stored verdicts stand.  The hook is injected
by the caller (the dose checker), so this module does not import the drug
library.  The stage never goes down, so a weight correction can clear the
`bzd_underdosed` flag or bring a promotion forward but never demote.

State fields are preallocated in State.__init__; applying events may
allocate (dose lists), evaluating time never does.
"""

from . import events as _events
from . import rules as _rules
from . import staging as _staging
from . import phases as _phases
from . import alarms as _alarms

STAGES = _rules.STAGES
PHASES = _rules.PHASES
_EEG_SEIZURE = _events.EEG_STATES.index("seizure")

# Sub-states, shown next to the stage (clinical.md 14 scenarios 6-7).
SUBSTATES = ("", "controlled", "anesthetic_maintenance", "weaning", "breakthrough", "recurrence_on_weaning")
SUB_NONE = 0
SUB_CONTROLLED = 1
SUB_MAINTENANCE = 2
SUB_WEANING = 3
SUB_BREAKTHROUGH = 4
SUB_WEAN_RECURRENCE = 5

# Flag bits for compact timelines (bit i = FLAG_NAMES[i]).
FLAG_NAMES = ("t2_exceeded", "bzd_underdosed", "weaning_recurrence_lt_24h", "norse", "fires",
              "prolonged_rse", "prolonged_srse", "clock_unset", "first_line_phenobarbital",
              "log_invalid", "anesthetic_before_second_line", "power_gap", "settings_defaults",
              "library_refused")


class State:
    def __init__(self, rules=None):
        self.rules = rules if rules is not None else _rules.DEFAULT
        self.t = -1  # time the state is evaluated at
        self.last_t = -1  # time of the last applied event
        self.n_events = 0
        self.n_invalid = 0  # stored records quarantined at replay (engine.py)
        self.next_deadline = -1
        # Episode
        self.started = False
        self.closed = False
        self.se_type = -1
        self.t1 = 0
        self.t2 = -1
        self.t0 = -1  # first onset
        # Seizure activity: clinical (onset/stop/recur) or electrographic.
        self.clin = False
        self.eeg_state = len(_events.EEG_STATES) - 1  # "off"
        self.active = False
        self.cur_start = -1  # start of the current continuous activity
        self.last_stop = -1
        self.n_seizures = 0
        self.recovered = True
        self.cluster_start = -1  # first onset since the last recovery
        self.n_in_cluster = 0
        self.anchor = -1  # SE clock start, frozen when SE is declared
        self.clusters = []  # earlier clusters (RR2 rule 6): (onset, SE clock start, stage, t2 time)
        # Stage and flags
        self.stage = _staging.IDLE
        self.stage_t = [-1] * len(STAGES)
        self.escalated_t = -1
        self.t2_t = -1
        self.prolonged_rse_t = -1
        self.prolonged_srse_t = -1
        self.wean_recurrence_t = -1  # recurrence on weaning < 24 h after anesthetic start
        self.norse = False
        self.fires = False
        self.clock_unset = False
        # Wall labels (clock.py): label = t + wall_offset.  Corrections and
        # RTC-measured power gaps logged during the episode, for display;
        # no timer reads them (t is the timer clock).
        self.wall_offset = 0
        self.clock_corr_n = 0
        self.clock_corr_s = 0
        self.gap_n = 0
        self.gap_s = 0  # -1 once a gap could not be measured
        # Entries marked entered in error (log indices) and the indices of
        # their marks, from the whole log (prepare()): the fold skips them.
        self.voided = []
        self.void_at = []
        self.settings_lost = False  # both settings copies unreadable at start-up: defaults in use
        self.library_refused = False  # the installed drug library refused at start-up: built-in in use
        self.storage_full = False  # set by the engine while the flash refuses records (not from the log)
        self.bzd_underdosed = False
        # Treatment
        self.weight_g = 0
        self.age_months = None  # given with the newest weight that gives it (dose bands by age)
        self.doses = []
        self.dose_from = 0  # doses of the current cluster: doses[dose_from:]
        self.dose_permille = []  # current verdicts, re-assessed on weight change
        self.dose_adequate = []
        self.dose_initial = []  # taken as AES initial therapy (RR2 rule 7)
        self.first_line_pb = False  # initial therapy was phenobarbital: no ESETT gate from it
        self.first_line_n = 0
        self.bzd_n = 0
        self.bzd_permille = 0
        self.last_bzd_t = -1
        self.bzd_repeat_from = -1  # repeat of the last benzodiazepine open from (-1: not offered)
        self.second_line_n = 0
        self.second_line_end = -1  # earliest end of an adequate second-line load
        self.third_line_n = 0
        self.anesthetic_t = -1  # first anesthetic infusion start (tA)
        self.anesthetic_early = False  # tA came before any second-line load (RR2 rule 10)
        self.infusions = []  # drugs currently infusing
        self.n_infusions = 0
        self.weaning = False
        self.wean_t = -1
        self.control_since = -1  # no seizure activity since (on anesthetic)
        # Due actions (phases.py)
        self.due_from = [-1] * _phases.N_DUE
        self.due_by = [-1] * _phases.N_DUE
        # Alarms (alarms.py)
        n = _alarms.N_ALARMS
        self.al_active = [False] * n
        self.al_since = [-1] * n
        self.al_trig = [-1] * n
        self.al_ack_t = [-1] * n
        self.al_silence_until = [-1] * n
        self.al_logged = [False] * n


# ---------------------------------------------------------------- time

def _deadline(st):
    best = _staging.deadline(st)
    d = _phases.phase_deadline(st)
    if d >= 0 and (best < 0 or d < best):
        best = d
    d = _phases.deadline(st)
    if d >= 0 and (best < 0 or d < best):
        best = d
    d = _alarms.deadline(st)
    if d >= 0 and (best < 0 or d < best):
        best = d
    return best


def evaluate(st, t):
    """Re-derive stage, flags, due actions and alarms at time t (no allocation)."""
    st.t = t
    _staging.evaluate(st, t)
    _phases.update(st, t)
    _alarms.update(st, t)
    st.next_deadline = _deadline(st)


def advance(st, t):
    """Move the state forward to time t, visiting every deadline on the way."""
    d = st.next_deadline
    while 0 <= d <= t:
        evaluate(st, d)
        d = st.next_deadline
    if t > st.t:
        st.t = t


# ---------------------------------------------------------------- events

def _fail(ev, msg):
    raise ValueError("%s event at t=%d: %s" % (ev["type"], ev["t"], msg))


def _check(st, ev):
    """Checks that need the episode so far.  Raises before anything changes."""
    kind = ev["type"]
    t = ev["t"]
    if t < st.t:
        _fail(ev, "earlier than the episode time %d (events must be in time order)" % st.t)
    if st.closed and kind not in ("note", "power_up", "alarm", "maint", "invalid", "clock"):
        _fail(ev, "the episode has ended")
    if not st.started and kind in ("stop", "recur", "recovered", "dose", "infusion", "wean", "end"):
        _fail(ev, "no seizure onset has been logged")
    if kind == "onset":
        if st.started:
            _fail(ev, "onset already logged; use recur for a new seizure")
        if "at" in ev and ev["at"] < 0:
            _fail(ev, "at must be >= 0")
    elif kind == "stop":
        if not st.clin:
            _fail(ev, "no clinical seizure is running")
    elif kind == "recur":
        if st.clin:
            _fail(ev, "a clinical seizure is already running")
    elif kind == "recovered":
        if st.active:
            _fail(ev, "seizure activity is ongoing")
    elif kind == "infusion":
        running = ev["drug"] in st.infusions
        if ev["action"] == "start" and running:
            _fail(ev, "%s is already infusing" % ev["drug"])
        if ev["action"] != "start" and not running:
            _fail(ev, "%s is not infusing" % ev["drug"])
    elif kind == "wean":
        if ev["action"] == "start":
            if st.anesthetic_t < 0:
                _fail(ev, "no anesthetic infusion has been started")
            if st.weaning:
                _fail(ev, "weaning already started")
        elif not st.weaning:
            _fail(ev, "weaning has not started")
    elif kind == "alarm":
        _alarms.check_event(st, ev)


def _activity(st, t):
    # Combined clinical + electrographic activity; act on its edges.
    now_active = st.clin or st.eeg_state == _EEG_SEIZURE
    if now_active == st.active or not st.started:
        return
    st.active = now_active
    if now_active:
        st.n_seizures += 1
        if st.recovered and st.cluster_start >= 0 and st.anesthetic_t < 0:
            # RR2 rule 6: a new seizure after recovery; on anesthetic therapy a
            # recurrence stays in its course (SRSE counts recurrence, 2011 [C]).
            _staging.new_cluster(st, t)
            st.dose_from = len(st.doses)
            _totals(st)
        if st.recovered or st.cluster_start < 0:
            st.cluster_start = t
            st.n_in_cluster = 1
        else:
            st.n_in_cluster += 1
        st.recovered = False
        st.cur_start = t
        st.control_since = -1
        if st.weaning and st.anesthetic_t >= 0 and st.wean_recurrence_t < 0:
            if t - st.anesthetic_t < st.rules.super_refractory_after_s:
                # Not SRSE under the strict >= 24 h reading; flag it for the
                # local definition instead of hiding it (clinical.md 15.9).
                st.wean_recurrence_t = t
    else:
        st.last_stop = t
        if st.n_infusions > 0:
            st.control_since = t


def _valid_verdict(v, ev):
    if type(v) is not tuple or len(v) != 2 or type(v[0]) is not int or v[0] < 0 or type(v[1]) is not bool:
        raise ValueError("assess hook returned %r for %s at t=%d; expected (int >= 0, bool)"
                         % (v, ev["drug"], ev["t"]))
    return v


def _reassess(st, assess):
    # New verdicts for every dose at the new weight, all computed and checked
    # before any is stored (a failing hook must not leave half an update).
    if assess is None or not st.doses:
        return
    w = st.weight_g
    verdicts = [_valid_verdict(assess(ev, w), ev) for ev in st.doses]
    for i, v in enumerate(verdicts):
        st.dose_permille[i] = v[0] if _is_bzd(st, st.doses[i]) else 0
        st.dose_adequate[i] = v[1] and st.doses[i]["line"] == 2


def _bolus(ev):
    return ev.get("kind") != "infusion"


def _is_bzd(st, ev):
    # A benzodiazepine bolus at any line (an RSE midazolam load counts too:
    # ESETT times from the last benzodiazepine dose).
    return _bolus(ev) and ev["drug"] in st.rules.benzodiazepines


def _repeat_from(st, k):
    """When a repeat of the cluster's last benzodiazepine dose (doses[k]) is
    open, or -1 when none is offered (RR2 rule 8).  The dose event carries the
    checker's repeat rule for its reference (repeat_max, repeat_after_s); the
    count and the last time are over the episode's doses of the same drug and
    route, as the checker counts them.  Without those fields (a log from
    before them) the rule table's class default applies."""
    if k < 0:
        return -1
    last = st.doses[k]
    mx = last.get("repeat_max")
    if mx is None:
        mx = st.rules.bzd_max_doses
        gap = st.rules.bzd_repeat_after_s
    else:
        gap = last.get("repeat_after_s") or 0
        if mx == 0:
            mx = st.rules.bzd_max_doses  # no per-route limit: AES "may repeat once"
    n = 0
    t = -1
    for ev in st.doses:
        if _bolus(ev) and ev["drug"] == last["drug"] and ev["route"] == last["route"]:
            n += 1
            if ev["t"] > t:
                t = ev["t"]
    return t + gap if n < mx else -1


def _totals(st):
    first = bzd = permille = second = third = 0
    pb = False
    last_i = -1
    last_bzd = -1
    sl_end = -1
    i = st.dose_from - 1
    while i + 1 < len(st.doses):
        i += 1
        ev = st.doses[i]
        line = ev["line"]
        if _is_bzd(st, ev):
            bzd += 1
            permille += st.dose_permille[i]
            last_bzd = ev["t"]
            last_i = i
        if st.dose_initial[i] and st.dose_adequate[i]:
            first += 1
            pb = True
        elif line == 1:
            if _bolus(ev):
                first += 1
        elif line == 2:
            second += 1
            if st.dose_adequate[i]:
                end = ev.get("end_t", ev["t"])
                if sl_end < 0 or end < sl_end:
                    sl_end = end
        elif line == 3:
            third += 1
    st.first_line_n = first
    st.bzd_n = bzd
    st.bzd_permille = permille
    st.last_bzd_t = last_bzd
    st.second_line_n = second
    st.second_line_end = sl_end
    st.third_line_n = third
    st.first_line_pb = pb
    st.bzd_repeat_from = _repeat_from(st, last_i)
    st.bzd_underdosed = bzd > 0 and permille < st.rules.bzd_gate_permille


def _effect(st, ev, assess):
    kind = ev["type"]
    t = ev["t"]
    if kind == "onset":
        r = st.rules
        st.started = True
        st.se_type = _rules.SE_TYPES.index(ev["se_type"])
        st.t1 = r.t1_s[st.se_type]
        st.t2 = r.t2_s[st.se_type]
        at = ev.get("at", t)
        st.t0 = at
        st.clin = True
        _staging.promote(st, _staging.SEIZURE, at)
        _activity(st, at)
    elif kind == "stop":
        st.clin = False
        _activity(st, t)
    elif kind == "recur":
        st.clin = True
        _activity(st, t)
    elif kind == "eeg":
        st.eeg_state = _events.EEG_STATES.index(ev["state"])
        _activity(st, t)
    elif kind == "recovered":
        st.recovered = True
    elif kind == "dose":
        st.doses.append(ev)
        st.dose_permille.append(ev["bzd_permille"] if _is_bzd(st, ev) else 0)
        st.dose_adequate.append(ev["second_line_adequate"] and ev["line"] == 2)
        # RR2 rule 7: a full phenobarbital load before any first-line drug, in
        # the AES initial phase, is the initial therapy (not the second line).
        st.dose_initial.append(_bolus(ev) and ev["drug"] in st.rules.initial_alternatives
                               and ev["second_line_adequate"] and st.first_line_n == 0
                               and _phases.phase(st, t) < _phases.SECOND)
        _totals(st)
    elif kind == "weight":
        old = st.weight_g
        st.weight_g = ev["grams"]
        try:
            _reassess(st, assess)
        except Exception:
            st.weight_g = old
            raise
        if "age_months" in ev:
            st.age_months = ev["age_months"]
        _totals(st)
    elif kind == "infusion":
        action = ev["action"]
        if action == "start":
            st.infusions.append(ev["drug"])
            if st.anesthetic_t < 0:
                st.anesthetic_t = t
                # RR2 rule 10: recorded and flagged; SRSE is still timed from tA
                st.anesthetic_early = st.second_line_n == 0
            # Starting (or resuming) an anesthetic ends any weaning.
            st.weaning = False
            if not st.active:
                st.control_since = t
        elif action == "stop":
            st.infusions.remove(ev["drug"])
            if not st.infusions:
                st.control_since = -1
        st.n_infusions = len(st.infusions)
    elif kind == "wean":
        st.weaning = ev["action"] == "start"
        if st.weaning:
            st.wean_t = t
    elif kind == "flag":
        if ev["name"] == "norse":
            st.norse = ev["value"]
        else:
            st.fires = ev["value"]
    elif kind == "alarm":
        _alarms.apply_event(st, ev)
    elif kind == "power_up":
        _clock_label(st, ev.get("delta", 0), not st.clock_unset)
        st.clock_unset = not ev["rtc"]
        st.settings_lost = False  # each start-up says again if its settings were unreadable
        st.library_refused = False  # ... and if it refused its installed library
        if "gap" in ev and st.started and not st.closed:
            st.gap_n += 1
            g = ev["gap"]
            st.gap_s = -1 if g < 0 or st.gap_s < 0 else st.gap_s + g
    elif kind == "clock":
        # Setting a clock that was not set labels; it corrects nothing shown.
        _clock_label(st, ev["delta"], not st.clock_unset)
        st.clock_unset = False
    elif kind == "maint":
        action = ev["action"]
        if action == "clock":
            st.clock_unset = False  # set over the serial link (maintenance): timers are trustworthy again
        elif action == "settings_damaged":
            st.settings_lost = True
        elif action == "settings":
            st.settings_lost = False  # maintenance saved settings: a good copy is on flash again
        elif action == "druglib_refused":
            # the boot check's refusal (unit.refuse_installed), not a refused upload (DLCOMMIT)
            if ev.get("detail", "").startswith(_events.BUILTIN_LIB):
                st.library_refused = True
        elif action == "druglib":
            st.library_refused = False  # maintenance installed a library: it is the one in use
    elif kind == "end":
        st.closed = True
        st.active = False
    elif kind == "invalid":
        st.n_invalid += 1
    # "note" and other "maint" events: recorded only.


def _clock_label(st, delta, shown):
    # A wall-clock correction moves the labels only, never a timer.
    if delta:
        st.wall_offset += delta
        if shown and st.started and not st.closed:
            st.clock_corr_n += 1
            st.clock_corr_s += delta


def prepare(st, evs):
    """Before folding `evs` into a new state: note the entries the log marks
    entered in error (voids.py), so the fold leaves them out from the start."""
    for ev in evs:
        if type(ev) is dict and ev.get("type") == "void":
            from . import heap, voids

            st.voided, st.void_at = voids.scan(evs)
            heap.forget("voids")  # only needed while the log is read (a board's heap)
            return


def _recorded_only(st, ev):
    # An entry marked entered in error, or a mark: in the log, not in the
    # clinical state.  An acknowledgement made before a mark, of an alarm the
    # corrected record never raised, is kept as a record only.
    i = st.n_events
    if i in st.voided:
        return True
    kind = ev["type"]
    if kind == "void":
        if i not in st.void_at:
            _fail(ev, "mark does not fit the log (fold the whole log, or enter it through the engine)")
        return True
    return (kind == "alarm" and ev["action"] == "ack" and st.void_at and i < st.void_at[-1]
            and not st.al_active[_alarms.index(ev["cond"])])


def check(st, ev):
    """apply()'s checks alone, changing nothing (the state must already be at
    the event's time): the engine runs them before it writes an event."""
    _events.validate(ev)
    if ev["t"] < st.t:
        _fail(ev, "earlier than the episode time %d (events must be in time order)" % st.t)
    if not _recorded_only(st, ev):
        _check(st, ev)


def apply(st, ev, assess=None):
    """Apply one event.  Raises ValueError, naming the problem, for a bad event.

    The event is validated on its own and against the episode before the
    state changes (beyond moving time forward to the event's t, which is the
    state's own business)."""
    _events.validate(ev)
    if ev["t"] < st.t:
        _fail(ev, "earlier than the episode time %d (events must be in time order)" % st.t)
    advance(st, ev["t"])
    if not _recorded_only(st, ev):
        _check(st, ev)
        _effect(st, ev, assess)
    st.last_t = ev["t"]
    st.n_events += 1
    evaluate(st, ev["t"])
    return st


def fold(evs, rules=None, assess=None):
    st = State(rules)
    prepare(st, evs)
    for ev in evs:
        apply(st, ev, assess)
    return st


# ---------------------------------------------------------------- queries

def substate(st):
    if not st.started:
        return SUB_NONE
    if st.active:
        if st.weaning:
            return SUB_WEAN_RECURRENCE
        if st.anesthetic_t >= 0 and st.cur_start >= st.anesthetic_t:
            return SUB_BREAKTHROUGH
        return SUB_NONE
    if st.weaning:
        return SUB_WEANING
    if st.n_infusions > 0:
        return SUB_MAINTENANCE
    return SUB_CONTROLLED


def flags_mask(st):
    m = 0
    if st.t2_t >= 0:
        m |= 1
    if st.bzd_underdosed:
        m |= 2
    if st.wean_recurrence_t >= 0:
        m |= 4
    if st.norse:
        m |= 8
    if st.fires:
        m |= 16
    if st.prolonged_rse_t >= 0:
        m |= 32
    if st.prolonged_srse_t >= 0:
        m |= 64
    if st.clock_unset:
        m |= 128
    if st.first_line_pb:
        m |= 256
    if st.n_invalid:
        m |= 512
    if st.anesthetic_early:
        m |= 1024
    if st.gap_n:
        m |= 2048
    if st.settings_lost:
        m |= 4096
    if st.library_refused:
        m |= 8192
    return m


def flags(st):
    m = flags_mask(st)
    return [FLAG_NAMES[i] for i in range(len(FLAG_NAMES)) if m & (1 << i)]


ROW_LEN = 8 + _phases.N_DUE


def row_into(st, t, buf):
    """Fill `buf` (a list of ROW_LEN) with the compact timeline row at time t,
    without allocating: [t, stage, active, flags_mask, phase, substate,
    due status x N_DUE, alarm active mask, alarm audible mask]."""
    buf[0] = t
    buf[1] = st.stage
    buf[2] = 1 if st.active else 0
    buf[3] = flags_mask(st)
    buf[4] = _phases.phase(st, t)
    buf[5] = substate(st)
    i = 0
    while i < _phases.N_DUE:
        buf[6 + i] = _phases.status(st, i, t)
        i += 1
    buf[6 + _phases.N_DUE] = _alarms.active_mask(st)
    buf[7 + _phases.N_DUE] = _alarms.audible_mask(st, t)
    return buf


def row(st, t):
    """The compact timeline row (same ints in CPython and MicroPython)."""
    return row_into(st, t, [0] * ROW_LEN)


def snapshot(st, t):
    """Readable state at time t (allocates; for screens, tests and export)."""
    p = _phases.phase(st, t)
    out = {
        "t": t,
        "stage": STAGES[st.stage],
        "seizure_active": st.active,
        "substate": SUBSTATES[substate(st)],
        "phase": PHASES[p] if p >= 0 else "",
        "flags": flags(st),
        "se_clock_start": _phases.clock_start(st) if st.started else -1,
        "clusters": [[c[0], c[1], STAGES[c[2]], c[3]] for c in st.clusters],
        "bzd_permille": st.bzd_permille,
        "due": _phases.due_list(st, t),
        "alarms": _alarms.active_list(st, t),
        "next_deadline": st.next_deadline,
        "rules": st.rules.tag(),
    }
    if st.clock_corr_n:
        out["clock_corrected_s"] = st.clock_corr_s
    if st.gap_n:
        out["power_gap_s"] = st.gap_s
    if st.voided:
        out["entered_in_error"] = list(st.voided)
    return out


def timeline(evs, t_from, t_to, step, rules=None, assess=None):
    """Rows (see row_into) sampled every `step` s from t_from to t_to
    inclusive, run-length encoded: a row is kept only when something other
    than t differs from the previous sample.  Events at a sample time are
    applied before sampling.  Sampling itself allocates only kept rows, so a
    week sampled every minute fits a small MicroPython heap."""
    st = State(rules)
    prepare(st, evs)
    out = []
    cur = [0] * ROW_LEN
    prev = [-9] * ROW_LEN
    i = 0
    n = len(evs)
    t = t_from
    while t <= t_to:
        while i < n and evs[i]["t"] <= t:
            apply(st, evs[i], assess)
            i += 1
        advance(st, t)
        row_into(st, t, cur)
        k = 1
        while k < ROW_LEN and cur[k] == prev[k]:
            k += 1
        if k < ROW_LEN:
            out.append(list(cur))
            k = 1
            while k < ROW_LEN:
                prev[k] = cur[k]
                k += 1
        t += step
    return out
