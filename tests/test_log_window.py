"""The unit keeps a window on its flash log in RAM (core/logwindow.py), not the whole log.

The window is small here (a few entries in RAM, a mark every 3) so that almost every read of
the log -- the link's LOG and VOID, the log page, the replay after a reboot, the dose history --
goes back to flash.  The truth it is held to is the log's own replay: a fresh EventLog's load()
of the same flash.
"""
import pytest

from emulator.board import EmulatedUnit
from firmware.core import episode, logwindow, unit_doses
from firmware.core.eventlog import EventLog


@pytest.fixture
def small_window(monkeypatch):
    monkeypatch.setattr(logwindow, "KEEP", 4)
    monkeypatch.setattr(logwindow, "STEP", 3)


def _episode(flash, notes=60):
    e = EmulatedUnit(weight_kg=70, flash_dir=flash)
    u = e.unit
    u.onset()
    e.board.clock.advance(60000)
    u.step()
    assert u.give("lorazepam", "iv", dose="4 mg")["logged"]
    for k in range(notes):
        e.board.clock.advance(1000 if k else 60000)
        u.step()
        if k % 7 == 3:
            u.eeg_state("seizure" if k % 2 else "no_seizure")
        else:
            u.note("note %d" % k)
    return e


def _replayed(e):
    return EventLog(e.board).load()


def test_ram_holds_the_newest_entries_and_every_read_matches_the_replay(small_window, tmp_path):
    e = _episode(str(tmp_path))
    evs = e.unit.events
    assert isinstance(evs, logwindow.Window)
    assert len(evs.recent) == 4 and len(evs.marks) == (len(evs) + 2) // 3
    truth = _replayed(e)
    assert len(evs) == len(truth) > 60
    assert [evs[i] for i in range(len(evs))] == truth  # by index, oldest first
    assert list(evs) == truth  # a walk
    assert [evs[i] for i in range(len(evs) - 1, -1, -1)] == truth[::-1]  # newest first
    assert evs[-1] is evs.recent[-1]
    with pytest.raises(IndexError):
        evs[len(evs)]


def test_a_reboot_replays_the_same_log_and_state(small_window, tmp_path):
    e = _episode(str(tmp_path))
    before = list(e.unit.events)
    st = e.unit.state
    again = EmulatedUnit(flash_dir=str(tmp_path))
    after = list(again.unit.events)
    assert after[:len(before)] == before and after[len(before)]["type"] == "power_up"
    assert again.unit.weight_g == 70000 and again.unit.state.stage == st.stage
    folded = episode.fold(after, again.unit.engine.rules)
    assert folded.stage == again.unit.state.stage and folded.doses == again.unit.state.doses


def test_the_dose_history_keeps_a_dose_logged_long_before(small_window, tmp_path):
    e = _episode(str(tmp_path))
    hist = unit_doses.history(e.unit)
    assert [(d["drug"], d["amount_ug"]) for d in hist] == [("lorazepam", 4000)]
    # a second dose a minute later: the checker knows the first (logged 60 entries before)
    v = e.unit.check("lorazepam", "iv", dose="4 mg")
    assert v["verdict"] == "soft", v
    assert any("since the last Lorazepam dose" in m for m in v["messages"]), v["messages"]


def test_an_entry_long_out_of_ram_is_marked_in_error_and_stays_marked(small_window, tmp_path):
    e = _episode(str(tmp_path))
    u = e.unit
    seq = [i for i in range(len(u.events)) if u.events[i].get("text") == "note 0"][0]
    assert seq < len(u.events) - 4  # on flash only
    u.void(seq, "duplicate")
    assert seq in u.state.voided
    again = EmulatedUnit(flash_dir=str(tmp_path))
    assert seq in again.unit.state.voided and again.unit.events[seq]["text"] == "note 0"


def test_a_record_the_replay_quarantined_reads_back_as_quarantined(small_window, tmp_path):
    e = _episode(str(tmp_path), notes=10)
    EventLog(e.board).append({"type": "note", "t": 1, "text": "written out of time order"})
    again = EmulatedUnit(flash_dir=str(tmp_path))
    u = again.unit
    for k in range(20):  # the quarantined entry leaves RAM
        u.note("later %d" % k)
    bad = [ev for ev in u.events if ev["type"] == "invalid"]
    assert len(bad) == 1 and bad[0]["record"]["text"] == "written out of time order", bad
    assert u.state.n_invalid == 1


