"""heap.quiet: the idle redraw runs with the heap locked (MicroPython puts large Python frames on
the C stack then, instead of searching a fragmented heap for them), and a redraw that needs the
heap after all is done again unlocked -- the screen is the same either way."""
import pytest

from firmware.core import heap
from firmware.core import ui as _ui
from firmware.core import unit as _unit
from test_ui_idle_render import Hal


class Lock:
    def __init__(self):
        self.depth = 0
        self.calls = 0

    def lock(self):
        self.depth += 1
        self.calls += 1

    def unlock(self):
        self.depth -= 1


@pytest.fixture
def lock(monkeypatch):
    lk = Lock()
    monkeypatch.setattr(heap, "_heap_lock", lk.lock)
    monkeypatch.setattr(heap, "_heap_unlock", lk.unlock)
    return lk


def test_quiet_runs_the_work_locked_and_unlocks(lock):
    seen = []
    assert heap.quiet(lambda a: seen.append((a, lock.depth)), 1) is True
    assert seen == [(1, 1)] and lock.depth == 0


def test_quiet_says_when_the_work_needed_the_heap(lock):
    def needs_heap(a):
        raise MemoryError("memory allocation failed, heap is locked")

    assert heap.quiet(needs_heap, 0) is False
    assert lock.depth == 0


def test_other_errors_pass_through_unlocked(lock):
    def broken(a):
        raise ValueError("bad")

    with pytest.raises(ValueError):
        heap.quiet(broken, 0)
    assert lock.depth == 0


def test_cpython_has_no_lock_and_just_runs_the_work():
    seen = []
    assert heap.quiet(lambda a: seen.append(a + 2), 1) is True
    assert seen == [3]


def test_an_idle_redraw_that_needs_the_heap_is_drawn_whole_unlocked(lock):
    hal = Hal()
    u = _unit.Unit(hal)
    u.onset()
    for second in range(1, 10):
        hal.ms = second * 1000
        u.step()
    calls = lock.calls
    hal.ms = 10000
    u.step()
    assert lock.calls == calls + 2  # an idle step: the redraw and the health check ran under the lock
    real = u.ui._home_clock
    failed = []

    def home_clock_needing_heap(s, t):
        if lock.depth:
            s.set(1, "XX")  # part of the page drawn, then the heap is needed
            failed.append(t)
            raise MemoryError("memory allocation failed, heap is locked")
        real(s, t)

    u.ui._home_clock = home_clock_needing_heap
    hal.ms = 11000
    u.step()
    assert failed == [u.now()]
    ref = _ui.Ui(u)
    assert u.ui.screen.rows == ref.render(u.now(), True).rows
    assert u.ui.screen.rows[1] == "00:11"


def test_the_health_check_runs_locked_and_again_unlocked_when_it_needs_the_heap(lock, monkeypatch):
    from firmware.core import health

    hal = Hal()
    u = _unit.Unit(hal)
    depths = []
    real = health.check

    def check_needing_heap_once(unit, *a):
        depths.append(lock.depth)
        if lock.depth:
            raise MemoryError("memory allocation failed, heap is locked")
        return "memory: free heap below the floor"

    monkeypatch.setattr(health, "check", check_needing_heap_once)
    assert u.health(u) == "memory: free heap below the floor"  # the unlocked run's answer
    assert depths == [1, 0]
    monkeypatch.setattr(health, "check", real)
    depths[:] = []
    assert u.health(u) is None and u.health.checks == 2


def test_a_whole_home_page_redraw_runs_locked_and_again_unlocked_when_it_needs_the_heap(lock):
    # A step where something changed (here: the onset, logged between steps) draws the home page
    # whole with the heap locked; one that needs the heap part-way is drawn whole again unlocked.
    hal = Hal()
    u = _unit.Unit(hal)
    hal.ms = 1000
    u.step()
    u.onset()
    calls = lock.calls
    hal.ms = 2000
    u.step()
    assert lock.calls == calls + 2  # the whole redraw and the health check
    assert u.ui.screen.rows == _ui.Ui(u).render(u.now(), True).rows
    real = u.ui._draw_home
    failed = []

    def draw_home_needing_heap(s, t):
        if lock.depth:
            s.clear(_ui.HOME)
            s.set(0, "XX")  # part of the page drawn, then the heap is needed
            failed.append(t)
            raise MemoryError("memory allocation failed, heap is locked")
        real(s, t)

    u.ui._draw_home = draw_home_needing_heap
    u.set_weight("70 kg")  # an event: the next step draws the page whole
    hal.ms = 3000
    u.step()
    assert failed == [u.now()]
    assert u.ui.screen.rows == _ui.Ui(u).render(u.now(), True).rows
    assert u.ui.screen.rows[0] != "XX"
