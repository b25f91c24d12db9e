"""clinical.md Review round 2, rules 4, 12, 13 and 14, through the checker, the
unit (the panel's and every way in's actions), the serial link, `statim dose`
and the scenario runner.  Each table names its source; expected verdicts come
from the rule's arithmetic, not from the checker's output."""
import json
import os
import subprocess
import sys

import pytest

from emulator import runner, scenario
from emulator.board import EmulatedUnit
from firmware.core import dosecheck
from protocol_harness import Harness

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTSIDE = "outside the guideline's population: neonatal dosing needs a neonatal protocol"


def cli(*args):
    out = subprocess.run([sys.executable, "-m", "host_tools.cli", "dose", "--json"] + list(args), cwd=REPO,
                         capture_output=True, text=True)
    v = json.loads(out.stdout)
    # the exit code is the verdict's (README "Exit codes")
    assert out.returncode == {"adequate": 0, "underdosed": 3, "soft": 4, "hard": 5, "error": 6}[v["verdict"]], out.stderr
    return v


def unit_at(kg, age=None):
    emu = EmulatedUnit()
    u = emu.unit
    u.onset()
    assert u.enter_weight("%s kg" % kg, age=age)["logged"]
    return emu, u


def run_scenario(name):
    res = runner.Runner(scenario.load(os.path.join(REPO, "scenarios", name))).run()
    assert res.passed, res.summary()


# ------------------------------------------------ rule 4: every benzodiazepine counts

# Buccal midazolam, AES reference: BNFc/NICE age bands 1-4 y 5 mg, 5-9 y 7.5 mg, >= 10 y and
# adults 10 mg [S]; APLS 3-11 months 2.5 mg [C] (clinical.md §3.2).  NCS: 0.5 mg/kg, max 10 mg.
BUCCAL = [
    # kg, age, reference, dose, verdict, bzd_permille
    (12, "2 y", "aes", "5 mg", "adequate", 1000),
    (16, "4 y", "aes", "5 mg", "adequate", 1000),
    (20, "5 y", "aes", "7.5 mg", "adequate", 1000),
    (25, "9 y", "aes", "7.5 mg", "adequate", 1000),
    (30, "10 y", "aes", "10 mg", "adequate", 1000),
    (25, "7 y", "aes", "5 mg", "underdosed", 666),   # 5 / 7.5
    (70, None, "aes", "10 mg", "adequate", 1000),    # adult, no age: the adult band
    (8, "6 months", "aes", "2.5 mg", "adequate", 1000),
    (4, "2 months", "aes", "1 mg", "error", 0),      # below every band
    (25, None, "aes", "7.5 mg", "error", 0),         # a child with no age: dosed by age
    (15, "3 y", "ncs", "7.5 mg", "adequate", 1000),  # 0.5 x 15
    (30, "8 y", "ncs", "10 mg", "adequate", 1000),   # 0.5 x 30 = 15, max 10
]


@pytest.mark.parametrize("kg,age,ref,dose,verdict,permille", BUCCAL)
def test_buccal_midazolam_by_the_reference_for_that_route(kg, age, ref, dose, verdict, permille):
    v = dosecheck.check_dose("midazolam", "buccal", "%d kg" % kg, dose=dose, reference=ref, age=age)
    assert v["verdict"] == verdict, v["messages"]
    assert v["bzd_permille"] == permille
    if verdict != "error":
        assert v["route_outside_esett"] is True
        assert any(m.startswith("route outside ESETT") for m in v["messages"])
        assert v["counts_as_adequate"] is (permille >= 1000)


def test_intranasal_full_dose_counts_for_staging():
    # CMH: 0.2 mg/kg, max 10 mg -> 25 kg: 5 mg
    v = dosecheck.check_dose("midazolam", "in", "25 kg", dose="5 mg")
    assert v["verdict"] == "adequate" and v["bzd_permille"] == 1000 and v["counts_as_adequate"] is True
    assert v["route_outside_esett"] is True


def test_established_se_is_reachable_after_an_intranasal_first_line():
    """§14 case 2's timeline with IN midazolam in a 25 kg child: the gate is met, so
    established SE follows 5 min after the dose (Review round 2 rule 4)."""
    emu, u = unit_at(25, "7 y")
    emu.run_until(6 * 60 * 1000)
    v = u.give("midazolam", "in", dose="5 mg")
    assert v["logged"] and v["event"]["bzd_permille"] == 1000
    emu.run_until(11 * 60 * 1000 - 1000)
    assert u.status()["stage"] == "se"
    emu.run_until(11 * 60 * 1000 + 1000)
    assert u.status()["stage"] == "established"


REVIEW_CASE = [("midazolam", "in", "5 mg"), ("midazolam", "buccal", "7.5 mg"), ("lorazepam", "iv", "2.5 mg"),
               ("lorazepam", "iv", "2.5 mg")]


