"""The display on the emulated Pico redraws only what changed (issue 12, item 5).

The harness counts every byte the RP2040 puts on the I2C bus (all of it goes to
the SSD1306).  Before the row-part screen and the page-wise HAL, every second
resent the whole 1 KB frame (1037 B: 6 address commands, 1025 B of data)
whatever changed.  Now an idle READY screen sends nothing, and a running timer
whose seconds tick sends, once a second, the right halves of its two 8-pixel
pages (the 2x digits' last characters sit there) and of the next action's row
(its countdown, "1st line 04:53", issue 15): a column window (3 commands x 2 B:
control byte + command), then per page a page window (3 x 2 B) and 1 control
byte + 64 B of pixels = 219 B -- while the pixels the harness decodes still read
as the timer.
"""
import pytest

from emulator import pico

pytestmark = pytest.mark.skipif(pico.missing() is not None, reason=pico.missing() or "")
TIMER_TICK_BYTES = 3 * 2 + 3 * (3 * 2 + 1 + 64)  # timer: two pages; countdown: one


@pytest.fixture
def board(tmp_path):
    img, _key = pico.provisioned_flash()
    b = pico.PicoBoard(pico.board_copy(img, str(tmp_path)), pace=0, max_resets=3, log=str(tmp_path / "board.log"))
    yield b
    b.power_cut()


def i2c_bytes_over(b, ms):
    a = b.stats()["i2c_bytes"]
    b.run_for(ms)
    return b.stats()["i2c_bytes"] - a


def test_idle_redraws_send_only_changed_pages(board):
    s = board.wait_until(lambda b: (lambda s: s if s.on and s.big == 1 else None)(b.screen()), 60000, step_ms=500)
    assert s.rows[0] == "STATIM   READY" and s.rows[1] == "--:--"
    board.run_for(2000)
    assert i2c_bytes_over(board, 5000) == 0  # nothing changes on the READY screen: nothing sent
    board.press("OK", 80)  # start the seizure timer
    board.run_for(2500)
    first = board.screen()
    sent = i2c_bytes_over(board, 5000)
    last = board.screen()
    # one redraw a second, each the right halves of the timer's two pages and the countdown's only
    assert sent % TIMER_TICK_BYTES == 0 and 4 <= sent // TIMER_TICK_BYTES <= 6, sent
    m0, s0 = (int(x) for x in first.rows[1].split(":"))
    m1, s1 = (int(x) for x in last.rows[1].split(":"))
    assert 4 <= (m1 * 60 + s1) - (m0 * 60 + s0) <= 6, (first.rows[1], last.rows[1])
    assert last.rows[0] == "SEIZURE *SZ" and last.rows[4].startswith("1st line 0") and last.rows[7] == "OK=menu"
    assert board.resets == []
