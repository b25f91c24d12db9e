"""The timer and the alarm stay in view on every page, and every page returns home (issue 15 item 2).

Driven by presses on the emulated unit, read back from its screen.
"""
from panel_driver import Panel

PAGES = (("menu", ("ok",)), ("dose_drug", ("ok", "ok")), ("dose_amount", ("ok", "ok", "ok")),
         ("dose_verdict", ("ok", "ok", "ok", "ok")), ("log", ("up",)), ("eeg", ("down",)))


def _at_first_line_overdue():
    p = Panel()
    p.press("ok")  # the timer starts
    p.at(6, 3)  # first line overdue (convulsive: by 5 min), high priority
    return p


def test_every_page_shows_the_time_since_onset_and_the_highest_alarm():
    p = _at_first_line_overdue()
    for page, keys in PAGES:
        p.home()
        p.press(*keys)
        assert p.page == page
        assert p.rows[0] == "06:03!!!1st late", (page, p.rows)
    p.home()
    p.open_menu_item("Alarms")
    assert p.rows[0] == "06:03!!!1st late"
    p.home()
    p.open_menu_item("Weight")
    assert p.page == "weight" and p.rows[0] == "06:03!!!1st late"


def test_the_top_row_follows_the_clock_and_the_alarms():
    p = Panel()
    p.press("ok")
    p.at(0, 30)
    p.press("ok")  # menu
    assert p.rows[0] == "00:30"  # no alarm active
    p.wait(5000)
    assert p.rows[0] == "00:35"


def test_any_page_returns_home_after_30_s_without_a_press():
    for page, keys in PAGES:
        p = _at_first_line_overdue()
        p.press(*keys)
        assert p.page == page
        p.wait(29000)
        assert p.page == page  # 29 s: still there
        p.wait(1000)
        assert p.page == "home", page
        assert p.rows[0].startswith("SE") or p.rows[0].startswith("ESTAB")  # the home screen's stage row
    p = _at_first_line_overdue()
    p.press("ok")  # menu
    for _ in range(4):
        p.wait(20000)
        p.press("down")  # a press restarts the 30 s
    assert p.page == "menu"


def test_a_half_done_dose_entry_is_kept_and_reopened():
    p = _at_first_line_overdue()
    p.open_menu_item("Give dose")
    while tuple(p.ui.entries[p.ui.dsel][:2]) != ("lorazepam", "iv"):
        p.press("down")
    p.press("ok")  # the amount page: lorazepam, 4 mg offered
    p.press("down")  # 3.5 mg
    amount = p.rows[4]
    p.wait(30000)
    assert p.page == "home"
    assert "dose" in p.rows[7] and p.rows[7].startswith("OK"), p.rows  # the home screen says a dose is open
    assert not [e for e in p.unit.events if e["type"] == "dose"]
    p.press("ok")  # reopened where it was left
    assert p.page == "dose_amount"
    assert p.rows[4] == amount and p.rows[1].startswith("lorazepam")
    p.press("ok")  # the verdict
    p.press("ok")  # give
    assert [e["drug"] for e in p.unit.events if e["type"] == "dose"] == ["lorazepam"]
    assert p.page == "home" and "dose" not in p.rows[7]


def test_leaving_a_dose_entry_with_back_does_not_keep_it():
    p = _at_first_line_overdue()
    p.open_menu_item("Give dose")
    p.press("ok", "back", "back")  # amount page, drug list, home
    assert p.page == "home" and p.rows[7] == "OK=menu"
    p.press("ok")
    assert p.page == "menu"
