"""Property tests: random valid episodes never crash and never lower the stage;
folding is deterministic; a clock crossing the tick wrap changes nothing."""
import json

from hypothesis import HealthCheck, given, settings, strategies as hs

from firmware.core import clock, engine, episode, staging
from episode_cases import T0, run_random
from test_episode_units import FakeTicks

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def drive(seed, tick_start=0, n_steps=40, watch=None, assess=None):
    ticks = FakeTicks(tick_start)
    clk = clock.Clock(ticks, None, start_s=T0)
    eng = engine.Engine(clock=clk, assess=assess)
    eng.power_up()

    def advance(ms):
        # Tick about every simulated minute while time passes (as the unit
        # does every second), watching the stage as we go.
        while ms > 0:
            step = min(ms, 60_000)
            ticks.advance(step)
            ms -= step
            eng.tick(clk.now())
            if watch is not None:
                watch(eng)

    run_random(seed, eng, clk.now, advance, n_steps)
    return eng


def state_dict(st):
    d = dict(st.__dict__)
    d.pop("rules")
    return d


@SETTINGS
@given(hs.integers(0, 2**32 - 1))
def test_random_episodes_never_lower_the_stage(seed):
    seen = []

    def watch(eng):
        st = eng.state
        # Within a cluster: a seizure after logged recovery starts a new one
        # with its own stage (clinical.md Review round 2 rule 6).
        seen.append((len(st.clusters), st.stage))
        # Invariants that follow from the stage rules.
        if st.stage >= staging.SE:
            assert st.anchor >= 0 and st.stage_t[staging.SE] >= 0
        if st.stage >= staging.ESTABLISHED and st.stage_t[staging.ESTABLISHED] >= 0:
            assert st.bzd_n > 0
        if st.stage_t[staging.REFRACTORY] >= 0:
            assert st.second_line_end >= 0
        if st.stage_t[staging.SUPER_REFRACTORY] >= 0:
            assert st.anesthetic_t >= 0
        assert st.next_deadline == -1 or st.next_deadline > st.t

    eng = drive(seed, watch=watch)
    assert seen == sorted(seen), "stage went down within a cluster"
    assert all(e["t"] >= p["t"] for p, e in zip(eng.events, eng.events[1:])), "log out of time order"


@SETTINGS
@given(hs.integers(0, 2**32 - 1))
def test_fold_is_deterministic_and_matches_engine(seed):
    eng = drive(seed)
    log = eng.events
    a = episode.fold(log)
    b = episode.fold(json.loads(json.dumps(log)))
    episode.advance(a, eng.state.t)
    episode.advance(b, eng.state.t)
    assert state_dict(a) == state_dict(b)
    assert state_dict(a) == state_dict(eng.state)
    # The engine's log has no alarm record missing: replaying writes nothing.
    written = []
    again = engine.Engine(sink=written.append)
    again.load(log)
    assert written == []


@SETTINGS
@given(hs.integers(0, 2**32 - 1), hs.integers(0, 60_000))
def test_tick_wrap_gives_the_same_timeline(seed, before_wrap_ms):
    # Same episode, tick counter started at 0 or just before the 2**30 wrap
    # (within the first minute); no RTC, so every second comes from ticks.
    plain = drive(seed, tick_start=0)
    wrapped = drive(seed, tick_start=2**30 - before_wrap_ms - 1)
    assert wrapped.events == plain.events
    t_end = plain.state.t
    assert episode.timeline(plain.events, T0, t_end, 60) == episode.timeline(wrapped.events, T0, t_end, 60)


def test_wrap_start_really_crosses_the_wrap():
    ticks = FakeTicks(2**30 - 10_000)
    clk = clock.Clock(ticks, None, start_s=T0)
    crossed = False
    for _ in range(20):
        before = ticks()
        ticks.advance(1000)
        crossed |= ticks() < before
        clk.now()
    assert crossed and clk.now() == T0 + 20
