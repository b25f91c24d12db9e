"""One spelling for weights across commands (70kg, 154lb), and a stable, documented
CSV schema for `statim log export` (amounts with units)."""
import csv
import io
import os
import subprocess
import sys

import pytest

from firmware.core import events as E
from host_tools import cli, export, protocol_emu

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LB_154_G = 69853  # 154 lb = 154 x 453.59237 g = 69852.9 g


def test_run_takes_weights_with_units(capsys):
    p = cli.build_parser()
    assert p.parse_args(["run", "--weight", "70kg"]).weight == 70000
    assert p.parse_args(["run", "--weight", "154lb"]).weight == LB_154_G
    assert p.parse_args(["run", "--weight", "70 kg"]).weight == 70000
    assert "deprecated" not in capsys.readouterr().err


def test_run_keeps_the_bare_number_with_a_deprecation_note(capsys):
    assert cli.build_parser().parse_args(["run", "--weight", "70"]).weight == 70000
    err = capsys.readouterr().err
    assert "deprecated" in err and "--weight 70kg" in err


def test_dose_never_takes_a_bare_number(capsys):
    rc = cli.main(["dose", "--weight", "70", "--drug", "lorazepam", "--route", "iv", "--dose", "4 mg"])
    out = capsys.readouterr().out
    assert rc == 6 and out.startswith("ERROR:") and "no unit" in out


@pytest.mark.parametrize("spelling,grams", [("70kg", 70000), ("154lb", LB_154_G), ("70", 70000)])
def test_emu_url_weight(spelling, grams):
    name = "w%s" % spelling
    live, _ = protocol_emu.get_unit("emu://%s?weight=%s" % (name, spelling))
    try:
        assert live.unit.weight_g == grams
    finally:
        protocol_emu.shutdown(name)


@pytest.mark.parametrize("args,deprecated", [(["--weight", "154lb"], False), (["--weight-kg", "70"], True)])
def test_emulator_live_weight_spellings(args, deprecated):
    p = subprocess.Popen([sys.executable, "-m", "emulator.live", "--pty"] + args, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        port = p.stdout.readline().strip()
        assert port.startswith("/dev/"), p.stderr.read() if p.poll() is not None else port
        r = subprocess.run([sys.executable, "-m", "host_tools.cli", "status", port, "--json"], capture_output=True,
                           text=True, cwd=REPO, timeout=60)
        import json

        w = json.loads(r.stdout)["weight_kg"]
        assert w == (69.853 if "154lb" in args else 70.0)
    finally:
        p.terminate()
        err = p.communicate(timeout=10)[1]
    assert ("deprecated" in err) == deprecated, err


ONSET_T = 1_000_000


def episode_rows():
    evs = [E.power_up(ONSET_T - 100, True), E.weight(ONSET_T - 50, 70000), E.onset(ONSET_T, "convulsive"),
           E.dose(ONSET_T + 360, "lorazepam", "iv", 4000, 1, bzd_permille=1000),
           E.dose(ONSET_T + 900, "fosphenytoin", "iv", 1_400_000, 2, second_line_adequate=True, end_t=ONSET_T + 1500),
           E.infusion(ONSET_T + 3000, "start", "midazolam", rate_ug_kg_h=200),
           E.alarm(ONSET_T + 3100, "ack", "second_line_overdue"),
           E.note(ONSET_T + 3200, 'family informed, "calm"')]
    return list(enumerate(evs))


def read(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_columns_do_not_depend_on_the_events_present():
    rows = episode_rows()
    full = export.to_csv(rows).splitlines()[0]
    only_onset = export.to_csv([rows[2]]).splitlines()[0]
    assert full == only_onset == ",".join(export.CSV_COLUMNS)


def test_csv_amounts_carry_their_units():
    rows = read(export.to_csv(episode_rows()))
    lzp, fos = [r for r in rows if r["type"] == "dose"]
    assert lzp["drug"] == "lorazepam" and lzp["amount"] == "4 mg" and lzp["since_onset_s"] == "360"
    assert fos["amount"] == "1400 mg PE" and fos["end_utc"].endswith("Z")
    inf = [r for r in rows if r["type"] == "infusion"][0]
    assert inf["rate"] == "0.2 mg/kg/h" and inf["value"] == "start"
    weight = [r for r in rows if r["type"] == "weight"][0]
    assert weight["value"] == "70 kg" and weight["since_onset_s"] == ""
    assert [r for r in rows if r["type"] == "note"][0]["value"] == 'family informed, "calm"'
    assert not any(k.endswith("_ug") for k in rows[0])


def test_csv_columns_are_documented():
    doc = open(os.path.join(REPO, "docs", "log-csv.md"), encoding="utf-8").read()
    for col in export.CSV_COLUMNS:
        assert "| `%s` |" % col in doc, col
