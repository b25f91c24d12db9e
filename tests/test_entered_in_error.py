"""Corrections without deletion (clinical.md, Review round 2, rule 15).

A dose or event entered in error is marked "entered in error" with a reason:
a new `void` event naming the earlier entry by its seq (its index in the log).
The original stays in the log and the exports; the fold leaves it out of the
clinical state (stage, ESETT gate, due actions) and the dose checker's totals.
"""
import csv
import json
import io

import pytest

from emulator.board import EmulatedUnit
from emulator.powercut import reboot
from firmware.core import episode, unit_doses

MIN = 60_000


def _emu(path=None):
    return EmulatedUnit(weight_kg=70, se_type="convulsive", flash_dir=None if path is None else str(path))


def _seq(unit, ev):
    return [i for i, e in enumerate(unit.events) if e is ev][0]


def _lorazepam_then_void(emu):
    # ESETT: lorazepam 4 mg is the adequate benzodiazepine dose at >= 32 kg (clinical.md 0).
    u = emu.unit
    u.onset()
    emu.run_for(6 * MIN)
    v = u.give("lorazepam", "iv", dose="4 mg")
    assert v["logged"] and v["counts_as_adequate"]
    seq = _seq(u, v["event"])
    emu.run_for(MIN)
    assert u.state.bzd_permille >= 1000  # gate met
    assert "first_line" not in [d[0] for d in u.status()["due"]]
    mark = u.void(seq, "wrong patient")
    return seq, mark


def test_voiding_a_lorazepam_dose_reverts_the_gate():
    emu = _emu()
    u = emu.unit
    seq, mark = _lorazepam_then_void(emu)
    assert mark == {"type": "void", "t": mark["t"], "ref": seq, "ref_type": "dose", "ref_t": u.events[seq]["t"],
                    "reason": "wrong patient"}
    assert u.events[seq]["drug"] == "lorazepam"  # the original stays in the log
    st = u.status()
    assert u.state.bzd_permille == 0 and u.state.bzd_n == 0  # the ESETT gate is not met
    assert st["entered_in_error"] == [seq]
    # first line is due again (overdue: ILAE t1 5 min has passed)
    assert ("first_line", -1, 5 * 60 + u.state.t0, "overdue") in [tuple(d) for d in st["due"]]
    # 5 min after the voided dose: no established SE (no adequate benzodiazepine was given)
    emu.run_for(10 * MIN)
    assert u.status()["stage"] == "se"
    # the checker's totals leave it out: the next lorazepam is a first dose, not a repeat
    v = u.check("lorazepam", "iv", dose="4 mg")
    assert v["verdict"] == "adequate"
    assert v.get("bzd_cumulative_permille", 1000) == 1000
    assert unit_doses.history(u) == []


def test_voiding_an_adequate_dose_after_established_se_takes_the_stage_back():
    emu = _emu()
    u = emu.unit
    u.onset()
    emu.run_for(6 * MIN)
    v = u.give("lorazepam", "iv", dose="4 mg")
    emu.run_for(6 * MIN)
    assert u.status()["stage"] == "established"
    u.void(_seq(u, v["event"]), "not given")
    emu.run_for(1000)
    st = u.status()
    assert st["stage"] == "se"
    # the alarm record follows: stage_escalation to established is gone from the state,
    # the raise written at the time stays in the log
    assert any(e["type"] == "alarm" and e.get("cond") == "first_line_overdue" and e["action"] == "raise"
               for e in u.events[_seq(u, v["event"]):])
    assert "first_line_overdue" in [a[0] for a in st["alarms"]]


def test_voiding_an_onset_entered_by_mistake():
    emu = _emu()
    u = emu.unit
    emu.press("ok")  # one press on the idle screen starts the timer
    assert u.state.started
    seq = [i for i, e in enumerate(u.events) if e["type"] == "onset"][0]
    emu.run_for(7 * MIN)  # SE declared, alarms raised
    assert u.status()["stage"] == "se" and u.status()["alarms"]
    u.void(seq, "entered by mistake")
    emu.run_for(1000)
    st = u.status()
    assert st["stage"] == "idle" and not u.state.started
    assert st["alarms"] == [] and st["due"] == []
    assert "READY" in emu.screen_text()
    assert [e for e in u.events if e["type"] == "onset"]  # still in the log
    # the real seizure can be started now
    u.onset()
    emu.run_for(5 * MIN)
    assert u.status()["stage"] == "se"


