"""The 10-s minimum of an electrographic seizure at its boundary: 9 s, 10 s, 11 s.

ACNS 2021 standardized critical care EEG terminology (clinical.md fact-check 10
and section 7): an electrographic seizure is rhythmic activity > 2.5 Hz lasting
>= 10 s.  DESIGN.md: "seizure decision with a minimum duration of 10 s".

The trace: a quiet background (10 uV alpha at 10 Hz plus 2 uV noise) for 60 s,
then a 3-Hz, 200 uV rhythm (> 2.5 Hz, far above the background) for 9, 10 or
11 s starting on a whole second (the detector decides on 1-s epochs), then
background again.  Checked on the detector's public API (both backends where
the C core is built) and at the bedside: the unit logs an EEG seizure only for
a rhythm of 10 s or more."""
import math
import random
from array import array

import pytest

from emulator.board import EmulatedUnit
from firmware.core import detect

FS = 256.0
PRE_S = 60
POST_S = 30
BACKENDS = ["python"] + (["c"] if detect.BACKEND == "c" else [])


def trace(burst_s, seed=1):
    rnd = random.Random(seed)
    n_pre, n_burst, n_post = int(PRE_S * FS), int(burst_s * FS), int(POST_S * FS)
    x = array("f")
    for i in range(n_pre + n_burst + n_post):
        v = 10.0 * math.sin(2 * math.pi * 10.0 * i / FS) + rnd.gauss(0, 2.0)
        if n_pre <= i < n_pre + n_burst:
            v += 200.0 * math.sin(2 * math.pi * 3.0 * (i - n_pre) / FS)
        x.append(v)
    return x


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("burst_s,seizure", [(9, False), (10, True), (11, True)])
def test_seizure_needs_10_s_of_rhythm(backend, burst_s, seizure):
    for seed in (1, 2, 3):
        d = detect.Detector(FS, backend=backend)
        evs = [e for e in d.process(trace(burst_s, seed)) if e["state"] in ("seizure_on", "seizure_off")]
        if not seizure:
            assert evs == [], (seed, evs)
            continue
        assert [e["state"] for e in evs] == ["seizure_on", "seizure_off"], (seed, evs)
        assert evs[0]["t_ms"] == PRE_S * 1000  # onset dated at the rhythm's start
        assert evs[1]["duration_ms"] == burst_s * 1000  # and its whole length counted


@pytest.mark.parametrize("burst_s,seizure", [(9, False), (10, True), (11, True)])
def test_bedside_logs_an_eeg_seizure_only_from_10_s(burst_s, seizure):
    emu = EmulatedUnit(weight_kg=70)
    x = trace(burst_s)
    pos = [0]

    def source(t_s):
        end = min(len(x), int(t_s * FS))
        chunk = x[pos[0]:end]
        pos[0] = max(pos[0], end)
        return chunk

    emu.board.attach_eeg(source, FS)
    emu.run_for((PRE_S + POST_S) * 1000)
    states = [e["state"] for e in emu.unit.events if e["type"] == "eeg"]
    assert ("seizure" in states) is seizure, states
    if seizure:
        assert states[-1] == "no_seizure"
