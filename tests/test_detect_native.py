"""The board's native EEG detector (firmware/core_c/natmod: detect.c as a MicroPython
native module) inside the real MicroPython unix port, built for this machine (x64)
from the same sources and by the same linker as the Pico's (armv6m) build.

It must give the events and the status the C core gives through cffi on CPython,
and the Python twin gives, bit for bit (all three compute in IEEE double, same
expressions, same order); take its parameters as the decimals they were written as
(on the board a float has single precision: 1.3 must still reach C as the double
1.3); reject a bad parameter by name; and feed a block without allocating.
The emulated Pico runs the armv6m build: tests/test_board_native.py.
"""
import functools
import json
import math
import os
import struct
from array import array

import pytest

import unixport
from conftest import SHARED_DATA
from firmware.core import detect
from host_tools import natmod

pytestmark = pytest.mark.skipif(unixport.MICROPYTHON is None, reason=unixport.SKIP_REASON)
GUEST = os.path.join(unixport.TESTS, "detect_native_guest.py")
# every status field the native module answers (detect_native._FIELDS: the module cannot be
# imported on CPython, so they are listed here; the guest prints each, and must print these)
FIELDS = ("bsr", "bpm", "phase", "se", "bs", "burden_count", "step", "fs", "step_len", "burden_epochs", "epoch",
          "amp_base", "ll_base", "burden_thresh", "min_epochs", "epoch_len", "convulsive", "run_start", "last_ictal")
BONN = os.path.join(SHARED_DATA, "bonn")
np = pytest.importorskip("numpy")
synth = pytest.importorskip("host_tools.eeg_synth")


@pytest.fixture(scope="module")
def native_dir():
    why = natmod.missing("x64")
    if why:
        pytest.skip("native module cannot be built here: %s" % why)
    return os.path.dirname(natmod.build("x64"))


def _run(native_dir, tmp_path, x, fs, code="d", seed=7, heap=256 * 1024, **over):
    path = tmp_path / "x.bin"
    path.write_bytes(array(code, x).tobytes())
    args = [str(path), code, repr(fs), seed] + ["%s=%r" % kv for kv in over.items()]
    r = unixport.run_micropython(GUEST, args, heap=heap, path=[native_dir])
    assert r.ok, r.stderr[-2000:]
    lines = r.stdout.splitlines()
    return lines[0], json.loads(lines[1]), json.loads(lines[2])


def _host(x, fs, backend, **over):
    d = detect.Detector(fs, backend=backend, **over)
    events = d.process(list(x))
    r = d.raw
    st = {}
    for name in FIELDS:  # the twin has each as a plain attribute
        v = getattr(r, name)
        st[name] = struct.pack("<d", v).hex() if isinstance(v, float) else v
    return events, st


@functools.lru_cache(maxsize=1)
def _recording():
    x, _seizures, _bs = synth.recording(3, hours=0.35, fs=256.0, n_seizures=2, seizure_s=(40.0, 120.0), n_bs=1,
                                        bs_s=(240.0, 300.0), n_blinks=30, n_muscle=4, n_theta=3, n_pops=2)
    return [float(v) for v in x]


def _cases():
    cases = [("synthetic 21 min: seizures and burst suppression", 256.0, _recording(), {})]
    rng = np.random.default_rng(5)
    t = np.arange(int(256 * 240)) / 256.0
    wild = (30 * np.sin(2 * math.pi * 6 * t) + 8 * rng.standard_normal(len(t))).tolist()
    for k in range(0, len(wild), 997):  # NaN, clamped and infinite samples among them
        wild[k] = (float("nan"), 2.5e5, -1e9, float("inf"))[k % 4]
    cases.append(("4 min with NaN, clamped and infinite samples", 256.0, wild, {}))
    seiz = (300 * np.sin(2 * math.pi * 4 * t) + 10 * rng.standard_normal(len(t))).tolist()
    cases.append(("convulsive: SE after 5 min", 256.0, seiz + seiz, {"convulsive": 1}))
    if os.path.isdir(BONN):
        for name in ("S/S001.txt", "Z/Z001.txt"):
            with open(os.path.join(BONN, name)) as f:
                cases.append(("Bonn " + name, 173.61, [float(v) for v in f if v.strip()], {}))
    return cases


CASES = _cases()


@pytest.mark.parametrize("name,fs,x,over", CASES, ids=[c[0] for c in CASES])
def test_native_module_equals_the_c_core_and_the_twin(native_dir, tmp_path, name, fs, x, over):
    backend, events, status = _run(native_dir, tmp_path, x, fs, **over)
    assert backend == "BACKEND native"
    want_ev, want_st = _host(x, fs, "c" if detect.BACKEND == "c" else "python", **over)
    twin_ev, twin_st = _host(x, fs, "python", **over)
    assert (want_ev, want_st) == (twin_ev, twin_st)
    assert events == want_ev
    assert status == want_st
    if name.startswith("synthetic"):
        states = {e["state"] for e in events}
        assert {"seizure_on", "seizure_off", "bs_on", "bsr"} <= states, states
    if name.startswith("convulsive"):
        assert any(e["state"] == "se_on" and e["reason"] == "convulsive" for e in events)