def test_review_case_third_benzodiazepine_any_route_is_soft_at_the_unit():
    """The review's case: 25 kg child, IN midazolam, buccal midazolam, two lorazepam doses."""
    emu, u = unit_at(25, "7 y")
    verdicts = []
    for i, (d, r, a) in enumerate(REVIEW_CASE):
        emu.run_until((6 + 11 * i) * 60 * 1000)  # 11 min apart: no repeat-interval finding
        v = u.give(d, r, dose=a)
        verdicts.append((v["verdict"], [x["code"] for x in v["limits"]]))
        if v["verdict"] == "soft":
            assert not v["logged"]
            v = u.give(d, r, dose=a, override="physician order")
        assert v["logged"]
    assert verdicts[0] == ("adequate", [])
    assert verdicts[1] == ("adequate", [])
    assert verdicts[2] == ("soft", ["bzd_class_cumulative"])
    assert verdicts[3][0] == "soft" and "bzd_class_cumulative" in verdicts[3][1]


def test_review_case_over_the_link_and_cli():
    h = Harness()
    h.ok("ONSET")
    h.ok('WEIGHT "25 kg" age="7 y"')
    h.ok('DOSE midazolam in dose="5 mg"')
    h.ok('DOSE midazolam buccal dose="7.5 mg"')
    err = h.err('DOSE lorazepam iv dose="2.5 mg"')
    assert err.startswith("SOFT") and "any drug or route" in err
    v = cli("--weight", "25kg", "--age", "7 y", "--drug", "lorazepam", "--route", "iv", "--dose", "2.5 mg",
            "--given", "midazolam in 5 mg @-20min", "--given", "midazolam buccal 7.5 mg @-12min")
    assert v["verdict"] == "soft" and [x["code"] for x in v["limits"]] == ["bzd_class_cumulative"]


@pytest.mark.parametrize("first", [("diazepam", "rectal", "7.5 mg"), ("midazolam", "im", "5 mg"),
                                   ("midazolam", "buccal", "7.5 mg"), ("midazolam", "in", "5 mg")])
def test_every_route_counts_toward_the_class_limit(first):
    """A third benzodiazepine dose of any drug or route is soft, whatever the first two were."""
    emu, u = unit_at(25, "7 y")
    d, r, a = first
    assert u.give(d, r, dose=a, override="first")["logged"]
    emu.run_until(emu.now_ms + 11 * 60 * 1000)
    assert u.give("lorazepam", "iv", dose="2.5 mg", override="second")["logged"]
    emu.run_until(emu.now_ms + 11 * 60 * 1000)
    v = u.give("lorazepam", "iv", dose="2.5 mg")
    assert "bzd_class_cumulative" in [x["code"] for x in v["limits"]] and not v["logged"]


def test_scenario_rule_4():
    run_scenario("rr2_4_every_benzodiazepine.yaml")


# ------------------------------------------------ rule 12: units are exact tokens

UNIT_CASES = [
    # drug, route, weight, entry, verdict (lorazepam 70 kg: AES 0.1 mg/kg max 4 mg)
    ("lorazepam", "iv", "70 kg", "4 mg", "adequate"),
    ("lorazepam", "iv", "70 kg", "4000 mcg", "adequate"),
    ("lorazepam", "iv", "70 kg", "4000 ug", "adequate"),
    ("lorazepam", "iv", "70 kg", "4000 \u00b5g", "adequate"),
    ("lorazepam", "iv", "70 kg", "0.004 g", "adequate"),
    ("lorazepam", "iv", "70 kg", "4 m g", "error"),
    ("lorazepam", "iv", "70 kg", "4 Mg", "error"),
    ("lorazepam", "iv", "70 kg", "4 MG", "error"),
    ("lorazepam", "iv", "70 kg", "4 mcg", "error"),     # mcg for a mg drug: 1000 x below
    ("lorazepam", "iv", "70 kg", "40 mcg", "error"),    # exactly 100 x below: still the unit error
    ("lorazepam", "iv", "70 kg", "41 mcg", "underdosed"),  # less than 100 x below: an underdose
    ("fosphenytoin", "iv", "70 kg", "1400 mg PE", "adequate"),
    ("fosphenytoin", "iv", "70 kg", "1400 mg pe", "error"),
    ("fosphenytoin", "iv", "70 kg", "28 mL", "adequate"),  # 50 mg PE/mL (label)
    ("fosphenytoin", "iv", "70 kg", "28 ml", "error"),
    ("lorazepam", "iv", "154 lb", "4 mg", "adequate"),
    ("lorazepam", "iv", "70 KG", "4 mg", "error"),
    ("lorazepam", "iv", "154 lbs", "4 mg", "error"),
]


