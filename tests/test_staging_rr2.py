"""clinical.md "Review round 2" staging and alarm rules (5-11), through the
ways in the nurse and the host use: the unit's actions (panel and serial link
call the same methods), its STATUS snapshot, and the pure fold.

Expected times are computed here from the guideline and label numbers that
clinical.md cites, never read from the firmware."""
import math

import pytest

from emulator.board import EmulatedUnit
from firmware.core import episode, events as ev
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
