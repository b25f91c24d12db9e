"""A full flash (security/faults issue, the record part, item 2).

Write first, then apply: an event counts only once it is on flash.  With the flash full an action is
refused with a clear "storage full" error (ERR FULL on the link, a message on the panel), a
storage_full alarm is raised, and the unit still boots and monitors from memory: its timers run,
its alarms sound and can be silenced, and nothing is claimed as logged that is not on flash.  Each
case reboots twice with the flash still full, then frees space.

The flash is emulator.flash.CappedFlash over the unit's flash directory: a write that does not fit
raises OSError(28) and writes nothing, as littlefs does on a full board."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from emulator.board import EmulatedUnit  # noqa: E402
from emulator.flash import CappedFlash, FlashDir  # noqa: E402
from emulator.powercut import FsHal, reboot  # noqa: E402
from firmware.core import alarms  # noqa: E402
from firmware.core.eventlog import EventLog  # noqa: E402
from protocol_harness import Harness  # noqa: E402

MIN = 60_000


def attach(emu):
    """protocol_harness.Harness around an existing emulated unit (its link on the board's UART)."""
    return Harness(key=None, rand=lambda n: bytes(n), emu=emu)


def on_flash(path):
    return EventLog(FsHal(FlashDir(str(path)))).load()


def active(unit):
    unit.engine.tick(unit.now())
    return [a[0] for a in alarms.active_list(unit.state, unit.now())]


def started_unit(path):
    emu = EmulatedUnit(flash_dir=str(path))
    u = emu.unit
    u.set_weight("70 kg")
    u.onset()
    emu.run_for(2 * MIN)
    v = u.give("lorazepam", "iv", dose="4 mg")
    assert v["logged"]
    emu.run_for(MIN)
    return emu


def test_a_dose_refused_for_a_full_flash_never_counts_and_the_unit_boots_and_monitors(tmp_path):
    emu = started_unit(tmp_path)
    emu.board.flash = CappedFlash(emu.board.flash)  # the flash is full from now on
    h = attach(emu)
    u = emu.unit
    n_events = len(u.events)
    ok, data = h.request('DOSE drug=levetiracetam route=iv dose="4200 mg" over="10 min"')
    assert ok == "ERR" and data.startswith("FULL ") and "storage full" in data, data
    assert len(u.events) == n_events and u.state.second_line_n == 0  # refused: the dose counts nowhere
    assert on_flash(tmp_path) == u.events  # nothing in memory that is not on flash
    s = u.status()
    assert s["storage_full"] == 1 and "storage_full" in [a[0] for a in s["alarms"]]
    ok, data = h.request("NOTE text=hello")
    assert ok == "ERR" and data.startswith("FULL "), data

    committed = on_flash(tmp_path)
    for boot in (1, 2):  # the flash stays full over two reboots
        reboot(emu, "power_on", off_ms=1000)
        u = emu.unit
        assert u.state.started and u.state.bzd_n == 1 and u.state.second_line_n == 0, "boot %d" % boot
        assert "storage_full" in active(u)
        assert on_flash(tmp_path) == committed == [e for e in u.events], "boot %d" % boot
        # it monitors from memory: 20 minutes on, the second-line due time passes and is alarmed
        emu.run_for(20 * MIN)
        assert "second_line_overdue" in active(u), active(u)
        assert u.health is not None and u.health.failures == 0, u.health.last_reason
        assert "STORAGE FULL" in emu.screen_text()
        assert on_flash(tmp_path) == committed == u.events  # no alarm record claimed as written

    # the link: an ACK silences that alarm from memory and says it was not logged
    h = attach(emu)
    i = alarms.index("second_line_overdue")
    assert alarms.audible(u.state, i, u.now())
    ok, data = h.request("ACK alarm=second_line_overdue")
    assert ok == "ERR" and data.startswith("FULL ") and "NOT logged" in data, data
    assert not alarms.audible(u.state, i, u.now()) and u.state.al_active[i]
    assert on_flash(tmp_path) == committed == u.events
    # the panel: the alarm key silences the audio from memory, and says the record could not keep it
    assert alarms.highest_audible(u.state, u.now()) >= 0
    emu.press("alarm")
    assert "FULL" in emu.screen_text() and "NOT LOGGED" in emu.screen_text(), emu.screen_text()
    assert alarms.highest_audible(u.state, u.now()) < 0
    assert on_flash(tmp_path) == committed == u.events

    # space is freed (maintenance): the next action is logged, the alarm records catch up
    emu.board.flash.capacity += 100_000
    h = attach(emu)
    ok, data = h.request("NOTE text=freed")
    assert ok == "OK", data
    emu.run_for(MIN)
    assert "storage_full" not in active(u) and u.status()["storage_full"] == 0
    reboot(emu, "power_on")
    u = emu.unit
    assert [e for e in u.events if e["type"] != "power_up"] == \
        [e for e in on_flash(tmp_path) if e["type"] != "power_up"]
    assert "freed" in [e.get("text") for e in u.events]
    raised = [e["cond"] for e in u.events if e["type"] == "alarm" and e["action"] == "raise"]
    assert "second_line_overdue" in raised


def test_a_unit_whose_flash_is_full_at_power_on_boots(tmp_path):
    emu = started_unit(tmp_path)
    committed = on_flash(tmp_path)
    emu.board.flash = CappedFlash(emu.board.flash)
    for _ in range(2):
        reboot(emu, "power_on", off_ms=5000)
        u = emu.unit
        assert u.state.started and "storage_full" in active(u)
        assert u.events == committed
        emu.run_for(MIN)
        assert u.health.failures == 0
    # the panel refuses an action with a message, and logs nothing
    assert u.state.active
    emu.press("ok")  # home -> menu
    emu.press("down")  # "Seizure stopped"
    emu.press("ok")
    text = emu.screen_text()
    assert "FULL: NOT LOGGED" in text and "STORAGE FULL" in text, text
    assert "logged" not in text.replace("NOT LOGGED", "")
    assert u.state.active and u.events == committed == on_flash(tmp_path)


def test_a_torn_tail_on_a_full_flash_does_not_stop_the_boot(tmp_path):
    # power failed in the middle of a record, and the flash is full: the tail cannot be cut (cutting
    # copies the log), the unit boots on the records before it and writes nothing after a torn record
    emu = started_unit(tmp_path)
    committed = on_flash(tmp_path)
    with open(str(tmp_path / "events.log"), "ab") as f:
        f.write(b"\xa5\x01\x40\x00\x63\x00\x00\x00{\"t\":1")
    emu.board.flash = CappedFlash(emu.board.flash)
    size = os.path.getsize(str(tmp_path / "events.log"))
    for _ in range(2):
        reboot(emu, "power_on", off_ms=1000)
        u = emu.unit
        assert u.events == committed and "storage_full" in active(u)
        ok, data = attach(emu).request("NOTE text=x")
        assert ok == "ERR" and data.startswith("FULL "), data
        assert os.path.getsize(str(tmp_path / "events.log")) == size
    emu.board.flash.capacity += 100_000
    u.note("room again")
    assert on_flash(tmp_path) == u.events and u.events[-1]["text"] == "room again"
    assert "storage_full" not in active(u)