def test_single_precision_samples_as_the_board_reads_them(native_dir, tmp_path):
    """The board's buffer is array('f'): the module widens each sample to double, so the host,
    fed the same single-precision values, gives the same events."""
    x = _recording()[: 256 * 600]
    x32 = array("f", x).tolist()
    _b, events, status = _run(native_dir, tmp_path, x32, 256.0, code="f")
    assert (events, status) == _host(x32, 256.0, "python")
    assert any(e["state"] == "seizure_on" for e in events)


@pytest.mark.parametrize("fs,over", [
    (173.61, {"k_ll_on": 1.3, "base_tau_s": 1e-05 * 6e7, "supp_uv": 4.9}),
    (250.0, {"se_burden_pct": 12.5, "hyst_frac": 0.1, "bridge_s": 2.7}),
])
def test_parameters_reach_the_c_code_as_the_decimals_written(native_dir, tmp_path, fs, over):
    x = _recording()[: int(fs) * 300]
    _b, events, status = _run(native_dir, tmp_path, x, fs, **over)
    assert status["fs"] == struct.pack("<d", fs).hex()
    assert (events, status) == _host(x, fs, "python", **over)


BAD = """
from core import detect
for name, v in (("k_amp_on", float("nan")), ("fs", float("inf")), ("se_burden_pct", 0.0), ("base_clip", 0.5)):
    try:
        if name == "fs":
            detect.Detector(v, backend="native")
        else:
            detect.Detector(256.0, backend="native", **{name: v})
        print("ACCEPTED", name)
    except ValueError as e:
        print("REFUSED", name, e)
"""


def test_a_bad_parameter_is_refused_by_name(native_dir, tmp_path):
    g = tmp_path / "bad.py"
    g.write_text(BAD)
    r = unixport.run_micropython(str(g), heap=128 * 1024, path=[native_dir])
    assert r.ok, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 4
    for line, name in zip(lines, ("k_amp_on", "fs", "se_burden_pct", "base_clip")):
        assert line.startswith("REFUSED %s %s out of range" % (name, name)), line


HEAPLOCK = """
import math, micropython
from array import array
from core import detect
d = detect.Detector(256.0, backend="native", trend_s=0.0)  # no trend event every 60 s
buf = array("f", [20.0 * math.sin(0.3 * i) for i in range(100)])
events = []
d.process(buf, 100)


def feed():  # locals, not new globals (a global's first store grows the module's dict)
    n = -1
    for k in range(400):  # 214 s of samples: no event completes
        d.raw.process(buf, 100, events)
        n = d.process_into(buf, 37, events)
    return n


n = 0
micropython.heap_lock()
try:
    n = feed()
    micropython.heap_unlock()
    print("OK", len(events), n)
except MemoryError:
    micropython.heap_unlock()
    print("ALLOCATED")
"""


def test_a_block_without_events_allocates_nothing(native_dir, tmp_path):
    """The per-block path under micropython.heap_lock(): any allocation raises MemoryError."""
    g = tmp_path / "lock.py"
    g.write_text(HEAPLOCK)
    r = unixport.run_micropython(str(g), heap=128 * 1024, path=[native_dir])
    assert r.ok, r.stderr
    assert r.stdout.split() == ["OK", "0", "0"], r.stdout


def test_event_codes_in_detect_are_the_parameters_modules():
    """detect.py names events by code without loading detect_params (a board keeps only the codes)."""
    from firmware.core import detect_params as P

    for code, state in ((P.EV_SEIZURE_ON, "seizure_on"), (P.EV_SEIZURE_OFF, "seizure_off"), (P.EV_SE_ON, "se_on"),
                        (P.EV_SE_OFF, "se_off"), (P.EV_BS_ON, "bs_on"), (P.EV_BS_OFF, "bs_off"),
                        (P.EV_BSR_TREND, "bsr")):
        assert detect._STATES[code] == state
    assert (detect._EV_SEIZURE_OFF, detect._EV_SE_ON, detect._EV_SE_OFF, detect._EV_BS_ON, detect._EV_BS_OFF,
            detect._EV_BSR_TREND) == (P.EV_SEIZURE_OFF, P.EV_SE_ON, P.EV_SE_OFF, P.EV_BS_ON, P.EV_BS_OFF,
                                      P.EV_BSR_TREND)
    for code, reason in ((P.SE_CONTINUOUS, "continuous"), (P.SE_BURDEN, "burden"), (P.SE_CONVULSIVE, "convulsive")):
        assert detect._REASONS[code] == reason
