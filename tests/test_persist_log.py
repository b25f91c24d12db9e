"""The event log and the settings store, piece by piece (issue 8, item 1).
The power cut at every byte is in test_persist_powercut.py."""
import pytest

from emulator.powercut import FsHal, MemFlash, RecordingFlash, every_cut
from firmware.core import eventlog
from firmware.core.eventlog import EventLog
from firmware.core.settings import Settings

EV = [{"type": "onset", "t": 10, "se_type": "convulsive"}, {"type": "stop", "t": 20},
      {"type": "note", "t": 30, "text": "x" * 50}, {"type": "recur", "t": 40}]


def fresh():
    fl = MemFlash()
    return fl, FsHal(fl)


def test_round_trip_and_monotonic_seq_across_reboots():
    fl, hal = fresh()
    log = EventLog(hal)
    assert log.load() == [] and log.next_seq == 1
    assert log.append(EV[0]) == 1
    assert log.append_many(EV[1:3]) == [2, 3]
    log2 = EventLog(hal)
    assert log2.load() == EV[:3] and log2.next_seq == 4 and not log2.recovered
    assert log2.append(EV[3]) == 4
    assert [s for s, _ in EventLog(hal).records()] == [1, 2, 3, 4]
    assert EventLog(hal).records(3) == [(3, EV[2]), (4, EV[3])]


def test_canonical_bytes_do_not_depend_on_key_order():
    a = eventlog.encode({"type": "stop", "t": 5, "z": None, "b": True})
    b = eventlog.encode({"b": True, "z": None, "t": 5, "type": "stop"})
    assert a == b == b'{"b":true,"t":5,"type":"stop","z":null}'


def test_unstorable_records_are_refused_before_writing():
    fl, hal = fresh()
    log = EventLog(hal)
    log.load()
    log.append(EV[0])
    size = fl.size("events.log")
    for bad in ({"type": "x", "t": 1.5}, {"type": "note", "t": 1, "text": "y" * 5000}, "not a dict",
                {1: "non-string key"}, {"type": "note", "t": 1, "text": "\ud800"}):
        with pytest.raises(ValueError):
            log.append_many([EV[1], bad])
    assert fl.size("events.log") == size and log.next_seq == 2


def test_torn_tail_is_cut_and_reported():
    fl, hal = fresh()
    log = EventLog(hal)
    log.append_many(EV)
    good = fl.files()["events.log"]
    for torn in (b"\xa5", b"\xa5\x01\x05\x00\x05\x00\x00\x00{\"t", b"\xff" * 40, b"\x00" * 3):
        fl.data["events.log"] = bytearray(good + torn)
        log2 = EventLog(hal)
        assert log2.load() == EV
        assert log2.recovered and log2.cut_bytes == len(torn) and log2.skipped == []
        assert fl.files()["events.log"] == good
        assert log2.append({"type": "end", "t": 50}) == 5
    print("\ntorn tails of 1-40 bytes cut, 4 records kept each time")


def test_damage_in_the_middle_is_skipped_not_cut():
    fl, hal = fresh()
    EventLog(hal).append_many(EV)
    data = bytearray(fl.files()["events.log"])
    second = data.index(b"\xa5", 1)
    data[second + 10] ^= 0x40  # flip a bit inside record 2
    fl.data["events.log"] = bytearray(data)
    log = EventLog(hal)
    got = log.load()
    assert got == [EV[0], EV[2], EV[3]]
    assert log.cut_bytes == 0 and len(log.skipped) == 1 and log.skipped[0][0] == second
    assert fl.files()["events.log"] == bytes(data), "damaged bytes are left for forensics"
    assert log.append({"type": "end", "t": 50}) == 5
    assert EventLog(hal).load() == [EV[0], EV[2], EV[3], {"type": "end", "t": 50}]