@pytest.mark.parametrize("drug,route,weight,entry,verdict", UNIT_CASES)
def test_units_are_exact_tokens(drug, route, weight, entry, verdict):
    v = dosecheck.check_dose(drug, route, weight, dose=entry)
    assert v["verdict"] == verdict, v["messages"]
    if entry in ("4 mcg", "40 mcg"):
        assert any("check units: mcg entered for a mg drug" in m for m in v["messages"])
        assert v["counts_as_adequate"] is False and v["bzd_permille"] == 0
    if entry in ("4 m g", "4 Mg", "4 MG"):
        assert any("not written as 'mg'" in m for m in v["messages"])


@pytest.mark.parametrize("entry,verdict", [(c[3], c[4]) for c in UNIT_CASES if c[2] == "70 kg" and c[0] == "lorazepam"])
def test_units_at_the_unit_the_link_and_the_cli(entry, verdict):
    _, u = unit_at(70)
    v = u.give("lorazepam", "iv", dose=entry)
    assert v["verdict"] == verdict and v["logged"] == (verdict in ("adequate", "underdosed"))
    h = Harness(weight_kg=70)
    h.ok("ONSET")
    if not entry.isascii():
        # the link is ASCII (docs/protocol.md): a host writes "mcg" or "ug"; the frame is refused
        replies, _ = h.exchange('t9 DOSE lorazepam iv dose="%s"' % entry)
        assert len(replies) == 1 and " ERR " in replies[0]
        assert not [e for e in h.unit.events if e["type"] == "dose"]
    elif verdict == "error":
        assert h.err('DOSE lorazepam iv dose="%s"' % entry).startswith("INVALID")
    else:
        assert json.loads(h.ok('DOSE lorazepam iv dose="%s"' % entry))["verdict"] == verdict
    assert cli("--weight", "70kg", "--drug", "lorazepam", "--route", "iv", "--dose", entry)["verdict"] == verdict


def test_weight_units_at_the_unit():
    _, u = unit_at(70)
    for bad in ("70 KG", "70 Kg", "154 lbs", "70 k g"):
        w = u.enter_weight(bad)
        assert w["verdict"] == "error" and not w["logged"]


def test_scenario_rule_12():
    run_scenario("rr2_12_unit_tokens.yaml")


# ------------------------------------------------ rule 13: below 2 years

AGES = [("18 months", True), ("23 months", True), ("1.9 y", True), ("2 y", False), ("24 months", False),
        ("7 y", False), ("10 d", True)]


@pytest.mark.parametrize("age,outside", AGES)
def test_below_two_years_every_verdict_carries_the_warning(age, outside):
    # ESETT enrolled from 2 y; AES excludes neonates (clinical.md §3, §4)
    for kw in (dict(dose="1.1 mg"), dict(dose="40 mg"), dict(dose="4 mcg")):  # adequate, hard, error
        v = dosecheck.check_dose("lorazepam", "iv", "11 kg", age=age, **kw)
        assert (OUTSIDE in v["messages"]) is outside, (age, kw, v["messages"])
        assert v["extrapolated"] is outside
    v = dosecheck.check_dose("lorazepam", "iv", "11 kg", age=age, dose="1.1 mg")
    gate = [m for m in v["messages"] if m.startswith("benzodiazepine gate met")]
    assert len(gate) == 1 and ("extrapolated" in gate[0]) is outside
    s = dosecheck.check_dose("levetiracetam", "iv", "11 kg", age=age, dose="660 mg")
    sl = [m for m in s["messages"] if m.startswith("counts as an adequate second-line load")]
    assert len(sl) == 1 and ("extrapolated" in sl[0]) is outside


def test_age_entered_with_the_weight_reaches_every_path():
    h = Harness()
    h.ok("ONSET")
    h.ok('WEIGHT "11 kg" age="18 months"')
    v = json.loads(h.ok('CHECK lorazepam iv dose="1.1 mg"'))
    assert OUTSIDE in v["messages"]
    assert h.unit.events[-1]["type"] == "weight" and h.unit.events[-1]["age_months"] == 18
    assert h.err('WEIGHT "11 kg" age="18 MONTHS"').startswith("INVALID")
    assert OUTSIDE in cli("--weight", "11kg", "--age", "18 months", "--drug", "lorazepam", "--route", "iv",
                          "--dose", "1.1 mg")["messages"]


def test_age_survives_a_reboot():
    emu, u = unit_at(11, "18 months")
    from firmware.core.unit import Unit

    again = Unit(emu.board, dict(u.config), store=u.store)
    assert again.age_months == 18
    assert OUTSIDE in again.check("lorazepam", "iv", dose="1.1 mg")["messages"]


def test_scenario_rule_13():
    run_scenario("rr2_13_under_two_years.yaml")


# ------------------------------------------------ rule 14: phenobarbital per-load caution

