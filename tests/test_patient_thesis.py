"""The seed's thesis at model level (issue 9): closed-loop scenarios on the patient simulator.

Doses are the clinical ones (clinical.md section 0/5/6): lorazepam 0.1 mg/kg IV,
levetiracetam 60 mg/kg, ketamine 1.5 mg/kg then 2.5 mg/kg/h (Hofler 2016 median
maximum 2.55 mg/kg/h), propofol 2 mg/kg then 150 mcg/kg/min (NCS 30-200).
"""
import pytest

from emulator.patient import Patient, bsr

MIN = 60.0
H = 3600.0
FS = 128.0  # EEG checks below do not need 256 Hz


def refractory_patient(**kw):
    """Onset at 0; lorazepam late (40 min) and levetiracetam (50 min) both fail."""
    pt = Patient(seed=11, fs=FS, **kw)
    pt.onset(0.0)
    pt.give("lorazepam", 0.1, t_s=40 * MIN)
    pt.give("levetiracetam", 60, t_s=50 * MIN)
    return pt


def test_untreated_se_persists():
    pt = Patient(seed=1, fs=FS)
    pt.onset(0.0)
    for t in (5 * MIN, 30 * MIN, 2 * H, 6 * H):
        pt.fast_forward(t)
        assert pt.state["seizing"], t
    assert pt.state["n_seizures"] == 1


def test_chloride_loading_moves_e_gaba_above_threshold():
    pt = Patient(seed=1, fs=FS)
    pt.onset(0.0)
    before = pt.state
    pt.fast_forward(5 * MIN)
    early = pt.state
    pt.fast_forward(40 * MIN)
    late = pt.state
    # healthy: [Cl]i 5 mM gives E_GABA -73 mV (clinical.md section 10)
    pt0 = Patient(seed=1, fs=FS)
    pt0.fast_forward(2.0)
    assert pt0.state["e_gaba"] == pytest.approx(-73.06, abs=0.05)
    assert before["cl_in"] == 5.0
    assert early["e_gaba"] < -60.0 and early["gaba_receptor_fraction"] > 0.85
    threshold = -52.0  # v_threshold_mV
    assert late["e_gaba"] > threshold, late["e_gaba"]
    assert late["cl_in"] > 15.0
    assert late["gaba_receptor_fraction"] < 0.55  # internalised
    assert late["nmda_receptor_fraction"] > 1.3 and late["mg_unblock"] > early["mg_unblock"]


def test_early_lorazepam_stops_the_seizure():
    pt = Patient(seed=2, fs=FS)
    pt.onset(0.0)
    pt.give("lorazepam", 0.1, t_s=5 * MIN)
    pt.advance(4 * MIN)
    assert pt.state["seizing"]
    pt.advance(15 * MIN)
    st = pt.state
    assert not st["seizing"]
    assert st["seizure_total_s"] < 10 * MIN  # stopped within 5 min of the dose
    pt.fast_forward(24 * H)  # and it stays stopped as lorazepam wears off
    assert not pt.state["seizing"] and pt.state["n_seizures"] == 1


def test_same_dose_at_40_min_fails():
    pt = Patient(seed=2, fs=FS)
    pt.onset(0.0)
    pt.give("lorazepam", 0.1, t_s=40 * MIN)
    pt.fast_forward(60 * MIN)
    st = pt.state
    assert st["seizing"]
    # the drug is at its site (same effect-site level as the early dose) ...
    assert st["bz_effect"] > 1.5
    # ... but its receptors are gone and GABA no longer inhibits
    assert st["e_gaba"] > -52.0 and st["inhibition"] < 0.2
    pt.fast_forward(2 * H)
    assert pt.state["seizing"]


