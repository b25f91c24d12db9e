# AES treatment phases and the due-action list (what is due next, by when).
#
# Phase (AES 2016, clinical.md 3.1): minutes from the SE clock start, half-open
# intervals [0,5) stabilization, [5,20) initial, [20,40) second, [40,60) third,
# [60,...) beyond.  The SE clock starts at the first onset of the seizure
# cluster (frozen once SE is declared).  Once SE is declared the phase is at
# least "initial": SE means treatment starts now (ILAE t1), which is what
# clinical.md scenario 10 expects at 4 min after a second seizure without
# recovery.
#
# Due actions, each a slot with `due_from` (allowed from; -1 = now) and
# `due_by` (deadline; -1 = none), both absolute episode seconds; -1 in both
# means not applicable:
#   first_line    no first-line drug yet and seizing: due by t1 from onset
#                 (5 min convulsive; ILAE/AES), or at SE declaration if that
#                 came earlier (second seizure without recovery).
#   bzd_repeat    one benzodiazepine dose so far, still seizing: a repeat of
#                 it is open from the time the dose checker would accept it
#                 (the library's repeat rule for the selected reference, kept
#                 in the dose event: lorazepam AES/label 10 min, NCS 5 min;
#                 RR2 rule 8), AES "may repeat once"; a single-dose route
#                 offers no repeat.
#   second_line   SE, seizing, no second-line drug: due by 20 min (AES), or at
#                 established SE if earlier (ESETT: that is the indication).
#                 Focal SE with impaired awareness and absence SE are outside
#                 AES (RR2 rule 9): second and third line are listed open from
#                 SE, with no deadline (no overdue alarm), and no AES phase.
#   third_line    second line given, seizing, no third-line drug or
#                 anesthetic: due by 40 min (AES), or at refractory SE if
#                 earlier.
#   wean_window   anesthetic running, not weaning, seizures controlled since
#                 c: weaning allowed from c + 24 h, due by c + 48 h (NCS).
# The slots are preallocated; update() only assigns small ints.

STABILIZATION = 0
INITIAL = 1
SECOND = 2
THIRD = 3
BEYOND = 4

FIRST_LINE = 0
BZD_REPEAT = 1
SECOND_LINE = 2
THIRD_LINE = 3
WEAN_WINDOW = 4
N_DUE = 5
DUE_NAMES = ("first_line", "bzd_repeat", "second_line", "third_line", "wean_window")

# Status of a due slot at a given time (for screens and timelines).
NOT_APPLICABLE = 0
WAITING = 1  # before due_from
OPEN = 2  # allowed / due, deadline not passed
OVERDUE = 3  # deadline passed
STATUS_NAMES = ("n/a", "waiting", "open", "overdue")

_SE = 2
_ESTABLISHED = 3
_REFRACTORY = 4
# AES 2016 phases and its 20/40-min deadlines apply to convulsive SE only (its
# scope [C]; clinical.md Review round 2 rule 9).
_CONVULSIVE = 0  # rules.SE_TYPES index


def clock_start(st):
    """Start of the SE clock: the anchor once SE is declared, else the current cluster."""
    if st.anchor >= 0:
        return st.anchor
    return st.cluster_start


def phase(st, t):
    """AES phase code at time t, or -1 before onset and outside AES scope."""
    if not st.started or st.se_type != _CONVULSIVE:
        return -1
    e = t - clock_start(st)
    starts = st.rules.phase_start_s
    p = STABILIZATION
    i = 1
    while i <= BEYOND:
        if e >= starts[i]:
            p = i
        i += 1
    if st.stage >= _SE and p < INITIAL:
        p = INITIAL
    return p


def phase_deadline(st):
    if not st.started or st.closed or st.se_type != _CONVULSIVE:
        return -1
    start = clock_start(st)
    starts = st.rules.phase_start_s
    i = 1
    while i <= BEYOND:
        d = start + starts[i]
        if d > st.t:
            return d
        i += 1
    return -1


