"""The loop's health check on the alarm record (IEC 60601-1-8 clause 6.12: every alarm
condition's start and end is logged).  An alarm active in RAM that the log does not say
was raised -- or the other way round -- is state a reset repairs (the log is replayed), so
the watchdog is not fed; except while the flash is full, when no record can be written and
the storage_full alarm says so."""
from firmware.core import health
from firmware.core import unit as _unit
from step_hal import Hal  # tests/ is on sys.path (conftest.py)


class FeedCountingHal(Hal):
    def __init__(self):
        super().__init__()
        self.feeds = 0

    def wdt_feed(self):
        self.feeds += 1


def _late_first_line():
    hal = FeedCountingHal()
    u = _unit.Unit(hal)
    u.set_weight("70 kg")
    u.onset()
    for second in range(1, 6 * 60 + 5):  # convulsive SE, no drug: alarms raised (and logged) by 6:00
        hal.ms = second * 1000
        u.step()
    return hal, u


def test_a_healthy_unit_with_logged_alarms_feeds_the_watchdog():
    hal, u = _late_first_line()
    st = u.state
    assert any(st.al_active) and st.al_active == st.al_logged
    assert health.check(u) is None
    fed = hal.feeds
    hal.ms += 1000
    u.step()
    assert hal.feeds == fed + 1


def test_an_alarm_the_log_does_not_hold_stops_the_feed():
    hal, u = _late_first_line()
    st = u.state
    i = st.al_active.index(True)
    st.al_logged[i] = False  # RAM says active, the log never said it was raised
    assert health.check(u) == "alarms: the alarm log disagrees with the active alarms"
    fed = hal.feeds
    hal.ms += 1000
    u.step()
    assert hal.feeds == fed
    assert u.health.last_reason.startswith("alarms:")


def test_a_logged_alarm_no_longer_active_stops_the_feed_too():
    hal, u = _late_first_line()
    st = u.state
    j = st.al_active.index(False)
    st.al_logged[j] = True
    assert health.check(u) == "alarms: the alarm log disagrees with the active alarms"


def test_with_the_flash_full_the_difference_is_not_a_reason_to_reset():
    hal, u = _late_first_line()
    st = u.state
    st.al_logged[st.al_active.index(True)] = False
    u.engine.store_full = True
    assert health.check(u) is None
