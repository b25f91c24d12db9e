"""Exit codes of `statim dose` and `statim scenario run`, as a script or CI reads them.

dose: 0 adequate, 3 underdosed, 4 soft, 5 hard, 6 error (not verified), 2 usage.
scenario run: folders and globs expand; a file that is not a valid scenario is
an error (exit 2, JUnit <error>, every schema problem named); failures are all
reported; 42 only when the only problem is a timeout; JUnit classnames come
from the file paths.
"""
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from host_tools import cli

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The dose cases come from clinical.md §11 (AES reference, 70 kg adult): lorazepam IV
# 0.1 mg/kg max 4 mg; levetiracetam 60 mg/kg (1000 mg is under it); propofol above
# 80 mcg/kg/min or beyond 48 h is a soft limit; 40 mg lorazepam is ten times the cap.
DOSES = [
    (["--drug", "lorazepam", "--route", "iv", "--dose", "4 mg"], "adequate", 0),
    (["--drug", "levetiracetam", "--route", "iv", "--dose", "1000 mg"], "underdosed", 3),
    (["--drug", "propofol", "--route", "infusion", "--rate", "90 mcg/kg/min", "--duration", "72h"], "soft", 4),
    (["--drug", "lorazepam", "--route", "iv", "--dose", "40 mg"], "hard", 5),
    (["--drug", "lorazepam", "--route", "iv", "--dose", "4"], "error", 6),
]


@pytest.mark.parametrize("extra,verdict,code", DOSES, ids=[d[1] for d in DOSES])
def test_dose_exit_code_per_verdict(extra, verdict, code):
    r = subprocess.run([sys.executable, "-m", "host_tools.cli", "dose", "--weight", "70kg"] + extra,
                       capture_output=True, text=True, cwd=REPO)
    assert r.stdout.startswith(verdict.upper() + ":"), r.stdout + r.stderr
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)


def test_exit_codes_are_documented_in_help_and_readme(capsys):
    with pytest.raises(SystemExit):
        cli.main(["dose", "--help"])
    dose_help = capsys.readouterr().out
    for text in ("3 underdosed", "4 soft", "5 hard", "6 error"):
        assert text in dose_help
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    top = capsys.readouterr().out
    assert "exit codes" in top and "42" in top
    with pytest.raises(SystemExit):
        cli.main(["scenario", "run", "--help"])
    assert "42" in capsys.readouterr().out
    readme = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    section = readme.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    for text in ("3 underdosed", "4 soft", "5 hard", "6 error", "42", "141"):
        assert text in section, text


HEAD = "name: %s\nversion: 1\npatient: {weight_kg: 70, se_type: convulsive}\n"
PASSING = HEAD % "passes" + "steps:\n  - event: onset\n  - at: 6m\n  - expect-stage: se\n"
FAILING = HEAD % "fails" + "steps:\n  - event: onset\n  - expect-stage: refractory\n"
TIMING_OUT = HEAD % "times out" + "timeout: 1m\nsteps:\n  - event: onset\n  - at: 5m\n  - expect-stage: se\n"
# two schema problems: the version is not 1, and a step has an unknown command
INVALID = "name: invalid\nversion: 7\npatient: {weight_kg: 70, se_type: convulsive}\n" \
          "steps:\n  - event: onset\n  - fly: away\n"


def scen(tmp_path, *files):
    d = tmp_path / "suite"
    d.mkdir(exist_ok=True)
    for name, text in files:
        (d / name).write_text(text)
    return d


def run_scenarios(tmp_path, *args):
    r = subprocess.run([sys.executable, "-m", "host_tools.cli", "scenario", "run"] + list(args),
                       capture_output=True, text=True, cwd=str(tmp_path),
                       env=dict(os.environ, PYTHONPATH=REPO))
    assert "Traceback" not in r.stderr, r.stderr
    return r


def test_a_folder_expands_to_its_scenarios(tmp_path):
    d = scen(tmp_path, ("a.yaml", PASSING), ("b.yml", PASSING))
    (d / "notes.txt").write_text("not a scenario")
    r = run_scenarios(tmp_path, "suite", "--junit", "out.xml")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2 passed, 0 failed" in r.stdout
    cases = ET.parse(str(tmp_path / "out.xml")).getroot().findall("testcase")
    assert len(cases) == 2


def test_a_quoted_glob_expands(tmp_path):
    scen(tmp_path, ("a.yaml", PASSING), ("b.yaml", FAILING))
    r = run_scenarios(tmp_path, "suite/*.yaml")
    assert r.returncode == 1
    assert "1 passed, 1 failed" in r.stdout


def test_a_missing_file_or_empty_folder_is_a_usage_error(tmp_path):
    (tmp_path / "empty").mkdir()
    r = run_scenarios(tmp_path, "nope.yaml")
    assert r.returncode == 2 and "nope.yaml" in r.stderr and "no such file" in r.stderr
    r = run_scenarios(tmp_path, "empty")
    assert r.returncode == 2 and "no scenario files" in r.stderr


def test_schema_errors_are_errors_and_all_are_named(tmp_path):
    scen(tmp_path, ("bad.yaml", INVALID), ("fails.yaml", FAILING))
    r = run_scenarios(tmp_path, "suite", "--junit", "out.xml")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "version" in r.stdout and "step 2" in r.stdout  # both schema problems
    assert "1 failed" in r.stdout and "1 invalid" in r.stdout
    suite = ET.parse(str(tmp_path / "out.xml")).getroot()
    bad, fails = suite.findall("testcase")
    assert bad.find("error") is not None and bad.find("failure") is None
    assert fails.find("failure") is not None
    assert suite.get("errors") == "1" and suite.get("failures") == "1"


def test_failures_are_not_hidden_by_a_timeout(tmp_path):
    scen(tmp_path, ("a.yaml", FAILING), ("b.yaml", TIMING_OUT), ("c.yaml", FAILING))
    r = run_scenarios(tmp_path, "suite", "--junit", "out.xml")
    assert r.returncode == 1, r.stdout
    assert r.stdout.count("FAIL ") == 2 and r.stdout.count("TIMEOUT ") == 1
    assert "0 passed, 2 failed, 1 timed out" in r.stdout
    suite = ET.parse(str(tmp_path / "out.xml")).getroot()
    assert suite.get("failures") == "2" and suite.get("errors") == "1"


def test_42_only_when_a_timeout_is_the_only_problem(tmp_path):
    scen(tmp_path, ("a.yaml", PASSING), ("b.yaml", TIMING_OUT))
    r = run_scenarios(tmp_path, "suite")
    assert r.returncode == 42, r.stdout
    assert "1 passed, 0 failed, 1 timed out" in r.stdout


def test_junit_classnames_come_from_file_paths(tmp_path):
    d = scen(tmp_path, ("a.yaml", PASSING))
    (d / "deep").mkdir()
    (d / "deep" / "b.yaml").write_text(PASSING)
    r = run_scenarios(tmp_path, "suite", "--junit", "out.xml")
    assert r.returncode == 0
    names = sorted(c.get("classname") for c in ET.parse(str(tmp_path / "out.xml")).getroot().findall("testcase"))
    assert names == ["suite.a", "suite.deep.b"]
