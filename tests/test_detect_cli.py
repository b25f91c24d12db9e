"""statim detect: text and EDF in, text or JSON out."""
import json
import math

import pytest

from host_tools import cli

np = pytest.importorskip("numpy")
synth = pytest.importorskip("host_tools.eeg_synth")


def _signal(fs, minutes, seizure=None, seed=3):
    rng = np.random.default_rng(seed)
    n = int(minutes * 60 * fs)
    x = synth.background(n, fs, rng, 20.0)
    if seizure:
        a, d = seizure
        i, j = int(a * fs), int((a + d) * fs)
        x[i:j] += synth.seizure_wave(j - i, fs, rng, 80.0)
    return x


def _json(argv, capsys):
    assert cli.main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_text_files_json(tmp_path, capsys):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("# µV at 256 Hz\n" + "\n".join("%.3f" % v for v in _signal(256.0, 6, (120.0, 60.0))) + "\n")
    b.write_text("\n".join("%.3f" % v for v in _signal(256.0, 3)))
    out = _json(["detect", str(a), str(b), "--fs", "256", "--json"], capsys)
    assert [r["file"] for r in out] == [str(a), str(b)]
    for r in out:
        for key in ("file", "seizure", "events", "bsr_percent", "burden_percent"):
            assert key in r
        assert set(r["bsr_percent"]) >= {"final", "series"}
    assert out[0]["seizure"] is True and out[1]["seizure"] is False
    (start, end), = out[0]["events"]
    assert abs(start - 120.0) < 5 and abs(end - 180.0) < 5
    assert out[0]["burden_percent"]["final"] == pytest.approx(100 * 60 / 3600, abs=0.5)
    assert out[1]["events"] == []


def test_text_output_and_errors(tmp_path, capsys):
    a = tmp_path / "a.txt"
    a.write_text("\n".join("%.2f" % v for v in _signal(128.0, 4, (60.0, 40.0))))
    assert cli.main(["detect", str(a), "--fs", "128"]) == 0
    text = capsys.readouterr().out
    assert "SEIZURE" in text and "BSR" in text
    assert cli.main(["detect", str(a)]) == 1  # text needs --fs
    assert "--fs" in capsys.readouterr().err
    bad = tmp_path / "bad.txt"
    bad.write_text("1\n2\nthree\n")
    assert cli.main(["detect", str(bad), "--fs", "128"]) == 1
    assert "bad.txt:3" in capsys.readouterr().err


def test_edf_two_channels(tmp_path, capsys):
    pyedflib = pytest.importorskip("pyedflib")
    fs = 256
    sz = _signal(fs, 5, (100.0, 50.0), seed=4)
    quiet = _signal(fs, 5, seed=5)
    path = str(tmp_path / "rec.edf")
    headers = [pyedflib.highlevel.make_signal_header(lbl, dimension="uV", sample_frequency=fs,
                                                     physical_min=-2000, physical_max=2000)
               for lbl in ("F7-T3", "F8-T4")]
    pyedflib.highlevel.write_edf(path, [sz, quiet], headers)
    out = _json(["detect", path, "--json"], capsys)
    (r,) = out
    assert r["seizure"] is True and r["fs"] == 256.0
    assert [c["seizure"] for c in r["channels"]] == [True, False]
    assert [c["label"] for c in r["channels"]] == ["F7-T3", "F8-T4"]
    (start, end), = r["events"]
    assert abs(start - 100) < 10 and abs(end - 150) < 5  # 100 s in: the baseline is still near its prior
    assert cli.main(["detect", path, "--fs", "200"]) == 1  # a contradicting --fs is an error
    capsys.readouterr()


def test_parameter_override(tmp_path, capsys):
    a = tmp_path / "a.txt"
    a.write_text("\n".join("%.2f" % v for v in _signal(128.0, 4, (60.0, 40.0))))
    out = _json(["detect", str(a), "--fs", "128", "--json", "--set", "seizure_min_s=60"], capsys)
    assert out[0]["seizure"] is False  # a 40-s seizure is below a 60-s minimum
    assert math.isfinite(out[0]["bsr_percent"]["final"])
