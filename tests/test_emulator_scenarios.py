"""The scenario library against the emulated unit, and the runner's own contract.

Every case of clinical.md §14 ships as a scenario file (scenarios/); each must
pass.  The runner's exit codes, failure messages and JUnit output are checked
with small scenarios written here.
"""
import glob
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from emulator import runner, scenario
from emulator.board import TICKS_NEAR_WRAP, EmulatedUnit

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCENARIOS = sorted(glob.glob(os.path.join(REPO, "scenarios", "**", "*.yaml"), recursive=True))


@pytest.mark.parametrize("path", SCENARIOS, ids=os.path.basename)
def test_scenario_library_passes(path):
    res = runner.run_file(path)
    assert res.passed, res.summary()
    assert res.steps_run == len(scenario.load(path).steps)


def test_every_staging_case_of_the_reference_has_a_scenario():
    sources = " ".join(scenario.load(p).reference for p in SCENARIOS)
    for case in range(1, 11):
        assert "§14 case %d" % case in sources, "no scenario for clinical.md §14 case %d" % case


def write(tmp_path, text, name="s.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


HEAD = "name: t\nversion: 1\npatient: {weight_kg: 70, se_type: convulsive}\nsteps:\n"


def test_failed_expectation_names_file_step_and_virtual_time(tmp_path):
    path = write(tmp_path, HEAD + "  - event: onset\n  - at: 4m30s\n  - expect-stage: se\n")
    res = runner.run_file(path)
    assert res.code == runner.FAILED
    assert res.step == 3
    assert res.virtual_ms == 270_000
    assert "expected stage se, got seizure" in res.message
    text = res.summary()
    assert path in text and "step 3" in text and "4m30s" in text


def test_wait_serial_timeout_exits_42(tmp_path):
    path = write(tmp_path, HEAD + "  - wait-serial: {text: 'NEVER', timeout: 3s}\n")
    res = runner.run_file(path)
    assert res.code == runner.TIMEOUT
    assert res.virtual_ms == 3000
    assert runner.exit_code([res]) == 42


def test_scenario_timeout_exits_42(tmp_path):
    path = write(tmp_path, "name: t\nversion: 1\ntimeout: 1h\npatient: {weight_kg: 70, se_type: convulsive}\n"
                           "steps:\n  - event: onset\n  - at: 2h\n")
    assert runner.run_file(path).code == runner.TIMEOUT


@pytest.mark.parametrize(
    "body, fragment",
    [
        ("  - at: '5'\n", "step 1"),  # a duration without a unit
        ("  - event: onset\n    at: 5m\n", "exactly one command per step"),
        ("  - expect-stage: refractory_se\n", "step 1"),
        ("  - jump: 5m\n", "step 1"),
        ("  - dose: {drug: lorazepam, route: iv}\n", "amount"),
    ],
)
def test_invalid_files_are_rejected_with_the_step_named(tmp_path, body, fragment):
    res = runner.run_file(write(tmp_path, HEAD + body))
    assert res.code == runner.INVALID  # not a valid scenario: an error (exit 2), not a failed expectation
    assert fragment in res.message
    assert res.steps_run == 0


def test_durations():
    assert scenario.parse_duration("1h30m") == 5_400_000
    assert scenario.parse_duration("250ms") == 250
    assert scenario.parse_duration("2d") == 172_800_000
    assert scenario.parse_duration("1.5s") == 1500
    for bad in ("5", "m", "", "5 minutes", "-1s"):
        with pytest.raises(ValueError):
            scenario.parse_duration(bad)


def test_hard_dose_is_refused_and_never_logged(tmp_path):
    path = write(tmp_path, HEAD + "  - event: onset\n  - dose: {drug: lorazepam, route: iv, amount: '40 mg', expect: hard}\n"
                                  "  - expect-stage: seizure\n")
    r = runner.Runner(scenario.load(path))
    res = r.run()
    assert res.passed, res.summary()
    assert not [e for e in r.unit.events if e["type"] == "dose"]


def test_cli_exit_codes_json_and_junit(tmp_path):
    good = SCENARIOS[0]
    bad = write(tmp_path, HEAD + "  - event: onset\n  - expect-stage: se\n", "bad.yaml")
    junit = str(tmp_path / "out.xml")
    proc = subprocess.run([sys.executable, "-m", "host_tools.cli", "scenario", "run", good, bad, "--json",
                           "--junit", junit], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert [d["passed"] for d in data] == [True, False]
    assert data[1]["step"] == 2 and data[1]["virtual_time"] == "0m00s"
    suite = ET.parse(junit).getroot()
    assert suite.get("tests") == "2" and suite.get("failures") == "1"
    assert suite.findall("testcase")[1].find("failure") is not None
    ok = subprocess.run([sys.executable, "-m", "host_tools.cli", "scenario", "run", good],
                        capture_output=True, text=True, cwd=REPO)
    assert ok.returncode == 0 and "1 passed, 0 failed" in ok.stdout


def _relative_log(emu):
    t0 = emu.unit.events[0]["t"]
    return [dict(e, t=e["t"] - t0) for e in emu.unit.events]


def _drive(tick_start):
    emu = EmulatedUnit(weight_kg=70, tick_start=tick_start)
    emu.press("ok")  # one press starts the timer
    emu.run_for(6 * 60_000)
    assert emu.unit.give("lorazepam", "iv", dose="4 mg")["logged"]
    emu.run_for(9 * 60_000)
    assert emu.unit.give("levetiracetam", "iv", dose="4200 mg", over=600)["logged"]
    emu.run_for(48 * 3_600_000)
    return emu


def test_tick_wrap_gives_the_same_episode():
    plain = _drive(0)
    wrapped = _drive(TICKS_NEAR_WRAP)
    assert wrapped.board.clock.ticks_ms() < TICKS_NEAR_WRAP  # the counter really wrapped
    assert _relative_log(plain) == _relative_log(wrapped)
    assert plain.unit.status()["stage"] == "refractory"


def test_48_hour_episode_jumps_deadline_to_deadline():
    """The emulator visits only the core's deadlines: a 48 h episode is a few dozen loop
    iterations, which is why it runs in milliseconds (timed in benchmarks/bench_emulator.py)."""
    emu = EmulatedUnit(weight_kg=70)
    emu.press("ok")
    calls = [0]
    step = emu.step_fast

    def counting(limit):
        calls[0] += 1
        return step(limit)

    emu.step_fast = counting
    emu.run_for(48 * 3_600_000)
    assert emu.now_ms >= 48 * 3_600_000
    assert calls[0] < 100, calls[0]
    assert emu.unit.status()["stage"] == "se"


def test_serial_scenario_retry_logs_the_dose_once():
    r = runner.Runner(scenario.load(os.path.join(REPO, "scenarios", "serial_link.yaml")))
    res = r.run()
    assert res.passed, res.summary()
    assert sum(1 for e in r.unit.events if e["type"] == "dose") == 1
    assert r.serial_seen.count("d1 OK") == 2  # the retry got the same answer
