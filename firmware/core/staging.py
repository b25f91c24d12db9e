# Staging: the SE stage and the clinical flags, from the facts in the state.
#
# Rules (clinical.md section 14, precedence top to bottom; the highest rule
# that holds wins, and the stage never goes down within an episode):
#   super_refractory  an anesthetic infusion first started at tA, and seizure
#                     activity at some time t >= tA + 24 h (ongoing, recurred,
#                     recurrence on weaning or after withdrawal included).
#   refractory        ESETT gate met (configurable) and an adequate
#                     second-line load ended at e, and seizure activity at
#                     some time t >= e + window (10 min default).
#   established       ESETT gate met (cumulative per-mille >= 1000) and
#                     seizure activity at some time t >= last benzodiazepine
#                     dose + 5 min.
#   se                the current seizure has lasted >= t1, or >= 2 seizures
#                     without recovery to baseline between them (the SE clock
#                     is then anchored at the first onset of that cluster).
#   seizure           an onset was logged; none of the above.
# A seizure after logged recovery, with no anesthetic therapy started, is a
# new cluster (RR2 rule 6): the stage, t1/t2 and the SE clock start again
# (new_cluster); "never goes down" holds within a cluster.
# "Higher" stages also require SE to have been reached: established SE is SE
# that continues after an adequate benzodiazepine, so a focal seizure at
# 5 min (t1 = 10) is not "established" even if a benzodiazepine was given.
#
# Every rule is "seizure activity at some time >= X".  Activity is constant
# between events, so a rule can only start to hold at an event or exactly at
# a threshold X while activity is on.  `evaluate(st, t)` checks the rules at
# t; `deadline(st)` returns the earliest future threshold, which the fold and
# the engine visit.  Both allocate nothing.

IDLE = 0
SEIZURE = 1
SE = 2
ESTABLISHED = 3
REFRACTORY = 4
SUPER_REFRACTORY = 5


def promote(st, stage, t):
    if stage <= st.stage:
        return
    st.stage = stage
    st.stage_t[stage] = t
    if stage >= SE:
        if st.anchor < 0:
            st.anchor = st.cluster_start
        st.escalated_t = t


def new_cluster(st, t):
    """A seizure after logged recovery (RR2 rule 6; ILAE 2015): new t1/t2
    timers, AES phases and stage for it.  The finished cluster stays in the
    record as (first onset, SE clock start, highest stage, t2 time).  Its
    treatment stays in the log; the counts for staging restart (episode)."""
    st.clusters.append((st.cluster_start, st.anchor, st.stage, st.t2_t))
    st.stage = SEIZURE
    i = SE
    while i < len(st.stage_t):
        st.stage_t[i] = -1
        i += 1
    st.stage_t[SEIZURE] = t
    st.anchor = -1
    st.t2_t = -1
    st.prolonged_rse_t = -1


def gate_met(st):
    return st.bzd_permille >= st.rules.bzd_gate_permille


def _refractory_ready(st):
    # Adequate second-line load logged, and the benzodiazepine gate if the
    # selected definition requires it.
    if st.second_line_end < 0:
        return False
    return gate_met(st) or not st.rules.refractory_needs_bzd_gate


def evaluate(st, t):
    """Apply every stage rule and flag that holds at time t."""
    if not st.started or st.closed:
        return
    r = st.rules
    if st.stage < SE and st.n_in_cluster >= 2:
        promote(st, SE, t)
    if not st.active:
        return
    if st.stage < SE and t - st.cur_start >= st.t1:
        promote(st, SE, t)
    if st.stage < SE:
        return
    if st.stage < ESTABLISHED and gate_met(st) and t - st.last_bzd_t >= r.established_after_bzd_s:
        promote(st, ESTABLISHED, t)
    if st.stage < REFRACTORY and _refractory_ready(st) and t - st.second_line_end >= r.refractory_window_s:
        promote(st, REFRACTORY, t)
    ta = st.anesthetic_t
    if st.stage < SUPER_REFRACTORY and ta >= 0 and t - ta >= r.super_refractory_after_s:
        promote(st, SUPER_REFRACTORY, t)
    if st.t2_t < 0 and st.t2 >= 0 and t - st.anchor >= st.t2:
        st.t2_t = t
    # Hirsch 2018 [U]: prolonged SRSE >= 7 d counted from anesthetic start;
    # prolonged RSE >= 7 d without anesthetics, counted from the SE onset.
    if st.prolonged_srse_t < 0 and st.stage == SUPER_REFRACTORY and t - ta >= r.prolonged_s:
        st.prolonged_srse_t = t
    if st.prolonged_rse_t < 0 and st.stage == REFRACTORY and ta < 0 and t - st.anchor >= r.prolonged_s:
        st.prolonged_rse_t = t


def deadline(st):
    """Earliest time > st.t at which a stage rule or flag could start to hold; -1 if none."""
    if not st.started or st.closed or not st.active:
        return -1
    r = st.rules
    now = st.t
    best = -1
    if st.stage < SE:
        # Only SE can come next; the rest is checked when SE is declared.
        d = st.cur_start + st.t1
        return d if d > now else -1
    if st.stage < ESTABLISHED and gate_met(st):
        d = st.last_bzd_t + r.established_after_bzd_s
        if d > now:
            best = d
    if st.stage < REFRACTORY and _refractory_ready(st):
        d = st.second_line_end + r.refractory_window_s
        if d > now and (best < 0 or d < best):
            best = d
    ta = st.anesthetic_t
    if ta >= 0 and st.stage < SUPER_REFRACTORY:
        d = ta + r.super_refractory_after_s
        if d > now and (best < 0 or d < best):
            best = d
    if st.t2_t < 0 and st.t2 >= 0:
        d = st.anchor + st.t2
        if d > now and (best < 0 or d < best):
            best = d
    if st.stage == SUPER_REFRACTORY and st.prolonged_srse_t < 0:
        d = ta + r.prolonged_s
        if d > now and (best < 0 or d < best):
            best = d
    if st.stage == REFRACTORY and ta < 0 and st.prolonged_rse_t < 0:
        d = st.anchor + r.prolonged_s
        if d > now and (best < 0 or d < best):
            best = d
    return best
