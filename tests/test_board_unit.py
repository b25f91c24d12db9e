"""The unit on its board: the real firmware, deployed the README's way, on the emulated Pico.

A blank chip is provisioned once per session (mpremote: key and SSD1306 driver; statim deploy) and
cached per firmware/ source hash (build/rp2040/<hash>/); every test boots its own copy of that flash.
Everything is read where a nurse or a host tool reads it: the SSD1306's pixels (decoded with
MicroPython's own font), the USB serial (host_tools.link on the socket:// URL), chip resets.
Expectations are in emulated time (run_for / wait_until), never wall time.
"""
import re
import time

import pytest

from emulator import pico
from host_tools.link import load_key, open_link

pytestmark = pytest.mark.skipif(pico.missing() is not None, reason=pico.missing() or "")
TIMER = re.compile(r"^(\d+):(\d\d)$")


@pytest.fixture(scope="session")
def provisioned():
    return pico.provisioned_flash()


@pytest.fixture
def board(provisioned, tmp_path):
    img = pico.board_copy(provisioned[0], str(tmp_path))
    b = pico.PicoBoard(img, pace=1, max_resets=3, log=str(tmp_path / "board.log"))
    b.key = load_key(provisioned[1])
    yield b
    if b.alive:
        b.png(str(tmp_path / "last-screen.png"))
    b.power_cut()


def home(b, timeout_ms=30000):
    """Wait (emulated) for the home screen; the Screen.  It counts once two reads 250 ms apart
    show the same panel: the panel's memory is read back while the chip may be sending it, and a
    read in the middle of the first draw has the top rows of the home screen and not yet the rest."""
    last = [None]

    def at_home(b):
        s = b.screen()
        shown, last[0] = last[0], s.text
        if shown != s.text:
            return None
        return s if s.on and s.big == 1 and (s.rows[0].startswith("STATIM") or TIMER.match(s.rows[1])) else None
    try:
        return b.wait_until(at_home, timeout_ms, step_ms=250)
    except TimeoutError:
        raise AssertionError("no home screen within %d ms emulated; resets %s; screen:\n%s\nconsole:\n%s" % (
            timeout_ms, b.resets, b.screen(), b.console()[-1500:]))


def timer_s(s):
    m = TIMER.match(s.rows[1]) if s.big == 1 else None
    return int(m.group(1)) * 60 + int(m.group(2)) if m else None


def click(b, button, n=1):
    for _ in range(n):
        b.click(button, ms=80, gap_ms=200)
    return b.screen()


def start_episode(b):
    s = home(b)
    assert s.rows[0] == "STATIM   READY" and s.rows[1] == "--:--"
    t0 = b.press("OK", 80)["t_s"]
    b.run_for(500)
    return t0


def select(b, word, limit=12):
    """Move the highlight down to the row containing word; the screen."""
    for _ in range(limit):
        s = b.screen()
        if s.inverted and word.lower() in s.rows[min(s.inverted)].lower():
            return s
        click(b, "DOWN")
    raise AssertionError("no %r in the list:\n%s" % (word, b.screen()))


def test_boots_from_a_deployed_blank_board_without_a_watchdog_reset(board):
    s = home(board)
    assert s.rows[0] == "STATIM   READY" and s.rows[1] == "--:--" and s.rows[7] == "OK = start timer"
    board.run_for(10000)  # longer than the 8 s watchdog
    assert board.resets == []
    with open_link(board.url, timeout=5) as c:
        hello = c.hello()
    assert hello["proto"] == "1" and hello["druglib_ok"] == "1" and hello["key"] == "1"


def test_one_press_starts_the_seizure_timer(board):
    t0 = start_episode(board)
    board.run_for(65000)
    s = board.screen()
    elapsed = s.t_s - t0
    assert timer_s(s) is not None, s
    assert abs(timer_s(s) - elapsed) <= 2, (s.rows[1], elapsed)
    assert timer_s(s) >= 65


