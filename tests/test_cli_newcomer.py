"""What a newcomer meets first: `make test` output, `statim run --png`, `make run`'s
install output, and the README's way of calling statim."""
import os
import re
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = os.path.join(REPO, "tests")


def test_no_test_prints_through_the_capture():
    """Metrics printed with capsys.disabled() land between pytest's dots: they go through
    the `report` fixture, shown at the end with --metrics."""
    offenders = []
    for name in sorted(os.listdir(TESTS)):
        if name.endswith(".py") and name != os.path.basename(__file__):
            text = open(os.path.join(TESTS, name), encoding="utf-8").read()
            if "capsys.disabled()" in text:
                offenders.append(name)
    assert not offenders, offenders


def _pytest(*args):
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/test_detect_bonn.py", "-k", "report_n_and_f"] + list(args),
                          capture_output=True, text=True, cwd=REPO, timeout=300)


BONN = os.path.join(os.path.dirname(REPO), "shared", "data", "bonn")


@pytest.mark.skipif(not os.path.isdir(BONN), reason="Bonn data not present (../shared/data/bonn)")
def test_detector_metrics_only_with_the_flag_and_after_the_dots():
    quiet = _pytest()
    assert quiet.returncode == 0, quiet.stdout[-2000:]
    assert "Bonn S:" not in quiet.stdout
    loud = _pytest("--metrics")
    assert loud.returncode == 0
    out = loud.stdout
    assert "Bonn S: 15/15" in out
    dots = re.search(r"^\.+\s+\[100%\]$", out, re.M)
    assert dots and out.index("Bonn S:") > dots.end()  # in the summary, not among the dots


def test_run_png_in_a_terminal_says_it_is_ignored(monkeypatch, capsys, tmp_path):
    from host_tools import cli
    from emulator import panel

    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)

    class Fake:
        class unit:
            events = []

        class board:
            class flash:
                root = str(tmp_path)

    monkeypatch.setattr(panel, "run", lambda **kw: Fake)
    rc = cli.main(["run", "--png", str(tmp_path / "shots")])
    err = capsys.readouterr().err
    assert rc == 0
    assert "--png" in err and "--demo" in err  # says it is for the demo, and how to get it


def test_run_png_with_demo_writes_the_screens(tmp_path, capsys):
    from host_tools import cli

    rc = cli.main(["run", "--demo", "--png", str(tmp_path)])
    assert rc == 0
    assert any(n.endswith(".png") for n in os.listdir(tmp_path))


def test_setup_py_declares_nothing_setuptools_deprecates():
    """`make run` printed setuptools' deprecation block twice: the project's metadata lives in
    pyproject.toml; setup.py only adds the cffi build and may not repeat license metadata in
    the deprecated table form."""
    import tomllib

    with open(os.path.join(REPO, "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)["project"]
    assert isinstance(project.get("license"), str), "license as an SPDX string (PEP 639), not a table"
    assert not any(c.startswith("License ::") for c in project.get("classifiers", []))


def test_reading_the_project_metadata_prints_no_deprecation(tmp_path):
    """The metadata step pip runs for `make setup` (setuptools reads pyproject.toml): no
    deprecation block.  Run on a copy of the build files, so no build output lands in the tree."""
    import shutil

    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(os.path.join(REPO, name), tmp_path / name)
    for d in ("firmware/core_c", "emulator/patient_c"):  # setup.py names their cffi build scripts
        shutil.copytree(os.path.join(REPO, d), tmp_path / d, ignore=shutil.ignore_patterns("*.so", "*.o", "_*.c"))
    r = subprocess.run([sys.executable, "setup.py", "--name"], capture_output=True, text=True, timeout=300,
                       cwd=str(tmp_path))
    text = r.stdout + r.stderr
    assert r.returncode == 0 and "statim" in r.stdout, text[-2000:]
    assert "eprecat" not in text, [line for line in text.splitlines() if "eprecat" in line][:5]


def test_readme_states_activate_or_prefix_once():
    readme = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    assert "## Calling statim" in readme
    section = readme.split("## Calling statim", 1)[1].split("\n## ", 1)[0]
    assert "source .venv/bin/activate" in section and ".venv/bin/statim" in section
    rest = readme.replace(section, "")
    assert ".venv/bin/statim" not in rest and ".venv/bin/mpremote" not in rest
