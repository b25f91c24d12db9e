"""The front panel as a person uses it: `statim run` in a terminal (tmux), keys in, screen read.

Skips where tmux is absent; .ci/run installs it, so CI runs it.
"""
import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux not installed (apt-get install tmux)")


class Terminal:
    def __init__(self, cmd):
        self.name = "statim-%s" % uuid.uuid4().hex[:8]
        subprocess.run([TMUX, "new-session", "-d", "-s", self.name, "-x", "100", "-y", "30", cmd], check=True, cwd=REPO)

    def keys(self, *keys):
        subprocess.run([TMUX, "send-keys", "-t", self.name, *keys], check=True)

    def screen(self):
        return subprocess.run([TMUX, "capture-pane", "-p", "-t", self.name], capture_output=True, text=True).stdout

    def wait_for(self, text, timeout=20.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            shown = self.screen()
            if text in shown:
                return shown
            time.sleep(0.1)
        raise AssertionError("%r not shown within %.0f s; screen:\n%s" % (text, timeout, self.screen()))

    def alive(self):
        return subprocess.run([TMUX, "has-session", "-t", self.name], capture_output=True).returncode == 0

    def close(self):
        subprocess.run([TMUX, "kill-session", "-t", self.name], capture_output=True)


@pytest.fixture
def panel():
    term = Terminal("%s -m host_tools.cli run --weight 70" % sys.executable)
    yield term
    term.close()


def test_front_panel_in_a_terminal(panel):
    panel.wait_for("STATIM   READY")
    # Wait for the whole frame: a capture can land while the terminal is still being drawn.
    shown = panel.wait_for("OK = start timer")
    assert "STATIM   READY" in shown
    assert "UART: /dev/pts/" in shown  # the host tools' port is printed
    panel.keys("Enter")  # one press starts the seizure timer
    shown = panel.wait_for("SEIZURE")
    assert "AES stabilize" in shown
    panel.keys("F")  # ten virtual minutes later
    shown = panel.wait_for("OVERDUE 1st line")
    assert "light: red" in shown and "buzzer: high" in shown
    panel.keys("a")  # ALARM key: audio paused, light stays
    shown = panel.wait_for("audio paused 2m")
    assert "buzzer: off" in shown and "light: red" in shown
    panel.keys("Enter")  # OK: the menu
    shown = panel.wait_for("MENU")
    assert "Give dose" in shown
    panel.keys("Enter")  # Give dose: the drug list
    panel.wait_for("GIVE DOSE: drug")
    panel.wait_for("-- 1st line --")  # the first line is due: its drugs first
    for _ in range(2):  # diazepam iv, diazepam rectal, lorazepam iv
        panel.keys("Down")
    panel.wait_for(">lorazepam iv")
    panel.keys("Enter")
    panel.wait_for("  4 mg  ")  # the target for 70 kg is offered
    panel.keys("Enter")
    shown = panel.wait_for("ADEQUATE")
    assert "4 mg" in shown
    assert "draw 2 mL" in shown
    panel.keys("Enter")  # confirm: logged
    shown = panel.wait_for("lorazepam logged")
    panel.keys("q")
    end = time.monotonic() + 10
    while panel.alive() and time.monotonic() < end:
        time.sleep(0.1)
    assert not panel.alive() or "front panel closed" in panel.screen()
