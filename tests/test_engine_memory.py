"""The engine when the heap cannot hold one more event (MicroPython: MemoryError).

The rule of the log is write first, then apply: an event counts once it is on flash.  The RAM
copy of the log (engine.events, whose index is the event's seq) is part of what "applied" means:
the fold, the link's seq numbers, the log page and the dose history read it.  On a board the
list's growth is a new block for every event pointer (MicroPython doubles a full list), the one
allocation of a commit big enough to fail on a fragmented heap.  So the room is made before
the write: a heap that cannot give it refuses the event with nothing written, nothing applied,
and the next event (once memory is back) gets the next seq."""
import pytest

from firmware.core import engine as _engine
from firmware.core import episode
from firmware.core import events as E


class CappedList(list):
    """A list that cannot grow past `cap` items, as a board's heap without a free block."""

    def __init__(self, items=(), cap=10**9):
        super().__init__(items)
        self.cap = cap

    def append(self, x):
        if len(self) >= self.cap:
            raise MemoryError("memory allocation failed, allocating 2048 bytes")
        super().append(x)

    def extend(self, xs):
        xs = list(xs)
        if len(self) + len(xs) > self.cap:
            raise MemoryError("memory allocation failed")
        super().extend(xs)


def _engine_with_store():
    written = []
    eng = _engine.Engine(store=written.append)
    eng.append(E.onset(0, "convulsive"))
    return eng, written


def test_an_event_the_ram_log_cannot_hold_is_not_written():
    eng, written = _engine_with_store()
    eng.events = CappedList(eng.events, cap=len(eng.events))  # room for nothing more
    state_before = episode.fold(list(eng.events))
    with pytest.raises(MemoryError):
        eng.append(E.note(30, "seizure stopped briefly"))
    assert [e["type"] for e in written] == ["onset"]  # flash: nothing new
    assert [e["type"] for e in eng.events] == ["onset"]  # RAM: nothing new
    assert eng.state.n_events == state_before.n_events
    eng.events.cap = 10**9  # memory back: the next event is logged, at the next seq
    eng.append(E.note(31, "seizure stopped briefly"))
    assert [e["type"] for e in written] == ["onset", "note"] == [e["type"] for e in eng.events]
    assert episode.fold(list(eng.events)).n_events == eng.state.n_events


def test_an_alarm_record_the_ram_log_cannot_hold_is_not_written_either():
    eng, written = _engine_with_store()
    eng.events = CappedList(eng.events, cap=len(eng.events))
    with pytest.raises(MemoryError):
        eng.tick(6 * 60)  # convulsive SE at 6:00, no drug: alarm records are due
    assert [e["type"] for e in written] == [e["type"] for e in eng.events]  # flash and RAM agree


def test_an_event_on_flash_that_ram_could_not_apply_asks_for_a_replay():
    """Past the write, a MemoryError leaves the event on flash (it counts) and RAM half-applied:
    only a replay makes RAM the log again, so the health check stops feeding the watchdog."""
    from firmware.core import health
    from firmware.core import unit as _unit
    from step_hal import Hal  # tests/ is on sys.path (conftest.py)

    u = _unit.Unit(Hal())
    written = []
    u.engine.store = written.append
    u.onset()
    u.set_weight("70 kg")
    assert u.give("lorazepam", "iv", dose="4 mg")["logged"]
    assert health.check(u) is None

    def no_memory(dose_event, weight_g):
        raise MemoryError("memory allocation failed, allocating 96 bytes")

    u.engine.assess = no_memory  # a new weight re-checks the logged doses (episode.apply)
    with pytest.raises(MemoryError):
        u.engine.append(E.weight(u.now(), 80000))
    assert written[-1]["type"] == "weight" and written[-1]["grams"] == 80000  # on flash: it counts
    assert u.engine.replay_needed
    assert health.check(u) == "memory: an event on flash could not be applied in RAM (a replay of the log fixes it)"


def test_a_request_the_ram_log_cannot_hold_is_refused_saying_so_and_nothing_is_logged():
    from emulator.board import EmulatedUnit
    from firmware.core import frames

    e = EmulatedUnit(weight_kg=70)
    e.attach_link()
    u = e.unit
    u.onset()
    u.step()
    on_flash = len(list(u.store.records(0)))
    assert on_flash >= 1  # the onset, at least: the count below is of a real log
    u.engine.events = CappedList(u.engine.events, cap=len(u.engine.events))
    e.board.uart.host_write(frames.seal('7 NOTE text="seizure stopped briefly"'))
    u.step()
    out = e.board.uart.host_read().decode()
    assert "7 ERR REFUSED the unit's memory is full: nothing was logged" in out, out
    assert [ev["type"] for ev in u.engine.events].count("note") == 0
    assert len(list(u.store.records(0))) == on_flash  # flash: nothing new either


