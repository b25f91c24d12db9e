"""clinical.md "Review round 2" staging and alarm rules (5-11), through the
ways in the nurse and the host use: the unit's actions (panel and serial link
call the same methods), its STATUS snapshot, and the pure fold.

Expected times are computed here from the guideline and label numbers that
clinical.md cites, never read from the firmware."""
import math

import pytest

from emulator.board import EmulatedUnit
from firmware.core import episode, events as ev, unit_doses
from episode_cases import at

MIN = 60


class Bedside:
    """An emulated unit with the seizure timer started at minute 0."""

    def __init__(self, weight_kg=70, se_type="convulsive", config=None):
        self.emu = EmulatedUnit(weight_kg=weight_kg, se_type=se_type, config=config)
        self.unit = self.emu.unit
        self.unit.onset(se_type)
        self.t0_ms = self.emu.now_ms
        self.t0 = self.unit.now()

    def at(self, seconds):
        self.emu.run_until(self.t0_ms + seconds * 1000)
        assert self.unit.now() - self.t0 == seconds

    def stage(self):
        return self.unit.status()["stage"]


# ---------------------------------------------------------------- rule 5

def _label_min_s(dose_mg, mg_per_min):
    # label minimum administration time for the dose, whole seconds rounded up
    return math.ceil(dose_mg * 60 / mg_per_min)


# (drug, dose string, minimum administration time at 70 kg from the label / rule 5)
RULE5 = [
    ("phenytoin", "1400 mg", _label_min_s(1400, 50)),  # label: adults <= 50 mg/min
    ("fosphenytoin", "1400 mg PE", _label_min_s(1400, 150)),  # label: <= 150 mg PE/min
    ("valproate", "2800 mg", _label_min_s(2800, 20)),  # label: <= 20 mg/min
    ("levetiracetam", "4200 mg", 15 * MIN),  # label: 15-min infusion
]


@pytest.mark.parametrize("drug,dose,min_s", RULE5, ids=[r[0] for r in RULE5])
def test_rule5_second_line_without_infusion_time_ends_at_label_minimum(drug, dose, min_s):
    """clinical.md RR2 rule 5: a second-line load logged without an infusion
    time ends at start + the label's minimum administration time; RSE is
    declared 10 min (clinical.md 14 rule 2) after that end, never after the start."""
    b = Bedside(70)
    b.at(5 * MIN)
    assert b.unit.give("lorazepam", "iv", dose="4 mg")["logged"]
    b.at(15 * MIN)
    v = b.unit.give(drug, "iv", dose=dose)  # no infusion time given
    assert v["logged"], v["messages"]
    assert v["event"]["end_t"] == b.t0 + 15 * MIN + min_s
    # the record says the end was taken, not timed
    assert any(e["type"] == "note" and "no infusion time" in e["text"] for e in b.unit.events)
    rse = 15 * MIN + min_s + 10 * MIN
    b.at(25 * MIN)  # 10 min after the start: the load is still running
    assert b.stage() == "established"
    b.at(rse - 1)
    assert b.stage() == "established"
    b.at(rse)
    assert b.stage() == "refractory"
    # the host sees the same over the serial link's STATUS
    assert b.unit.status()["stage"] == "refractory"


def test_rule5_an_infusion_time_given_is_used_as_given():
    b = Bedside(70)
    b.at(5 * MIN)
    b.unit.give("lorazepam", "iv", dose="4 mg")
    b.at(15 * MIN)
    v = b.unit.give("levetiracetam", "iv", dose="4200 mg", over=10 * MIN)  # ESETT: 10-min infusion
    assert v["event"]["end_t"] == b.t0 + 25 * MIN
    b.at(35 * MIN)
    assert b.stage() == "refractory"  # clinical.md 14 case 4


# ---------------------------------------------------------------- rule 6

def _snap(evs, t, rules=None):
    st = episode.fold([e for e in evs if e["t"] <= t], rules)
    episode.advance(st, t)
    return episode.snapshot(st, t)


def _recurrence_after_recovery(minutes_later, lasting):
    """GTC 0-8 min (SE from 5 min; lorazepam 4 mg at 5), back to baseline at
    20 min, then a new GTC `minutes_later` after onset lasting `lasting` min."""
    from episode_cases import bzd

    evs = [ev.weight(at(0), 70000), ev.onset(at(0), "convulsive"), bzd(at(5), "lorazepam", "iv", 4),
           ev.stop(at(8)), ev.recovered(at(20)), ev.recur(at(minutes_later))]
    if lasting is not None:
        evs.append(ev.stop(at(minutes_later + lasting)))
    return evs