def test_ketamine_works_in_refractory_se():
    pt = refractory_patient()
    pt.fast_forward(65 * MIN)
    assert pt.state["seizing"]  # refractory: benzodiazepine and second-line drug failed
    pt.give("ketamine", 1.5, t_s=65 * MIN)
    pt.start_infusion("ketamine", 2.5, t_s=65 * MIN)
    pt.fast_forward(80 * MIN)
    st = pt.state
    assert not st["seizing"]
    assert st["ketamine_occupancy"] > 0.6
    pt.fast_forward(4 * H)  # held while the infusion runs
    assert not pt.state["seizing"]


def test_without_ketamine_the_refractory_patient_keeps_seizing():
    pt = refractory_patient()
    pt.fast_forward(4 * H)
    assert pt.state["seizing"]


def test_propofol_burst_suppression_and_weaning_relapse():
    pt = refractory_patient()
    pt.give("propofol", 2.0, t_s=60 * MIN)
    pt.start_infusion("propofol", 150, unit="mcg/kg/min", t_s=60 * MIN)
    pt.fast_forward(2 * H)
    x = pt.advance(3 * H)
    st = pt.state
    assert not st["seizing"]
    assert st["bs_fraction"] > 0.5
    # BSR from the generated EEG: |x| <= 5 uV for >= 0.5 s over 63 s windows
    n = int(63 * FS)
    windows = [bsr(x[i:i + n], FS) for i in range(0, len(x) - n + 1, n)]
    assert sum(windows) / len(windows) > 0.5
    assert max(windows) > 0.6
    # 24 h of burst suppression, then the infusion is stopped
    pt.fast_forward(25 * H)
    assert not pt.state["seizing"]
    pt.stop_infusion("propofol", t_s=25 * H)
    t = 25 * H
    while t < 37 * H and not pt.state["seizing"]:
        t += 10 * MIN
        pt.fast_forward(t)
    assert pt.state["seizing"], "weaning should bring seizures back (super-refractory SE)"
    assert pt.state["n_seizures"] >= 2
    # the inflammatory/epileptogenic state built up under anaesthesia
    assert pt.state["epileptogenic"] > 0.3


def test_early_lorazepam_patient_can_be_weaned_from_nothing():
    """Control: after an early stop the interictal state stays below threshold."""
    pt = Patient(seed=2, fs=FS)
    pt.onset(0.0)
    pt.give("lorazepam", 0.1, t_s=5 * MIN)
    pt.fast_forward(36 * H)
    st = pt.state
    assert not st["seizing"] and st["drive"] < st["threshold"] - 1.0


def test_fosphenytoin_is_dosed_in_pe_and_converted():
    pt = Patient(seed=4, fs=FS)
    pt.give("fosphenytoin", 20, t_s=0.0)
    pt.fast_forward(1.0)
    assert pt.state["drugs"]["fosphenytoin"]["plasma_mg_per_l"] < 1.0  # still prodrug
    pt.fast_forward(60 * MIN)
    # 20 mg PE/kg over Vd 0.65 L/kg -> ~30 mg/L phenytoin
    assert 20.0 < pt.state["drugs"]["fosphenytoin"]["plasma_mg_per_l"] < 32.0


def test_dosing_api_refuses_bad_input():
    pt = Patient(seed=0, fs=FS)
    with pytest.raises(ValueError):
        pt.give("lorazepam", 0.1, route="rectal")
    with pytest.raises(ValueError):
        pt.give("aspirin", 1.0)
    with pytest.raises(ValueError):
        pt.give("lorazepam")
    with pytest.raises(ValueError):
        pt.start_infusion("propofol", 5, unit="ml/h")
    pt.advance(10.0)
    with pytest.raises(ValueError):
        pt.give("lorazepam", 0.1, t_s=5.0)  # in the past
    pt.give("lorazepam", mg=4.0)  # 4 mg for 70 kg
    pt.advance(11.0)
    assert pt.log[-1] == (10.0, "dose", {"drug": "lorazepam", "mg_per_kg": 4.0 / 70.0, "route": "iv"})
