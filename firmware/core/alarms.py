# Alarm conditions and signals with IEC 60601-1-8 semantics (clinical.md 9).
#
# Priorities (high / medium / low) and kinds are data in rules.ALARMS.
#   state alarms    are present while their condition holds and clear when it
#                   stops holding (non-latching).
#   latched alarms  announce a moment (t2 reached, stage rose, recurrence on
#                   weaning < 24 h).  They stay until acknowledged; the
#                   acknowledgement is the ALARM RESET.  A new trigger (e.g. the
#                   stage rises again) raises the alarm again.
# Signal inactivation, per alarm:
#   ack     ACKNOWLEDGED: the auditory signal stops; for a state alarm it stays
#           silent until the condition clears, or re-annunciates after a preset
#           time if the condition persists (rules.ack_reannounce_*_s: high
#           10 min, medium 15 min (RR2 rule 11); 0 = never, low only).
#   pause   AUDIO PAUSED (all alarms present at the time, time-limited,
#           rules.audio_pause_s).  When the pause runs out and the condition is
#           still present the alarm sounds again (re-annunciation).  An alarm
#           raised during a pause sounds: a new condition is news.
# Visual signals stay on while an alarm is active, whatever its audio state.
# Neither ack nor pause touches any timer: nothing in staging or phases reads
# alarm state.
# Every raise / clear is written to the log by the engine (alarm events), and
# ack / pause are staff events, so the alarm history is in the log.  The
# conditions themselves are derived from the rest of the state, which keeps
# the fold pure: the logged raise / clear records only update `al_logged`,
# which is how the engine knows what it still has to write.

from . import rules as _rules
from . import phases as _phases

FIRST_LINE_OVERDUE = 0
SECOND_LINE_OVERDUE = 1
THIRD_LINE_OVERDUE = 2
T2_EXCEEDED = 3
STAGE_ESCALATION = 4
BREAKTHROUGH = 5
BZD_UNDERDOSED = 6
WEANING_RECURRENCE = 7
CLOCK_UNSET = 8
STORAGE_FULL = 9
SETTINGS_DEFAULTS = 10
LIBRARY_REFUSED = 11
N_ALARMS = 12
NAMES = _rules.ALARM_NAMES

HIGH = 0
MEDIUM = 1
LOW = 2

# silence_until sentinel: acknowledged, silent until the condition clears.
UNTIL_CLEAR = -2


def index(name):
    i = 0
    while i < N_ALARMS:
        if NAMES[i] == name:
            return i
        i += 1
    raise ValueError("unknown alarm %r" % (name,))


def _trigger(st, i):
    # Trigger time of a latched alarm, -1 if never triggered.
    if i == T2_EXCEEDED:
        return st.t2_t
    if i == STAGE_ESCALATION:
        return st.escalated_t
    return st.wean_recurrence_t


def _condition(st, i, t):
    if i == FIRST_LINE_OVERDUE:
        return _phases.overdue(st, _phases.FIRST_LINE, t)
    if i == SECOND_LINE_OVERDUE:
        return _phases.overdue(st, _phases.SECOND_LINE, t)
    if i == THIRD_LINE_OVERDUE:
        return _phases.overdue(st, _phases.THIRD_LINE, t)
    if i == BREAKTHROUGH:
        # A seizure that started after anesthetic therapy began: breakthrough
        # on the infusion, or recurrence on weaning / after withdrawal.
        return (st.active and not st.closed and st.anesthetic_t >= 0
                and st.cur_start >= st.anesthetic_t)
    if i == BZD_UNDERDOSED:
        return st.bzd_underdosed and st.active and not st.closed
    if i == STORAGE_FULL:
        return st.storage_full
    if i == SETTINGS_DEFAULTS:
        return st.settings_lost
    if i == LIBRARY_REFUSED:
        return st.library_refused
    return st.clock_unset  # CLOCK_UNSET