def test_rule6_short_seizure_hours_after_recovery_starts_new_timers():
    """RR2 rule 6 (ILAE 2015 operational definition): once recovery is logged,
    a later seizure starts new t1/t2 timers and AES phases."""
    evs = _recurrence_after_recovery(180, 2)  # a 2-min seizure 3 h later
    s = _snap(evs, at(181))
    assert s["stage"] == "seizure"  # t1 (5 min) not reached in this seizure
    assert "t2_exceeded" not in s["flags"]  # 3 h after the first onset, but 1 min into this one
    assert s["phase"] == "stabilization"  # AES 0-5 min of the new seizure
    assert s["se_clock_start"] == at(180)
    assert ("t2_exceeded", "high") not in [(a[0], a[1]) for a in s["alarms"]]
    # due: first-line treatment by t1 of the new seizure (5 min)
    due = {d[0]: d for d in s["due"]}
    assert due["first_line"][2] == at(185)
    # the record keeps both: the first cluster (onset 0, SE from 5 min; the seizure
    # stopped 3 min after lorazepam, before ESETT's 5 min) is listed
    assert s["clusters"] == [[at(0), at(0), "se", -1]]
    s = _snap(evs, at(185))
    assert s["stage"] == "seizure" and not s["seizure_active"]


def test_rule6_new_cluster_reaches_se_and_t2_on_its_own_clock():
    evs = _recurrence_after_recovery(180, None)  # the new seizure goes on
    assert _snap(evs, at(184) + 59)["stage"] == "seizure"
    s = _snap(evs, at(185))
    assert s["stage"] == "se"  # ILAE t1 5 min after the new onset
    assert s["phase"] == "initial"
    assert "t2_exceeded" not in _snap(evs, at(209) + 59)["flags"]
    assert "t2_exceeded" in _snap(evs, at(210))["flags"]  # ILAE t2 30 min after the new onset


def test_rule6_without_recovery_the_first_onset_clock_stands():
    # clinical.md 14 case 10: two seizures without recovery are one SE, clock from the first onset
    evs = [ev.onset(at(0), "convulsive"), ev.stop(at(2)), ev.recur(at(4))]
    s = _snap(evs, at(4))
    assert s["stage"] == "se" and s["se_clock_start"] == at(0) and s["clusters"] == []


def test_rule6_status_over_the_serial_link():
    from protocol_harness import Harness
    import json

    h = Harness(weight_kg=70)
    assert h.request("ONSET")[0] == "OK"
    h.emu.run_for(6 * 60_000)
    assert h.request("STOP")[0] == "OK"
    h.emu.run_for(60_000)
    assert h.request("RECOVERED")[0] == "OK"
    h.emu.run_for(3 * 3600_000)
    assert h.request("RECUR")[0] == "OK"
    h.emu.run_for(60_000)
    ok, data = h.request("STATUS")
    s = json.loads(data)
    assert s["stage"] == "seizure" and "t2_exceeded" not in s["flags"]
    assert s["phase"] == "stabilization"
    assert len(s["clusters"]) == 1 and s["clusters"][0][2] == "se"


# ---------------------------------------------------------------- rule 7

def test_rule7_phenobarbital_as_initial_therapy_answers_the_first_line_due():
    """RR2 rule 7 (AES 2016 [S]): IV phenobarbital 15 mg/kg when no
    benzodiazepine is available is initial therapy: no first-line-overdue
    alarm; the ESETT benzodiazepine gate is not met, and the unit says so."""
    # 60 kg: the 15 mg/kg load (900 mg) stays below rule 14's 1000 mg caution
    b = Bedside(60)
    b.at(4 * MIN)
    v = b.unit.give("phenobarbital", "iv", dose="%d mg" % (15 * 60), over=15 * MIN)  # label <= 60 mg/min
    assert v["logged"], v["messages"]
    assert any("ESETT benzodiazepine gate" in m and "not" in m for m in v["messages"]), v["messages"]
    b.at(5 * MIN)  # ILAE t1 / AES initial-therapy phase
    s = b.unit.status()
    assert s["stage"] == "se"
    assert "first_line_overdue" not in [a[0] for a in s["alarms"]]
    assert "first_line" not in [d[0] for d in s["due"]]
    assert "first_line_phenobarbital" in s["flags"]
    # second therapy is still due by 20 min (AES): phenobarbital here was the initial drug
    assert [d for d in s["due"] if d[0] == "second_line"][0][2] == b.t0 + 20 * MIN
    b.at(30 * MIN)
    s = b.unit.status()
    assert s["stage"] == "se"  # never established: no benzodiazepine, ESETT gate not met
    assert "second_line_overdue" in [a[0] for a in s["alarms"]]