def test_a_failed_write_is_recovered_before_the_next_append():
    fl, hal = fresh()
    log = EventLog(hal)
    log.append(EV[0])

    class Half:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            self.f.write(data[: len(data) // 2])
            raise OSError(28, "no space")

        def close(self):
            self.f.close()

    real = hal.fs_open
    hal.fs_open = lambda n, m: Half(real(n, m)) if m == "ab" else real(n, m)
    with pytest.raises(OSError):
        log.append(EV[1])
    assert log.failures == 1
    hal.fs_open = real
    assert log.append(EV[2]) == 2  # the half record was cut first
    assert EventLog(hal).load() == [EV[0], EV[2]]


def test_clear_is_atomic_and_keeps_the_sequence():
    rec = RecordingFlash()
    hal = FsHal(rec)
    log = EventLog(hal)
    log.append_many(EV)
    start = len(rec.trace)
    assert log.clear() == 5
    assert EventLog(hal).load() == []
    assert log.append(EV[0]) == 6 and EventLog(hal).records() == [(6, EV[0])]
    # power cut anywhere in clear(): the old log or the cleared one, never a mix
    before = [op for op in rec.trace[:start]]
    n = 0
    for cut in every_cut(rec.trace[: start + 4]):
        if cut.k < sum(len(op[2]) for op in before if op[0] == "write"):
            continue
        got = EventLog(FsHal(MemFlash(cut.files))).load()
        assert got in (EV, [])
        n += 1
    assert n > 10


def test_settings_round_trip_and_generations():
    fl, hal = fresh()
    s = Settings(hal, defaults={"unit_id": "U", "volume": 3})
    assert s.load() == {"unit_id": "U", "volume": 3} and s.generation == 0 and s.source == "defaults"
    assert s.save({"unit_id": "A1", "volume": 1}) == 1
    assert s.update(volume=2) == 2
    assert sorted(fl.listdir()) == ["settings.a", "settings.b"]
    s2 = Settings(hal, defaults={"unit_id": "U", "volume": 3, "new_option": True})
    assert s2.load() == {"unit_id": "A1", "volume": 2, "new_option": True} and s2.generation == 2
    assert s2.save({"unit_id": "A1", "volume": 4}) == 3
    assert s2.source == "settings.a"  # wrote over the older slot, kept generation 2 in b


@pytest.mark.parametrize("damage", ["truncate", "flip", "zero", "remove"])
def test_settings_damaged_newest_slot_falls_back_to_previous_generation(damage):
    fl, hal = fresh()
    s = Settings(hal)
    s.load()
    s.save({"v": 1})
    s.save({"v": 2})  # newest in settings.b
    b = fl.data["settings.b"]
    if damage == "truncate":
        del b[-5:]
    elif damage == "flip":
        b[12] ^= 1
    elif damage == "zero":
        fl.data["settings.b"] = bytearray(len(b))
    else:
        fl.remove("settings.b")
    s2 = Settings(hal)
    assert s2.load() == {"v": 1} and s2.generation == 1 and s2.source == "settings.a"
    assert s2.fallback == (damage != "remove")
    assert s2.save({"v": 3}) == 2  # overwrites the damaged slot, keeps generation 1
    assert Settings(hal).load() == {"v": 3}


def test_settings_both_slots_bad_gives_defaults():
    fl, hal = fresh()
    fl.data["settings.a"] = bytearray(b"STS1garbage")
    fl.data["settings.b"] = bytearray(b"\xff" * 30)
    s = Settings(hal, defaults={"unit_id": "D"})
    assert s.load() == {"unit_id": "D"} and s.source == "defaults"
    assert s.damaged == ["settings.a", "settings.b"]


def test_settings_power_cut_at_every_byte_of_saves():
    rec = RecordingFlash()
    hal = FsHal(rec)
    s = Settings(hal, defaults={"v": 0})
    s.load()
    for i in range(1, 6):
        s.save({"v": i, "pad": "p" * (i * 7)})
        rec.mark(i)
    n = 0
    for cut in every_cut(rec.trace, tear="garbage"):
        committed = cut.marks[-1] if cut.marks else 0
        got = Settings(FsHal(MemFlash(cut.files)), defaults={"v": 0}).load()
        assert got["v"] in (committed, committed + 1)
        n += 1
    print("\nsettings: %d cut points over 5 saves, always the committed or the in-flight generation" % n)
