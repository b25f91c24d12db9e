"""Weight re-entry (clinical.md Review round 2, rule 2; ISMP Canada 2016 on the
lb/kg error): every weight entry gets a verdict, checked against the weight in
use, through every way in -- the checker, the unit, the serial link, the
panel and the scenario runner.

Cases (new weight after the previous one; expected verdict; why):
  70 kg -> "154 kg"   soft  lb figure typed as kg: 154/70 = 2.2 (ISMP Canada 2016; the review's case)
  20 kg -> "44 kg"    soft  clinical.md §13 vector 19: a 44 lb child, 44/20 = 2.2
  70 kg -> "70 lb"    soft  kg figure entered as lb: 31.75/70 = 1/2.2
  70 kg -> "90 kg"    soft  +28.6 % > 20 % (rule 2: previous value shown)
  70 kg -> "55 kg"    soft  -21.4 % > 20 %
  70 kg -> "84 kg"    adequate  +20 % exactly: not "> 20 %"
  70 kg -> "56 kg"    adequate  -20 % exactly
  70 kg -> "72 kg"    adequate  +2.9 %
  none  -> "70 kg"    adequate  first entry
  70 kg -> "0 kg", "700 kg", "70"   error (not a weight; no unit)
"""
import json

import pytest

from emulator.board import EmulatedUnit
from firmware.core import dosecheck
from protocol_harness import Harness

CASES = [
    # prev_g, entry, verdict, limit code
    (70000, "154 kg", "soft", "weight_lb_as_kg"),
    (20000, "44 kg", "soft", "weight_lb_as_kg"),
    (70000, "70 lb", "soft", "weight_kg_as_lb"),
    (70000, "90 kg", "soft", "weight_change"),
    (70000, "55 kg", "soft", "weight_change"),
    (70000, "84 kg", "adequate", None),
    (70000, "56 kg", "adequate", None),
    (70000, "72 kg", "adequate", None),
    (None, "70 kg", "adequate", None),
    (70000, "0 kg", "error", None),
    (70000, "700 kg", "error", None),
    (70000, "70", "error", None),
]


def _ratio_expected(prev_g, new_g):
    """The rule as written: new/old within 2.2 +- 5 % (or its inverse) -> lb slip; |change| > 20 % -> soft."""
    r = new_g / prev_g
    if 2.2 * 0.95 <= r <= 2.2 * 1.05 or 2.2 * 0.95 <= 1 / r <= 2.2 * 1.05:
        return "lb"
    if abs(new_g - prev_g) > 0.2 * prev_g:
        return "change"
    return None


