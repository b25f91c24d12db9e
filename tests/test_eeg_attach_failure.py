"""A detector that cannot start (no memory for it on a board, or none in the build) never
stops the loop that runs the seizure timer: the unit says why in STATUS, goes on, and
tries again a minute later."""
import math

from emulator.board import EmulatedUnit
from firmware.core import detect, unit as _unit


def _alpha(state={"t": 0.0}):
    def source(t_s):
        n = int((t_s - state["t"]) * 256)
        state["t"] += n / 256.0
        return [20.0 * math.sin(0.3 * i) for i in range(max(0, n))]
    return source


def test_no_memory_for_the_detector_keeps_the_unit_running_and_retries(monkeypatch):
    e = EmulatedUnit(weight_kg=70)
    fails = {"n": 0}
    real = detect.Detector

    def no_room(*a, **k):
        if fails["n"] < 2:
            fails["n"] += 1
            raise MemoryError("memory allocation failed, allocating 16800 bytes")
        return real(*a, **k)

    monkeypatch.setattr(detect, "Detector", no_room)
    e.board.attach_eeg(_alpha(), 256)
    e.unit.onset()
    e.run_for(5000)  # steps go on: no exception out of step()
    st = e.unit.status()
    assert st["eeg"]["error"] == "EEG detector not running: no memory for it"
    assert e.unit.detector is None and fails["n"] == 1  # not retried every step
    assert "SEIZURE" in e.screen_text()
    e.run_for(_unit.EEG_RETRY_S * 1000)  # a minute on: tried again, fails again
    assert fails["n"] == 2 and e.unit.detector is None
    e.run_for(_unit.EEG_RETRY_S * 1000 + 1000)  # and again: this time it starts
    assert e.unit.detector is not None and "error" not in e.unit.status()["eeg"]
    assert e.unit.status()["eeg"]["attached"] is True


def test_an_eeg_change_the_unit_cannot_log_keeps_the_loop_running_and_says_why():
    """A full heap (or a full flash) when the detector reports a change: the change is not
    logged -- nothing written -- and the loop that runs the timer goes on (an exception out of
    step() would stop it); STATUS says why; the next change is logged once there is room."""
    from test_engine_memory import CappedList  # an events list that cannot grow

    e = EmulatedUnit(weight_kg=70)
    e.board.attach_eeg(_alpha(), 256)
    u = e.unit
    u.onset()
    e.run_for(3000)
    assert u.detector is not None
    n = len(u.events)
    u.engine.events = CappedList(u.engine.events, cap=n)
    u._on_eeg_event({"state": "seizure_on"})  # what the detector hands the unit at a seizure's start
    assert len(u.events) == n
    assert u.status()["eeg"]["error"] == "EEG change to seizure not logged: the unit's memory is full"
    e.run_for(2000)  # steps go on
    assert "SEIZURE" in e.screen_text()
    u.engine.events.cap = 10**9
    u._on_eeg_event({"state": "seizure_on"})
    assert u.events[-1]["type"] == "eeg" and u.events[-1]["state"] == "seizure"
    assert "error" not in u.status()["eeg"]
