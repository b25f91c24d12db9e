"""Every `statim` subcommand with bad input: one clear line naming the problem, never a traceback.

Run as a person runs them (a subprocess, real stdout and stderr), including
output piped into a reader that has gone away (`statim ... | head`), a serial
port that does not exist, and units that answer with malformed replies.
"""
import os
import subprocess
import sys

import pytest

from tests.cli_fakes import HELLO, FakePort, reply_with

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NO_PORT = "/dev/ttyACM_statim_test_absent"


def statim(*args, timeout=60, cwd=REPO):
    return subprocess.run([sys.executable, "-m", "host_tools.cli"] + list(args), capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, stdin=subprocess.DEVNULL,
                          env=dict(os.environ, PYTHONPATH=REPO))


def assert_clean(r, code, *fragments):
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout, r.stderr
    assert r.returncode == code, (r.returncode, r.stdout[-500:], r.stderr)
    said = (r.stderr + r.stdout).lower()  # a scenario report names an invalid file on stdout
    for f in fragments:
        assert f.lower() in said, (f, r.stderr)
    assert r.stderr.count("\n") <= 5, r.stderr  # a line (argparse: its usage and a line), not a dump


BAD_INPUT = [
    # (args, exit code, fragments the message must contain)
    (["status", NO_PORT], 1, [NO_PORT, "no such port"]),
    (["connect", NO_PORT, "--seconds", "1"], 1, [NO_PORT, "no such port"]),
    (["log", "export", NO_PORT], 1, [NO_PORT, "no such port"]),
    (["deploy", NO_PORT], 1, [NO_PORT, "no such port"]),
    (["druglib", "push", NO_PORT, "firmware/core/druglib.json", "--key-file", "/nonexistent.key"], 1,
     ["/nonexistent.key"]),
    (["druglib", "push", NO_PORT], 2, ["PORT FILE"]),
    (["druglib", "verify", "--path", "/nonexistent/druglib.json"], 1, ["/nonexistent/druglib.json"]),
    (["druglib", "seal", "--path", "/nonexistent/druglib.json"], 1, ["/nonexistent/druglib.json"]),
    (["run", "--weight", "0"], 2, ["weight"]),
    (["run", "--weight", "heavy"], 2, ["weight"]),
    (["detect", "/nonexistent.txt", "--fs", "256"], 1, ["/nonexistent.txt"]),
    (["detect", "README.md", "--fs", "256", "--set", "threshold"], 2, ["--set", "threshold"]),
    (["egaba", "--cl-out", "0"], 2, ["cl"]),
    (["egaba", "--temp", "nan"], 2, ["temp"]),
    (["scenario", "run", "/nonexistent.yaml"], 2, ["/nonexistent.yaml"]),
    (["scenario", "run", "README.md"], 2, ["README.md"]),
    (["board", "--flash", "README.md/board.img", "--seconds", "1"], 2, ["README.md", "not a folder"]),
]


@pytest.mark.parametrize("args,code,fragments", BAD_INPUT, ids=[" ".join(a[0][:2]) for a in BAD_INPUT])
def test_bad_input_gives_one_clear_line(args, code, fragments):
    r = statim(*args)
    assert_clean(r, code, *fragments)


def test_a_missing_port_is_named_once():
    r = statim("status", NO_PORT)
    assert_clean(r, 1, NO_PORT)
    assert r.stderr.count("Errno") <= 1 and r.stderr.count(NO_PORT) == 1, r.stderr


def test_dose_with_bad_values_is_a_verdict_not_a_crash():
    r = statim("dose", "--weight", "seventy", "--drug", "lorazepam", "--route", "iv", "--dose", "4 mg")
    assert "Traceback" not in r.stderr and r.returncode == 6 and r.stdout.startswith("ERROR:")
    assert "weight" in r.stdout


@pytest.mark.parametrize("args", [["druglib", "list"], ["egaba"], ["info"],
                                  ["dose", "--weight", "70kg", "--drug", "lorazepam", "--route", "iv",
                                   "--dose", "4 mg"]])
def test_closed_pipe_is_quiet(args):
    p = subprocess.Popen([sys.executable, "-m", "host_tools.cli"] + args, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, cwd=REPO, env=dict(os.environ, PYTHONPATH=REPO))
    p.stdout.close()  # the reader (head) has gone
    err = p.stderr.read().decode()
    rc = p.wait(60)
    assert "Traceback" not in err and "Exception ignored" not in err and "BrokenPipe" not in err, err
    assert rc == 141, (rc, err)


def test_closed_pipe_from_a_live_unit_is_quiet(tmp_path):
    p = subprocess.Popen("%s -m host_tools.cli log export 'emu://?weight=70' --format csv | head -c 10"
                         % sys.executable, shell=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO,
                         env=dict(os.environ, PYTHONPATH=REPO))
    out, err = p.communicate(timeout=60)
    assert "Traceback" not in err.decode(), err.decode()
    assert out.startswith(b"seq,")


MALFORMED = [
    ({"HELLO": HELLO, "STATUS": "{not json"}, ["status"], "STATUS"),
    ({"HELLO": HELLO, "STATUS": "[1, 2]"}, ["status"], "STATUS"),
    ({"HELLO": HELLO, "STATUS": '{"stage": "se", "due": 5, "alarms": [[]]}'}, ["status"], "STATUS"),
    ({"HELLO": HELLO, "LOG": '{"events": 3}'}, ["log", "export"], "LOG"),
    ({"HELLO": HELLO, "LOG": "{truncated"}, ["log", "export", "--format", "csv"], "LOG"),
    ({"HELLO": 'proto=1 unit="unterminated'}, ["status"], "HELLO"),
    ({"HELLO": HELLO, "STATUS": "{}", "CHALLENGE": "nonce=zz"}, ["druglib", "push"], "CHALLENGE"),
]


@pytest.mark.parametrize("table,cmd,word", MALFORMED, ids=[m[2] + "-%d" % i for i, m in enumerate(MALFORMED)])
def test_malformed_replies_are_named_not_tracebacks(table, cmd, word, tmp_path):
    fake = FakePort(reply_with(table))
    try:
        args = cmd + [fake.path]
        if cmd[0] == "druglib":
            key = tmp_path / "k"
            key.write_text("00" * 32)
            args += ["firmware/core/druglib.json", "--key-file", str(key)]
        r = statim(*args, "--timeout", "0.5")
    finally:
        fake.close()
    assert_clean(r, 1, "malformed reply", word)