def test_rule7_phenobarbital_after_a_benzodiazepine_is_second_line():
    b = Bedside(60)
    b.at(5 * MIN)
    b.unit.give("lorazepam", "iv", dose="4 mg")
    b.at(15 * MIN)
    v = b.unit.give("phenobarbital", "iv", dose="900 mg", over=15 * MIN)
    assert v["logged"], v["messages"]
    assert not any("ESETT benzodiazepine gate" in m for m in v["messages"] if "phenobarbital" in m)
    s = b.unit.status()
    assert "first_line_phenobarbital" not in s["flags"]
    assert "second_line" not in [d[0] for d in s["due"]]
    b.at(15 * MIN + 15 * MIN + 10 * MIN)
    assert b.stage() == "refractory"  # after the load's end + 10 min (clinical.md 14 rule 2)


def test_rule7_an_underdosed_phenobarbital_does_not_answer_the_first_line_due():
    b = Bedside(70)
    b.at(3 * MIN)
    b.unit.give("phenobarbital", "iv", dose="300 mg", over=6 * MIN)  # 4 mg/kg, not a 15 mg/kg load
    b.at(5 * MIN)
    s = b.unit.status()
    assert "first_line_overdue" in [a[0] for a in s["alarms"]]


# ---------------------------------------------------------------- rule 8

def _bolus_routes():
    from firmware.core import druglib

    lib = druglib.get()
    out = []
    for drug in lib.drug_names():
        for route in lib.route_names(drug):
            if lib.entry(drug, route).get("mode") == "bolus":
                out.append((drug, route))
    return out


def _codes(v):
    return [f.get("code") for f in v.get("findings", v.get("limits", []))]


def _repeat_codes(v):
    return set(c for c in _codes(v) if c in ("repeat_interval", "repeat_count"))


@pytest.mark.parametrize("reference", ["aes", "ncs"])
@pytest.mark.parametrize("drug,route", _bolus_routes())
def test_rule8_screen_repeat_due_and_checker_interval_never_disagree(drug, route, reference):
    """RR2 rule 8: the "repeat due" the unit shows and the dose checker's
    minimum interval come from one library value for the selected reference.
    For every bolus drug route: a repeat the checker accepts is exactly a
    repeat the due list has opened."""
    from firmware.core import dosecheck

    b = Bedside(70, config={"reference": reference})
    b.at(5 * MIN)
    probe = b.unit.check(drug, route, dose="1 mg" if route != "iv" or drug != "fosphenytoin" else "1 mg PE")
    target = probe.get("target_ug") or 1000
    v = b.unit.give(drug, route, dose=target, override="protocol")
    assert v["logged"], (v["verdict"], v["messages"])
    t_dose = b.t0 + 5 * MIN
    b.at(5 * MIN + 30)
    due = {d[0]: d for d in b.unit.status()["due"]}

    def checker_at(t):
        return _repeat_codes(dosecheck.check_dose(
            drug, route, b.unit.weight_g, dose=target, reference=reference, age_group=None,
            history=unit_doses.history(b.unit), t=t, library=b.unit.library))

    if "bzd_repeat" in due:
        frm = due["bzd_repeat"][1]
        frm = t_dose if frm < 0 else frm
        if frm > t_dose:
            assert "repeat_interval" in checker_at(frm - 1)
        assert checker_at(frm) == set()
        assert checker_at(frm + 3600) == set()
    else:
        # no repeat offered: the checker wants a reason for one, at any time
        assert checker_at(t_dose + 3600) & {"repeat_count"} or drug not in ("lorazepam", "diazepam", "midazolam"), \
            "%s %s: no repeat on screen but the checker accepts one" % (drug, route)
        if drug in ("lorazepam", "diazepam", "midazolam"):
            assert "repeat_count" in checker_at(t_dose + 3600)


