"""Every screen fits the 16x8 display whole (issue 15 item 1).

The panel is driven by presses through an episode that reaches every stage
(seizure, SE, established, refractory, super-refractory), the alarms (sounding,
paused, acknowledged), weaning, the out-of-AES SE types, and at several moments
every page: the menu, every drug and route in the library at four amounts with
each verdict's messages scrolled, the override page, weight and its
confirmation, alarms, the log and EEG pages.  Every frame drawn is checked
before the display's cut: no row may be longer than 16 characters (a longer row
loses what is past column 16 without a sign, e.g. countdown seconds).
"""
import pytest

from panel_driver import COLS, Panel


def _assert_fits(p):
    bad = p.too_long()
    assert not bad, "rows longer than %d columns:\n%s" % (
        COLS, "\n".join("%-13s %r (%d)" % (page, r, len(r)) for page, r in bad))


def test_ready_screens_fit():
    p = Panel()
    for _ in range(3):  # every SE type
        p.press("down")
        p.tour()
    q = Panel(weight_kg=None)
    q.tour()
    _assert_fits(p)
    _assert_fits(q)


@pytest.mark.parametrize("se_type", ["convulsive", "focal_impaired", "absence"])
def test_every_screen_of_an_episode_fits(se_type):
    p = Panel(se_type=se_type)
    p.press("ok")  # start the timer
    p.at(0, 7)
    p.tour()
    p.at(6, 3)  # first line overdue, sounding
    p.tour(doses=False)
    p.press("alarm")  # audio paused
    p.tour(doses=False)
    p.open_menu_item("Alarms")
    p.press("ok")  # acknowledged
    p.home()
    p.give("lorazepam", "iv")
    p.at(7, 12)
    p.tour()
    p.at(12, 0)  # established SE
    p.tour(doses=False)
    p.give("levetiracetam", "iv")
    p.at(16, 0)
    p.tour(doses=False)
    p.at(36, 0)  # refractory
    p.tour(doses=False)
    p.give("midazolam", "infusion")
    p.at(61, 0)
    p.tour()
    p.at(24 * 60 + 62, 0)  # super-refractory
    p.tour(doses=False)
    p.open_menu_item("Seizure stopped")
    p.at(26 * 60 + 5, 9)  # waiting for the wean window
    p.tour(doses=False)
    p.open_menu_item("Start weaning")
    p.at(27 * 60, 0)
    p.open_menu_item("Seizure again")  # recurrence while weaning
    p.at(27 * 60 + 1, 0)
    p.tour(doses=False)
    _assert_fits(p)


def test_eeg_and_status_rows_fit():
    p = Panel()
    p.press("ok")
    p.at(8, 0)
    u = p.unit
    for seizure, bsr in ((True, 7), (False, 100)):
        u.eeg["attached"] = True
        u.eeg["seizure"] = seizure
        u.eeg["se"] = seizure
        u.eeg["bsr_percent"] = bsr
        u.eeg["burden_percent"] = 100.0
        u.eeg["bsr_trend"] = list(range(0, 100, 3))
        p.tour(doses=False)
    _assert_fits(p)


def test_every_short_word_is_in_the_glossary_and_every_drug_fits():
    import os

    from firmware.core import druglib, drugnames, ui

    with open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs",
                           "panel-glossary.md")) as f:
        glossary = f.read()
    words = (list(ui.ALARM_SHORT) + list(ui.STAGE_SHORT.values()) + list(ui.DUE_SHORT.values())
             + list(drugnames.DRUG.values()) + list(drugnames.ROUTE.values()))
    missing = [w for w in words if "`%s`" % w not in glossary and "`%s " % w not in glossary]
    assert not missing, missing
    lib = druglib.load()
    for d, r in lib.entries():
        assert len(drugnames.drug(d)) <= drugnames.DRUG_COLS, d
        assert len(drugnames.route(r)) <= drugnames.ROUTE_COLS, r


@pytest.mark.parametrize("text", [
    "seizure stopped: logged",
    "dose exceeds the maximum single dose of 4 mg for lorazepam (AES 2016)",
    "drug library not verified: no dose checks",
    "a",
])
def test_messages_wrap_at_word_boundaries(text):
    from firmware.core import ui_pages

    lines = ui_pages.wrap(text)
    assert all(len(ln) <= COLS for ln in lines)
    assert " ".join(lines) == text  # every word whole, in order


def test_a_long_message_on_home_is_wrapped_not_cut():
    p = Panel()
    p.press("ok")
    p.at(1, 0)
    p.open_menu_item("Seizure stopped")
    assert p.page == "home"
    assert p.rows[6:] == ["seizure stopped:", "logged"]


def test_every_alarm_in_every_state_fits_on_every_page():
    # each alarm active in turn (its condition as the engine would set it), sounding,
    # acknowledged and paused, with the timer past 100 min: the home row, the top row of
    # the other pages and the alarms page
    from firmware.core import alarms

    p = Panel()
    p.press("ok")
    p.at(105, 0)
    st = p.unit.state
    t = p.unit.now()
    for i in range(alarms.N_ALARMS):
        for k in range(alarms.N_ALARMS):
            st.al_active[k] = k == i
        for since, ack, silence in ((t, -1, -1), (t, t, alarms.UNTIL_CLEAR), (t, -1, t + 119)):
            st.al_since[i], st.al_ack_t[i], st.al_silence_until[i] = since, ack, silence
            for keys in ((), ("ok",), ("up",), ("down",)):
                p.ui.page = "home"
                p.ui._press_t = t
                p.press(*keys)
                p.full_rows()
            p.ui.page = "alarms"
            p.ui.sel = 0
            p.full_rows()
    _assert_fits(p)
    tops = {r[0] for page, r in p.frames if page == "menu"}
    assert len(tops) >= alarms.N_ALARMS, tops  # every alarm was on the top row
