"""`statim status` names what the evidence does not cover (clinical.md Review round 2,
rule 13: ESETT enrolled patients from 2 years, AES excludes neonates) and which active
flags rest on a design choice of the unit [D] rather than a guideline."""
import json

import pytest

from firmware.core import episode
from host_tools import cli, nurse, protocol_emu


@pytest.fixture
def bed():
    name = "evidence-%d" % id(object())
    live, _ = protocol_emu.get_unit("emu://%s" % name)
    yield "emu://" + name, live
    protocol_emu.shutdown(name)


def status(port, capsys, *extra):
    rc = cli.main(["status", port] + list(extra))
    out = capsys.readouterr()
    assert rc == 0, out.err
    return out.out


@pytest.mark.parametrize("age, outside", [("10 days", True), ("18 months", True), ("23 months", True),
                                          ("24 months", False), ("7 y", False)])
def test_status_says_when_the_patient_is_outside_the_guidelines_population(bed, capsys, age, outside):
    port, live = bed
    v = live.call(lambda u: u.enter_weight("10 kg", age=age))
    assert v["logged"], v["messages"]
    live.call(lambda u: u.onset("convulsive", None))
    out = status(port, capsys)
    assert ("outside the guideline's population" in out) is outside
    js = json.loads(status(port, capsys, "--json"))
    assert any("neonatal protocol" in e for e in js["evidence"]) is outside


def test_a_design_choice_flag_is_named_as_one(bed, capsys):
    port, live = bed
    live.call(lambda u: u.enter_weight("70 kg"))
    live.call(lambda u: u.onset("convulsive", None))
    live.advance(6 * 60_000)
    live.call(lambda u: u.give("lorazepam", "iv", dose="4 mg"))
    live.advance(6 * 60_000)
    # an anesthetic before any second-line load (RR2 rule 10)
    v = live.call(lambda u: u.give("midazolam", "infusion", rate="0.2 mg/kg/h",
                                   override="second line unavailable"))
    assert v.get("logged"), v["messages"]
    out = status(port, capsys)
    line = [ln for ln in out.splitlines() if ln.startswith("note  anesthetic_before_second_line")]
    assert line and "design choice [D]" in line[0], out


def test_every_state_flag_says_what_it_rests_on():
    assert set(episode.FLAG_NAMES) <= set(nurse.FLAG_NOTES)
    for text, basis in nurse.FLAG_NOTES.values():
        assert text and ("[C]" in basis or "[S]" in basis or "[U]" in basis or "[D]" in basis)
