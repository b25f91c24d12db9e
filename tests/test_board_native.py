"""The board's EEG detector is detect.c as machine code (the native module statim_det,
firmware/core_c/natmod, built for armv6m and deployed by `statim deploy`), and on the
emulated Pico it detects what the host detects.

A probe main.py on a deployed board imports core.detect the way the unit does, streams a
recording from the board's flash in blocks of 125 samples (array('f'), as the unit reads
its front end) through the detector and prints the events; the host runs the same
single-precision samples through the C core (cffi, IEEE double) and the Python twin: the
events must be the same, and the detector must be the native one.  It also prints the
heap the detector keeps (module and state) and its CPU time per second of EEG, which the
benchmark (benchmarks/bench_board.py) reports against the budget.
"""
import json
import os
import re
from array import array

import pytest

from conftest import SHARED_DATA
from emulator import pico
from firmware.core import detect
from host_tools import natmod

pytestmark = pytest.mark.skipif(pico.missing() is not None, reason=pico.missing() or "")
try:
    import littlefs  # noqa: F401
except ImportError:  # pragma: no cover - the test extra installs it
    pytestmark = pytest.mark.skip(reason="littlefs-python not installed (test extra)")
np = pytest.importorskip("numpy")
synth = pytest.importorskip("host_tools.eeg_synth")
BONN = os.path.join(SHARED_DATA, "bonn")

PROBE = """
import gc, json, time
from array import array
gc.collect()
free0 = gc.mem_free()
from core import detect
d = detect.Detector(%r)
gc.collect()
print("BACKEND", detect.BACKEND, "KEPT", free0 - gc.mem_free())
buf = array("f", bytes(4 * 125))
events = []
busy = 0
n = 0
with open("/data/eeg.f32", "rb") as f:
    while True:
        got = f.readinto(buf)
        if not got:
            break
        t0 = time.ticks_us()
        d.process_into(buf, got // 4, events)
        busy += time.ticks_diff(time.ticks_us(), t0)
        n += got // 4
print("EVENTS", json.dumps(events))
print("SAMPLES", n, "BUSY_US", busy)
print("PROBE-END")
"""


def _recordings():
    out = []
    if os.path.isdir(BONN):
        with open(os.path.join(BONN, "S", "S001.txt")) as f:
            out.append(("Bonn S001 (ictal)", 173.61, [float(v) for v in f if v.strip()]))
    fs = 250.0
    rng = np.random.default_rng(11)
    sec = lambda s: int(s * fs)  # noqa: E731
    bg = synth.background(sec(280), fs, rng, 20.0)
    x = bg.copy()
    x[sec(90):sec(150)] += synth.seizure_wave(sec(60), fs, rng, 20.0 * 6 * 0.6)
    x[sec(180):] = synth.burst_suppression(sec(100), fs, rng)
    out.append(("synthetic 280 s at 250 SPS: a seizure, then burst suppression", fs, [float(v) for v in x]))
    return out


RECORDINGS = _recordings()


@pytest.fixture(scope="module")
def provisioned():
    why = natmod.missing("armv6m")
    if why:
        pytest.skip("the native detector cannot be built here: %s" % why)
    return pico.provisioned_flash()


@pytest.mark.parametrize("name,fs,x", RECORDINGS, ids=[r[0] for r in RECORDINGS])
def test_the_board_detects_what_the_host_detects(provisioned, tmp_path, name, fs, x):
    x32 = array("f", x)
    img = pico.board_copy(provisioned[0], str(tmp_path))
    with pico.FlashFS(img) as fs_:
        assert "statim_det.mpy" in fs_.listdir("/lib")  # statim deploy shipped it
        fs_.write("/data/eeg.f32", x32.tobytes())
        fs_.write("/main.py", (PROBE % fs).encode())
    with pico.PicoBoard(img, pace=0, max_resets=0, log=str(tmp_path / "board.log")) as b:
        b.wait_until(lambda b: "PROBE-END" in b.console(), 600000, step_ms=1000)
        out = b.console()
        assert b.resets == []
    backend = re.search(r"BACKEND (\w+) KEPT (\d+)", out)
    assert backend and backend.group(1) == "native", out[-2000:]
    events = json.loads(re.search(r"EVENTS (.*)", out).group(1))
    samples, busy_us = map(int, re.search(r"SAMPLES (\d+) BUSY_US (\d+)", out).groups())
    assert samples == len(x32)
    host = x32.tolist()
    want = detect.Detector(fs, backend="c" if detect.BACKEND == "c" else "python").process(host)
    assert events == want
    assert events == detect.Detector(fs, backend="python").process(host)
    assert any(e["state"] == "seizure_on" for e in events), events
    if name.startswith("synthetic"):
        assert any(e["state"] == "bs_on" for e in events), events
    print("%s: %d events equal; detector keeps %s B of heap; %.2f ms of CPU per second of EEG" % (
        name, len(events), backend.group(2), busy_us / 1000.0 / (samples / fs)))