def _pb_expect(kg, dose_mg, ref):
    """Section 12 against the reference (AES 15, NCS 20 mg/kg), then the rule 14 caution
    above min(20 mg/kg, 1000 mg)."""
    c = (15 if ref == "aes" else 20) * kg
    r = dose_mg / c
    base = "hard" if r > 2 else "soft" if r > 1.1 else "underdosed" if r < 0.9 else "adequate"
    caution = dose_mg > min(20 * kg, 1000)
    if base == "hard":
        return base, caution
    return ("soft" if caution else base), caution


PB = [(20, 300, "aes"), (40, 600, "aes"), (70, 1050, "aes"), (100, 1500, "aes"), (100, 1000, "aes"),
      (40, 800, "ncs"), (40, 820, "ncs"), (60, 1200, "ncs"), (45, 900, "ncs"), (50, 1000, "ncs"), (51, 1020, "ncs")]


@pytest.mark.parametrize("kg,dose,ref", PB)
def test_phenobarbital_per_load_caution(kg, dose, ref):
    v = dosecheck.check_dose("phenobarbital", "iv", "%d kg" % kg, dose="%d mg" % dose, reference=ref)
    verdict, caution = _pb_expect(kg, dose, ref)
    assert v["verdict"] == verdict, v["messages"]
    assert ("load_caution" in [x["code"] for x in v["limits"]]) is caution


@pytest.mark.parametrize("kg,dose,ref", [p for p in PB if p[2] == "aes"])
def test_phenobarbital_caution_at_the_unit_and_link(kg, dose, ref):
    verdict, caution = _pb_expect(kg, dose, ref)
    _, u = unit_at(kg)
    v = u.give("phenobarbital", "iv", dose="%d mg" % dose, over="60 min")
    assert v["verdict"] == verdict and v["logged"] == (verdict in ("adequate", "underdosed"))
    h = Harness(weight_kg=kg)
    h.ok("ONSET")
    got = json.loads(h.ok('CHECK phenobarbital iv dose="%d mg" over="60 min"' % dose))
    assert got["verdict"] == verdict


def test_scenario_rule_14():
    run_scenario("rr2_14_phenobarbital_caution.yaml")


def test_an_age_banded_dose_is_reassessed_at_its_age_when_the_weight_changes():
    """Buccal midazolam 7.5 mg at 7 y (BNFc band 5-9 y) is a full dose by age; a weight
    corrected from 25 to 30 kg leaves it a full dose (the age band, not the weight, decides)."""
    emu, u = unit_at(25, "7 y")
    v = u.give("midazolam", "buccal", dose="7.5 mg")
    assert v["logged"] and v["event"]["age_months"] == 84 and u.state.bzd_permille == 1000
    assert u.enter_weight("30 kg")["logged"]
    assert u.state.bzd_permille == 1000


def test_panel_third_benzodiazepine_shows_the_soft_limit_and_asks_for_a_reason():
    emu, u = unit_at(25, "7 y")
    assert u.give("midazolam", "in", dose="5 mg")["logged"]
    emu.run_until(emu.now_ms + 11 * 60 * 1000)
    assert u.give("midazolam", "buccal", dose="7.5 mg")["logged"]
    emu.run_until(emu.now_ms + 11 * 60 * 1000)
    ui = u.ui
    ui.button("ok")  # menu
    ui.sel = [m[0] for m in ui._menu].index("Give dose")
    ui.button("ok")
    assert ui.page == "dose_drug"
    ui.dsel = [e[:2] for e in ui.entries].index(("lorazepam", "iv"))
    ui.button("ok")
    assert ui.page == "dose_amount" and ui.amount == 2500  # 0.1 mg/kg x 25 kg
    n = len(u.events)
    ui.button("ok")
    assert ui.page == "dose_verdict" and ui.verdict["verdict"] == "soft"
    assert "bzd_class_cumulative" in [x["code"] for x in ui.verdict["limits"]]
    shown = ui.render(u.now()).text()
    rows = shown.splitlines()
    assert rows[1] == "SOFT LIMIT" and rows[2] == "2.5 mg"
    assert "benzodiazepines already given" in " ".join(rows[3:7])  # the limit is read first
    assert len(u.events) == n
    ui.button("ok")
    assert ui.page == "dose_reason"
    ui.button("ok")  # no reason picked yet: nothing happens
    assert ui.page == "dose_reason" and len(u.events) == n
    ui.button("down")  # a reason
    ui.button("ok")
    assert ui.page == "dose_confirm" and len(u.events) == n
    ui.button("up")
    ui.button("ok")  # UP then OK: the override
    assert ui.page == "home" and u.events[-1]["type"] == "dose" and u.events[-1]["drug"] == "lorazepam"
    assert "bzd_class_cumulative" in u.events[-2]["text"]
