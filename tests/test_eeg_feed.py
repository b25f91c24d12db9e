"""The EEG feed writer for the emulated ADS1299 (emulator/rp2040/eeg_feed.py), in CPython.

The board test (tests/test_board_eeg.py) relies on what is checked here: the file format the
emulated chip reads, and a preset feed whose seizure and burst suppression the detector finds."""
import os
import struct

import pytest

from emulator.rp2040 import eeg_feed
from firmware.core import detect


def test_file_is_headerless_little_endian_float32(tmp_path):
    path = str(tmp_path / "f.f32")
    assert eeg_feed.write_samples(path, [0.0, -12.5, 1e3, 3.25]) == 4
    raw = open(path, "rb").read()
    assert len(raw) == 16 and struct.unpack("<4f", raw) == (0.0, -12.5, 1000.0, 3.25)
    assert list(eeg_feed.read_samples(path)) == [0.0, -12.5, 1000.0, 3.25]
    (tmp_path / "bad").write_bytes(b"\0" * 6)
    with pytest.raises(ValueError, match="float32"):
        eeg_feed.read_samples(str(tmp_path / "bad"))


def test_codes_match_the_chip_scale():
    # gain 24, Vref 4.5 V: 1 LSB = 4.5 / 24 / 2^23 V = 0.02235 µV; full scale +-187.5 mV
    assert eeg_feed.to_codes([0.0, 4.5 / 24 / 8388608 * 1e6, -100.0]) == [0, 1, -4474]
    assert eeg_feed.to_codes([1e6, -1e6]) == [0x7FFFFF, -0x800000]


def test_resample_keeps_a_ramp_and_the_duration():
    x = [float(i) for i in range(174)]  # 1 s at 173.61 Hz... a ramp of 1 unit per input sample
    y = eeg_feed.resample(x, 173.61, 250.0)
    assert len(y) == int((174 - 1) * 250.0 / 173.61) + 1
    for j in (0, 1, 100, len(y) - 1):
        assert y[j] == pytest.approx(j * 173.61 / 250.0, abs=1e-3)


def test_script_parser_reads_steps_and_refuses_nonsense():
    steps = eeg_feed.parse_script("eeg 20s; onset\n give lorazepam 4 mg; infusion propofol 150 mcg/kg/min; skip 1h")
    assert steps == [("eeg", 20.0), ("onset",), ("give", "lorazepam", 4.0, "mg", "iv"),
                     ("infusion", "propofol", 150.0, "mcg/kg/min"), ("skip", 3600.0)]
    for bad in ("eeg", "eeg 20", "dance", "give lorazepam 4 tablets"):
        with pytest.raises(ValueError):
            eeg_feed.parse_script(bad)


def test_patient_feed_marks_and_length():
    x, marks = eeg_feed.patient_feed("eeg 2s; onset; skip 10m; eeg 1s", fs=250.0, seed=3, weight_kg=50)
    assert len(x) == 750
    assert [m[0] for m in marks] == [0.0, 2.0, 2.0, 2.0]
    assert marks[-1][1] == pytest.approx(602.0)


def test_preset_the_board_test_uses_shows_seizure_then_burst_suppression(tmp_path):
    """The detector (as on the board: 250 Hz, 64-sample blocks) finds both states in the preset."""
    path = str(tmp_path / "sebs.f32")
    assert eeg_feed.main(["-o", path, "patient", "--preset", "se-then-bs"]) == 0
    x = eeg_feed.read_samples(path)
    assert len(x) == 200 * 250
    det = detect.Detector(eeg_feed.FS)
    events = []
    for i in range(0, len(x), 64):
        events += det.process(x[i:i + 64])
    states = [(e["state"], e["at_ms"] // 1000) for e in events if e["state"] != "bsr"]
    names = [s for s, _ in states]
    assert names[:3] == ["seizure_on", "seizure_off", "bs_on"], states
    assert 25 <= states[0][1] <= 60 and states[2][1] <= 190


BONN = eeg_feed.BONN_DIR


@pytest.mark.skipif(not os.path.isdir(BONN), reason="Bonn data absent (../shared/data/bonn)")
def test_bonn_feed_resamples_segments_in_order(tmp_path):
    x = eeg_feed.bonn_feed(["Z001", "S001"])
    one = int((4097 - 1) * 250.0 / 173.61) + 1
    assert len(x) == 2 * one
    path = str(tmp_path / "b.f32")
    assert eeg_feed.main(["-o", path, "bonn", "Z001"]) == 0
    assert list(eeg_feed.read_samples(path)) == list(x[:one])
