# Corrections without deletion: "entered in error" marks (clinical.md, review
# round 2, rule 15).
#
# A `void` event marks an earlier entry of the log as entered in error, with a
# reason.  The entry stays in the log and in every export; the fold leaves it
# out of the clinical state (stage, gate, due actions, dose totals) as if it
# had never been entered.  An entry is named by its index in the log, the
# `seq` the serial link already reports for every event (`OK seq=`, `! EVT`,
# LOG, exports): replaying the log after a reboot rebuilds the same list, so
# the index is the same.  The mark also carries the entry's type and t, and a
# mark that does not match the log is refused, so a log whose indices ever
# shifted (damage skipped on replay) cannot void the wrong entry.
#
# Imported only when a log holds a mark or one is being entered (a board's
# heap); episode.prepare() and engine.Engine.append() do that.
from . import episode as _episode
from . import events as _events

VOIDABLE = ("onset", "stop", "recur", "recovered", "dose", "infusion", "wean", "eeg", "weight", "flag", "note",
            "end")


def problem(evs, i, marked, ev=None):
    """Why the void at evs[i] (or `ev`, the mark about to be entry i) does not
    fit the log (marked: the entries marked before it), or None."""
    if ev is None:
        ev = evs[i]
    r = ev["ref"]
    if r >= i:
        return "no earlier entry with seq %d (the log has %d entries before this mark)" % (r, i)
    target = evs[r]
    kind = target.get("type")
    if kind == "void":
        return "seq %d is itself an entered-in-error mark; it cannot be marked (enter the entry again instead)" % r
    if kind not in VOIDABLE:
        return "seq %d is a %s record, which the unit writes itself; only entries staff made can be marked" % (
            r, kind)
    if r in marked:
        return "seq %d is already marked entered in error" % r
    if kind != ev["ref_type"] or target.get("t") != ev["ref_t"]:
        return "seq %d is a %s at t=%s, not the %s at t=%d this mark names" % (
            r, kind, target.get("t"), ev["ref_type"], ev["ref_t"])
    return None


def scan(evs):
    """(refs, at): the entries marked in error and the indices of their marks,
    in log order; a mark that does not fit is left out (replay quarantines it)."""
    refs = []  # type: list
    at = []  # type: list
    i = 0
    for ev in evs:
        # a mark that does not fit is skipped here; replay quarantines it and goes on
        if type(ev) is dict and ev.get("type") == "void":
            try:
                _events.validate(ev)
                ok = problem(evs, i, refs) is None
            except (ValueError, TypeError, KeyError, IndexError, AttributeError):
                ok = False
            if ok:
                refs.append(ev["ref"])
                at.append(i)
        i += 1
    return refs, at


def refold(eng, ev):
    """Before the mark `ev` is appended to the engine `eng`: check it, and
    fold the log again without the entry it marks.  The engine's state stays
    as it was if the mark does not fit, or a later entry depends on the
    marked one (ValueError naming it: mark that one first)."""
    n = len(eng.events)
    old = eng.state
    why = problem(eng.events, n, old.voided, ev)
    if why is not None:
        raise ValueError("void event at t=%d: %s" % (ev["t"], why))
    st = _episode.State(eng.rules)
    st.voided = old.voided + [ev["ref"]]
    st.void_at = old.void_at + [n]
    st.storage_full = old.storage_full  # not from the log
    i = 0
    for e in eng.events:
        try:
            _episode.apply(st, e, eng.assess)
        except ValueError as err:
            raise ValueError("void event at t=%d: seq %d cannot be marked entered in error: the %s at seq %d "
                             "depends on it (mark that first): %s" % (ev["t"], ev["ref"], e["type"], i, err))
        i += 1
    _episode.advance(st, old.t)
    eng.state = st
