"""Seizure timers are monotonic (clinical.md, Review round 2, rule 1).

Time since onset, t1/t2, the AES phases, the ESETT 5 min and RSE windows and
the SRSE 24 h run on a clock that a wall-clock correction cannot move, forward
or backward.  A correction during an episode is logged with its delta and
shown; it never changes a stage, a flag or a due time.  Across a power loss
the gap comes from the battery-backed RTC: it is used, and flagged.
"""
from emulator.board import EmulatedUnit
from firmware.core import episode

MIN = 60_000
H = 60 * MIN


def _emu():
    return EmulatedUnit(weight_kg=70, se_type="convulsive")


def _rtc(emu):
    return emu.board.clock.rtc_s()


def test_forward_clock_set_at_3_min_keeps_the_seizure_stage():
    # ILAE 2015: convulsive t1 = 5 min, t2 = 30 min.  A 3-minute seizure is a seizure.
    emu = _emu()
    emu.unit.onset()
    emu.run_for(3 * MIN)
    emu.unit.set_clock(_rtc(emu) + 10 * 60)  # maintenance CLOCK: +10 min
    emu.run_for(1000)
    st = emu.unit.status()
    assert st["stage"] == "seizure"
    assert "t2_exceeded" not in st["flags"]
    assert st["alarms"] == []
    assert emu.unit.elapsed_s() == 3 * 60 + 1
    assert st["phase"] == "stabilization"
    # the correction is logged with its delta, and shown
    corr = [e for e in emu.unit.events if e["type"] == "clock"]
    assert len(corr) == 1 and corr[0]["delta"] == 600 and corr[0]["source"] == "set"
    assert st["clock_corrected_s"] == 600
    assert "CLK ADJ +10:00" in emu.screen_text()
    # t1 is reached 5 min after the onset, on the seizure's own clock
    emu.run_for(2 * MIN - 2000)
    assert emu.unit.status()["stage"] == "seizure"
    emu.run_for(1000)
    assert emu.unit.status()["stage"] == "se"


def test_plus_24_h_during_an_anesthetic_infusion_is_not_srse():
    # Shorvon & Ferlisi 2011: SRSE is SE continuing >= 24 h after the anesthetic started.
    emu = _emu()
    u = emu.unit
    u.onset()
    emu.run_for(6 * MIN)
    u.give("lorazepam", "iv", dose="4 mg")
    emu.run_for(10 * MIN)
    u.give("levetiracetam", "iv", dose="4200 mg", over="10 min")
    emu.run_for(25 * MIN)
    assert u.status()["stage"] == "refractory"
    u.infusion("start", "midazolam", 200)
    emu.run_for(MIN)
    before = u.status()
    u.set_clock(_rtc(emu) + 24 * 3600)
    emu.run_for(MIN)
    after = u.status()
    assert after["stage"] == "refractory"
    assert after["flags"] == before["flags"]
    assert after["clock_corrected_s"] == 24 * 3600
    assert "CLK ADJ +24h00" in emu.screen_text()
    # SRSE comes 24 h after the infusion start on the timer clock, not earlier
    emu.run_for(24 * H - 3 * MIN)
    assert u.status()["stage"] == "refractory"
    emu.run_for(2 * MIN)
    assert u.status()["stage"] == "super_refractory"


def test_rtc_drift_caught_by_the_minute_sync_moves_no_timer():
    emu = _emu()
    u = emu.unit
    u.onset()
    emu.run_for(2 * MIN)
    emu.board.clock.set_rtc(_rtc(emu) + 40 * 60)  # the RTC jumps (drift, a bad battery, a GPS fix)
    emu.run_for(2 * MIN)  # the loop re-reads the RTC once a minute
    st = u.status()
    assert st["stage"] == "seizure" and u.elapsed_s() == 4 * 60
    sync = [e for e in u.events if e["type"] == "clock"]
    assert [e["source"] for e in sync] == ["sync"] and sync[0]["delta"] == 40 * 60
    # backward as well: the timers neither stop nor run back
    emu.board.clock.set_rtc(_rtc(emu) - 3 * 3600)
    emu.run_for(2 * MIN)
    assert u.elapsed_s() == 6 * 60
    assert u.status()["stage"] == "se"
    assert u.status()["clock_corrected_s"] == 40 * 60 - 3 * 3600


