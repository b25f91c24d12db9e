"""Watchdog (issue 8, item 5): the main loop feeds it only after the health
checks (firmware/core/health.py) pass; a stalled loop, or a loop whose state
can no longer be trusted, resets the emulated unit, which recovers by replay.

The emulated watchdog (emulator/powercut.Watchdog) bites timeout_ms (8 s, the
rp2040 maximum) after the last feed; a reset reboots the unit with
reset_cause "watchdog", the RAM lost and the flash kept.  The recovered unit
ends in the same state as a run that never stalled.
"""
import pytest

from emulator.flash import FlashDir
from emulator.powercut import FsHal, Watchdog, WDT_TIMEOUT_MS, stall_next_step
from firmware.core import health
from firmware.core.eventlog import EventLog
from test_recovery_reboot import END_MIN, MIN, SCRIPT, comparable, do, make_emu, without_power_up


def run(path, fault=None, fault_min=None):
    emu = make_emu(path)
    emu.unit.health = health.Monitor()
    wd = Watchdog(emu, make_health=health.Monitor)
    injected = False
    for minute, name, args in SCRIPT:
        if fault is not None and not injected and minute > fault_min:
            wd.run_until(int(fault_min * MIN))
            fault(emu)
            injected = True
        wd.run_until(minute * MIN)
        do(emu.unit, name, args)
    wd.run_until(END_MIN * MIN)
    return emu, wd


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    emu, wd = run(tmp_path_factory.mktemp("ref"))
    return emu, wd


def test_healthy_loop_feeds_and_never_resets(reference):
    emu, wd = reference
    mon = emu.unit.health
    assert wd.resets == []
    assert emu.board.wdt_feeds >= mon.checks > 10 and mon.failures == 0
    assert emu.board.reset_cause() == "power_on"
    print("\nhealthy loop: %d steps checked, %d feeds, 0 resets" % (mon.checks, emu.board.wdt_feeds))


def _same_as_reference(emu, reference):
    ref = reference[0]
    a, b = ref.unit, emu.unit
    t = a.now()
    assert b.now() == t
    assert without_power_up(b.events) == without_power_up(a.events)
    a.engine.tick(t)
    b.engine.tick(t)
    assert comparable(b.state, True) == comparable(a.state, True)
    assert EventLog(FsHal(FlashDir(emu.board.flash.root))).load() == b.events


def _stall(emu):
    stall_next_step(emu)


def _corrupt_alarm_ram(emu):
    st = emu.unit.engine.state
    st.al_logged[0] = not st.al_active[0]  # RAM says the alarm log holds what it does not


def _stuck_deadline(emu):
    eng = emu.unit.engine
    real_tick = eng.tick

    def frozen(now=None):  # the engine stops processing deadlines
        return eng.next_deadline

    eng.tick = frozen
    eng._real_tick = real_tick


def _clock_backwards(emu):
    emu.unit.engine.clock._s -= 3600  # RAM corruption of the episode clock


FAULTS = [
    ("stalled loop", _stall, 31.5),
    ("alarm log out of sync in RAM", _corrupt_alarm_ram, 10.25),
    ("engine stuck on a deadline", _stuck_deadline, 27.0),
    ("clock went backwards", _clock_backwards, 44.0),
]


@pytest.mark.parametrize("name,fault,at_min", FAULTS, ids=[f[0] for f in FAULTS])
def test_fault_resets_and_recovers_by_replay(tmp_path, reference, name, fault, at_min):
    emu, wd = run(tmp_path, fault, at_min)
    assert len(wd.resets) == 1, wd.resets
    t_reset, reason, unfed_since = wd.resets[0]
    assert emu.board.reset_cause() == "watchdog"
    # the fault was noticed after it happened (a stuck engine shows when its
    # next deadline is missed), and the watchdog bit one timeout later
    assert int(at_min * MIN) <= unfed_since < t_reset <= unfed_since + WDT_TIMEOUT_MS + 1000
    assert emu.unit.health.failures == 0  # healthy after the replay
    pu = [e for e in emu.unit.events if e["type"] == "power_up"]
    assert len(pu) == 2
    _same_as_reference(emu, reference)
    print("\nwatchdog: %s at %.2f min -> feed withheld from %.3f min -> reset at %.3f min (%s), recovered by "
          "replay of %d records; end state equals the run without the fault"
          % (name, at_min, unfed_since / MIN, t_reset / MIN, reason, len(emu.unit.events)))


def test_unfed_steps_do_not_feed(tmp_path):
    """The feed is gated: while a check fails, no step feeds."""
    emu = make_emu(tmp_path)
    calls = []

    def failing(unit):
        calls.append(1)
        return "test: always failing"

    emu.unit.health = failing
    feeds = emu.board.wdt_feeds
    for _ in range(5):
        emu.unit.step()
    assert len(calls) == 5 and emu.board.wdt_feeds == feeds
    emu.unit.health = health.Monitor()
    emu.unit.step()
    assert emu.board.wdt_feeds == feeds + 1


def test_failed_log_write_never_reaches_ram(tmp_path):
    """Write first, then apply: an event whose write fails is refused and never reaches RAM, so
    RAM and the record never disagree, the health check stays good and no reset is needed."""
    emu = make_emu(tmp_path)
    emu.unit.health = health.Monitor()
    wd = Watchdog(emu, make_health=health.Monitor)
    emu.unit.set_weight("70 kg")
    emu.unit.onset()
    wd.run_until(3 * MIN)
    store = emu.unit.store
    real = store.hal.fs_open

    def broken(name, mode):
        if mode == "ab":
            raise OSError(5, "flash write failed")
        return real(name, mode)

    store.hal.fs_open = broken
    n = len(emu.unit.events)
    with pytest.raises(OSError):
        emu.unit.note("this note never reaches flash")
    assert len(emu.unit.events) == n and all(e["type"] != "note" for e in emu.unit.events)
    assert health.check(emu.unit) is None
    assert EventLog(FsHal(FlashDir(emu.board.flash.root))).load() == emu.unit.events
    store.hal.fs_open = real  # the flash works again
    wd.run_until(4 * MIN)
    assert wd.resets == []
    emu.unit.note("this one is logged")
    assert EventLog(FsHal(FlashDir(emu.board.flash.root))).load() == emu.unit.events
    assert [e["text"] for e in emu.unit.events if e["type"] == "note"] == ["this one is logged"]
