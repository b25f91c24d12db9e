"""The unit always comes up: a stored record that is not a valid event is quarantined (shown as
invalid, flagged) and the replay goes on after it."""
from emulator.board import EmulatedUnit
from firmware.core.unit import Unit


class ListStore:
    def __init__(self, events):
        self.events = list(events)
        self.appended = []

    def load(self):
        return list(self.events)

    def append(self, ev):
        self.appended.append(ev)


def test_bad_stored_record_does_not_stop_the_unit():
    emu = EmulatedUnit(weight_kg=70)
    emu.press("ok")
    emu.run_for(6 * 60_000)
    good = list(emu.unit.events)
    bad = {"type": "dose", "t": good[-1]["t"] + 1, "drug": "lorazepam"}  # fields missing
    later = {"type": "stop", "t": good[-1]["t"] + 2}
    store = ListStore(good + [bad, later])
    unit = Unit(emu.board, store=store)
    assert [e for e in unit.events[: len(good)]] == good  # everything before the bad record replayed
    q = unit.events[len(good)]
    assert q["type"] == "invalid" and q["record"] == bad and "missing" in q["reason"]
    assert unit.events[len(good) + 1] == later  # and everything after it
    s = unit.status()
    assert s["log_invalid"] == 1 and "log_invalid" in s["flags"]
    assert s["stage"] == "se" and not s["seizure_active"]  # the episode is intact, the stop replayed
    assert store.appended[-1]["type"] == "power_up"
    assert bad not in store.appended and later not in store.appended  # nothing rewritten: the bad record stays


def test_clock_set_over_the_link_clears_clock_unset():
    emu = EmulatedUnit(weight_kg=70, rtc=False)
    assert "clock_unset" in emu.unit.status()["flags"]
    emu.unit.set_clock(1_790_000_000)
    from firmware.core import events

    emu.unit.engine.append(events.maint(emu.unit.now(), "clock", "RTC set"))
    assert "clock_unset" not in emu.unit.status()["flags"]


def test_emulated_unit_persists_and_replays(tmp_path):
    first = EmulatedUnit(weight_kg=70, flash_dir=str(tmp_path))
    first.press("ok")
    first.run_for(12 * 60_000)
    assert first.unit.give("lorazepam", "iv", dose="4 mg")["logged"]
    before = [e for e in first.unit.events]
    second = EmulatedUnit(flash_dir=str(tmp_path))  # power cycle: same flash
    assert second.unit.events[: len(before)] == before
    assert second.unit.events[len(before)]["type"] == "power_up"
    assert second.unit.weight_g == 70_000


def test_settings_survive_a_reboot_and_clear_log_starts_a_new_record(tmp_path):
    emu = EmulatedUnit(weight_kg=70, flash_dir=str(tmp_path))
    emu.unit.config["reference"] = "ncs"
    emu.unit.save_settings()
    emu.unit.onset()
    emu.run_for(60_000)
    emu.unit.engine.append({"type": "end", "t": emu.unit.now()})
    n = len(emu.unit.events)
    emu.unit.clear_log()
    kinds = [e["type"] for e in emu.unit.events]
    assert kinds[0] == "power_up" and kinds[-1] == "maint"
    assert emu.unit.events[-1]["detail"] == "new log: %d records cleared" % n
    again = EmulatedUnit(flash_dir=str(tmp_path), se_type="convulsive")
    assert again.unit.config["reference"] == "ncs"  # from flash
    assert not any(e["type"] == "onset" for e in again.unit.events)  # the cleared episode is gone