def update(st, t):
    """Bring every alarm's active / silence state to time t (no allocation)."""
    latched = st.rules.alarm_latched
    i = 0
    while i < N_ALARMS:
        if latched[i]:
            trig = _trigger(st, i)
            cond = trig >= 0 and st.al_ack_t[i] < trig and not st.closed
            if cond and st.al_active[i] and st.al_trig[i] != trig:
                # Triggered again while still active: a new announcement.
                st.al_since[i] = t
                st.al_silence_until[i] = -1
                st.al_logged[i] = False
            st.al_trig[i] = trig
        else:
            cond = _condition(st, i, t)
        if cond and not st.al_active[i]:
            st.al_active[i] = True
            st.al_since[i] = t
            st.al_silence_until[i] = -1
            if not latched[i]:
                st.al_ack_t[i] = -1
        elif not cond and st.al_active[i]:
            st.al_active[i] = False
            st.al_since[i] = -1
            st.al_silence_until[i] = -1
        i += 1


def check_event(st, ev):
    """Raise ValueError if a staff alarm event makes no sense now."""
    action = ev["action"]
    if action == "ack":
        i = index(ev["cond"])
        if not st.al_active[i]:
            raise ValueError("alarm event: %s is not active" % NAMES[i])


def apply_event(st, ev):
    t = ev["t"]
    action = ev["action"]
    if action == "pause":
        until = t + st.rules.audio_pause_s
        i = 0
        while i < N_ALARMS:
            s = st.al_silence_until[i]
            if st.al_active[i] and s != UNTIL_CLEAR and s < until:
                st.al_silence_until[i] = until
            i += 1
        return
    i = index(ev["cond"])
    if action == "raise":
        st.al_logged[i] = True
    elif action == "clear":
        st.al_logged[i] = False
    else:  # ack
        st.al_ack_t[i] = t
        if not st.rules.alarm_latched[i]:
            re = st.rules.ack_reannounce_s[st.rules.alarm_priority[i]]
            st.al_silence_until[i] = t + re if re > 0 else UNTIL_CLEAR
        # A latched alarm is reset by the ack: update() clears it.


def audible(st, i, t):
    if not st.al_active[i]:
        return False
    s = st.al_silence_until[i]
    return s != UNTIL_CLEAR and t >= s


def deadline(st):
    """Earliest end of an audio silence after st.t (re-annunciation), or -1."""
    now = st.t
    best = -1
    i = 0
    while i < N_ALARMS:
        if st.al_active[i]:
            d = st.al_silence_until[i]
            if d > now and (best < 0 or d < best):
                best = d
        i += 1
    return best


def active_mask(st):
    m = 0
    i = 0
    while i < N_ALARMS:
        if st.al_active[i]:
            m |= 1 << i
        i += 1
    return m


def audible_mask(st, t):
    m = 0
    i = 0
    while i < N_ALARMS:
        if audible(st, i, t):
            m |= 1 << i
        i += 1
    return m


def highest_audible(st, t):
    """Priority code of the loudest audible alarm (0 high), or -1 when silent."""
    best = -1
    i = 0
    while i < N_ALARMS:
        if audible(st, i, t):
            p = st.rules.alarm_priority[i]
            if best < 0 or p < best:
                best = p
        i += 1
    return best


def active_list(st, t):
    """For screens (allocates): [(name, priority_name, since, audible), ...], highest priority first."""
    out = []
    p = 0
    while p < 3:
        i = 0
        while i < N_ALARMS:
            if st.al_active[i] and st.rules.alarm_priority[i] == p:
                out.append((NAMES[i], _rules.PRIORITIES[p], st.al_since[i], audible(st, i, t)))
            i += 1
        p += 1
    return out


def top_active(st):
    """Index of the alarm a screen shows first (highest priority, then the
    lowest index: active_list's first entry), or -1; allocation-free."""
    best = -1
    best_p = 3
    i = 0
    while i < N_ALARMS:
        if st.al_active[i]:
            p = st.rules.alarm_priority[i]
            if p < best_p:
                best = i
                best_p = p
        i += 1
    return best
