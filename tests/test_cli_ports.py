"""Ports: opened exclusively, and the messages that tell a busy port, a unit at its
REPL, a silent port and a port speaking something else apart."""
import os
import subprocess
import sys
import time

import pytest

from emulator.live import LiveUnit
from host_tools import link
from tests.cli_fakes import FakePort

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def statim(*args, timeout=60):
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "host_tools.cli"] + list(args), capture_output=True, text=True,
                       timeout=timeout, cwd=REPO, stdin=subprocess.DEVNULL, env=dict(os.environ, PYTHONPATH=REPO))
    r.elapsed = time.monotonic() - t0
    assert "Traceback" not in r.stderr, r.stderr
    return r


@pytest.fixture
def pty_unit():
    live = LiveUnit(uart="pty", weight_kg=70).start()
    yield live
    live.stop()


def test_a_second_client_on_a_pty_is_told_the_port_is_busy(pty_unit):
    with link.open_link(pty_unit.port) as first:  # statim connect, running
        first.hello()
        r = statim("status", pty_unit.port)
        assert r.returncode == 1
        assert "busy" in r.stderr and pty_unit.port in r.stderr, r.stderr
        assert r.elapsed < 5  # no 8 s of retries
        assert first.hello()["unit"]  # the first client still gets its replies
    r = statim("status", pty_unit.port)  # once it is closed, the port is free
    assert r.returncode == 0, r.stderr


def test_a_second_client_on_a_named_emulated_unit_is_told_busy():
    with link.open_link("emu://busy-test") as first:
        first.hello()
        with pytest.raises(link.LinkError) as e:
            link.open_link("emu://busy-test")
        assert "busy" in str(e.value)
        assert first.hello()["unit"]
    with link.open_link("emu://busy-test") as again:
        assert again.hello()["unit"]


REPL_GREETING = b"\r\nMicroPython v1.28.0 on 2026-01-01; Raspberry Pi Pico with RP2040\r\n>>> "


def repl_echo(line):
    return line + b"\r\nTraceback (most recent call last):\r\n  File \"<stdin>\", line 1\r\n" \
                  b"SyntaxError: invalid syntax\r\n>>> "


def test_a_unit_at_its_repl_is_named_as_such_and_fast():
    fake = FakePort(repl_echo, greeting=REPL_GREETING)
    try:
        r = statim("status", fake.path)
    finally:
        fake.close()
    assert r.returncode == 1
    assert "REPL" in r.stderr and "no reply" not in r.stderr, r.stderr
    assert r.elapsed < 5, r.elapsed


def test_a_silent_port_says_nothing_was_received():
    fake = FakePort(None)
    try:
        r = statim("status", fake.path, "--timeout", "0.3", "--retries", "1")
    finally:
        fake.close()
    assert r.returncode == 1
    assert "nothing received" in r.stderr and fake.path in r.stderr, r.stderr
    assert "REPL" not in r.stderr and "busy" not in r.stderr


def test_a_port_speaking_something_else_says_so():
    fake = FakePort(lambda line: b"\x1b[2J$GPGGA,123519,4807.038,N*47\r\n")
    try:
        r = statim("status", fake.path, "--timeout", "0.3", "--retries", "1")
    finally:
        fake.close()
    assert r.returncode == 1
    assert "not the Statim protocol" in r.stderr and "GPGGA" in r.stderr, r.stderr


def test_a_locked_out_login_is_explained(tmp_path):
    from tests.cli_fakes import HELLO
    from firmware.core import frames as _f

    def respond(line):
        body = _f.unseal(line, len(line))
        rid, word = body.split(" ")[:2]
        if word == "HELLO":
            return _f.seal("%s OK %s" % (rid, HELLO))
        if word == "CHALLENGE":
            return _f.seal("%s OK unit=STATIM-FAKE nonce=%s" % (rid, "ab" * 16))
        return _f.seal("%s ERR LOCKED too many failed logins: try again in 290 s" % rid)

    fake = FakePort(respond)
    key = tmp_path / "k"
    key.write_text("00" * 32)
    try:
        r = statim("druglib", "push", fake.path, "firmware/core/druglib.json", "--key-file", str(key))
    finally:
        fake.close()
    assert r.returncode == 1
    assert "locked out" in r.stderr and "290 s" in r.stderr, r.stderr
