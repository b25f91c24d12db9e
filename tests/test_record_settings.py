"""Settings lost (security/faults issue, the record part, item 3).

Both settings copies corrupt: the unit runs on its defaults -- and says so: the settings_defaults
flag in the state and STATUS, the settings_defaults alarm, and a maint record settings_damaged in
the log.  A settings save by maintenance ends it.  Each case reboots at least twice."""
import os

from emulator.board import EmulatedUnit
from emulator.flash import FlashDir
from emulator.powercut import FsHal, reboot
from firmware.core import alarms, events
from firmware.core.eventlog import EventLog
from firmware.core.settings import Settings


def corrupt(path, name):
    p = os.path.join(str(path), name)
    data = bytearray(open(p, "rb").read())
    data[len(data) // 2] ^= 0x55  # inside the payload: the CRC no longer matches
    open(p, "wb").write(bytes(data))


def power_on(emu):
    """A reboot as on a board: the configuration comes from flash (the emulator's reboot passes the
    old unit's configuration on, which would win over what flash holds)."""
    emu.unit.config = {}
    reboot(emu, "power_on")
    return emu.unit


def flagged(u):
    s = u.status()
    act = [a[0] for a in alarms.active_list(u.state, u.now())]
    return s["settings_defaults"], "settings_defaults" in s["flags"], "settings_defaults" in act


def test_both_settings_copies_corrupt_is_flagged_logged_and_alarmed(tmp_path):
    emu = EmulatedUnit(flash_dir=str(tmp_path))
    u = emu.unit
    u.config["reference"] = "ncs"
    u.save_settings()
    u.config["se_type"] = "focal_impaired"
    u.save_settings()  # two generations: both slots hold a copy
    assert sorted(n for n in os.listdir(str(tmp_path)) if n.startswith("settings")) == ["settings.a", "settings.b"]
    power_on(emu)
    assert emu.unit.config["reference"] == "ncs" and flagged(emu.unit) == (0, False, False)

    corrupt(tmp_path, "settings.a")
    corrupt(tmp_path, "settings.b")
    for boot in (1, 2):
        power_on(emu)
        u = emu.unit
        assert u.config["reference"] == "aes" and u.config["se_type"] == "convulsive"  # the defaults
        assert flagged(u) == (1, True, True), "boot %d" % boot
        logged = [e for e in u.events if e["type"] == "maint" and e["action"] == "settings_damaged"]
        assert len(logged) == boot and "defaults" in logged[-1]["detail"]
        assert logged[-1] in EventLog(FsHal(FlashDir(str(tmp_path)))).load()  # on flash, not only in RAM
        assert "!defaults" in emu.screen_text()  # the alarm row
    assert Settings(FsHal(FlashDir(str(tmp_path)))).load() == {}  # still nothing readable

    # maintenance saves settings again (as the SETTINGS command does): the condition ends
    u.config["reference"] = "ncs"
    u.save_settings()
    u.engine.append(events.maint(u.now(), "settings", "reference=ncs"))
    assert flagged(u) == (0, False, False)
    power_on(emu)
    assert emu.unit.config["reference"] == "ncs" and flagged(emu.unit) == (0, False, False)


def test_one_damaged_copy_falls_back_to_the_previous_generation_without_the_alarm(tmp_path):
    emu = EmulatedUnit(flash_dir=str(tmp_path))
    u = emu.unit
    u.config["reference"] = "ncs"
    u.save_settings()
    u.config["se_type"] = "absence"
    u.save_settings()
    newest = Settings(FsHal(FlashDir(str(tmp_path))))
    newest.load()
    corrupt(tmp_path, newest.source)
    power_on(emu)
    u = emu.unit
    assert u.config["reference"] == "ncs" and u.config["se_type"] == "convulsive"  # the older copy
    assert flagged(u) == (0, False, False)


def test_a_fresh_unit_with_no_settings_is_not_flagged(tmp_path):
    emu = EmulatedUnit(flash_dir=str(tmp_path))
    power_on(emu)
    assert flagged(emu.unit) == (0, False, False)
    assert not [e for e in emu.unit.events if e["type"] == "maint"]