def _earlier(a, b):
    # Earliest of two times where -1 means "none".
    if b >= 0 and (a < 0 or b < a):
        return b
    return a


def update(st, t):
    """Recompute the due slots for time t (assigns preallocated slots only)."""
    frm = st.due_from
    by = st.due_by
    i = 0
    while i < N_DUE:
        frm[i] = -1
        by[i] = -1
        i += 1
    if not st.started or st.closed:
        return
    r = st.rules
    start = clock_start(st)
    if st.active:
        if st.first_line_n == 0:
            by[FIRST_LINE] = _earlier(start + st.t1, st.stage_t[_SE])
        elif (0 < st.bzd_n < r.bzd_max_doses and st.bzd_repeat_from >= 0 and st.second_line_n == 0
              and st.stage < _REFRACTORY):
            frm[BZD_REPEAT] = st.bzd_repeat_from
        if st.se_type != _CONVULSIVE:
            # Focal / absence SE: treat per local protocol; the next lines are
            # listed, open, with no AES deadline and so no overdue alarm.
            if st.stage >= _SE and st.second_line_n == 0:
                frm[SECOND_LINE] = st.stage_t[_SE]
            if st.stage >= _SE and st.second_line_n > 0 and st.third_line_n == 0 and st.anesthetic_t < 0:
                frm[THIRD_LINE] = st.stage_t[_SE]
        else:
            if st.stage >= _SE and st.second_line_n == 0:
                by[SECOND_LINE] = _earlier(start + r.second_line_due_s, st.stage_t[_ESTABLISHED])
            if st.second_line_n > 0 and st.third_line_n == 0 and st.anesthetic_t < 0:
                by[THIRD_LINE] = _earlier(start + r.third_line_due_s, st.stage_t[_REFRACTORY])
    elif st.n_infusions > 0 and not st.weaning and st.control_since >= 0:
        frm[WEAN_WINDOW] = st.control_since + r.eeg_control_min_s
        by[WEAN_WINDOW] = st.control_since + r.eeg_control_max_s


def deadline(st):
    """Earliest due_from / due_by after st.t, or -1."""
    now = st.t
    best = -1
    i = 0
    while i < N_DUE:
        d = st.due_from[i]
        if d > now and (best < 0 or d < best):
            best = d
        d = st.due_by[i]
        if d > now and (best < 0 or d < best):
            best = d
        i += 1
    return best


def status(st, i, t):
    frm = st.due_from[i]
    by = st.due_by[i]
    if frm < 0 and by < 0:
        return NOT_APPLICABLE
    if by >= 0 and t >= by:
        return OVERDUE
    if frm >= 0 and t < frm:
        return WAITING
    return OPEN


def overdue(st, i, t):
    by = st.due_by[i]
    return by >= 0 and t >= by


def due_list(st, t):
    """For screens (allocates): [(name, due_from, due_by, status_name), ...] of applicable slots."""
    out = []
    i = 0
    while i < N_DUE:
        s = status(st, i, t)
        if s != NOT_APPLICABLE:
            out.append((DUE_NAMES[i], st.due_from[i], st.due_by[i], STATUS_NAMES[s]))
        i += 1
    return out


def next_due(st, t, out):
    """The due action the home screen shows, without allocating: fills out[0]
    with its slot, out[1] with its key time (due_from while waiting, else
    due_by) and out[2] with its status; returns the slot, or -1 (out[0] = -1).
    The earliest key wins, the lower slot on a tie; an open slot with no
    deadline has no key and is not shown."""
    best = -1
    best_key = -1
    best_status = NOT_APPLICABLE
    i = 0
    while i < N_DUE:
        s = status(st, i, t)
        if s != NOT_APPLICABLE:
            if s == WAITING and st.due_from[i] >= 0:
                key = st.due_from[i]
            elif st.due_by[i] >= 0:
                key = st.due_by[i]
            else:
                key = -1
            if key >= 0 and (best < 0 or key < best_key):
                best = i
                best_key = key
                best_status = s
        i += 1
    out[0] = best
    out[1] = best_key
    out[2] = best_status
    return best
