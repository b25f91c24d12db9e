"""The front panel as a person uses it: `statim run` in a terminal (tmux), keys in, screen read.

Skips where tmux is absent; .ci/run installs it, so CI runs it.
"""
import os
import re
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
    def __init__(self, cmd, env=None):
        self.name = "statim-%s" % uuid.uuid4().hex[:8]
        setenv = []
        for k, v in (env or {}).items():  # the session's own environment (tmux >= 3.0: -e)
            setenv += ["-e", "%s=%s" % (k, v)]
        subprocess.run([TMUX, "new-session", "-d", "-s", self.name, "-x", "100", "-y", "30"] + setenv + [cmd],
                       check=True, cwd=REPO)

    def keys(self, *keys):
        subprocess.run([TMUX, "send-keys", "-t", self.name, *keys], check=True)

    def screen(self, colour=False):
        """What the terminal shows; colour=True keeps the escape sequences of its colours."""
        cmd = [TMUX, "capture-pane", "-p"] + (["-e"] if colour else []) + ["-t", self.name]
        return subprocess.run(cmd, capture_output=True, text=True).stdout

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
    for _ in range(6):  # diazepam iv, diazepam rectal, fosphenytoin, ketamine, lacosamide, levetiracetam, lorazepam
        panel.keys("Down")
    panel.wait_for(">lorazepam iv")
    panel.keys("Enter")
    panel.wait_for("> 4 mg")  # the target for 70 kg is offered
    panel.keys("Enter")
    shown = panel.wait_for("ADEQUATE 4 mg")
    assert "draw 2 mL" in shown
    panel.keys("Enter")  # confirm: logged
    shown = panel.wait_for("lorazepam logged")
    panel.keys("q")
    end = time.monotonic() + 10
    while panel.alive() and time.monotonic() < end:
        time.sleep(0.1)
    assert not panel.alive() or "front panel closed" in panel.screen()


# --- a whole episode as a nurse runs it (issue 15, item 10) --------------------------------------
SGR = re.compile(r"\x1b\[([0-9;]*)m")
RED_BACKGROUND = "41"  # SGR: the lamp's colour (curses COLOR_RED as a background)
YELLOW_BACKGROUND = "43"


def colours_shown(coloured):
    """Every SGR parameter the terminal is drawing with."""
    out = set()
    for params in SGR.findall(coloured):
        out.update(p for p in params.split(";") if p)
    return out


def lamp_line(coloured, row):
    return coloured.splitlines()[row]


def select(term, label, presses=12):
    """Down until the list's highlight (">") is on label, as a nurse scrolls to it."""
    for _ in range(presses):
        if ">" + label in term.screen():
            return term.screen()
        term.keys("Down")
        time.sleep(0.15)
    return term.wait_for(">" + label, timeout=5)


@pytest.fixture
def nurse_panel():
    term = Terminal("env -u NO_COLOR %s -m host_tools.cli run --weight 70kg" % sys.executable, env={"TERM": "screen"})
    yield term
    term.close()


def test_a_whole_episode_at_the_front_panel(nurse_panel):
    p = nurse_panel
    p.wait_for("OK = start timer")
    assert "light: green" in p.screen() or "light: off" in p.screen()
    assert RED_BACKGROUND not in colours_shown(p.screen(colour=True))

    p.keys("Enter")  # one press: the seizure timer runs
    shown = p.wait_for("AES stabilize")
    assert "1st line" in shown  # the first-line benzodiazepine is the next action

    # the patient's weight: MENU -> Weight -> up to 80 kg -> OK
    p.keys("Enter")
    p.wait_for("MENU")
    select(p, "Weight")
    p.keys("Enter")
    p.wait_for("PATIENT WEIGHT")
    for _ in range(10):
        p.keys("Up")
        time.sleep(0.05)
    p.wait_for("8  0")  # the big digits, spaced out in the terminal
    p.keys("Enter")
    p.wait_for("weight 80 kg")

    # ten minutes on without a benzodiazepine: the first-line alarm (clinical.md: first line
    # due within 5 min), high priority: red light, flashing, the high-priority tone
    p.keys("F")
    shown = p.wait_for("OVERDUE 1st line")
    assert "light: red" in shown and "buzzer: high" in shown
    assert "HIGH" in shown  # the light's priority beside the screen
    coloured = p.screen(colour=True)
    assert RED_BACKGROUND in colours_shown(coloured)  # the lamp is drawn red

    # acknowledge it on the alarms page: the tone steps down, the light stays red
    p.keys("Enter")
    p.wait_for("MENU")
    select(p, "Alarms")
    p.keys("Enter")
    shown = p.wait_for("ALARMS")
    assert re.search(r">H first line", shown), shown  # the high-priority alarm, selected first
    p.keys("Enter")
    shown = p.wait_for("acknowledged")
    assert "buzzer: high" not in shown and "light: red" in shown
    p.keys("BSpace")  # back home
    p.wait_for("OK=menu")

    # lorazepam 4 mg iv: MENU -> Give dose -> lorazepam iv -> the amount offered -> checked -> logged
    p.keys("Enter")
    p.wait_for("MENU")
    select(p, "Give dose")
    p.keys("Enter")
    p.wait_for("GIVE DOSE")
    select(p, "lorazepam iv", presses=25)
    p.keys("Enter")
    p.wait_for("4 mg")  # 0.1 mg/kg for 80 kg is 8 mg, capped at 4 mg a dose (clinical.md)
    p.keys("Enter")
    shown = p.wait_for("ADEQUATE")
    assert "4 mg" in shown and "2 mL" in shown  # 4 mg of a 2 mg/mL solution
    p.keys("Enter")
    p.wait_for("lorazepam logged")

    # read the screen back: the first-line alarm is gone, the second line is next with its
    # countdown; the light is no longer red (the stage escalation's medium priority remains)
    p.keys("BSpace")
    shown = p.wait_for("2nd line")
    assert "OVERDUE 1st line" not in shown and "first line ov" not in shown
    assert "light: red" not in shown and "light: yellow" in shown
    coloured = p.screen(colour=True)
    assert RED_BACKGROUND not in colours_shown(coloured)
    assert YELLOW_BACKGROUND in colours_shown(coloured)
    p.keys("q")


def test_no_color_shows_the_light_in_words_only():
    term = Terminal("%s -m host_tools.cli run --weight 70kg" % sys.executable, env={"NO_COLOR": "1", "TERM": "screen"})
    try:
        term.wait_for("OK = start timer")
        term.keys("Enter")
        term.wait_for("AES stabilize")
        term.keys("F")
        shown = term.wait_for("OVERDUE 1st line")
        assert "light: red" in shown and "HIGH" in shown
        params = colours_shown(term.screen(colour=True))
        assert not params & {"31", "41", "33", "43", "36", "46", "32", "42"}, params
    finally:
        term.close()
