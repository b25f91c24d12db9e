"""Determinism and the C/Python twin pair of the patient simulator.

The C loop (emulator/patient_c/patient.c) and the Python twin (model.py,
eeg.py) use the same expressions in the same order, the same libm (exp, log)
and an integer PRNG, so they are held to *bit-equal* float32 samples and equal
double state.  Stated tolerance: 0 (exact); should a platform's libm or
compiler ever differ, relax to 1e-6 relative on the state and compare samples
before the first seizure decision that differs.
"""
import pytest
from hypothesis import given, settings, strategies as st

from emulator.patient import AVAILABLE_BACKENDS, Patient, params as P

HAS_C = "c" in AVAILABLE_BACKENDS
needs_c = pytest.mark.skipif(not HAS_C, reason="patient C loop not built (pure-Python install)")


def scenario(backend, seed=5, fs=128.0, channels=1, until=15 * 60.0):
    pt = Patient(seed=seed, fs=fs, channels=channels, backend=backend)
    pt.onset(30.0)
    pt.give("midazolam", 0.2, route="im", t_s=5 * 60.0)
    pt.give("lorazepam", 0.05, t_s=6 * 60.0 + 0.3)
    pt.start_infusion("propofol", 100, unit="mcg/kg/min", t_s=8 * 60.0)
    x = pt.advance(until)
    return pt, x


def test_same_seed_same_samples():
    backend = AVAILABLE_BACKENDS[0]
    _, a = scenario(backend)
    _, b = scenario(backend)
    assert a == b
    _, c = scenario(backend, seed=6)
    assert a != c


def test_block_size_does_not_matter():
    backend = AVAILABLE_BACKENDS[0]
    _, whole = scenario(backend, until=200.0)
    pt = Patient(seed=5, fs=128.0, backend=backend)
    pt.onset(30.0)
    parts = []
    t = 0.0
    for step in (0.01, 1.0, 7.77, 33.3, 0.5) * 20:
        t = min(200.0, t + step)
        parts.extend(pt.advance(t))
        if t >= 200.0:
            break
    parts.extend(pt.advance(200.0))
    assert list(whole) == parts


@needs_c
def test_c_equals_python_bit_for_bit():
    pc, xc = scenario("c", channels=2)
    pp, xp = scenario("python", channels=2)
    assert len(xc) == len(xp) == 2 * int(15 * 60 * 128)
    diff = [i for i, (u, v) in enumerate(zip(xc, xp)) if u != v]
    assert not diff, "first difference at sample %d: %r vs %r" % (diff[0], xc[diff[0]], xp[diff[0]])
    assert pc.snapshot() == pp.snapshot()


@needs_c
@settings(max_examples=12, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([64.0, 100.0, 173.61, 256.0]), st.integers(1, 3))
def test_c_equals_python_any_seed_rate_channels(seed, fs, channels):
    a = Patient(seed=seed, fs=fs, channels=channels, backend="c")
    b = Patient(seed=seed, fs=fs, channels=channels, backend="python")
    for pt in (a, b):
        pt.onset(2.0)
        pt.give("diazepam", 0.2, t_s=20.0)
    assert a.advance(40.0) == b.advance(40.0)
    assert a.snapshot() == b.snapshot()


@needs_c
def test_fast_forward_twins():
    a, b = (Patient(seed=1, fs=256.0, backend=be) for be in ("c", "python"))
    for pt in (a, b):
        pt.onset(0.0)
        pt.give("lorazepam", 0.1, t_s=2400.0)
        pt.fast_forward(3 * 3600.0)
    assert a.snapshot() == b.snapshot()


@needs_c
def test_c_struct_matches_python_field_lists():
    from emulator.patient_c._patient import ffi

    p_fields = [f for f, _ in ffi.typeof("patient_params").fields]
    assert p_fields == list(P.PARAM_SCALARS + P.PARAM_BANDS + P.PARAM_INTS + P.PARAM_DRUG_ARRAYS + P.PARAM_DRUG_INTS)
    s_fields = [f for f, _ in ffi.typeof("patient_state").fields]
    assert s_fields == list(P.STATE_INTS + P.STATE_SCALARS + P.STATE_DRUG_ARRAYS + ("rng",))
    assert ffi.typeof("patient_params").fields[-1][1].type.length == P.MAX_DRUGS
    lib = __import__("emulator.patient_c._patient", fromlist=["lib"]).lib
    assert lib.PATIENT_MAX_DRUGS == P.MAX_DRUGS and lib.PATIENT_N_BANDS == P.N_BANDS
    assert (lib.PATIENT_MECH_BZ, lib.PATIENT_MECH_GABA, lib.PATIENT_MECH_NMDA, lib.PATIENT_MECH_ASM) == (
        P.MECH_BZ, P.MECH_GABA, P.MECH_NMDA, P.MECH_ASM)


def test_every_parameter_has_a_source():
    src = P.param_sources()
    assert len(src) > 60
    for key, text in src.items():
        if isinstance(text, dict):
            assert text.get("pk") and text.get("pd"), key
        else:
            assert text and text.lstrip().startswith("["), key  # tagged [C]/[S]/[U]/[D]


def test_prng_matches_reference_values():
    from emulator.patient.eeg import seed_stream, xorshift32

    # Marsaglia's xorshift32 from state 1
    x, seq = 1, []
    for _ in range(3):
        x = xorshift32(x)
        seq.append(x)
    assert seq == [270369, 67634689, 2647435461]
    assert seed_stream(0, 0) != 0 and seed_stream(0, 0) != seed_stream(0, 1)