def test_the_link_pages_the_whole_log_from_flash(small_window, tmp_path):
    import json

    from protocol_harness import Harness

    e = _episode(str(tmp_path))
    h = Harness(emu=e)
    got, start = [], 0
    while True:
        page = json.loads(h.ok("LOG from=%d max=7" % start))
        got += page["events"]
        if page["next"] >= page["total"]:
            break
        start = page["next"]
    assert got == _replayed(e)


def test_a_group_read_while_it_was_the_newest_is_read_again_once_it_has_grown(monkeypatch, tmp_path):
    # more entries in a group than in RAM: an entry is read back from flash before its group is full
    monkeypatch.setattr(logwindow, "KEEP", 1)
    monkeypatch.setattr(logwindow, "STEP", 3)
    e = EmulatedUnit(flash_dir=str(tmp_path))
    u = e.unit
    evs = u.events
    while len(evs) % 3 != 1:
        u.note("fill")
    u.note("a")
    assert evs[-2] == _replayed(e)[-2]  # read from flash while its group has 2 entries
    u.note("b")
    u.note("c")
    assert [evs[i].get("text") for i in range(len(evs) - 3, len(evs))] == ["a", "b", "c"]
    assert list(evs) == _replayed(e)


def test_a_cleared_log_sends_its_first_entries_with_their_new_seq(small_window, tmp_path):
    from protocol_harness import Harness

    e = EmulatedUnit(weight_kg=70, flash_dir=str(tmp_path))  # no episode running: the log may be cleared
    for k in range(10):
        e.unit.note("note %d" % k)
    h = Harness(emu=e)
    h.login()
    del h.unsolicited[:]
    h.ok("CLEARLOG confirm=yes")
    lines = [text for text in h.unsolicited if text.startswith("! EVT ")]
    assert '"log cleared by maintenance"' in lines[0], lines  # the old log's last entry says it
    lines = lines[1:]
    assert lines[0].startswith("! EVT 0 ") and '"power_up"' in lines[0], lines
    assert lines[1].startswith("! EVT 1 ") and '"clear_log"' in lines[1], lines
    assert [ev["type"] for ev in e.unit.events] == ["power_up", "maint"]


def test_the_window_holds_every_entry_one_request_can_log():
    # the link finds the entries a request logged by identity among the newest (protocol._seq):
    # a request logs its event and at most one record per alarm
    from firmware.core import alarms, protocol

    assert logwindow.KEEP >= protocol._SEQ_REACH > alarms.N_ALARMS + 1


def test_the_log_page_lists_the_newest_entries_it_reaches(small_window, tmp_path):
    from firmware.core import ui_log

    e = _episode(str(tmp_path), notes=300)
    u = e.unit
    truth = _replayed(e)
    items = ui_log.log_items(u.ui)
    n = len(truth)
    seqs = [it[0] for it in items]
    assert seqs[0] == n - 1 and min(seqs) > n - 1 - ui_log.LOG_REACH  # newest first, no further back
    # every entry in reach is there: EEG changes are one item per run, and here no two follow one another
    assert len(items) == ui_log.LOG_REACH
    assert [truth[s]["type"] for s in seqs] == [it[3] for it in items]


def test_a_long_replay_feeds_the_watchdog_as_it_goes_and_nothing_else_does(small_window, tmp_path):
    # on the Pico a power-up with 700 entries took longer than the watchdog's ~9 s (a reset loop
    # into service mode): the power-up's replay feeds it every 16 records it reads.  After that
    # only the health check may (a read of the log must not keep a unit alive that asked for a reset).
    from firmware.core.unit import Unit

    e = EmulatedUnit(flash_dir=str(tmp_path))
    for k in range(200):
        e.unit.note("note %d" % k)
    board = e.board
    before = board.wdt_feeds
    u = Unit(board, None, store=EventLog(board))
    assert len(u.events) > 200 and board.wdt_feeds - before >= len(u.events) // 16
    before = board.wdt_feeds
    assert list(u.events) == _replayed(e)  # every group read back from flash
    assert board.wdt_feeds == before and u.store.feed is None
