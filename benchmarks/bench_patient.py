"""Patient simulator: 24 h of one-channel EEG at 256 Hz on the C loop (issue 9
target <= 10 s), and the pure-Python twin timed on a slice and scaled to 24 h.

The scenario is the refractory-SE timeline (onset, late lorazepam,
levetiracetam, propofol to burst suppression), so the model takes its real
branches.  The PRNG and expressions are the same on both paths.
"""
import pytest

from emulator.patient import AVAILABLE_BACKENDS, Patient
from ratios import pair

FS = 256.0
DAY = 24 * 3600.0

pair("patient 24 h @256 Hz: C vs pure Python", "patient-24h-python", "patient-24h-c", 30.0)


def _patient(backend):
    pt = Patient(seed=1, fs=FS, backend=backend)
    pt.onset(0.0)
    pt.give("lorazepam", 0.1, t_s=2400.0)
    pt.give("levetiracetam", 60, t_s=3000.0)
    pt.give("propofol", 2.0, t_s=3600.0)
    pt.start_infusion("propofol", 150, unit="mcg/kg/min", t_s=3600.0)
    return pt


@pytest.mark.skipif("c" not in AVAILABLE_BACKENDS, reason="patient C loop not built")
def test_patient_24h_c(benchmark, quick, record):
    hours = 1.0 if quick else 24.0

    def run():
        return _patient("c").advance(hours * 3600.0)

    x = benchmark.pedantic(run, rounds=1 if quick else 3, iterations=1, warmup_rounds=0)
    assert len(x) == int(hours * 3600 * FS)
    record("patient-24h-c", benchmark)
    from conftest import RESULTS

    RESULTS["patient-24h-c"] *= 24.0 / hours
    assert RESULTS["patient-24h-c"] <= 10.0, "24 h on the C path must take <= 10 s"


def test_patient_24h_python(benchmark, quick, record):
    slice_s = 60.0 if quick else 600.0  # timed on a slice, scaled to 24 h

    def run():
        return _patient("python").advance(slice_s)

    benchmark.pedantic(run, rounds=1 if quick else 3, iterations=1, warmup_rounds=0)
    record("patient-24h-python", benchmark)
    from conftest import RESULTS

    RESULTS["patient-24h-python"] *= DAY / slice_s