def test_a_reply_the_heap_cannot_build_is_dropped_and_the_retry_is_answered_not_done_again(monkeypatch):
    """A request logged, then no memory for its reply: no answer (the host times out), and its
    retry under the same id is answered from the idempotency table -- the note is logged once."""
    from emulator.board import EmulatedUnit
    from firmware.core import frames, protocol

    e = EmulatedUnit(weight_kg=70)
    e.attach_link()
    u = e.unit
    u.onset()
    u.step()
    e.board.uart.host_read()
    real_seal = frames.seal
    fail = {"n": 0}

    def seal(body):
        if body.startswith("9 OK") and fail["n"] == 0:
            fail["n"] += 1
            raise MemoryError("memory allocation failed, allocating 80 bytes")
        return real_seal(body)

    monkeypatch.setattr(protocol._f, "seal", seal)
    request = frames.seal('9 NOTE text="seizure stopped briefly"')
    e.board.uart.host_write(request)
    u.step()
    out = e.board.uart.host_read().decode()
    assert fail["n"] == 1 and "9 OK" not in out and "9 ERR" not in out, out  # no reply ...
    notes = [ev for ev in u.events if ev["type"] == "note"]
    assert len(notes) == 1  # ... but logged
    e.board.uart.host_write(request)  # the host's retry
    u.step()
    out = e.board.uart.host_read().decode()
    seq = list(u.events).index(notes[0])
    assert "9 OK seq=%d retry=1" % seq in out, out
    assert [ev for ev in u.events if ev["type"] == "note"] == notes  # logged once
    assert u.link.stats["tx_dropped"] >= 1


def test_a_full_heap_still_gets_its_refusal_out_from_the_links_reserve(monkeypatch):
    """The link holds back protocol.RESERVE bytes: on a heap too full to build even the refusal,
    letting them go is what lets the unit say so; they are held back again once there is room."""
    from emulator.board import EmulatedUnit
    from firmware.core import frames, protocol

    e = EmulatedUnit(weight_kg=70)
    e.attach_link()
    u = e.unit
    link = u.link
    u.onset()
    u.step()
    e.board.uart.host_read()
    assert len(link._reserve) == protocol.RESERVE
    real_seal = frames.seal

    def seal(body):  # the heap has no room for a frame while the reserve is held
        if link._reserve is not None and " ERR " in body:
            raise MemoryError("memory allocation failed, allocating 64 bytes")
        return real_seal(body)

    monkeypatch.setattr(protocol._f, "seal", seal)
    u.engine.events = CappedList(u.engine.events, cap=len(u.engine.events))
    e.board.uart.host_write(frames.seal('5 NOTE text="pupils equal"'))
    u.step()
    out = e.board.uart.host_read().decode()
    assert "5 ERR REFUSED the unit's memory is full: nothing was logged" in out, out
    assert link._reserve is None  # spent
    u.engine.events.cap = 10**9  # room again: the next line holds the reserve back again
    e.board.uart.host_write(frames.seal('6 NOTE text="pupils equal"'))
    u.step()
    out = e.board.uart.host_read().decode()
    assert "6 OK seq=" in out, out
    assert len(link._reserve) == protocol.RESERVE


def test_routine_records_leave_the_dose_checker_its_room_and_clinical_ones_do_not_stop():
    """Below ROUTINE_FLOOR free bytes a note, a flag or an EEG change is refused (nothing
    written) -- the dose checker needs that room -- while a dose is still logged."""
    eng, written = _engine_with_store()
    eng.heap_free = lambda: _engine.ROUTINE_FLOOR - 1
    for ev in (E.note(30, "pupils equal"), E.flag(30, "norse"), E.eeg(30, "seizure")):
        with pytest.raises(MemoryError):
            eng.append(ev)
    assert [e["type"] for e in written] == ["onset"] == [e["type"] for e in eng.events]
    eng.append(E.dose(31, "lorazepam", "iv", 4000, 1))
    assert "dose" in [e["type"] for e in written]  # (with the alarm records it brings)
    eng.heap_free = lambda: _engine.ROUTINE_FLOOR  # room again
    eng.append(E.note(32, "pupils equal"))
    assert written[-1]["type"] == "note"
