"""statim dose / statim druglib: JSON keys, exit codes, human output."""
import json
import subprocess
import sys

import pytest

from host_tools import cli

KEYS = {"verdict", "target", "maximum", "volume_ml", "min_minutes", "counts_as_adequate", "messages"}


def run_cli(args, capsys):
    rc = cli.main(args)
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_dose_json_keys_and_numbers(capsys):
    rc, out, _ = run_cli(["dose", "--weight", "70kg", "--drug", "fosphenytoin", "--route", "iv",
                          "--dose", "1400 mg PE", "--over", "5min", "--json"], capsys)
    assert rc == 5  # hard: the exit code is the verdict's
    d = json.loads(out)
    assert KEYS <= set(d)
    assert d["verdict"] == "hard"
    assert d["volume_ml"] == 28.0 and d["min_minutes"] == 9.4
    assert d["counts_as_adequate"] is True  # the amount is a full load; the rate is what is refused


def test_dose_weight_in_lb(capsys):
    rc, out, _ = run_cli(["dose", "--weight", "44lb", "--drug", "levetiracetam", "--route", "iv",
                          "--dose", "2640 mg", "--json"], capsys)
    assert rc == 5 and json.loads(out)["verdict"] == "hard"


def test_dose_rate_and_duration(capsys):
    rc, out, _ = run_cli(["dose", "--weight", "70kg", "--drug", "propofol", "--route", "infusion",
                          "--rate", "90 mcg/kg/min", "--duration", "72h", "--json"], capsys)
    d = json.loads(out)
    assert rc == 4 and d["verdict"] == "soft" and d["pump_ml_h"] == 37.8


def test_reference_option(capsys):
    base = ["dose", "--weight", "70kg", "--drug", "levetiracetam", "--route", "iv", "--dose", "1000 mg", "--json"]
    assert json.loads(run_cli(base, capsys)[1])["verdict"] == "underdosed"
    assert json.loads(run_cli(base + ["--reference", "ncs"], capsys)[1])["verdict"] == "adequate"


def test_error_verdict_exits_six(capsys):
    rc, out, _ = run_cli(["dose", "--weight", "70kg", "--drug", "lorazepam", "--route", "iv", "--dose", "4", "--json"], capsys)
    d = json.loads(out)
    assert rc == 6 and d["verdict"] == "error" and "no unit" in d["messages"][-1]


@pytest.mark.parametrize("args", [
    ["dose", "--weight", "70kg", "--drug", "lorazepam", "--route", "iv"],  # no dose or rate
    ["dose", "--weight", "70kg", "--drug", "lorazepam", "--route", "iv", "--dose", "4 mg", "--rate", "1 mg/h"],
    ["dose", "--drug", "lorazepam", "--route", "iv", "--dose", "4 mg"],  # no weight
    ["dose", "--weight", "70kg", "--drug", "lorazepam", "--route", "iv", "--dose", "4 mg", "--reference", "who"],
])
def test_usage_errors_exit_nonzero(args, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(args)
    assert e.value.code == 2


def test_human_output(capsys):
    rc, out, _ = run_cli(["dose", "--weight", "25kg", "--drug", "midazolam", "--route", "im", "--dose", "5 mg"], capsys)
    assert rc == 0
    assert out.startswith("ADEQUATE: midazolam im")
    assert "underdosed: established-SE criteria not met" in out


def test_druglib_verify_hash_and_tamper(tmp_path, capsys):
    from firmware.core import druglib
    rc, out, _ = run_cli(["druglib", "verify", "--json"], capsys)
    d = json.loads(out)
    assert rc == 0 and d["verified"] is True
    rc, out, _ = run_cli(["druglib", "hash"], capsys)
    assert out.strip() == d["sha256"]
    text = open(druglib.default_path(), encoding="utf-8").read()
    bad = tmp_path / "lib.json"
    bad.write_text(text.replace('"ug_per_kg": 100,', '"ug_per_kg": 1000,', 1), encoding="utf-8")
    rc, _, err = run_cli(["druglib", "verify", "--path", str(bad)], capsys)
    assert rc == 1 and "integrity" in err
    rc, _, _ = run_cli(["druglib", "seal", "--path", str(bad)], capsys)
    assert rc == 0
    rc, _, _ = run_cli(["druglib", "verify", "--path", str(bad)], capsys)
    assert rc == 0


def test_druglib_list(capsys):
    rc, out, _ = run_cli(["druglib", "list", "--json"], capsys)
    d = json.loads(out)
    assert rc == 0 and len(d["entries"]) == 18  # clinical.md section 11: 13 drugs, 18 routes


def test_statim_entry_point():
    r = subprocess.run([sys.executable, "-m", "host_tools", "dose", "--weight", "70kg", "--drug", "lorazepam",
                        "--route", "iv", "--dose", "4 mg", "--json"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["verdict"] == "adequate"
