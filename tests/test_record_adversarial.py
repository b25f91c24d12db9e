"""The record holds against adversarial flash contents (security/faults issue, the record part).

Each case runs a real episode on an emulated unit whose log is a directory, puts one hostile but
CRC-valid record into the log (or a sequence anomaly), and reboots TWICE: the first reboot shows
whether replay hides the running episode, the second whether the records appended after the first
boot survive.  A committed record is one whose append returned; after the last reboot every
committed, valid record must be in the unit's record, in order ("lost" counts those that are not),
and the hostile record must be kept on flash and shown as invalid.

The flash is read back here with an independent parser of the record framing (docs: eventlog.py's
header), not with the code under test."""
import binascii
import json
import struct

import pytest

from emulator.board import EmulatedUnit
from emulator.flash import FlashDir
from emulator.powercut import FsHal, reboot
from firmware.core.eventlog import EventLog

MIN = 60_000
REBOOTS = 2


def raw_records(path):
    """[(kind, seq, payload bytes)] of every CRC-valid record in the log file, in file order."""
    data = open(str(path / "events.log"), "rb").read()
    out = []
    pos = 0
    while pos + 12 <= len(data):
        if data[pos] != 0xA5:
            pos += 1
            continue
        _, kind, n, seq = struct.unpack("<BBHI", data[pos:pos + 8])
        end = pos + 12 + n
        if 1 <= n <= 2048 and end <= len(data):
            (crc,) = struct.unpack("<I", data[end - 4:end])
            if binascii.crc32(data[pos:end - 4]) & 0xFFFFFFFF == crc:
                out.append((kind, seq, data[pos + 8:end - 4]))
                pos = end
                continue
        pos += 1
    return out


def frame(kind, seq, obj):
    payload = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    head = struct.pack("<BBHI", 0xA5, kind, len(payload), seq)
    return head + payload + struct.pack("<I", binascii.crc32(head + payload) & 0xFFFFFFFF)


def write_raw(path, data):
    with open(str(path / "events.log"), "ab") as f:
        f.write(data)


def make(path):
    d = str(path)
    return EmulatedUnit(flash_dir=d, store=EventLog(FsHal(FlashDir(d))))


def shown(unit):
    """The unit's record as replayed: (valid events, invalid entries)."""
    good = [e for e in unit.events if e["type"] != "invalid"]
    bad = [e for e in unit.events if e["type"] == "invalid"]
    return good, bad


class Committed:
    """Every record seen on flash before a reboot (a record on flash when power goes is committed),
    in order, whatever a later boot does to the file."""

    def __init__(self, path):
        self.path = path
        self.seen = []

    def collect(self):
        for rec in raw_records(self.path):
            if rec not in self.seen:
                self.seen.append(rec)


def lost(unit, committed, hostile):
    """Committed valid records that the unit's record does not show, in order."""
    committed.collect()
    want = [json.loads(p) for k, s, p in committed.seen if k == 1]
    want = [e for e in want if e not in hostile]
    good, _ = shown(unit)
    missing = 0
    j = 0
    for e in want:
        k = j
        while k < len(good) and good[k] != e:
            k += 1
        if k == len(good):
            missing += 1
        else:
            j = k + 1
    return missing, len(want)


def reboot_and_collect(emu, committed, off_ms=1000):
    committed.collect()
    reboot(emu, "power_on", off_ms=off_ms)


def run_case(path, inject):
    """Episode, hostile record, then REBOOTS reboots with records appended after each boot.
    inject(emu, path) puts the hostile record(s) on flash and returns them (dicts) for the check."""
    emu = make(path)
    emu.committed = Committed(path)
    u = emu.unit
    u.set_weight("70 kg")
    emu.run_for(MIN)
    u.onset()
    emu.run_for(2 * MIN)
    u.give("lorazepam", "iv", dose="4 mg")
    emu.run_for(MIN)
    hostile = inject(emu, path)
    emu.unit.note("after the hostile record")
    for i in range(REBOOTS):
        emu.run_for(MIN)
        reboot_and_collect(emu, emu.committed)
        emu.run_for(MIN)
        emu.unit.note("written after boot %d" % (i + 1))
    emu.run_for(MIN)
    reboot_and_collect(emu, emu.committed)  # replays what boot REBOOTS wrote
    emu.run_for(1000)
    return emu, hostile


