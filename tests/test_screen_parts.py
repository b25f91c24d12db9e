"""The home screen built from row parts (allocation-free redraw) shows exactly
what the string-building ui.py showed.

tests/screen_reference.json was written by tests/screen_states.py run against
ui.py / screen.py as of commit 3209cfa (before rows were made of parts): the
rows, big row, highlighted row and page of 20 home-screen states (READY with
and without weight, 1-, 2- and 3-digit weights, timers in minutes and hours,
each due-row form, sounding / acknowledged / quiet alarms, the EEG and clock
rows, a message).  The same states on today's code must give the same screens.
The benzodiazepine-repeat countdowns of four states were moved from the old 5-min
repeat to the library's AES (label) 10 min for lorazepam: clinical.md Review round
2 rule 8.  The labels were then replaced by the panel's short vocabulary, which
fits the 16 columns whole (issue 15; docs/panel-glossary.md): the reference's
texts were rewritten word for word (e.g. "1st line BZD 04:" became
"1st line 04:53", "REFRACTORY SE *S" became "REFRACT SE *SZ"), nothing else.  Then the due row
of five states: it counts down to the stage that makes the next line due when
that comes before the AES deadline (issue 15 item 3; tests/test_panel_due.py):
2nd line to established SE 5 min after lorazepam (ESETT), 3rd line to refractory
SE at the end of the levetiracetam window.  Then the alarm row's " (q)" (quiet):
it now says which quiet, " ack" (acknowledged) or the audio pause's time left
(" 1:59"; issue 15 item 5).
"""
import json
import os
import sys

import pytest

TESTS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(TESTS), "firmware"))
sys.path.insert(0, TESTS)

import screen_states  # noqa: E402
from core import screen as _screen  # noqa: E402
from core import ui as _ui  # noqa: E402
from core import ui_pages  # noqa: E402

with open(os.path.join(TESTS, "screen_reference.json")) as f:
    REFERENCE = json.load(f)


def test_reference_covers_every_state():
    assert sorted(REFERENCE) == sorted(fn.__name__ for fn in screen_states.STATES)
    texts = "\n".join(r for v in REFERENCE.values() for r in v[:8])
    for seen in ("weight 123 kg", "weight 5 kg", "1h45", "26h05", "3rd line 04:45", "wean in 23h58",
                 "OVERDUE 1st line", "!no clock ack", "EEG ok BSR100%", "EEG SZ BSR7%", "audio paused 2m",
                 "REFRACT SE *SZ"):
        assert seen in texts  # the reference exercises every kind of part


@pytest.mark.parametrize("state", screen_states.STATES, ids=lambda fn: fn.__name__)
def test_home_screen_text_is_unchanged(state):
    hal, u = state()
    s = u.ui.render(u.now())
    assert list(s.rows) + [s.big, s.invert, s.name] == REFERENCE[state.__name__]
    assert s.text() == "\n".join(REFERENCE[state.__name__][:8])


def test_unchanged_render_marks_nothing_and_a_tick_marks_only_changed_rows():
    hal, u = screen_states.third_line_countdown()
    s = u.ui.screen
    s.dirty = 0  # as a HAL leaves it after drawing
    v = s.version
    u.ui._rendered_t = -1  # force a redraw of the same second
    u.ui.render(u.now())
    assert s.version == v and s.dirty == 0
    screen_states.run_to(hal, u, hal.ms + 1000)
    assert s.version == v + 1
    assert s.dirty == (1 << 1) | (1 << 4)  # the timer and "3rd line mm:ss", nothing else
    # the timer's digits are MicroPython's one-character strings: the same objects every time
    assert s.parts[1][0] is _ui.DIGITS[3] and s.parts[1][2] == ":"


def test_page_change_marks_every_row():
    hal, u = screen_states.seizure_7s()
    s = u.ui.screen
    s.dirty = 0
    u.ui.button("ok")  # the menu
    u.ui.render(u.now())
    assert s.name == "menu" and s.dirty == _screen.ALL_ROWS
    assert s.rows[1] == "MENU" and s.invert == 2 and s.big == -1  # row 0: time and alarm


def test_screen_parts_join_and_cut():
    s = _screen.Screen()
    s.clear("x")
    s.set_parts(2, "weight ", "1", "23", " kg")
    s.set(3, "a row longer than sixteen characters")
    assert s.rows[2] == "weight 123 kg" and s.rows[3] == "a row longer tha"
    assert s.finish() == _screen.ALL_ROWS  # first page: everything
    s.dirty = 0
    s.clear("x")
    s.set_parts(2, "weight ", "1", "".join(["2", "3"]), " kg")  # equal text, another object
    s.set(3, "a row longer than sixteen characters")
    assert s.finish() == 0 and s.dirty == 0
    s.clear("x")
    s.set_parts(2, "weight ", "1", "24", " kg")
    assert s.finish() == (1 << 2) | (1 << 3)  # row 3 emptied by clear, row 2 changed


@pytest.mark.parametrize("n", [0, 5, 9, 10, 42, 99, 100, 101, 123, 999, 1000, -1])
def test_number_parts(n):
    out = ["", "", ""]
    _ui.number_parts(n, out, 0)
    assert "".join(out) == "%d" % n


@pytest.mark.parametrize("sec", [-5, 0, 7, 59, 60, 3599, 5999, 6000, 6059, 3600 * 26 + 300, 3600 * 99 + 3599,
                                 3600 * 100, 3600 * 999 + 60])
def test_mmss_parts(sec):
    out = [""] * 6
    _ui.mmss_parts(sec, out)
    assert "".join(out) == ui_pages.mmss(sec)


def test_a_change_past_column_16_is_not_a_redraw():
    # a row longer than the display shows its first 16 columns: a change beyond them
    # does not redraw it (no screen of the unit is that long: tests/test_panel_fit.py)
    s = _screen.Screen()
    s.clear("x")
    s.set_parts(4, "a label of 14 c", "0", "4", ":", "5", "3")
    s.finish()
    s.dirty = 0
    s.set_parts(4, "a label of 14 c", "0", "4", ":", "5", "2")
    assert s.finish() == 0 and s.dirty == 0
    s.set_parts(4, "a label of 14 c", "1", "4", ":", "5", "2")
    assert s.finish() == 1 << 4
