"""The idle step's home screen is the full home screen.

An idle step (nothing came in, no deadline crossed) redraws only the rows that move with the
clock -- the timer and the due countdown -- and takes the due action (which one, waiting / open /
overdue) from the last full draw: those change only at an engine deadline or with an event, and
either makes the step a full redraw.  Checked second by second through an episode whose due row
goes through every status (clinical.md §5 timeline: BZD at 0-5 min, repeat at 5-10, second line
by 20, third line by 40), against a home screen drawn from scratch at the same time.
"""
import pytest

from firmware.core import hal as _hal
from firmware.core import phases as _phases
from firmware.core import ui as _ui
from firmware.core import unit as _unit
from step_hal import Hal  # tests/ is on sys.path (conftest.py)


def fresh_rows(u, t):
    ref = _ui.Ui(u)
    return ref.render(t, True).rows


def step_second(u, hal, second):
    """One loop step at `second`: (was it idle -- nothing logged, no deadline crossed --, the
    rows shown), after checking them against a home screen drawn from scratch."""
    hal.ms = second * 1000
    n0 = len(u.events)
    deadline_before = u._deadline
    u.step()
    t = u.now()
    rows = u.ui.screen.rows
    assert rows == fresh_rows(u, t), "at %d s" % second
    return len(u.events) == n0 and not 0 <= deadline_before <= t, rows


# 2 mg lorazepam (below 0.1 mg/kg for 70 kg): its repeat is waiting, then the second line is open by
# 20 min; 4 mg: the second line counts down to established SE 5 min later (ESETT), the third line to
# refractory SE at the end of the second line's window, both shown before they come.
@pytest.mark.parametrize("bzd,statuses", [("2 mg", {_phases.WAITING, _phases.OPEN, _phases.OVERDUE}),
                                          ("4 mg", {_phases.OPEN, _phases.OVERDUE})])
def test_idle_steps_show_what_a_full_redraw_shows_through_every_due_status(bzd, statuses):
    hal = Hal()
    u = _unit.Unit(hal)
    u.set_weight("70 kg")
    u.onset()
    plan = {60: ("lorazepam", bzd), 720: ("levetiracetam", "4200 mg")}  # 1:00 BZD, 12:00 second line
    seen = set()
    idle = 0
    for second in range(1, 45 * 60):
        if second in plan:
            hal.ms = second * 1000
            drug, dose = plan[second]
            assert u.give(drug, "iv", dose=dose)["logged"]
        idle += step_second(u, hal, second)[0]
        seen.add(u.ui._due[2])
    assert idle > 2000  # most steps were idle ones
    assert statuses <= seen, seen


def test_idle_steps_count_an_audio_pause_down_on_the_alarm_row():
    """IEC 60601-1-8 (clinical.md 9): a paused alarm shows the time its audio stays off.  The
    countdown moves with the clock alone, so idle steps must redraw it, second by second, until
    the pause ends and the alarm sounds again -- and, no pause running, leave the row alone."""
    hal = Hal()
    u = _unit.Unit(hal)
    u.set_weight("70 kg")
    u.onset()
    second = 0
    for second in range(1, 6 * 60 + 10):  # convulsive SE, no drug: the first line is late at 5:00
        hal.ms = second * 1000
        u.step()
    row = u.ui.screen.rows[5]
    assert row.startswith("!!!") and ":" not in row, row  # sounding
    u.ui.press(_hal.BTN_ALARM)  # the ALARM button at home: audio paused ...
    u.ui.press(_hal.BTN_BACK)  # ... and its message put away (a message makes every step a full redraw)
    shown = []
    idle = 0
    for second in range(second + 1, second + 2 * 60 + 5):
        was_idle, rows = step_second(u, hal, second)
        idle += was_idle
        shown.append(rows[5])
    counting = [r for r in shown if r.endswith(("1:59", "1:30", "1:00", "0:30", "0:01"))]
    assert len(counting) == 5, shown  # the pause counted down on the home screen ...
    assert ":" not in shown[-1], shown[-1]  # ... and ended: sounding again
    assert idle > 100  # through idle steps