def check_case(emu, path, hostile, invalid_expected=True):
    u = emu.unit
    n_lost, n_want = lost(u, emu.committed, hostile)
    assert n_lost == 0, "%d of %d committed records lost after %d reboots" % (n_lost, n_want, REBOOTS + 1)
    good, bad = shown(u)
    notes = [e["text"] for e in good if e["type"] == "note"]
    assert notes[-REBOOTS - 1:] == ["after the hostile record"] + ["written after boot %d" % (i + 1)
                                                                    for i in range(REBOOTS)]
    assert u.state.started and "READY" not in emu.screen_text(), emu.screen_text()
    assert [e for e in good if e["type"] == "dose"][0]["drug"] == "lorazepam"
    on_flash = [json.loads(p) for k, s, p in raw_records(path)]
    for h in hostile:
        assert h in on_flash, "a hostile record was removed from flash"
    if invalid_expected:
        assert [b["record"] for b in bad] == hostile
        assert all(b["reason"] for b in bad)
        s = u.status()
        assert s["log_invalid"] == len(hostile) and "log_invalid" in s["flags"]
    return u


BAD = {
    "time going backwards": lambda t: {"type": "note", "t": 5, "text": "from the past"},
    "unknown type": lambda t: {"type": "teleport", "t": t},
    "second onset": lambda t: {"type": "onset", "t": t, "se_type": "convulsive"},
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_record_that_fails_validation_is_quarantined_and_hides_nothing(tmp_path, case):
    def inject(emu, path):
        ev = BAD[case](emu.unit.now())
        emu.unit.store.append(ev)  # CRC-valid: written that way
        return [ev]

    emu, hostile = run_case(tmp_path, inject)
    check_case(emu, tmp_path, hostile)


def test_dose_before_onset_at_the_start_of_the_log_hides_nothing(tmp_path):
    # the hostile record first on flash, before the onset: the whole episode followed it
    ev = {"type": "dose", "t": 0, "drug": "lorazepam", "route": "iv", "amount_ug": 4000, "line": 1,
          "bzd_permille": 1000, "second_line_adequate": False}
    write_raw(tmp_path, frame(1, 1, ev))
    emu, hostile = run_case(tmp_path, lambda emu, path: [ev])
    check_case(emu, tmp_path, hostile)


def test_a_hostile_record_far_in_the_future_does_not_push_the_clock(tmp_path):
    # a dose before onset stamped a day ahead: refusing it must not move the episode time there
    # (every later record would then look like time going backwards)
    def inject(emu, path):
        ev = {"type": "recovered", "t": emu.unit.now() + 86400}
        emu.unit.store.append(ev)
        return [ev]

    emu = make(tmp_path)
    committed = Committed(tmp_path)
    emu.unit.set_weight("70 kg")
    emu.run_for(MIN)
    hostile = inject(emu, tmp_path)  # before any onset: "recovered" fails validation
    emu.unit.onset()
    for i in range(REBOOTS):
        emu.run_for(MIN)
        reboot_and_collect(emu, committed)
        emu.run_for(MIN)
        emu.unit.note("written after boot %d" % (i + 1))
    emu.unit.give("lorazepam", "iv", dose="4 mg")
    reboot_and_collect(emu, committed)
    u = emu.unit
    n_lost, n_want = lost(u, committed, hostile)
    assert n_lost == 0, "%d of %d committed records lost" % (n_lost, n_want)
    assert u.state.started and u.state.t < hostile[0]["t"] and u.state.n_invalid == 1


def test_a_sequence_gap_keeps_the_later_records(tmp_path):
    def inject(emu, path):
        # a valid record whose sequence number jumps ahead of what the running unit writes next
        ev = {"type": "note", "t": emu.unit.now(), "text": "seq jumped"}
        write_raw(path, frame(1, emu.unit.store.next_seq + 50, ev))
        return []

    emu, _ = run_case(tmp_path, inject)
    check_case(emu, tmp_path, [], invalid_expected=False)
    s = emu.unit.status()
    assert s["log_seq_gaps"] >= 1 and "log_seq_gaps" in s["flags"]
    assert "seq jumped" in [e.get("text") for e in emu.unit.events]


def test_a_cleared_marker_in_the_middle_drops_nothing(tmp_path):
    def inject(emu, path):
        seq = emu.unit.store.next_seq
        write_raw(path, frame(2, seq, {"cleared": seq}))
        emu.unit.store.next_seq = seq + 1
        return [{"cleared": seq}]

    emu, hostile = run_case(tmp_path, inject)
    check_case(emu, tmp_path, hostile)


def test_sequence_number_at_its_maximum_does_not_stop_the_boot(tmp_path):
    def inject(emu, path):
        ev = {"type": "note", "t": emu.unit.now(), "text": "last sequence number"}
        write_raw(path, frame(1, 0xFFFFFFFF, ev))
        return []

    emu, _ = run_case(tmp_path, inject)
    check_case(emu, tmp_path, [], invalid_expected=False)
    seqs = [s for k, s, p in raw_records(tmp_path)]
    assert 0xFFFFFFFF in seqs and all(0 < s <= 0xFFFFFFFF for s in seqs)
    # the records written after the wrap number on from 1 and stay distinct
    after = seqs[seqs.index(0xFFFFFFFF) + 1:]
    assert after and len(set(after)) == len(after)


def test_a_legitimate_clear_still_starts_an_empty_record(tmp_path):
    emu = make(tmp_path)
    emu.unit.onset()
    emu.run_for(MIN)
    emu.unit.seizure_stop()
    emu.unit.recovered()
    emu.unit.engine.append({"type": "end", "t": emu.unit.now()})
    emu.unit.clear_log()
    reboot(emu, "power_on")
    u = emu.unit
    assert [e["type"] for e in u.events] == ["power_up", "maint", "power_up"]
    assert u.status()["log_invalid"] == 0 and u.status()["log_seq_gaps"] == 0


def test_quarantined_records_show_as_invalid_in_log_and_exports(tmp_path):
    # a long hostile record (unknown type, a 1.9 KB field) and a short one: both listed by LOG as
    # invalid, in order, each within one reply line; the exports mark them, nothing is dropped
    import sys
    import os

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from protocol_harness import Harness
    from host_tools import export

    emu = make(tmp_path)
    emu.unit.onset()
    emu.run_for(MIN)
    big = {"type": "teleport", "t": emu.unit.now(), "cargo": "x" * 1900}
    small = {"type": "stop", "t": 1}
    emu.unit.store.append(big)
    emu.unit.store.append(small)
    emu.unit.note("after both")
    reboot(emu, "power_on")
    emu.run_for(MIN)
    h = Harness(key=None, rand=lambda n: bytes(n), emu=emu)
    rows = []
    start = 0
    while True:
        ok, data = h.request("LOG from=%d" % start)
        assert ok == "OK", data
        page = json.loads(data)
        rows += [(start + i, e) for i, e in enumerate(page["events"])]
        if page["next"] >= page["total"]:
            break
        start = page["next"]
    types = [e["type"] for _, e in rows]
    assert types.count("invalid") == 2
    inv = [e for _, e in rows if e["type"] == "invalid"]
    assert "unknown event type" in inv[0]["reason"] and inv[0]["record"].startswith('{"cargo":"xxx')
    assert inv[1]["record"] == small and "earlier" in inv[1]["reason"]
    assert "after both" in [e.get("text") for _, e in rows]
    csv_text = export.to_csv(rows)
    assert csv_text.count(",invalid,") == 2
    fhir = export.to_fhir(rows, {"unit": "STATIM-0001"})
    bad = [r["resource"] for r in fhir["entry"] if r["resource"].get("status") == "entered-in-error"]
    assert len(bad) == 2 and all("invalid" in r["code"]["text"].lower() for r in bad)
