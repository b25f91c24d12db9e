# The unit's weight and dose actions: the dose checker's verdict, then the record.
# Loaded with the dose checker when a nurse enters a weight or a dose, and let go
# with it (unit.py: _release_checker), so a unit at the bedside keeps neither.
# Functions of the unit (u); unit.Unit's methods of the same names call them.
from . import events as _events


def check_weight(u, weight, age=None):
    """The checker's verdict on a weight entry against the weight in use; logs nothing."""
    return u.checker().check_weight(weight, u.weight_g, u.config["age_group"], u.library, age)


def enter_weight(u, weight, override=None, age=None):
    """Check, then log a weight ('70 kg' / '154 lb', units required, or int grams):
    error never, soft only with an override reason (dosecheck.weight_entry).
    Doses already logged stay; the episode fold re-assesses them at the new weight."""
    v = check_weight(u, weight, age)
    note = u.checker().weight_entry(v, override)
    if v["apply"]:
        if note:
            u.note(note)
        v["event"] = u._log(_events.weight(u.now(), v["weight_g"], v["age_months"]))
        v["logged"] = True
        u.weight_g = v["weight_g"]
        if v["age_months"] is not None:
            u.age_months = v["age_months"]
    return v


def history(u):
    # the doses of the episode as the fold holds them: doses marked entered in error count toward
    # no total (review round 2 rule 15); the log itself is mostly on flash (logwindow.py)
    return list(u.engine.state.doses)


def check(u, drug, route, dose=None, rate=None, over=None, duration=None):
    """The dose checker's verdict for this patient now; logs nothing."""
    dc = u.checker()
    if u.weight_g is None:
        v = dc.check_dose(drug, route, None, dose=dose, rate=rate, library=u.library)
        v["verdict"] = dc.ERROR
        v["messages"] = ["no weight entered: enter the patient's weight before any dose check"]
        return v
    return dc.check_dose(drug, route, u.weight_g, dose=dose, rate=rate, over=over, duration=duration,
                         reference=u.config["reference"], age_group=u.config["age_group"], history=history(u),
                         t=u.now(), library=u.library, age=u.age_months)


def give(u, drug, route, dose=None, rate=None, over=None, duration=None, override=None):
    """Check, then log what was given.  hard and error are never logged;
    soft needs an override reason (logged with the limits it overrode)."""
    v = check(u, drug, route, dose, rate, over, duration)
    dc = u.checker()
    v["logged"] = False
    v["event"] = None
    verdict = v["verdict"]
    if verdict in (dc.HARD, dc.ERROR):
        return v
    if verdict == dc.SOFT:
        if not override or len(str(override).strip()) < 3:
            v["messages"].append("soft limit: give an override reason to log this dose")
            return v
        codes = ",".join(str(lim.get("code", "")) for lim in v.get("limits", []))
        u.note("override %s %s: %s [%s]" % (v["drug"], v["route"], str(override).strip(), codes))
    t = u.now()
    fields = dc.dose_event_fields(v)
    if fields["kind"] == "infusion":
        action = "change" if u._infusion_running(fields["drug"]) else "start"
        num_den = v.get("rate_ng_per_kg_h") or [0, 1]
        rate_ug = (num_den[0] + num_den[1] * 500) // (num_den[1] * 1000)  # ng -> ug/kg/h, half up
        ev = u._log(_events.infusion(t, action, fields["drug"], rate_ug))
    else:
        ev = {"type": "dose", "t": t}
        for key in fields:
            if key != "rate_ng_per_kg_h":
                ev[key] = fields[key]
        over_s = v.get("over_s")
        why = None
        if not (isinstance(over_s, int) and over_s > 0) and fields["line"] == 2:
            over_s, why = dc.assumed_load_end(v, u.library)  # RR2 rule 5
        if isinstance(over_s, int) and over_s > 0:
            ev["end_t"] = t + over_s  # a load given over time ends then (refractory window)
        ev = u._log(ev)
        if why:
            u.note(why)
        st = u.engine.state
        if st.dose_initial and st.dose_initial[-1] and st.dose_adequate[-1]:
            v["messages"].append(dc.INITIAL_THERAPY_NOTE % fields["drug"])  # RR2 rule 7
    v["logged"] = True
    v["event"] = ev
    return v
