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


def test_the_alarm_light_in_colour_through_an_episode(nurse_panel):
    """The lamp beside the screen, in the terminal's colours, as the alarms change."""
    p = nurse_panel
    p.wait_for("OK = start timer")
    assert "light: green" in p.screen() or "light: off" in p.screen()
    assert RED_BACKGROUND not in colours_shown(p.screen(colour=True))

    p.keys("Enter")  # one press: the seizure timer runs
    shown = p.wait_for("SEIZURE")
    assert "1st line" in shown  # the first-line benzodiazepine is the next action

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
    shown = p.wait_for("ALARMS (OK=ack)")
    assert shown.index("!!!1st late   ON") < shown.index("stage up"), shown  # the high-priority alarm first
    p.keys("Enter")
    shown = p.wait_for("1st late  ack")
    assert "buzzer: high" not in shown and "light: red" in shown
    p.keys("BSpace")  # back home
    p.wait_for("!!!1st late ack")

    # lorazepam 4 mg iv: MENU -> Give dose -> lorazepam iv (the line due first) -> checked -> logged
    p.keys("Enter")
    p.wait_for("MENU")
    p.keys("Enter")  # Give dose
    p.wait_for("-- 1st line --")
    p.keys("Down")
    p.keys("Down")
    p.wait_for("lorazepam iv")
    p.keys("Enter")
    p.wait_for("  4 mg  ")  # 0.1 mg/kg for 70 kg is 7 mg, capped at 4 mg a dose (clinical.md)
    p.keys("Enter")
    shown = p.wait_for("ADEQUATE")
    assert "draw 2 mL" in shown  # 4 mg of a 2 mg/mL solution
    p.keys("Enter")
    p.wait_for("lorazepam logged")

    # read the screen back: the first-line alarm is gone, the second line is next with its
    # countdown; the light is no longer red
    shown = p.wait_for("2nd line 0")
    assert "OVERDUE 1st line" not in shown and "1st late" not in shown
    assert "light: red" not in shown
    assert RED_BACKGROUND not in colours_shown(p.screen(colour=True))
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


def test_a_whole_episode_as_a_nurse_runs_it():
    """No weight at boot; the timer; the weight asked at the first dose, keyed digit by digit;
    lorazepam; the second line counting down, then overdue; the audio paused; levetiracetam
    from the second-line group; the alarm acknowledged; the log in words; quit."""
    term = Terminal("%s -m host_tools.cli run" % sys.executable)
    try:
        shown = term.wait_for("OK = start timer")
        assert "weight not set" in shown  # no preset weight
        term.keys("Enter")  # the timer
        term.wait_for("SEIZURE")
        term.keys("Enter")  # menu
        term.wait_for("MENU")
        term.keys("Enter")  # Give dose: no weight yet
        term.wait_for("PATIENT WEIGHT")
        for k in ("Enter", "Down", "Down", "Enter", "Up", "Up"):  # 0, 8, 2
            term.keys(k)
        term.wait_for("OK save  BACK")  # on the last digit (the large digits' spacing is the terminal's)
        term.keys("Enter")
        term.wait_for("-- 1st line --")  # straight on to the drug list, the line due first
        term.keys("Down")
        term.keys("Down")
        term.wait_for("lorazepam iv")
        term.keys("Enter")
        term.wait_for("  4 mg  ")  # 0.1 mg/kg, max 4 mg (AES 2016)
        term.keys("Enter")
        shown = term.wait_for("ADEQUATE")
        assert "draw 2 mL" in shown
        term.keys("Enter")
        term.wait_for("lorazepam logged")
        term.wait_for("2nd line 0")  # counting down to established SE
        term.keys("F")  # ten minutes later
        shown = term.wait_for("OVERDUE 2nd line")
        assert "!!2nd late" in shown  # medium priority (the light's drawing is the terminal's)
        term.keys("a")  # audio paused: its time left on the alarm row
        term.wait_for("audio paused 2m")
        term.wait_for("!!2nd late 1:5")
        term.keys("Enter")  # menu -> Alarms
        term.wait_for("MENU")
        for _ in range(3):
            term.keys("Down")
        term.keys("Enter")
        shown = term.wait_for("ALARMS (OK=ack)")
        term.keys("Enter")  # acknowledge the first
        term.wait_for("2nd late  ack")
        term.keys("BSpace")  # home
        term.wait_for("!!2nd late ack")
        term.keys("Enter")  # menu
        term.wait_for("MENU")
        term.keys("Enter")  # Give dose
        term.wait_for("-- 2nd line --")
        term.keys("Down")
        term.keys("Down")
        term.wait_for("levetirac. iv")
        term.keys("Enter")
        term.wait_for("  4500 mg  ")  # 60 mg/kg for 82 kg is 4920: the 4500 mg maximum (ESETT)
        term.keys("Enter")
        term.wait_for("ADEQUATE")
        term.keys("Enter")
        term.wait_for("levetirac.")
        term.wait_for("3rd line")  # the next line counts down now
        term.keys("Up")  # the log, newest first, in words
        shown = term.wait_for("show all")
        assert "levetiracetam" in shown or "ack" in shown, shown
        seen = ""
        for _ in range(20):  # older entries, one at a time
            term.keys("Up")
            time.sleep(0.3)
            seen += term.screen()
            if "weight 82" in seen:
                break
        assert "lorazepam" in seen and "weight 82" in seen, seen  # keyed digit by digit
        term.keys("q")
        end = time.monotonic() + 10
        while term.alive() and time.monotonic() < end:
            time.sleep(0.1)
        assert not term.alive() or "front panel closed" in term.screen()
    finally:
        term.close()
