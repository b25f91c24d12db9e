"""The emulator's virtual clock: a 48-hour episode (no EEG) and a 32-hour closed-loop episode
(patient simulator EEG through the unit's detector), timed end to end."""
import os

from emulator import runner, scenario
from emulator.board import EmulatedUnit

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _episode_48h():
    emu = EmulatedUnit(weight_kg=70)
    emu.press("ok")
    emu.run_for(6 * 60_000)
    emu.unit.give("lorazepam", "iv", dose="4 mg")
    emu.run_for(9 * 60_000)
    emu.unit.give("levetiracetam", "iv", dose="4200 mg", over=600)
    emu.run_for(48 * 3_600_000)
    return emu


def test_48h_episode(benchmark, record):
    emu = benchmark.pedantic(_episode_48h, rounds=5, iterations=1)
    assert emu.unit.status()["stage"] == "refractory"
    record("emulator-48h-episode", benchmark)


def test_closed_loop_32h(benchmark, quick, record):
    path = os.path.join(REPO, "scenarios", "closed_loop", "propofol_wean_srse.yaml")
    res = benchmark.pedantic(lambda: runner.Runner(scenario.load(path)).run(), rounds=1 if quick else 3, iterations=1)
    assert res.passed, res.summary()
    record("emulator-closed-loop-32h", benchmark)