@pytest.mark.parametrize("case", ["void of a void", "unknown seq", "no reason", "twice", "alarm record",
                                  "a later entry depends on it", "wrong target"])
def test_bad_marks_are_refused_with_a_clear_error(case):
    emu = _emu()
    u = emu.unit
    seq, mark = _lorazepam_then_void(emu)
    n = len(u.events)
    if case == "void of a void":
        with pytest.raises(ValueError, match="itself an entered-in-error mark"):
            u.void(_seq(u, mark), "duplicate")
    elif case == "unknown seq":
        with pytest.raises(ValueError, match="no log entry with seq 999"):
            u.void(999, "duplicate")
    elif case == "no reason":
        with pytest.raises(ValueError, match="give a reason"):
            u.void(1, "  ")
    elif case == "twice":
        with pytest.raises(ValueError, match="already marked entered in error"):
            u.void(seq, "duplicate")
    elif case == "alarm record":
        al = [i for i, e in enumerate(u.events) if e["type"] == "alarm"][0]
        with pytest.raises(ValueError, match="only entries staff made"):
            u.void(al, "duplicate")
    elif case == "a later entry depends on it":
        stop = _seq(u, u.seizure_stop())
        n = len(u.events)
        onset = [i for i, e in enumerate(u.events) if e["type"] == "onset"][0]
        with pytest.raises(ValueError, match="the stop at seq %d depends on it" % stop):
            u.void(onset, "wrong patient")
    elif case == "wrong target":
        from firmware.core import events

        with pytest.raises(ValueError, match="not the onset"):
            u.engine.append(events.void(u.now(), 1, "onset", 0, "duplicate"))
    assert len(u.events) == n  # nothing logged
    assert u.state.voided == [seq]


def test_marks_survive_a_reboot(tmp_path):
    emu = _emu(tmp_path)
    seq, mark = _lorazepam_then_void(emu)
    emu.run_for(3 * MIN)
    before = emu.unit
    unit = reboot(emu, "power_on", off_ms=1000)
    assert unit.events[: len(before.events)] == before.events
    assert unit.state.voided == [seq] and unit.state.bzd_permille == 0
    assert unit_doses.history(unit) == []
    assert unit.status()["stage"] == "se"
    st = episode.fold(unit.events)
    episode.advance(st, unit.state.t)
    assert st.voided == [seq] and st.stage == unit.state.stage and st.bzd_permille == 0


def test_exports_keep_and_mark_the_entry():
    from host_tools import export

    emu = _emu()
    u = emu.unit
    seq, mark = _lorazepam_then_void(emu)
    rows = list(enumerate(u.events))
    table = {int(r["seq"]): r for r in csv.DictReader(io.StringIO(export.to_csv(rows)))}
    assert table[seq]["drug"] == "lorazepam" and table[seq]["entered_in_error"] == "1"
    assert table[_seq(u, mark)]["entered_in_error"] == "0" and json.loads(table[_seq(u, mark)]["detail"])["ref"] == seq
    assert all(r["entered_in_error"] == "0" for s, r in table.items() if s != seq)
    fhir = export.to_fhir(rows, {"unit": "U1"}, now="2026-01-01T00:00:00Z")
    by_seq = {int(e["resource"]["identifier"][0]["value"]): e["resource"] for e in fhir["entry"]}
    dose = by_seq[seq]
    assert dose["resourceType"] == "MedicationAdministration" and dose["status"] == "entered-in-error"
    assert any("wrong patient" in n["text"] for n in dose["note"])
    assert by_seq[_seq(u, mark)]["status"] == "final"
    assert all(r["status"] != "entered-in-error" for s, r in by_seq.items() if s != seq)
    assert by_seq[_seq(u, mark)]["focus"] == [{"reference": "urn:uuid:" + dose["id"]}]
    fr = pytest.importorskip("fhir.resources.R4B.bundle")
    from fhir.resources.R4B.medicationadministration import MedicationAdministration
    from fhir.resources.R4B.observation import Observation

    fr.Bundle.model_validate(fhir)
    MedicationAdministration.model_validate(dose)
    Observation.model_validate(by_seq[_seq(u, mark)])
    js = {d["seq"]: d for d in __import__("json").loads(export.to_json(rows))["events"]}
    assert js[seq]["entered_in_error"] is True and js[seq]["drug"] == "lorazepam"


