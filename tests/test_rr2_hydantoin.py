"""Phenytoin and fosphenytoin (clinical.md Review round 2 rule 3).

1 mg phenytoin sodium = 1 mg PE (fosphenytoin label [C]), so the phenytoin load
carries the AES/ESETT fosphenytoin cap of 1500 mg PE [C]; AES names no phenytoin
maximum, so applying the cap is the rule's design [D].  The two are one drug for
the repeat and cumulative rules: a load of one after the other is a repeat (soft).

Cases (weight, dose; expected; arithmetic from the rule, section 12 thresholds):
  70 kg  phenytoin 1400 mg   adequate  C = min(20 x 70, 1500) = 1400
  100 kg phenytoin 1500 mg   adequate  C = min(2000, 1500) = 1500 (the cap, not 2000: not underdosed)
  100 kg phenytoin 2000 mg   soft      2000 / 1500 = 1.33 (as fosphenytoin, §13 vector 11)
  250 kg phenytoin 5000 mg   hard      5000 / 1500 = 3.3 > 2 (the review's case)
  250 kg fosphenytoin 5000 mg PE  hard  the same for the prodrug
  70 kg  fosphenytoin 1400 mg PE, then phenytoin 1400 mg     soft repeat (HARM 4)
  70 kg  phenytoin 1400 mg, then fosphenytoin 1400 mg PE     soft repeat
"""
import json
import os
import subprocess
import sys

import pytest

from emulator.board import EmulatedUnit
from emulator import runner, scenario
from firmware.core import dosecheck
from protocol_harness import Harness

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _cap_expect(weight_kg, dose_mg):
    c = min(20 * weight_kg, 1500)
    r = dose_mg / c
    return "hard" if r > 2 else "soft" if r > 1.1 else "underdosed" if r < 0.9 else "adequate"


SINGLE = [(70, "phenytoin", "1400 mg"), (100, "phenytoin", "1500 mg"), (100, "phenytoin", "2000 mg"),
          (250, "phenytoin", "5000 mg"), (250, "fosphenytoin", "5000 mg PE"), (120, "phenytoin", "1650 mg")]


@pytest.mark.parametrize("kg,drug,dose", SINGLE)
def test_phenytoin_carries_the_fosphenytoin_cap(kg, drug, dose):
    v = dosecheck.check_dose(drug, "iv", "%d kg" % kg, dose=dose)
    assert v["verdict"] == _cap_expect(kg, int(dose.split()[0])), v["messages"]
    assert v["maximum_ug"] == 1500000
    assert v["target_ug"] == min(20 * kg, 1500) * 1000


@pytest.mark.parametrize("kg,drug,dose", SINGLE)
def test_same_through_the_unit_and_the_link(kg, drug, dose):
    u = EmulatedUnit(weight_kg=kg).unit
    u.onset()
    want = _cap_expect(kg, int(dose.split()[0]))
    v = u.give(drug, "iv", dose=dose, over="60 min")
    assert v["verdict"] == want
    assert v["logged"] == (want in ("adequate", "underdosed"))
    h = Harness(weight_kg=kg)
    h.ok("ONSET")
    got = json.loads(h.ok('CHECK %s iv dose="%s" over="60 min"' % (drug, dose)))
    assert got["verdict"] == want


def test_250kg_phenytoin_5000mg_from_the_cli():
    out = subprocess.run([sys.executable, "-m", "host_tools.cli", "dose", "--weight", "250kg", "--drug", "phenytoin",
                          "--route", "iv", "--dose", "5000 mg", "--json"], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 5, out.stderr  # hard (README "Exit codes")
    assert json.loads(out.stdout)["verdict"] == "hard"


PAIRS = [("fosphenytoin", "1400 mg PE", "phenytoin", "1400 mg"),
         ("phenytoin", "1400 mg", "fosphenytoin", "1400 mg PE")]


@pytest.mark.parametrize("d1,a1,d2,a2", PAIRS)
def test_one_after_the_other_is_a_repeat_at_the_unit(d1, a1, d2, a2):
    u = EmulatedUnit(weight_kg=70).unit
    u.onset()
    assert u.give(d1, "iv", dose=a1, over="30 min")["logged"]
    v = u.give(d2, "iv", dose=a2, over="30 min")
    assert v["verdict"] == "soft" and not v["logged"]
    codes = [x["code"] for x in v["limits"]]
    assert codes == ["repeat_count"]
    assert "fosphenytoin and phenytoin count as one drug" in " ".join(v["messages"])
    assert u.give(d2, "iv", dose=a2, over="30 min", override="physician order")["logged"]


@pytest.mark.parametrize("d1,a1,d2,a2", PAIRS)
def test_one_after_the_other_is_a_repeat_over_the_link_and_cli(d1, a1, d2, a2):
    h = Harness(weight_kg=70)
    h.ok("ONSET")
    h.ok('DOSE %s iv dose="%s" over="30 min"' % (d1, a1))
    err = h.err('DOSE %s iv dose="%s" over="30 min"' % (d2, a2))
    assert err.startswith("SOFT") and "count as one drug" in err
    out = subprocess.run([sys.executable, "-m", "host_tools.cli", "dose", "--weight", "70kg", "--drug", d2,
                          "--route", "iv", "--dose", a2, "--over", "30min", "--given", "%s iv %s @-40min" % (d1, a1),
                          "--json"], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 4, out.stderr  # soft (README "Exit codes")
    v = json.loads(out.stdout)
    assert v["verdict"] == "soft" and [x["code"] for x in v["limits"]] == ["repeat_count"]


def test_other_second_line_drugs_are_not_grouped():
    u = EmulatedUnit(weight_kg=70).unit
    u.onset()
    assert u.give("fosphenytoin", "iv", dose="1400 mg PE", over="30 min")["logged"]
    v = u.give("levetiracetam", "iv", dose="4200 mg", over="15 min")
    assert "repeat_count" not in [x["code"] for x in v["limits"]]


def test_scenario_rule_3():
    r = runner.Runner(scenario.load(os.path.join(REPO, "scenarios", "rr2_3_phenytoin_fosphenytoin.yaml")))
    res = r.run()
    assert res.passed, res.summary()
