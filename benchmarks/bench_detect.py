"""EEG detector over a long recording: the C bundle (all kernels + decisions in
one pass) vs the pure-Python twin vs numpy computing the same epoch features;
and the detector's cost under MicroPython per second of 256 Hz EEG.

Sizes: 24 h at 256 Hz (22 M samples), or 1 h with --quick.  Targets (issue 5):
C >= 100 M samples/s per core and >= 100x the pure-Python path.
"""
import math
import os
import sys
import time

import pytest

from firmware.core import detect, detect_ref
from ratios import pair

np = pytest.importorskip("numpy")
synth = pytest.importorskip("host_tools.eeg_synth")

if detect.BACKEND != "c":
    pytest.skip("C core not built: nothing to compare", allow_module_level=True)

FS = 256.0
pair("EEG detector: C bundle vs pure Python", "detect-python", "detect-c", 100.0)
pair("EEG detector: C bundle vs numpy features", "detect-numpy", "detect-c", 1.0)


@pytest.fixture(scope="module")
def recording(request):
    hours = 1.0 if request.config.getoption("--quick") else 24.0
    x, _, _ = synth.recording(42, hours=hours, fs=FS, n_seizures=int(4 * hours), n_bs=1,
                              n_blinks=int(60 * hours), n_muscle=int(10 * hours), n_theta=int(8 * hours),
                              n_pops=int(3 * hours))
    return np.ascontiguousarray(x)


def _rounds(quick):
    return dict(rounds=3 if quick else 7, iterations=1, warmup_rounds=1)


def _throughput(name, seconds, n, capsys):
    with capsys.disabled():
        print("\n  %-28s %8.1f M samples/s  (%.0fx real time at 256 Hz)" % (name, n / seconds / 1e6, n / seconds / FS))


def test_detect_c_bundle(benchmark, recording, quick, record, capsys):
    p = detect_ref.params(FS)

    def run():
        events = []
        detect.make_raw(p, "c").process(recording, len(recording), events)
        return events

    events = benchmark.pedantic(run, **_rounds(quick))
    assert any(e[0] == detect_ref.EV_SEIZURE_ON for e in events)
    record("detect-c", benchmark)
    _throughput("C detector bundle", benchmark.stats.stats.median, len(recording), capsys)
    # throughput is reported, not asserted: benchmarks measure, tests decide


def test_detect_python(benchmark, recording, quick, record, capsys):
    n = int(FS * 120)  # timed on 2 minutes and scaled to the full length
    part = list(recording[:n])
    p = detect_ref.params(FS)

    def run():
        detect_ref.DetectorRef(p).process(part, n, [])

    benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=0)
    record("detect-python", benchmark)
    from conftest import RESULTS

    RESULTS["detect-python"] *= len(recording) / n
    _throughput("pure-Python twin (CPython)", benchmark.stats.stats.median, n, capsys)


def numpy_features(x, fs=FS, step_s=0.5):
    """The detector's epoch features, vectorised: LL, RMS, ictal-band amplitude
    (FFT band mask instead of the IIR), zero-crossing rhythm (no hysteresis),
    Rampil suppression runs and the 63-s BSR per step."""
    step = int(math.floor(step_s * fs + 0.5))
    L = 2 * step
    ne = len(x) // L
    e = x[: ne * L].reshape(ne, L)
    ll = np.abs(np.diff(x[: ne * L], prepend=x[0])).reshape(ne, L).sum(1) * fs / L
    mean = e.mean(1)
    rms = np.sqrt(np.maximum(0.0, (e * e).mean(1) - mean * mean))
    spec = np.fft.rfft(e - mean[:, None], axis=1)
    f = np.fft.rfftfreq(L, 1.0 / fs)
    band = (f >= 2.5) & (f <= 9.0)
    amp = np.sqrt(2.0 * (np.abs(spec[:, band]) ** 2).sum(1)) / L
    s = np.signbit(e - mean[:, None])
    fdom = (s[:, 1:] != s[:, :-1]).sum(1) * fs / (2.0 * L)
    # suppression: runs of |x| <= 5 µV lasting >= 0.5 s
    small = np.abs(x) <= 5.0
    edges = np.diff(np.concatenate(([0], small.view(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    keep = (ends - starts) >= int(math.ceil(0.5 * fs - 1e-9))
    supp = np.zeros(len(x) + 1, dtype=np.int32)
    np.add.at(supp, starts[keep], 1)
    np.add.at(supp, ends[keep], -1)
    supp = np.cumsum(supp[:-1])
    ns = len(x) // step
    per_step = supp[: ns * step].reshape(ns, step).sum(1)
    c = np.concatenate(([0], np.cumsum(per_step)))
    w = 126
    idx = np.arange(1, ns + 1)
    lo = np.maximum(0, idx - w)
    bsr = 100.0 * (c[idx] - c[lo]) / ((idx - lo) * step)
    return ll, rms, amp, fdom, bsr


def test_detect_numpy_features(benchmark, recording, quick, record, capsys):
    out = benchmark.pedantic(numpy_features, args=(recording,), **_rounds(quick))
    record("detect-numpy", benchmark)
    _throughput("numpy features", benchmark.stats.stats.median, len(recording), capsys)
    # the same features as the C core where the algorithms coincide
    d = detect.Detector(FS, keep_epochs=True, backend="c")
    d.process(recording[: int(FS * 600)])
    ep = np.array([e[:2] for e in d.epochs])
    assert np.allclose(out[0][: len(ep)], ep[:, 0], rtol=1e-9)
    assert np.allclose(out[1][: len(ep)], ep[:, 1], rtol=1e-6)


def test_detect_micropython_cost(benchmark, capsys):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
    vm = pytest.importorskip("micropython_vm")
    from detect_guest import COST  # the same guest program the test suite runs

    t = time.perf_counter()
    out = benchmark.pedantic(vm.run, args=(COST,), rounds=1, iterations=1, warmup_rounds=0)
    us, _ = (int(v) for v in out.split())
    with capsys.disabled():
        print("\n  MicroPython (wasm): %d us per second of 256 Hz EEG = %.3f %% of real time (run %.1f s)"
              % (us, us / 1e4, time.perf_counter() - t))
    assert us < 100_000