def test_weight_and_lorazepam_from_the_buttons(board):
    start_episode(board)
    click(board, "OK")  # menu
    select(board, "Weight")
    s = click(board, "OK")
    assert s.rows[1] == "PATIENT WEIGHT" and s.big == 2, s
    digits = s.rows[2].split()[0]  # "000" with no weight: keyed digit by digit, OK moves on
    for k, want in enumerate("070"):
        up = (int(want) - int(digits[k])) % 10
        if up:
            s = click(board, "UP", up)
        if k < 2:
            s = click(board, "OK")
    assert s.rows[2] == "070 kg", s
    click(board, "OK")
    click(board, "OK")  # menu
    select(board, "Give dose")
    click(board, "OK")
    select(board, "lorazepam")
    s = click(board, "OK")
    assert s.rows[1].startswith("lorazepam") and s.rows[2] == "weight 70 kg", s  # row 0: time and alarm
    s = click(board, "OK")  # check
    assert s.rows[1].startswith("ADEQUATE"), s
    click(board, "OK")  # give: logged
    with open_link(board.url, timeout=5) as c:
        events = [ev for _, ev in c.log()]
    assert any(e["type"] == "weight" and e.get("grams") == 70000 for e in events), events
    doses = [e for e in events if e["type"] == "dose"]
    assert len(doses) == 1 and doses[0].get("drug") == "lorazepam", doses


def test_weight_and_lorazepam_over_the_serial_link(board):
    home(board)
    with open_link(board.url, timeout=5) as c:
        assert c.request("ONSET").startswith("seq=")
        assert c.request("WEIGHT", value="70 kg").startswith("seq=")
        v = c.dose("lorazepam", "iv", dose="4 mg")
        assert v["verdict"] == "adequate"
        events = [ev for _, ev in c.log()]
    assert [e["type"] for e in events if e["type"] in ("onset", "weight", "dose")] == ["onset", "weight", "dose"]
    board.run_for(1000)
    assert timer_s(board.screen()) is not None  # the episode shows on the screen too


def test_the_first_line_alarm_at_5_minutes_emulated(board):
    t0 = start_episode(board)
    board.run_for(int((290 - (board.stats()["emulated_s"] - t0)) * 1000))  # 4:50 after the press
    s = board.screen()
    assert "first line" not in s.text, s
    board.run_for(15000)  # 5:05
    s = board.screen()
    assert 300 <= timer_s(s) <= 307, s
    # the alarm row: high priority, its short name (docs/panel-glossary.md)
    assert any(r.startswith("!!!1st late") for r in s.rows), s
    with open_link(board.url, timeout=20) as c:
        assert "first_line_overdue" in str(c.status()["alarms"])


def test_a_power_cut_in_the_middle_of_a_log_write_resumes_the_episode(board):
    t0 = start_episode(board)
    board.run_for(3000)
    board.cut_during_write(n=1, partial=64)  # the first flash program of the next write, 64 bytes in
    c = open_link(board.url, timeout=2, retries=0)
    try:
        c.request("WEIGHT", value="70 kg")
    except Exception:
        pass  # no answer: the power went while the weight was being logged
    finally:
        c.close()
    end = time.monotonic() + 60  # wall: how long the dying process may take to be reaped
    while board.alive and time.monotonic() < end:
        time.sleep(0.1)
    assert not board.alive
    board.restart()
    s = home(board)
    assert timer_s(s) is not None, s  # the episode is still running after power-on
    with open_link(board.url, timeout=5) as c:
        events = [ev for _, ev in c.log()]
    assert [e["type"] for e in events].count("onset") == 1
    assert all(e.get("grams") in (None, 70000) for e in events if e["type"] == "weight")  # whole or absent
    assert board.resets == []
    del t0


def test_a_watchdog_reset_from_an_injected_fault_recovers_by_replay(board):
    start_episode(board)
    with open_link(board.url, timeout=5) as c:
        c.request("WEIGHT", "70 kg")
        v = c.dose("lorazepam", "iv", dose="4 mg")
        before = [ev for _, ev in c.log()]
    assert v["verdict"] == "adequate"
    board.lockup("injected fault: core lockup")
    board.run_for(10000)
    assert [r["reason"] for r in board.resets] == ["watchdog"]
    s = home(board)
    assert timer_s(s) is not None, s  # replayed: the episode and its timer are back
    with open_link(board.url, timeout=5) as c:
        after = [ev for _, ev in c.log()]
    assert after[:len(before)] == before
    assert [e["type"] for e in after].count("dose") == 1