def test_void_over_the_serial_link_and_the_cli(capsys):
    from host_tools import cli, link, protocol_emu

    try:
        with link.open_link("emu://rr2-void?weight=70") as c:
            onset = int(link.parse_kv(c.request("ONSET"))["seq"])
            dose = c.dose("lorazepam", "iv", dose="4 mg")["seq"]
            note = int(link.parse_kv(c.request("NOTE", text="wrong bed"))["seq"])
            # errors are clear, and change nothing
            for kw, code, words in (({"reason": "x"}, "ARGS", "seq is required"),
                                    ({"seq": str(dose)}, "ARGS", "reason is required"),
                                    ({"seq": "999", "reason": "duplicate"}, "REFUSED", "no log entry with seq 999")):
                with pytest.raises(link.RemoteError) as e:
                    c.request("VOID", **kw)
                assert e.value.code == code and words in str(e.value)
            reply = link.parse_kv(c.void(dose, "wrong dose"))
            mark = int(reply["seq"])
            assert c.status()["entered_in_error"] == [dose]
            with pytest.raises(link.RemoteError) as e:
                c.void(mark, "duplicate")
            assert e.value.code == "REFUSED" and "itself an entered-in-error mark" in str(e.value)
            rows = c.log()
            assert rows[dose][1]["drug"] == "lorazepam"
            assert {k: v for k, v in rows[mark][1].items() if k != "req"} == {"type": "void", "t": rows[mark][1]["t"], "ref": dose, "ref_type": "dose",
                                     "ref_t": rows[dose][1]["t"], "reason": "wrong dose"}
        assert cli.main(["log", "void", "emu://rr2-void", str(note), "wrong patient"]) == 0
        assert "entry %d marked entered in error" % note in capsys.readouterr().out
        # the dose logged after the onset is marked already, so the onset can be marked too
        assert cli.main(["log", "void", "emu://rr2-void", str(onset), "wrong patient"]) == 0
        assert cli.main(["log", "void", "emu://rr2-void", str(onset), "wrong patient"]) == 1
        assert "already marked entered in error" in capsys.readouterr().err
        with link.open_link("emu://rr2-void") as c:
            st = c.status()
            assert st["entered_in_error"] == [dose, note, onset] and st["stage"] == "idle"
    finally:
        protocol_emu.shutdown("rr2-void")


def _rows(emu):
    """The 8 rows of the panel as text (the terminal rendering has a frame and a selection mark)."""
    return [ln[2:-2].rstrip() for ln in emu.screen_text().splitlines()[1:-1]]


def _up_to(emu, word):
    """UP (older entries) until the selected entry (rows 2 on) mentions word."""
    for _ in range(40):
        rows = _rows(emu)
        if word in rows[2] or word in rows[3]:
            return
        emu.press("up")
    raise AssertionError("no %r in the log: %s" % (word, _rows(emu)))


def test_front_panel_marks_a_log_entry_with_a_reason_from_a_fixed_list():
    from firmware.core import ui_log

    emu = _emu()
    u = emu.unit
    u.onset()
    emu.run_for(6 * MIN)
    seq = _seq(u, u.give("lorazepam", "iv", dose="4 mg")["event"])
    emu.run_for(MIN)
    emu.press("up")  # home -> event log, newest entry selected
    _up_to(emu, "lorazepam")  # older entries
    text = emu.screen_text()
    assert "show all" in text and "lorazepam" in _rows(emu)[2]  # row 2: the selected entry
    assert "OK=in error" in text
    emu.press("ok")
    text = emu.screen_text()
    assert "#%d IN ERROR" % seq in text and "wrong patient" in text
    for _ in range(ui_log.VOID_REASONS.index("not given")):
        emu.press("down")
    emu.press("ok")
    mark = u.events[-1] if u.events[-1]["type"] == "void" else [e for e in u.events if e["type"] == "void"][0]
    assert mark["ref"] == seq and mark["reason"] == "not given" and mark["ref_type"] == "dose"
    assert u.state.voided == [seq] and u.state.bzd_permille == 0
    assert "#%d in error" % seq in emu.screen_text()
    # the log still lists the dose, marked X; a unit record cannot be marked
    emu.press("up")
    _up_to(emu, " lorazepam")
    assert _rows(emu)[2] == "+06:00 X", _rows(emu)  # the entry, marked X, its words on the next rows
    assert _rows(emu)[3].strip() == "lorazepam 4 mg"
    emu.press("ok")
    assert "already in error" in emu.screen_text()
    emu.press("down")
    _up_to(emu, "alarm")
    emu.press("ok")
    assert "unit record" in _rows(emu)[7]
    assert len([e for e in u.events if e["type"] == "void"]) == 1
