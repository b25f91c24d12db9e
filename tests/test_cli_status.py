"""`statim status`, `connect` and `monitor` in the nurse's terms.

The timeline is clinical.md's convulsive SE (§14 case 1, ILAE t1 = 5 min): a
seizure timed from onset, untreated at 7 min, is status epilepticus with the
first-line benzodiazepine overdue by 2 min.  A dose given over the link by
another program shows on `statim monitor` with the time since onset.
"""
import json
import re
import threading
import time

import pytest

from host_tools import cli, link, protocol_emu
from firmware.core import frames as _f


@pytest.fixture
def bed():
    name = "nurse-%d" % id(object())
    live, _ = protocol_emu.get_unit("emu://%s?weight=70" % name)
    yield "emu://" + name, live
    protocol_emu.shutdown(name)


def onset_then(live, minutes):
    live.call(lambda u: u.onset("convulsive", None))
    live.advance(minutes * 60_000)


def run_cli(args, capsys):
    rc = cli.main(args)
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_status_shows_time_since_onset_stage_and_named_due_actions(bed, capsys):
    port, live = bed
    onset_then(live, 7)
    rc, out, err = run_cli(["status", port], capsys)
    assert rc == 0, err
    assert "7m00s since onset" in out
    assert "stage status epilepticus" in out
    assert "due   first-line benzodiazepine: overdue by 2m00s" in out
    assert "ALARM first-line benzodiazepine overdue" in out
    assert not re.search(r"\bt=\d{6,}", out)  # no raw unit clock


def test_status_json_has_named_fields(bed, capsys):
    port, live = bed
    onset_then(live, 7)
    rc, out, _ = run_cli(["status", port, "--json"], capsys)
    d = json.loads(out)
    assert d["since_onset_s"] == 420 and d["since_onset"] == "7m00s"
    assert d["stage"] == "se" and d["seizure_active"] is True
    first = [x for x in d["due"] if x["action"] == "first_line"][0]
    assert first["status"] == "overdue" and first["due_in_s"] == -120 and first["label"] == "first-line benzodiazepine"
    assert first["countdown"] == "overdue by 2m00s"
    alarm = [a for a in d["alarms"] if a["alarm"] == "first_line_overdue"][0]
    assert alarm["for_s"] == 120 and alarm["acknowledged"] is False
    assert d["weight_kg"] == 70.0


def test_status_before_any_seizure(bed, capsys):
    port, _ = bed
    rc, out, _ = run_cli(["status", port], capsys)
    assert rc == 0 and "no seizure timed" in out and "since onset" not in out


def test_connect_shows_the_time_since_onset(bed, capsys):
    port, live = bed
    onset_then(live, 2)
    rc, out, err = run_cli(["connect", port, "--seconds", "0.3", "--interval", "0"], capsys)
    assert rc == 0, err
    assert "2m00s since onset" in out


def test_monitor_shows_a_dose_pushed_over_the_link(bed, capsys):
    port, live = bed
    onset_then(live, 6)
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("rc", cli.main(["monitor", port, "--seconds", "2"])))
    t.start()
    time.sleep(0.7)  # monitor is listening
    # Another program on the unit's link gives lorazepam 4 mg IV (clinical.md §14 case 2).
    live.uart.host_write(_f.seal(link.body("other.1", "DOSE", ("lorazepam", "iv"), {"dose": "4 mg"})))
    t.join(10)
    out = capsys.readouterr().out
    assert result.get("rc") == 0, out
    assert "monitoring STATIM-0001" in out and "6m00s since onset" in out
    dose = [line for line in out.splitlines() if "DOSE lorazepam iv 4 mg" in line]
    assert dose and dose[0].startswith("+6m0"), out
