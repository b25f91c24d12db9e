"""The board watches EEG: the real firmware on the emulated Pico, an emulated ADS1299 on its SPI.

The feed is the patient simulator's (emulator/rp2040/eeg_feed.py, preset se-then-bs: 20 s of
background, convulsive SE, then propofol and, 15 patient-minutes later, burst suppression; 250 SPS
as the firmware runs the chip).  The emulated chip (emulator/rp2040/ads1299.mjs) answers the
firmware's driver (firmware/boards/rp2_pico/ads1299.py) over SPI0 and raises DRDY at 250 Hz on the
emulated clock.  What the detector decides must reach the places a nurse and a host tool read: the
SSD1306's pixels and the event log over the USB serial link.  Times are emulated (run_for /
wait_until); the feed starts when the HAL starts the chip, about when the unit boots.
"""
import pytest

from emulator import pico
from emulator.rp2040 import eeg_feed
from host_tools.link import load_key, open_link

pytestmark = pytest.mark.skipif(pico.missing() is not None, reason=pico.missing() or "")


@pytest.fixture(scope="module")
def feed(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("eeg") / "se-then-bs.f32")
    eeg_feed.main(["-o", path, "patient", "--preset", "se-then-bs"])
    return path


@pytest.fixture
def board(feed, tmp_path):
    img, key = pico.provisioned_flash()
    flash = pico.board_copy(img, str(tmp_path))
    b = pico.PicoBoard(flash, pace=0, max_resets=3, eeg=feed, log=str(tmp_path / "board.log"))
    b.key = load_key(key)
    yield b
    if b.alive:
        b.png(str(tmp_path / "last-screen.png"))
    b.power_cut()


def _home(b, timeout_ms=30000):
    def at_home(b):
        s = b.screen()
        return s if s.on and s.big == 1 else None
    try:
        return b.wait_until(at_home, timeout_ms, step_ms=250)
    except TimeoutError:
        raise AssertionError("no home screen within %d ms emulated; resets %s; console:\n%s" % (
            timeout_ms, b.resets, b.console()[-1500:]))


def _eeg_row(b):
    """Row 6 of the running episode's home screen: 'EEG SZ BSR0%' / 'EEG ok BSR64%'."""
    return b.screen().rows[6]


def _eeg_log(b):
    with open_link(b.url, timeout=5) as c:
        return [ev["state"] for _, ev in c.log() if ev["type"] == "eeg"]


def test_seizure_then_burst_suppression_reach_the_screen_and_the_log(board):
    s = _home(board)
    board.press("OK", 80)  # one press starts the episode: the home screen then shows the EEG row
    board.run_for(1000)
    assert _eeg_row(board).startswith("EEG"), "EEG not attached (the front end did not answer?):\n%s\n%s" % (
        board.screen(), board.console()[-1500:])

    # the preset's seizure is decided about 36 s into the feed (CPython detector, tests/test_eeg_feed.py)
    s = board.wait_until(lambda b: b.screen() if _eeg_row(b).startswith("EEG SZ") else None, 90000, step_ms=1000)
    assert "*SZ" in s.rows[0], s  # the stage row marks the seizure too
    assert "seizure" in _eeg_log(board)

    # propofol: burst suppression about 141 s into the feed
    board.wait_until(lambda b: "burst_suppression" in _eeg_log(b) or None, 150000, step_ms=5000)
    s = board.screen()
    assert s.rows[6].startswith("EEG ok BSR"), s
    assert int(s.rows[6].split("BSR")[1].rstrip("%")) >= 50, s
    states = _eeg_log(board)
    assert states.index("seizure") < states.index("no_seizure") < states.index("burst_suppression"), states
    assert board.resets == []


def test_doses_are_checked_and_logged_while_the_detector_runs(board):
    """The dose checker loads on demand: it must find room in the heap the detector shares."""
    _home(board)
    board.press("OK", 80)
    board.run_for(1000)
    assert _eeg_row(board).startswith("EEG"), board.screen()
    board.wait_until(lambda b: b.screen() if _eeg_row(b).startswith("EEG SZ") else None, 90000, step_ms=1000)
    with open_link(board.url, timeout=15) as c:
        assert c.request("WEIGHT", value="70 kg").startswith("seq=")
        v = c.dose("lorazepam", "iv", dose="4 mg")
        assert v["verdict"] == "adequate" and isinstance(v["seq"], int), v
        st = c.status()
        assert any(ev["type"] == "dose" and ev["drug"] == "lorazepam" for _, ev in c.log())
    assert st["heap_free"] > 0 and board.resets == []
