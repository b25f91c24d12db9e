"""A long episode on the board: the log grows on flash, not in the heap.

A status-epilepticus episode can run for days (super-refractory SE), and every note, dose, alarm
record and EEG change of it is logged.  When every entry was also kept in RAM, a request logged
over the link cost about 150 B of the RPI_PICO's 240 KB heap, and a few hundred notes in the
unit refused routine records ("the unit's memory is full").  Now RAM keeps a window on the flash
log (core/logwindow.py): the newest entries, and a file offset for every 16th.  Here a host logs
700 notes, with a dose check every 40 of them, on the emulated Pico.  What must hold:

- every note is logged, and every dose check is a real verdict all along;
- the free heap after 700 notes is within a few KB of what it was after 100;
- no chip reset, and after a power cut the unit replays the whole log and comes back with exactly
  the notes it acknowledged, the timer still running; the oldest note, read back from flash, can
  be marked entered in error; a dose check then is adequate.
"""
import pytest

from emulator import pico
from host_tools.link import open_link
from test_board_unit import board, home, provisioned, timer_s  # noqa: F401  (fixtures)

pytestmark = pytest.mark.skipif(pico.missing() is not None, reason=pico.missing() or "")
NOTES = 700  # more than twice what the heap held when every entry stayed in RAM
CHECK_EVERY = 40  # a dose check this often keeps the checker loaded much of the time
HEAP_GROWTH = 8192  # bytes: the window's marks for 600 entries are under 200 B (was: 600 x ~150 B)


def _check(c):
    v = c.check("levetiracetam", "iv", dose="4200 mg")  # 60 mg/kg x 70 kg (ESETT)
    assert v["verdict"] == "adequate", sorted(v.items())


def test_a_long_log_stays_on_flash_and_comes_back_whole_after_a_power_cut(board):
    home(board)
    logged = []
    with open_link(board.url, timeout=10) as c:
        assert c.request("ONSET").startswith("seq=")
        assert c.request("WEIGHT", value="70 kg").startswith("seq=")
        first = None
        for k in range(NOTES):
            if k % CHECK_EVERY == 0:
                _check(c)
            assert c.request("NOTE", text="note %d" % k).startswith("seq=")
            logged.append("note %d" % k)
            if k == 100:  # the window in RAM is full by now
                first = c.status()["heap_free"]
        _check(c)
        last = c.status()["heap_free"]
        assert board.resets == [], board.console()[-1500:]
    print("heap free after 100 notes %d B, after %d notes %d B" % (first, NOTES, last))
    assert first - last < HEAP_GROWTH, (first, last)
    board.power_cut()
    board.restart()
    s = home(board, timeout_ms=120000)
    print("power-on to the home screen with %d notes on flash: %.2f s emulated" % (NOTES, board.stats()["emulated_s"]))
    assert timer_s(s) is not None, s  # the episode goes on after power-on
    with open_link(board.url, timeout=10) as c:
        entries = c.log()
        notes = [ev["text"] for _, ev in entries if ev["type"] == "note"]
        oldest = [seq for seq, ev in entries if ev.get("text") == "note 0"][0]
        assert c.void(oldest, "duplicate").startswith("seq=")
        _check(c)
    assert notes == logged  # every acknowledged note, in order
    assert board.resets == [], board.console()[-1500:]