def test_backward_clock_set_keeps_the_log_in_time_order_and_replays():
    emu = _emu()
    u = emu.unit
    u.onset()
    emu.run_for(4 * MIN)
    u.set_clock(_rtc(emu) - 2 * 3600)
    emu.run_for(2 * MIN)
    ts = [e["t"] for e in u.events]
    assert ts == sorted(ts)
    assert u.status()["stage"] == "se"  # 5 min after onset, on the timer clock
    st = episode.fold(u.events)
    episode.advance(st, u.now())
    assert st.stage == u.state.stage and st.anchor == u.state.anchor


def test_power_loss_gap_comes_from_the_rtc_and_is_flagged(tmp_path):
    from emulator.powercut import reboot

    emu = EmulatedUnit(weight_kg=70, se_type="convulsive", flash_dir=str(tmp_path))
    emu.unit.onset()
    emu.run_for(3 * MIN)
    unit = reboot(emu, "power_on", off_ms=4 * MIN)  # the RTC ran on through the outage
    pu = [e for e in unit.events if e["type"] == "power_up"][-1]
    assert pu["rtc"] is True and pu["gap"] == 7 * 60  # since the onset record, outage included
    st = unit.status()
    assert st["stage"] == "se"  # 7 min of seizure >= t1 (5 min): the outage counts
    assert unit.elapsed_s() == 7 * 60
    assert "power_gap" in st["flags"] and st["power_gap_s"] == 7 * 60
    assert "clock_corrected_s" not in st
    # an RTC set back while the unit was off: timers never run back, labels are corrected
    emu.run_for(MIN)
    emu.board.clock.set_rtc(emu.board.clock.rtc_s() - 3600)
    unit = reboot(emu, "power_on", off_ms=0)
    pu = [e for e in unit.events if e["type"] == "power_up"][-1]
    # the RTC is behind the last record (7 min): nothing measures the time since
    # it, so the timers resume there (short, never long) and the labels move back
    assert pu["gap"] == -1 and pu["delta"] == 60 - 3600
    assert unit.elapsed_s() == 7 * 60
    st = unit.status()
    assert st["power_gap_s"] == -1 and st["clock_corrected_s"] == 60 - 3600
    assert st["stage"] == "se"


# ------------------------------------------------------------------ property

from hypothesis import given, settings, strategies as hs  # noqa: E402

from firmware.core import clock as _clock, engine as _engine, events as _ev  # noqa: E402

T0 = 200_000_000  # 2026 in Statim seconds


class _Hw:
    """Ticks (starting near the 2**30 wrap) and a battery-backed RTC."""

    def __init__(self):
        self.ms = 0
        self.base = _clock.EPOCH_UNIX + T0

    def ticks(self):
        return ((1 << 30) - 60_000 + self.ms) % (1 << 30)

    def rtc(self):
        return self.base + self.ms // 1000

    def set_rtc(self, unix):
        self.base = unix - self.ms // 1000


_CLINICAL = [  # (name, event maker(t)) in an order that is always valid
    ("onset", lambda t: _ev.onset(t, "convulsive")),
    ("lorazepam", lambda t: _ev.dose(t, "lorazepam", "iv", 4000, 1, 1000)),
    ("levetiracetam", lambda t: _ev.dose(t, "levetiracetam", "iv", 4_200_000, 2, 0, True, t + 600)),
    ("stop", lambda t: _ev.stop(t)),
    ("recur", lambda t: _ev.recur(t)),
    ("midazolam", lambda t: _ev.infusion(t, "start", "midazolam", 200)),
    ("stop", lambda t: _ev.stop(t)),
    ("wean", lambda t: _ev.wean(t, "start")),
    ("recur", lambda t: _ev.recur(t)),
]

_gaps = hs.lists(hs.integers(0, 14 * 3600), min_size=len(_CLINICAL), max_size=len(_CLINICAL))
_corrections = hs.lists(hs.tuples(hs.integers(0, 60 * 3600),
                                  hs.one_of(hs.integers(-3 * 86400, -2), hs.integers(2, 3 * 86400)),
                                  hs.sampled_from(_ev.CLOCK_SOURCES)), max_size=6)
_reboots = hs.lists(hs.tuples(hs.integers(0, 60 * 3600), hs.integers(0, 3600)), max_size=2)


