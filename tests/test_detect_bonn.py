"""Bonn EEG dev split (Andrzejak et al., Phys Rev E 2001;64:061907).

Each 23.6-s segment is run alone through a fresh detector at 173.61 Hz (no
patient baseline: the population priors decide).  Held: every S (ictal)
segment is flagged; no Z or O (healthy scalp) segment is.  N and F
(interictal, intracranial) are reported, and held to at most 3 of 15 each so a
regression shows.  Skips cleanly without ../shared/data.
"""
import os

import pytest

from conftest import SHARED_DATA
from firmware.core import detect

BONN = os.path.join(SHARED_DATA, "bonn")
FS = 173.61
pytestmark = pytest.mark.skipif(not os.path.isdir(BONN), reason="Bonn data not present (../shared/data/bonn)")


def _segment(path):
    with open(path) as f:
        return [int(line) for line in f if line.strip()]


def flags(set_name, backend=None, **overrides):
    out = {}
    folder = os.path.join(BONN, set_name)
    for name in sorted(os.listdir(folder)):
        d = detect.Detector(FS, backend=backend, **overrides)
        ev = d.process(_segment(os.path.join(folder, name)))
        out[name] = any(e["state"] == "seizure_on" for e in ev)
    return out


@pytest.fixture(scope="module")
def results():
    return {s: flags(s) for s in "ZONFS"}


def test_every_s_segment_flagged(results):
    assert len(results["S"]) == 15
    assert all(results["S"].values()), [k for k, v in results["S"].items() if not v]


@pytest.mark.parametrize("s", ["Z", "O"])
def test_no_z_or_o_segment_flagged(results, s):
    assert len(results[s]) == 15
    assert not any(results[s].values()), [k for k, v in results[s].items() if v]


def test_report_n_and_f(results, report):
    with report():
        print()
        for s in "ZONFS":
            hit = [k for k, v in results[s].items() if v]
            print("  Bonn %s: %2d/%d flagged %s" % (s, len(hit), len(results[s]), " ".join(hit)))
    assert sum(results["N"].values()) <= 3 and sum(results["F"].values()) <= 3


def test_margin_of_the_amplitude_threshold():
    """Not a knife edge: S stays flagged at +10 % threshold, Z/O quiet at -10 %."""
    assert all(flags("S", k_amp_on=3.3).values())
    assert not any(flags("Z", k_amp_on=2.7).values())
    assert not any(flags("O", k_amp_on=2.7).values())


def test_python_twin_gives_the_same_flags(results):
    if detect.BACKEND != "c":
        pytest.skip("only one backend")
    for s in "SO":
        assert flags(s, backend="python") == results[s]
