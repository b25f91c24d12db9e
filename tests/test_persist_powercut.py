"""Power cut at every byte offset of the writes of a long scenario (issue 8, item 1).

For every cut point of the scenario's writes (every byte written, every
rename/remove), the flash is left as the cut left it, the unit reboots and
recovers, and then:
- recovery succeeds (no exception) and the log replays;
- zero committed records lost or altered: every event whose append returned
  before the cut is there, byte-identical, in order, with seqs 1..n;
- the only extra records are the ones being written at the cut, whole;
- the recovered file is a byte prefix of the uncut run's file (earlier bytes
  never touched);
- the log accepts the next append with the next seq, durable after a reboot;
- settings come back as the last committed generation (or the one in flight).
The harness replays the recorded write trace (emulator/powercut.every_cut);
a sample of cut points is re-run live with CuttingFlash to show the two agree.
"""
import random

import pytest

from emulator.powercut import (FsHal, MemFlash, RecordingFlash, count_cut_points, every_cut, run_cut)
from firmware.core.eventlog import EventLog
from firmware.core.settings import Settings
from persist_cases import DEFAULTS, episode_events, long_scenario

NEXT = {"type": "note", "t": 999_999_999, "text": "after the cut"}


@pytest.fixture(scope="module")
def recorded():
    events = episode_events()
    scenario = long_scenario(events)
    rec = RecordingFlash()
    scenario(FsHal(rec), rec.mark)
    final = rec.flash.files()
    return events, scenario, rec.trace, final, rec.cut_points()


def _committed(marks):
    evs, gen, values = [], 0, None
    for m in marks:
        if m[0] == "ev":
            evs.extend(m[2])
        elif m[0] == "set":
            gen, values = m[1], m[2]
    return evs, gen, values


def _in_flight(cut):
    """How many records the interrupted operation was writing (0 if none)."""
    op = cut.op
    if op is None or op[0] != "write":
        return 0
    return op[2].count(b"\xa5\x01")  # upper bound: records in this write


def check_cut(cut, events, final, settings_by_gen, stats):
    flash = MemFlash(cut.files)
    hal = FsHal(flash)
    committed, gen, values = _committed(cut.marks)
    log = EventLog(hal)
    got = log.load()  # recovery must simply succeed
    c = len(committed)
    assert got[:c] == committed, "cut %d: committed records lost or altered" % cut.k
    assert got == events[: len(got)], "cut %d: records not a prefix of the scenario" % cut.k
    extra = len(got) - c
    assert 0 <= extra <= max(_in_flight(cut), 0), "cut %d: %d unexpected records" % (cut.k, extra)
    assert [s for s, _ in log.records()] == list(range(1, len(got) + 1))
    assert log.next_seq == len(got) + 1
    data = flash.files().get("events.log", b"")
    assert data == final["events.log"][: len(data)], "cut %d: recovered bytes differ from the written ones" % cut.k
    assert log.skipped == []
    assert "events.log.tmp" not in flash.files()
    # the unit goes on: the next append lands after the recovered records
    assert log.append(NEXT) == len(got) + 1
    again = EventLog(hal).load()
    assert again == got + [NEXT]
    # settings: the committed generation, or the one being written
    s = Settings(hal, defaults=DEFAULTS)
    sv = s.load()
    assert s.generation in (gen, gen + 1), "cut %d: settings generation %d, committed %d" % (cut.k, s.generation, gen)
    if s.generation == gen:
        want = dict(DEFAULTS)
        want.update(values or {})
        assert sv == want
    else:
        want = dict(DEFAULTS)
        want.update(settings_by_gen[s.generation])
        assert sv == want
    stats["cuts"] += 1
    stats["recovered"] += 1 if log.recovered else 0
    stats["cut_bytes"] += log.cut_bytes
    stats["records"] += len(got)
    stats["in_flight_kept"] += extra


def _settings_by_gen(trace):
    out = {}
    for op in trace:
        if op[0] == "mark" and op[1][0] == "set":
            out[op[1][1]] = op[1][2]
    return out


@pytest.mark.parametrize("tear", ["prefix", "ff", "garbage"])
def test_power_cut_at_every_byte(recorded, tear):
    events, scenario, trace, final, n_points = recorded
    by_gen = _settings_by_gen(trace)
    stats = dict(cuts=0, recovered=0, cut_bytes=0, records=0, in_flight_kept=0)
    for cut in every_cut(trace, tear=tear):
        check_cut(cut, events, final, by_gen, stats)
    assert stats["cuts"] == n_points + 1  # every cut point, plus the uncut end
    print("\npower cut (%s tear): %d events, %d bytes written, %d cut points cut, %d recoveries cut a tail "
          "(%d bytes), %d records recovered in all, %d in-flight records survived whole, 0 committed lost"
          % (tear, len(events), sum(len(op[2]) for op in trace if op[0] == "write"), stats["cuts"],
             stats["recovered"], stats["cut_bytes"], stats["records"], stats["in_flight_kept"]))


def test_recorded_cuts_equal_live_cuts(recorded):
    """every_cut() is a faithful shortcut: re-running the scenario with the
    power failing at cut point k leaves the same flash."""
    events, scenario, trace, final, n_points = recorded
    assert count_cut_points(scenario) == n_points
    rng = random.Random(8)
    ks = sorted(set([0, 1, 2, 13, 14, n_points - 1, n_points] + rng.sample(range(n_points), 60)))
    cuts = {c.k: c for c in every_cut(trace, tear="garbage") if c.k in ks}
    for k in ks:
        flash, happened = run_cut(scenario, k, tear="garbage")
        assert happened == (k < n_points)
        assert flash.files() == cuts[k].files, "cut point %d" % k
    print("\nlive cross-check: %d cut points re-run live, identical flash" % len(ks))


def test_power_cut_during_recovery_itself(recorded):
    """A torn log whose recovery is cut at every point of the recovery (and
    then again) still recovers to the same records."""
    events, scenario, trace, final, n_points = recorded
    rng = random.Random(3)
    torn = [c for c in every_cut(trace, tear="garbage", stride=7)
            if c.op is not None and c.op[0] == "write" and c.within > 0]
    n_inner = 0
    for cut in rng.sample(torn, 12):
        want = EventLog(FsHal(MemFlash(cut.files))).load()
        rec = RecordingFlash(MemFlash(cut.files))
        EventLog(FsHal(rec)).load()
        assert rec.cut_points() > 0  # it did copy and rename
        for inner in every_cut(rec.trace, tear="garbage", initial=cut.files):
            got = EventLog(FsHal(MemFlash(inner.files))).load()
            assert got == want
            n_inner += 1
    print("\nrecovery cut: 12 torn logs, recovery cut at %d points, always the same records" % n_inner)