def _run(gaps, corrections, reboots, correct=True):
    """Drive an engine through the episode; return (rows after every step, engine).
    correct=False: the same steps, the clock left alone at the correction times."""
    hw = _Hw()
    eng = _engine.boot(hw.ticks, hw.rtc)
    plan = []
    t = 0
    for (name, make), g in zip(_CLINICAL, gaps):
        t += g
        plan.append((t, 1, make))
    plan += [(at, 0, (d, src)) for at, d, src in corrections]
    plan += [(at, 2, off) for at, off in reboots]
    plan.sort(key=lambda p: (p[0], p[1]))
    rows = []
    for at, kind, what in plan:
        if at * 1000 > hw.ms:
            hw.ms = at * 1000
        eng.tick()
        if kind == 0:
            if not correct:
                rows.append(episode.row(eng.state, eng.now()))
                continue
            hw.set_rtc(hw.rtc() + what[0])
            eng.sync_clock(what[1])
        elif kind == 1:
            eng.append(what(eng.now()))
        else:
            hw.ms += what * 1000  # power off for `what` seconds; the RTC keeps running
            eng = _engine.boot(hw.ticks, hw.rtc, list(eng.events))
        rows.append(episode.row(eng.state, eng.now()))
    hw.ms += 30 * 3600 * 1000
    eng.tick()
    rows.append(episode.row(eng.state, eng.now()))
    return rows, eng


def _clinical(evs):
    out = []
    for e in evs:
        if e["type"] == "clock":
            continue
        if e["type"] == "power_up":
            e = {"type": "power_up", "t": e["t"], "rtc": e["rtc"]}
        out.append(e)
    return out


def _timers(st):
    return (st.stage, list(st.stage_t), st.anchor, st.t2_t, st.escalated_t, st.prolonged_rse_t,
            st.prolonged_srse_t, st.wean_recurrence_t, list(st.due_from), list(st.due_by),
            episode.flags_mask(st), list(st.al_active), list(st.al_since), st.next_deadline)


@settings(max_examples=60, deadline=None)
@given(_gaps, _corrections, _reboots)
def test_clock_corrections_change_no_stage_flag_or_due_time(gaps, corrections, reboots):
    ref_rows, ref = _run(gaps, corrections, reboots, False)
    rows, eng = _run(gaps, corrections, reboots)
    assert rows == ref_rows  # stage, activity, flags, phase, due status, alarms after every step
    assert _timers(eng.state) == _timers(ref.state)
    # the record: the same events at the same times, plus one clock event per correction
    assert _clinical(eng.events) == _clinical(ref.events)
    assert len([e for e in eng.events if e["type"] == "clock"]) == len(corrections)
    ts = [e["t"] for e in eng.events]
    assert ts == sorted(ts)
    # replayed (a reboot), the log gives the same state; labels follow the RTC
    st = episode.fold(eng.events)
    episode.advance(st, eng.state.t)
    assert _timers(st) == _timers(eng.state)
    assert eng.clock.wall() == _clock.unix_to_statim(eng.clock._rtc())
    assert st.wall_offset == eng.clock.offset


def test_exports_show_wall_times_from_the_label():
    import csv
    import io
    import json

    from host_tools import export

    emu = _emu()
    u = emu.unit
    start_unix = _rtc(emu)
    u.onset()
    emu.run_for(3 * MIN)
    u.set_clock(_rtc(emu) + 3600)  # the wall clock was an hour slow
    emu.run_for(MIN)
    u.note("after the correction")
    rows = list(enumerate(u.events))
    onset = [s for s, e in rows if e["type"] == "onset"][0]
    note = [s for s, e in rows if e["type"] == "note"][0]
    js = {d["seq"]: d for d in json.loads(export.to_json(rows))["events"]}
    assert js[onset]["utc"] == export.utc_iso(_clock.unix_to_statim(start_unix))
    assert js[note]["utc"] == export.utc_iso(_clock.unix_to_statim(start_unix) + 4 * 60 + 3600)
    assert js[note]["t"] - js[onset]["t"] == 4 * 60  # the timer clock did not move
    table = {int(r["seq"]): r for r in csv.DictReader(io.StringIO(export.to_csv(rows)))}
    assert table[note]["utc"] == js[note]["utc"] and table[onset]["utc"] == js[onset]["utc"]
    fhir = export.to_fhir(rows, {"unit": "U1"}, now="2026-01-01T00:00:00Z")
    times = {e["resource"]["identifier"][0]["value"]: e["resource"].get("effectiveDateTime")
             for e in fhir["entry"]}
    assert times[str(note)] == js[note]["utc"] and times[str(onset)] == js[onset]["utc"]
