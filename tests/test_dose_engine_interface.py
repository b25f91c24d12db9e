"""The dose checker's interface with the episode engine: dose-event fields
from a verdict, and assess() re-checking an event after a weight change."""
from firmware.core import dosecheck, druglib


def ev(drug, route, weight, dose, **kw):
    return dosecheck.dose_event_fields(dosecheck.check_dose(drug, route, weight, dose=dose, **kw))


def test_event_fields_from_a_verdict():
    e = ev("lorazepam", "iv", "70 kg", "4 mg")
    assert e["drug"] == "lorazepam" and e["route"] == "iv" and e["amount_ug"] == 4000
    assert e["line"] == 1 and e["bzd_permille"] == 1000 and e["second_line_adequate"] is False
    assert e["kind"] == "bolus" and e["reference"] == "aes" and e["verdict"] == "adequate"
    assert e["age_group"] is None  # inferred from the weight, so re-inferred later
    f = ev("fosphenytoin", "iv", "70 kg", "1400 mg PE")
    assert f["line"] == 2 and f["bzd_permille"] == 0 and f["second_line_adequate"] is True


def test_error_verdict_event_counts_nothing():
    e = dosecheck.dose_event_fields(dosecheck.check_dose("lorazepam", "iv", "70 kg", dose="4"))
    assert e["bzd_permille"] == 0 and e["second_line_adequate"] is False


def test_infusion_event():
    e = dosecheck.dose_event_fields(dosecheck.check_dose("midazolam", "infusion", "70 kg", rate="0.2 mg/kg/h"))
    assert e["kind"] == "infusion" and e["line"] == 3 and e["amount_ug"] is None
    assert e["rate_ng_per_kg_h"] == [200000 * 3600 // 3600 * 3600, 3600]
    assert dosecheck.assess(e, 70000) == (0, False)


def test_assess_after_weight_change_benzodiazepine():
    # lorazepam 2 mg at an estimated 20 kg: adequate (0.1 mg/kg); weighed at 32 kg: flat 4 mg needed
    e = ev("lorazepam", "iv", "20 kg", "2 mg")
    assert e["bzd_permille"] == 1000
    assert dosecheck.assess(e, 32000) == (500, False)
    assert dosecheck.assess(e, 25000) == (800, False)  # 2 / (0.1 x 25)


def test_assess_after_weight_change_second_line():
    e = ev("levetiracetam", "iv", "60 kg", "3600 mg")
    assert dosecheck.assess(e, 60000) == (0, True)
    assert dosecheck.assess(e, 70000) == (0, False)  # 3600 < 0.9 x 4200
    n = ev("levetiracetam", "iv", "70 kg", "1000 mg", reference="ncs")
    assert dosecheck.assess(n, 80000) == (0, True)  # NCS flat 1000-3000 mg


def test_assess_never_counts_what_it_cannot_check():
    assert dosecheck.assess({"drug": "lorazepam", "route": "iv", "amount_ug": 4000}, 0) == (0, False)
    assert dosecheck.assess({"drug": "nope", "route": "iv", "amount_ug": 4000}, 70000) == (0, False)
    assert dosecheck.assess(None, 70000) == (0, False)
    assert dosecheck.assess({"drug": "lorazepam", "route": "iv", "amount_ug": "4 mg"}, 70000) == (0, False)
    bad = druglib.loads("{}")
    assert dosecheck.assess({"drug": "lorazepam", "route": "iv", "amount_ug": 4000}, 70000, library=bad) == (0, False)


def test_engine_shaped_event_is_accepted():
    # the engine's own event dict (brief example) works as input to assess
    e = {"type": "dose", "t": 360, "drug": "lorazepam", "route": "iv", "amount_ug": 4000, "line": 1,
         "bzd_permille": 1000, "second_line_adequate": False}
    assert dosecheck.assess(e, 70000) == (1000, False)


def test_history_gate_with_engine_events():
    hist = [{"type": "dose", "t": 360, "drug": "lorazepam", "route": "iv", "amount_ug": 2000, "bzd_permille": 500},
            {"type": "weight", "t": 400, "weight_g": 70000}]
    v = dosecheck.check_dose("midazolam", "im", "70 kg", dose="5 mg", history=hist, t=900)
    assert v["bzd_cumulative_permille"] == 1000 and v["counts_as_adequate"] is True