@pytest.mark.parametrize("prev,entry,verdict,code", CASES)
def test_checker_gives_a_weight_verdict(prev, entry, verdict, code):
    v = dosecheck.check_weight(entry, prev)
    assert v["verdict"] == verdict, v["messages"]
    codes = [x["code"] for x in v["limits"]]
    if code is None:
        assert codes == []
    else:
        assert codes == [code]
        msg = " ".join(v["messages"])
        assert "%d kg" % (prev // 1000) in msg  # the previous value is shown
        if code == "weight_lb_as_kg":
            assert "was the weight entered in lb?" in msg
    if verdict == "error":
        assert v["messages"]


@pytest.mark.parametrize("prev,new", [(70000, 146000), (70000, 147000), (70000, 161700), (70000, 162000),
                                      (70000, 31800), (70000, 33300), (50000, 60000), (50000, 60100)])
def test_edges_follow_the_rule_as_written(prev, new):
    v = dosecheck.check_weight(new, prev)
    want = _ratio_expected(prev, new)
    codes = [x["code"] for x in v["limits"]]
    if want == "lb":
        assert codes and codes[0] in ("weight_lb_as_kg", "weight_kg_as_lb")
    elif want == "change":
        assert codes == ["weight_change"]
    else:
        assert codes == [] and v["verdict"] == "adequate"


def _unit(kg=70):
    emu = EmulatedUnit(weight_kg=kg)
    emu.unit.onset()
    return emu.unit


@pytest.mark.parametrize("prev,entry,verdict,code", [c for c in CASES if c[0] is not None])
def test_unit_applies_a_soft_weight_only_with_a_reason(prev, entry, verdict, code):
    u = _unit(prev // 1000)
    n = len(u.events)
    v = u.enter_weight(entry)
    assert v["verdict"] == verdict
    if verdict == "adequate":
        assert v["logged"] and u.events[-1]["type"] == "weight" and u.weight_g == v["weight_g"]
        return
    assert not v["logged"] and len(u.events) == n and u.weight_g == prev
    with pytest.raises(ValueError, match=verdict):
        u.set_weight(entry)
    assert len(u.events) == n
    if verdict == "soft":
        v = u.enter_weight(entry, override="re-weighed")
        assert v["logged"] and u.weight_g == v["weight_g"] != prev
        assert u.events[-1] == v["event"] and u.events[-1]["grams"] == v["weight_g"]
        note = u.events[-2]
        assert note["type"] == "note" and "re-weighed" in note["text"] and code in note["text"]
        assert ("%d kg ->" % (prev // 1000)) in note["text"]  # the change is visible in the log
    else:
        assert not u.enter_weight(entry, override="re-weighed")["logged"]


def test_review_case_lb_as_kg_does_not_pass_phenobarbital_or_phenytoin():
    """The review's case: 154 'kg' after 70 kg passed phenobarbital 2310 mg and phenytoin 3080 mg."""
    u = _unit(70)
    assert u.enter_weight("154 kg")["verdict"] == "soft"
    assert u.weight_g == 70000
    pb = u.give("phenobarbital", "iv", dose="2310 mg", over="40 min")
    pht = u.give("phenytoin", "iv", dose="3080 mg", over="62 min")
    # 15 mg/kg x 70 kg = 1050 mg (AES): 2310 / 1050 = 2.2 > 2 -> refused
    assert pb["verdict"] == "hard" and not pb["logged"]
    # 20 mg/kg x 70 kg = 1400 mg: 3080 / 1400 = 2.2 > 2 -> refused
    assert pht["verdict"] == "hard" and not pht["logged"]


def test_doses_given_stay_and_are_reassessed_at_the_new_weight():
    """20 kg child, lorazepam 2 mg (ESETT < 32 kg: 0.1 mg/kg = 2 mg: adequate, 1000 per mille);
    the weight is corrected to 44 kg: the dose stays in the log, and at >= 32 kg the ESETT
    threshold is 4 mg, so the same 2 mg is now half an adequate dose."""
    u = _unit(20)
    v = u.give("lorazepam", "iv", dose="2 mg")
    assert v["logged"] and v["event"]["bzd_permille"] == 1000
    assert u.state.bzd_permille == 1000
    w = u.enter_weight("44 kg", override="re-weighed")
    assert w["verdict"] == "soft" and w["logged"]
    assert u.state.bzd_permille == 500
    doses = [e for e in u.events if e["type"] == "dose"]
    assert len(doses) == 1 and doses[0]["amount_ug"] == 2000 and doses[0]["bzd_permille"] == 1000


def test_serial_link_weight_verdicts():
    h = Harness(weight_kg=70)
    h.ok("ONSET")
    n = len(h.unit.events)
    err = h.err('WEIGHT "154 kg"')
    assert err.startswith("SOFT") and "was the weight entered in lb?" in err and "70 kg" in err
    assert len(h.unit.events) == n and h.unit.weight_g == 70000
    assert h.err('WEIGHT "70"').startswith("INVALID")
    assert h.err('WEIGHT "0 kg"').startswith("INVALID")
    assert len(h.unit.events) == n
    ok = h.ok('WEIGHT "154 kg" override="re-weighed on the ward scale"')
    assert "grams=154000" in ok and "verdict=soft" in ok
    assert h.unit.weight_g == 154000
    assert "verdict=adequate" in h.ok('WEIGHT "150 kg"')
    v = json.loads(h.ok('LOG from=%d' % n))
    kinds = [e["type"] for e in v["events"]]
    assert kinds == ["note", "weight", "note", "weight"]
    assert "70 kg -> 154 kg" in v["events"][0]["text"]


def test_panel_weight_entry_shows_the_verdict_and_asks():
    emu = EmulatedUnit(weight_kg=70)
    u = emu.unit
    u.onset()
    ui = u.ui

    def press(*names):
        for b in names:
            ui.button(b)

    # menu -> Weight
    press("ok")
    items = [m[0] for m in ui._menu]
    ui.sel = items.index("Weight")
    press("ok")
    assert ui.page == "weight" and ui.weight_kg == 70
    press("ok", "up", "up", "ok")  # digit by digit: hundreds 0, tens 7 -> 9, units 0: 90 kg (+28.6 %)
    n = len(u.events)
    press("ok")
    assert ui.page == "weight_verdict" and ui.verdict["verdict"] == "soft"
    text = ui.render(u.now()).text()
    assert "CONFIRM 90 kg" in text and "previous 70 kg" in text
    assert len(u.events) == n and u.weight_g == 70000
    press("back")
    assert ui.page == "weight"
    press("ok", "ok")  # verdict page, then the reason list
    assert ui.page == "weight_reason"
    press("ok")
    assert ui.page == "home" and u.weight_g == 90000
    assert u.events[-1]["type"] == "weight" and u.events[-2]["type"] == "note"
    assert "re-weighed" in u.events[-2]["text"]
    # a small change applies at once
    press("ok")
    ui.sel = [m[0] for m in ui._menu].index("Weight")
    press("ok", "ok", "down", "ok", "down", "down", "ok")  # Weight; 090 -> 088: tens 9 -> 8, units 0 -> 9 -> 8
    assert ui.page == "home" and u.weight_g == 88000


@pytest.mark.parametrize("prev,entry,verdict,code", [c for c in CASES if c[0] is not None and c[3] is not None])
def test_statim_dose_prev_weight(prev, entry, verdict, code):
    import os
    import subprocess
    import sys

    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-m", "host_tools.cli", "dose", "--weight", entry, "--prev-weight",
                          "%d kg" % (prev // 1000), "--drug", "lorazepam", "--route", "iv", "--dose", "4 mg", "--json"],
                         cwd=repo, capture_output=True, text=True)
    v = json.loads(out.stdout)
    # the exit code is the dose verdict's (README "Exit codes"): never 0 at an unconfirmed weight
    assert out.returncode == {"underdosed": 3, "soft": 4, "hard": 5, "error": 6}[v["verdict"]], out.stderr
    assert v["weight_check"]["verdict"] == verdict
    assert [x["code"] for x in v["weight_check"]["limits"]] == [code]
    assert v["verdict"] != "adequate"  # the dose at an unconfirmed weight needs confirmation too


def test_weight_is_still_checked_when_the_library_cannot_be_verified():
    """Doses are refused on an unverified library; a weight still goes on the record with the
    same re-entry rule (built-in limits) and is never applied unchecked."""
    from firmware.core import druglib

    bad = druglib.loads(b"not a library")
    assert not bad.verified
    assert dosecheck.check_weight("154 kg", 70000, library=bad)["verdict"] == "soft"
    assert dosecheck.check_weight("72 kg", 70000, library=bad)["verdict"] == "adequate"
    assert dosecheck.check_weight("0 kg", 70000, library=bad)["verdict"] == "error"
    assert dosecheck.check_weight("700 kg", None, library=bad)["verdict"] == "error"
