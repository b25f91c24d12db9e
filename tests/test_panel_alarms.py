"""The alarms page and the home screen's alarm row (issue 15 item 5), by presses.

IEC 60601-1-8 (clinical.md 9): an alarm is sounding, acknowledged (its audio off
until the condition clears or its re-annunciation time), or its audio paused
for a limited time (rules.audio_pause_s, 2 min).  Convulsive SE at 6 min with no
drug: first line overdue (high) and the stage escalation to SE (medium) are active.
"""
from panel_driver import Panel


def _acks(p, cond=None):
    return [e for e in p.unit.events if e["type"] == "alarm" and e["action"] == "ack"
            and (cond is None or e["cond"] == cond)]


def _alarms_page(p):
    p.open_menu_item("Alarms")
    assert p.page == "alarms"
    return p.rows


def _episode():
    p = Panel()
    p.press("ok")
    p.at(6, 3)
    return p


def test_each_alarm_with_its_state():
    p = _episode()
    rows = _alarms_page(p)
    assert rows[2] == "!!!1st late   ON" and rows[3] == "!! stage up   ON", rows
    p.home()
    p.press("alarm")  # audio paused for 2 min
    p.wait(30000)
    rows = _alarms_page(p)
    assert rows[2] == "!!!1st late 1:30" and rows[3] == "!! stage up 1:30", rows
    p.press("ok")  # acknowledge the first
    rows = p.rows
    assert rows[2] == "!!!1st late  ack" and rows[3] == "!! stage up 1:30", rows


def test_the_home_screen_shows_the_pause_time_left():
    p = _episode()
    assert p.rows[5] == "!!!1st late"  # sounding
    p.press("alarm")
    assert p.rows[5] == "!!!1st late 2:00"
    p.wait(45000)
    assert p.rows[5] == "!!!1st late 1:15"
    p.wait(75000)  # the pause is over: sounding again
    assert p.rows[5] == "!!!1st late"


def test_one_acknowledgement_per_alarm_per_condition():
    p = _episode()
    _alarms_page(p)
    p.press("ok", "ok", "ok", "ok")
    assert len(_acks(p, "first_line_overdue")) == 1  # issue 15: every OK logged another
    assert p.rows[2] == "!!!1st late  ack"
    p.press("down", "ok", "ok")
    # the stage escalation is latched: its acknowledgement resets it (it leaves the list)
    assert len(_acks(p, "stage_escalation")) == 1
    assert len(_acks(p)) == 2
    p.home()
    assert p.rows[5] == "!!!1st late ack"


def test_an_alarm_sounding_again_after_its_ack_can_be_acknowledged_again():
    p = _episode()
    _alarms_page(p)
    p.press("ok")
    p.home()
    p.wait(10 * 60 * 1000 + 1000)  # high priority: re-annunciation 10 min after the ack (clinical.md 9)
    assert p.rows[5].startswith("!!!1st late") and not p.rows[5].endswith("ack")
    _alarms_page(p)
    p.press("ok", "ok")
    assert len(_acks(p, "first_line_overdue")) == 2