@pytest.mark.parametrize("reference,minutes", [("aes", 10), ("ncs", 5)])
def test_rule8_lorazepam_repeat_on_the_home_screen(reference, minutes):
    """Lorazepam label: repeat after 10-15 min (AES reference); NCS: 5-10 min."""
    b = Bedside(70, config={"reference": reference})
    b.at(5 * MIN)
    b.unit.give("lorazepam", "iv", dose="2 mg")  # underdosed: a repeat is the next step
    b.at(6 * MIN)
    shown = b.emu.screen_text()
    assert "BZD rpt in %02d:" % (minutes - 1) in shown, shown  # mm:ss, whole on the 16 columns
    due = {d[0]: d for d in b.unit.status()["due"]}
    assert due["bzd_repeat"][1] == b.t0 + 5 * MIN + minutes * MIN


# ---------------------------------------------------------------- rule 9

# ILAE 2015 Table 1: focal with impaired consciousness t1 10 min, t2 > 60 min;
# absence t1 10-15 min (unit default 10), t2 not defined.
NONCONVULSIVE = [("focal_impaired", 10, "t2>60"), ("absence", 10, "t2 -")]


@pytest.mark.parametrize("se_type,t1_min,t2_text", NONCONVULSIVE, ids=[x[0] for x in NONCONVULSIVE])
def test_rule9_aes_phases_and_deadlines_are_for_convulsive_se_only(se_type, t1_min, t2_text):
    """RR2 rule 9 (AES 2016 scope: convulsive SE): for focal SE with impaired
    awareness and absence SE the unit shows the ILAE stage and t1/t2; t1
    raises the first-line prompt; no AES phase label, no 20/40-min alarms."""
    b = Bedside(30 if se_type == "absence" else 70, se_type=se_type)
    b.at(t1_min * MIN - 1)
    s = b.unit.status()
    assert s["stage"] == "seizure" and s["phase"] == ""
    shown = b.emu.screen_text()
    assert "AES" not in shown and "ILAE t1 %d/%s" % (t1_min, t2_text) in shown, shown
    b.at(t1_min * MIN)
    s = b.unit.status()
    assert s["stage"] == "se" and s["phase"] == ""
    assert "first_line_overdue" in [a[0] for a in s["alarms"]]  # SE declared: treat now
    assert "OVERDUE 1st line" in b.emu.screen_text()
    b.unit.give("lorazepam", "iv", dose="%d mg" % (3 if se_type == "absence" else 4))
    for minute in (20, 40, 60, 90):
        b.at(minute * MIN)
        s = b.unit.status()
        names = [a[0] for a in s["alarms"]]
        assert "second_line_overdue" not in names and "third_line_overdue" not in names, (minute, names)
        assert s["phase"] == ""
        assert "AES" not in b.emu.screen_text()
    # second therapy stays on the list, open, without an AES deadline
    assert [d[2:] for d in s["due"] if d[0] == "second_line"] == [(-1, "open")]
    b.unit.give("levetiracetam", "iv", dose="%d mg" % (60 * (30 if se_type == "absence" else 70)), over=10 * MIN)
    b.at(150 * MIN)
    names = [a[0] for a in b.unit.status()["alarms"]]
    assert "third_line_overdue" not in names, names


def test_rule9_convulsive_keeps_aes_phases_and_deadlines():
    b = Bedside(70)
    b.at(5 * MIN)
    b.unit.give("lorazepam", "iv", dose="4 mg")
    b.at(20 * MIN)
    s = b.unit.status()
    assert s["phase"] == "second" and "second_line_overdue" in [a[0] for a in s["alarms"]]
    assert "AES 2nd line" in b.emu.screen_text()


# ------------------------------------------------- buccal / intranasal first line

@pytest.mark.parametrize("route,mg", [("buccal", 7.5), ("in", 4)])
def test_rr2_rule4_full_buccal_or_intranasal_dose_reaches_established_and_refractory(route, mg):
    """RR2 rule 4: a full first-line dose by a route ESETT did not use (buccal,
    intranasal) counts as adequate for staging, "route outside ESETT".  The
    dose checker gives it bzd_permille 1000; the fold must then reach
    established SE 5 min after it (ESETT timing) and RSE 10 min after an
    adequate second-line load ends (clinical.md 14 rule 2).  20 kg child, 7 y:
    buccal 7.5 mg (BNFc 5-9 y band), intranasal 0.2 mg/kg = 4 mg."""
    from firmware.core import engine

    dose = ev.dose(at(6), "midazolam", route, int(mg * 1000), 1, 1000)
    dose.update({"kind": "bolus", "counts_toward": "benzodiazepine", "verdict": "adequate"})
    timeline = [ev.weight(at(0), 20000), ev.onset(at(0), "convulsive"), ev.validate(dose),
                (at(11) - 1, "se"), (at(11), "established"),
                ev.dose(at(15), "levetiracetam", "iv", 1200000, 2, 0, True, at(25)),  # 60 mg/kg over 10 min
                (at(35) - 1, "established"), (at(35), "refractory")]
    eng = engine.Engine()
    for item in timeline:
        if isinstance(item, dict):
            eng.append(item)
            continue
        t, stage = item
        eng.tick(t)
        s = eng.snapshot(t)
        assert s["stage"] == stage, (t - at(0), s["stage"])
        assert "bzd_underdosed" not in s["flags"]


