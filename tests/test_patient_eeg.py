"""EEG from the patient simulator: microvolt scale, rates and channels, the
states the unit must see, and the unit's detector scored on simulator output
(timescoring, SzCORE event rules)."""
import math
from importlib.metadata import version as _version

import pytest

from emulator.patient import Patient, bsr

MIN = 60.0


def rms(x):
    return math.sqrt(sum(v * v for v in x) / len(x))


def dominant_hz(x, fs, lo=1.0, hi=20.0, step=0.25):
    """Peak of a plain DFT scan (no numpy needed)."""
    best, best_f = -1.0, 0.0
    n = len(x)
    f = lo
    while f <= hi:
        w = 2 * math.pi * f / fs
        re = sum(x[i] * math.cos(w * i) for i in range(n))
        im = sum(x[i] * math.sin(w * i) for i in range(n))
        p = re * re + im * im
        if p > best:
            best, best_f = p, f
        f += step
    return best_f


def test_background_and_seizure_amplitudes_in_microvolts():
    pt = Patient(seed=3, fs=256.0)
    pt.onset(60.0)
    bg = pt.advance(60.0)
    pt.advance(120.0)
    sz = pt.advance(180.0)
    assert 10.0 < rms(bg) < 60.0  # adult scalp background 20-50 uV
    assert 40.0 < rms(sz) < 250.0 and max(abs(v) for v in sz) < 600.0
    assert rms(sz) > 2 * rms(bg)


def test_seizure_discharges_evolve_and_slow():
    fs = 128.0
    pt = Patient(seed=3, fs=fs)
    pt.onset(0.0)
    early = pt.advance(10.0)[int(4 * fs):]
    pt.fast_forward(20 * MIN)
    late = pt.advance(20 * MIN + 8.0)
    f_early = dominant_hz(early, fs)
    f_late = dominant_hz(late, fs)
    assert f_early > 5.0 and 2.5 <= f_late <= 4.0, (f_early, f_late)


@pytest.mark.parametrize("fs,channels", [(64.0, 1), (128.0, 2), (173.61, 1), (250.0, 4), (512.0, 1)])
def test_sampling_rate_and_channels(fs, channels):
    pt = Patient(seed=7, fs=fs, channels=channels)
    x = pt.advance(10.0)
    assert len(x) == channels * int(math.ceil(10.0 * fs - 1e-9))
    chans = [x[c::channels] for c in range(channels)]
    for c in chans:
        assert 5.0 < rms(c) < 80.0
    if channels > 1:
        assert chans[0] != chans[1]  # own noise per channel


def test_postictal_attenuation():
    pt = Patient(seed=8, fs=128.0)
    pre = pt.advance(120.0)
    pt.onset(120.0)
    pt.give("diazepam", 0.2, t_s=150.0)
    pt.advance(240.0)
    assert not pt.state["seizing"]
    post = pt.advance(270.0)
    assert rms(post) < 0.8 * rms(pre)
    pt.fast_forward(1800.0)
    late = pt.advance(1860.0)
    assert rms(late) > 0.8 * rms(pre)


def test_burst_suppression_is_suppressed_within_5_uv():
    pt = Patient(seed=9, fs=256.0)
    pt.give("propofol", 2.0, t_s=0.0)
    pt.start_infusion("propofol", 200, unit="mcg/kg/min", t_s=0.0)
    pt.fast_forward(2 * 3600.0)
    x = pt.advance(2 * 3600.0 + 300.0)
    assert pt.state["bs_fraction"] > 0.6
    r = bsr(x, 256.0, window_s=300.0)
    assert r > 0.5
    assert max(abs(v) for v in x) > 40.0  # bursts are there too


def test_unit_detector_flags_simulated_seizures():
    detect = pytest.importorskip("firmware.core.detect")
    fs = 256.0
    pt = Patient(seed=12, fs=fs)
    pt.onset(300.0)
    x = pt.advance(1500.0)
    events = detect.Detector(fs).process(x)
    on = [e["t_ms"] / 1000.0 for e in events if e["state"] == "seizure_on"]
    assert on and 300.0 <= on[0] <= 330.0, on
    assert any(e["state"] == "se_on" for e in events)  # >= 10 continuous minutes


def _labelled_recording(seed, fs, hours):
    """Recurrent seizures, each stopped by an early benzodiazepine; labels from the model (1 s)."""
    pt = Patient(seed=seed, fs=fs)
    t = 0.0
    onsets = []
    drugs = [("lorazepam", 0.1, "iv"), ("diazepam", 0.2, "iv"), ("midazolam", 0.2, "im"), ("lorazepam", 0.1, "iv")]
    k = 0
    while t + 1800 < hours * 3600:
        t += 900.0 + 300.0 * ((seed + k) % 3)
        onsets.append(t)
        pt.onset(t, insult=1.9)
        drug, dose, route = drugs[k % len(drugs)]
        pt.give(drug, dose * (0.6 if k else 1.0), route=route, t_s=t + 120.0 + 60.0 * (k % 3))
        k += 1
    x, labels, start = [], [], None
    end = hours * 3600.0
    while pt.t < end:
        x.extend(pt.advance(pt.t + 1.0))
        s = pt.state["seizing"]
        if s and start is None:
            start = pt.t - 1.0
        elif not s and start is not None:
            labels.append((start, pt.t))
            start = None
    if start is not None:
        labels.append((start, end))
    return x, labels, onsets


@pytest.mark.slow
def test_detector_event_scores_on_simulator_output(report):
    pytest.importorskip("firmware.core.detect")
    ts = pytest.importorskip("timescoring")
    from timescoring import scoring
    from timescoring.annotations import Annotation

    from host_tools import eeg

    tot = [0, 0, 0]
    hours = 0.0
    rows = []
    for seed, fs in ((1, 256.0), (2, 128.0), (3, 200.0)):
        x, ref, _ = _labelled_recording(seed, fs, 3.0)
        r = eeg.analyze(x, fs)
        sc = scoring.EventScoring(Annotation(ref, fs, len(x)), Annotation([tuple(e) for e in r["events"]], fs, len(x)))
        tot[0] += sc.tp
        tot[1] += sc.fp
        tot[2] += sc.refTrue
        hours += len(x) / fs / 3600.0
        rows.append("seed %d fs %g: ref %d tp %d fp %d" % (seed, fs, sc.refTrue, sc.tp, sc.fp))
    sens = tot[0] / tot[2]
    prec = tot[0] / (tot[0] + tot[1]) if tot[0] + tot[1] else float("nan")
    with report():
        print("\n[patient sim -> detector, timescoring %s] %s | sensitivity %.3f precision %.3f, %d events, "
              "%.1f FA/24h over %.0f h" % (_version("timescoring"), "; ".join(rows), sens, prec, tot[2],
                                            tot[1] / (hours / 24.0), hours))
    assert tot[2] >= 15
    assert sens >= 0.9 and prec >= 0.9