# ---------------------------------------------------------------- rule 10

def test_rule10_anesthetic_before_second_line_is_flagged_and_srse_timed_from_it():
    """RR2 rule 10: an anesthetic infusion started before any second-line load
    is recorded and flagged "anesthetic before second-line"; SRSE is still
    timed from its start (Shorvon & Ferlisi 2011: >= 24 h), with that flag."""
    b = Bedside(70)
    b.at(5 * MIN)
    b.unit.give("lorazepam", "iv", dose="4 mg")
    b.at(30 * MIN)
    assert "anesthetic_before_second_line" not in b.unit.status()["flags"]
    v = b.unit.give("propofol", "infusion", rate="50 mcg/kg/min")
    assert v["logged"], v["messages"]
    s = b.unit.status()
    assert "anesthetic_before_second_line" in s["flags"]
    assert s["stage"] == "established"
    b.at(30 * MIN + 24 * 3600 - 1)
    assert b.stage() == "established"
    b.at(30 * MIN + 24 * 3600)
    s = b.unit.status()
    assert s["stage"] == "super_refractory"
    assert "anesthetic_before_second_line" in s["flags"]


def test_rule10_anesthetic_after_second_line_is_not_flagged():
    b = Bedside(70)
    b.at(5 * MIN)
    b.unit.give("lorazepam", "iv", dose="4 mg")
    b.at(15 * MIN)
    b.unit.give("levetiracetam", "iv", dose="4200 mg", over=10 * MIN)
    b.at(60 * MIN)
    b.unit.give("midazolam", "infusion", rate="0.2 mg/kg/h")
    assert "anesthetic_before_second_line" not in b.unit.status()["flags"]


# ---------------------------------------------------------------- rule 11

def _alarm(s, name):
    hits = [a for a in s["alarms"] if a[0] == name]
    return hits[0] if hits else None


def test_rule11_acknowledged_medium_alarm_resounds_after_15_min_while_it_persists():
    """RR2 rule 11: an acknowledged medium alarm whose condition persists
    re-sounds after 15 min (high: 10 min, unchanged)."""
    b = Bedside(70)
    b.at(5 * MIN)
    b.unit.give("lorazepam", "iv", dose="4 mg")
    b.at(21 * MIN)  # no second line by 20 min (AES): medium alarm
    a = _alarm(b.unit.status(), "second_line_overdue")
    assert a is not None and a[1] == "medium" and a[3] is True
    b.unit.ack_alarm("second_line_overdue")
    b.unit.ack_alarm("stage_escalation")  # latched, reset by the ack
    b.at(21 * MIN + 1)
    assert _alarm(b.unit.status(), "second_line_overdue")[3] is False
    assert b.emu.board.tone == "off"
    b.at(30 * MIN)  # ILAE t2 (high, latched): acknowledged, which resets it
    b.unit.ack_alarm("t2_exceeded")
    b.at(36 * MIN - 1)
    assert _alarm(b.unit.status(), "second_line_overdue")[3] is False
    b.at(36 * MIN)
    assert _alarm(b.unit.status(), "second_line_overdue")[3] is True
    assert b.emu.board.tone == "medium"


def test_rule11_high_alarm_still_resounds_after_10_min():
    b = Bedside(70)
    b.at(5 * MIN)  # no first line by t1: high alarm
    b.unit.ack_alarm("first_line_overdue")
    b.at(15 * MIN - 1)
    assert _alarm(b.unit.status(), "first_line_overdue")[3] is False
    b.at(15 * MIN)
    assert _alarm(b.unit.status(), "first_line_overdue")[3] is True


def test_rule11_medium_alarm_cannot_be_set_to_stay_silent():
    from firmware.core import rules

    with pytest.raises(ValueError, match="not one of the listed choices"):
        rules.build({"ack_reannounce_medium_s": 0})
