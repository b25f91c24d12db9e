"""Events validation, rule table, clock arithmetic, alarms and engine behaviour."""
import json

import pytest

from firmware.core import alarms, clock, engine, episode, events as ev, rules, rules_table
from episode_cases import DAY, HOUR, T0, at, bzd, case4, second_line


# ---------------------------------------------------------------- events

BAD = [
    ({"type": "onset", "t": T0}, "missing se_type"),
    ({"type": "onset", "t": T0, "se_type": "tonic"}, "se_type must be one of"),
    ({"type": "onset", "t": T0, "se_type": "absence", "at": T0 + 5}, "at must be <="),
    ({"type": "stop", "t": -1}, "t must be >= 0"),
    ({"type": "stop", "t": 1.5}, "t must be an integer"),
    ({"type": "stop", "t": True}, "t must be an integer"),
    ({"type": "stop"}, "missing t"),
    ({"type": "explode", "t": T0}, "unknown event type"),
    ({"type": "stop", "t": T0, "why": "x"}, "unexpected field 'why'"),
    (dict(ev.dose(T0, "lorazepam", "iv", 4000, 1, 1000), amount_ug=0), "amount_ug must be >= 1"),
    (dict(ev.dose(T0, "lorazepam", "iv", 4000, 1, 1000), amount_ug=4.0), "amount_ug must be an integer"),
    (dict(ev.dose(T0, "lorazepam", "iv", 4000, 1, 1000), line=4), "line must be <= 3"),
    (dict(ev.dose(T0, "levetiracetam", "iv", 4000, 2, 0), bzd_permille=500), "bzd_permille must be 0"),
    (dict(ev.dose(T0, "lorazepam", "iv", 4000, 1, 1000), second_line_adequate=True), "second_line_adequate can only"),
    (dict(ev.dose(T0, "lorazepam", "iv", 4000, 1, 1000), second_line_adequate=1), "must be true or false"),
    (dict(ev.dose(T0, "levetiracetam", "iv", 4000, 2, 0), end_t=T0 - 1), "end_t must be >="),
    ({"type": "weight", "t": T0, "grams": 70}, "grams must be >= 300"),
    ({"type": "eeg", "t": T0, "state": "spikes"}, "state must be one of"),
    ({"type": "alarm", "t": T0, "action": "ack"}, "ack needs cond"),
    ({"type": "alarm", "t": T0, "action": "ack", "cond": "nope"}, "cond must be one of"),
    ({"type": "alarm", "t": T0, "action": "pause", "cond": "t2_exceeded"}, "takes no cond"),
    ({"type": "note", "t": T0, "text": "x" * 201}, "longer than 200"),
    ("onset", "event must be a dict"),
]


@pytest.mark.parametrize("bad,msg", BAD)
def test_bad_events_raise_clear_errors(bad, msg):
    with pytest.raises(ValueError, match=msg.replace("(", r"\(")):
        ev.validate(bad)


def test_events_are_plain_json():
    e = ev.dose(T0, "levetiracetam", "iv", 4_200_000, 2, 0, True, T0 + 600)
    assert json.loads(json.dumps(e)) == e
    assert ev.onset(T0, "convulsive", T0 - 60)["at"] == T0 - 60


SEQ_BAD = [
    ([ev.stop(at(1))], "no seizure onset has been logged"),
    ([ev.onset(at(0), "convulsive"), ev.onset(at(1), "convulsive")], "onset already logged"),
    ([ev.onset(at(0), "convulsive"), ev.recur(at(1))], "already running"),
    ([ev.onset(at(0), "convulsive"), ev.stop(at(1)), ev.stop(at(2))], "no clinical seizure is running"),
    ([ev.onset(at(0), "convulsive"), ev.recovered(at(1))], "seizure activity is ongoing"),
    ([ev.onset(at(5), "convulsive"), ev.stop(at(4))], "events must be in time order"),
    ([ev.onset(at(0), "convulsive"), ev.infusion(at(1), "stop", "propofol")], "propofol is not infusing"),
    ([ev.onset(at(0), "convulsive"), ev.wean(at(1))], "no anesthetic infusion"),
    ([ev.onset(at(0), "convulsive"), ev.alarm(at(1), "ack", "t2_exceeded")], "t2_exceeded is not active"),
    ([ev.onset(at(0), "convulsive"), ev.end(at(1)), bzd(at(2), "lorazepam", "iv", 4)], "the episode has ended"),
]


@pytest.mark.parametrize("seq,msg", SEQ_BAD)
def test_bad_sequences_rejected_and_log_untouched(seq, msg):
    eng = engine.Engine()
    for e in seq[:-1]:
        eng.append(e)
    before_log = json.dumps(eng.events)
    before_state = episode.row(eng.state, eng.state.t)[1:]
    with pytest.raises(ValueError, match=msg):
        eng.append(seq[-1])
    assert json.dumps(eng.events) == before_log
    # No deadline lies between the last good event and the bad one, so
    # everything but the clock must be exactly as before.
    assert episode.row(eng.state, eng.state.t)[1:] == before_state
    # And the pure fold rejects it the same way.
    with pytest.raises(ValueError, match=msg):
        episode.fold(seq)


# ---------------------------------------------------------------- rules

def test_every_rule_number_has_a_source_and_tag():
    for key, entry in rules_table.TABLE.items():
        assert len(entry) == 2 and isinstance(entry[0], int), key
        assert entry[1] and "[" in entry[1], key  # reliability tag [C]/[S]/[U]/[D]
        assert getattr(rules.DEFAULT, key) == entry[0], key  # every number reaches the compiled rules
        assert rules.source(key) == entry[1], key
    for key, choices in rules_table.CHOICES.items():
        assert rules_table.TABLE[key][0] in choices.values(), key  # default is one of the choices
    for a in rules_table.ALARMS:
        assert a[1] in (0, 1, 2) and a[2] in ("state", "latched") and a[3]
    assert tuple(a[0] for a in rules_table.ALARMS) == rules.ALARM_NAMES


def test_rule_numbers_match_clinical_text():
    r = rules.DEFAULT
    assert (r.convulsive_t1_s, r.convulsive_t2_s) == (5 * 60, 30 * 60)
    assert (r.focal_impaired_t1_s, r.focal_impaired_t2_s) == (10 * 60, 60 * 60 + 1)
    assert (r.absence_t1_s, r.absence_t2_s) == (10 * 60, -1)
    assert r.phase_start_s == (0, 5 * 60, 20 * 60, 40 * 60, 60 * 60)
    assert r.super_refractory_after_s == 24 * 3600
    assert r.refractory_window_s == 10 * 60
    assert r.esett_band_edge_g == 32000
    assert (r.eeg_control_min_s, r.eeg_control_max_s) == (24 * 3600, 48 * 3600)


def test_rule_overrides_only_listed_choices():
    assert rules.build({"absence_t1_s": 900}).absence_t1_s == 900
    assert rules.build({"esett_band_edge_g": 40000}).tag() == "statim-rules-1;esett_band_edge_g=40000"
    with pytest.raises(ValueError, match="not one of the listed choices"):
        rules.build({"absence_t1_s": 700})
    with pytest.raises(ValueError, match="not configurable"):
        rules.build({"convulsive_t1_s": 300})
    with pytest.raises(ValueError, match="unknown rule"):
        rules.build({"convulsive_t1": 300})


def test_refractory_definition_choices():
    # Underdosed benzodiazepine then an adequate second line: strict definition
    # keeps it below refractory; the "any benzodiazepine" choice allows it.
    evs = [ev.onset(at(0), "convulsive"), bzd(at(5), "lorazepam", "iv", 2),
           second_line(at(10), "levetiracetam", 4200, 70, at(20))]
    strict = episode.fold(evs)
    episode.advance(strict, at(40))
    loose = episode.fold(evs, rules.build({"refractory_needs_bzd_gate": 0}))
    episode.advance(loose, at(40))
    assert episode.STAGES[strict.stage] == "se"
    assert episode.STAGES[loose.stage] == "refractory" and loose.stage_t[4] == at(30)
    # Window choice: 20 min.
    w20 = episode.fold(case4(), rules.build({"refractory_window_s": 1200}))
    episode.advance(w20, at(45) - 1)
    assert episode.STAGES[w20.stage] == "established"
    episode.advance(w20, at(45))
    assert episode.STAGES[w20.stage] == "refractory"


# ---------------------------------------------------------------- clock

def ref_ticks_diff(a, b):
    # MicroPython's definition, written the obvious way with 2**30.
    return ((a - b + 2**29) % 2**30) - 2**29


@pytest.mark.parametrize("a,b", [(0, 0), (5, 2**30 - 3), (2**30 - 3, 5), (2**29, 0), (0, 2**29),
                                 (2**29 - 1, 0), (2**30 - 1, 0), (123456, 654321)])
def test_ticks_diff_matches_micropython_definition(a, b):
    assert clock.ticks_diff(a, b) == ref_ticks_diff(a, b)
    assert -(2**29) <= clock.ticks_diff(a, b) <= 2**29 - 1


def test_ticks_add_wraps():
    assert clock.ticks_add(2**30 - 10, 15) == 5
    assert clock.ticks_add(3, -5) == 2**30 - 2
    assert clock.ticks_diff(clock.ticks_add(2**30 - 10, 15), 2**30 - 10) == 15


class FakeTicks:
    def __init__(self, start):
        self.v = start

    def __call__(self):
        return self.v

    def advance(self, ms):
        self.v = (self.v + ms) % 2**30


def test_clock_counts_seconds_across_the_wrap_without_rtc():
    ticks = FakeTicks(2**30 - 10_000)  # 10 s before the wrap
    c = clock.Clock(ticks, None, start_s=T0)
    assert c.clock_unset and c.now() == T0
    for _ in range(25):
        ticks.advance(999)  # sub-second steps: the remainder must carry
    assert c.now() == T0 + 24  # 24.975 s
    ticks.advance(25)
    assert c.now() == T0 + 25
    ticks.advance(3 * 86400 * 1000)  # three days in one step (< 6.2 d)
    assert c.now() == T0 + 25 + 3 * 86400


def test_clock_with_rtc_never_moves_the_timer_and_flags_unset_rtc():
    # Review round 2 rule 1: the RTC labels; it never drives the timer clock.
    ticks = FakeTicks(0)
    unix = [clock.EPOCH_UNIX + T0]
    c = clock.Clock(ticks, lambda: unix[0])
    assert not c.clock_unset and c.now() == T0 and c.wall() == T0
    ticks.advance(10_000)
    unix[0] += 10 - 100  # RTC 100 s behind: the label follows, the timer keeps counting
    assert c.sync() and c.delta == -100
    assert c.now() == T0 + 10 and c.wall() == T0 + 10 - 100
    unix[0] += 1000
    assert c.sync() and c.delta == 1000
    assert c.now() == T0 + 10 and c.wall() == T0 + 910
    unix[0] += 1  # within the RTC's resolution: not a correction
    assert not c.sync() and c.wall() == T0 + 910
    never_set = clock.Clock(ticks, lambda: 946684800, start_s=5)  # 2000-01-01: RTC never set
    assert never_set.clock_unset and never_set.now() == 5
    assert not never_set.sync() and never_set.clock_unset


def test_power_up_without_rtc_flags_state_and_raises_low_alarm():
    ticks = FakeTicks(0)
    eng = engine.Engine(clock=clock.Clock(ticks, None, start_s=T0))
    eng.power_up()
    assert eng.events[0] == {"type": "power_up", "t": T0, "rtc": False}
    snap = eng.snapshot()
    assert "clock_unset" in snap["flags"]
    assert ("clock_unset", "low", T0, True) in snap["alarms"]
    assert eng.events[1] == {"type": "alarm", "t": T0, "action": "raise", "cond": "clock_unset"}


# ---------------------------------------------------------------- alarms

def gtc_engine():
    eng = engine.Engine()
    eng.append(ev.onset(at(0), "convulsive"))
    return eng


def audible(eng, name, t):
    return alarms.audible(eng.state, alarms.index(name), t)


def test_audio_pause_is_time_limited_and_reannunciates():
    eng = gtc_engine()
    eng.tick(at(5))
    assert audible(eng, "first_line_overdue", at(5))
    eng.append(ev.alarm(at(6), "pause"))
    assert not audible(eng, "first_line_overdue", at(6))
    assert eng.next_deadline == at(6) + rules.DEFAULT.audio_pause_s  # the emulator can jump there
    eng.tick(at(8) - 1)
    assert not audible(eng, "first_line_overdue", at(8) - 1)
    eng.tick(at(8))  # 120 s later, condition still present: sounds again
    assert audible(eng, "first_line_overdue", at(8))


def test_ack_silences_high_until_reminder_and_clears_with_condition():
    eng = gtc_engine()
    eng.tick(at(5))
    eng.append(ev.alarm(at(5), "ack", "first_line_overdue"))
    st = eng.state
    i = alarms.index("first_line_overdue")
    assert st.al_active[i] and not audible(eng, "first_line_overdue", at(5))
    eng.tick(at(15) - 1)
    assert not audible(eng, "first_line_overdue", at(15) - 1)
    eng.tick(at(15))  # high priority re-annunciates 10 min after ack
    assert audible(eng, "first_line_overdue", at(15))
    eng.append(bzd(at(16), "lorazepam", "iv", 4))
    assert not st.al_active[i]
    kinds = [(e["action"], e.get("cond")) for e in eng.events if e["type"] == "alarm"]
    assert kinds == [("raise", "first_line_overdue"), ("raise", "stage_escalation"),
                     ("ack", "first_line_overdue"), ("clear", "first_line_overdue")]


def test_latched_alarm_reset_by_ack_and_raised_again_on_new_trigger():
    eng = engine.Engine()
    log = case4()
    for e in log[:3]:
        eng.append(e)
    eng.tick(at(10))  # established
    eng.append(ev.alarm(at(11), "ack", "stage_escalation"))
    assert not eng.state.al_active[alarms.STAGE_ESCALATION]
    eng.append(log[3])
    eng.tick(at(35))  # refractory: a new escalation
    assert eng.state.al_active[alarms.STAGE_ESCALATION]
    raises = [e["t"] for e in eng.events if e.get("cond") == "stage_escalation" and e["action"] == "raise"]
    assert raises == [at(5), at(10), at(35)]


def test_ack_and_pause_do_not_touch_any_timer():
    base = [ev.onset(at(0), "convulsive")]
    noisy = base + [ev.alarm(at(5), "ack", "first_line_overdue"), ev.alarm(at(5), "pause"),
                    ev.alarm(at(6), "ack", "stage_escalation"), ev.alarm(at(30), "pause"),
                    ev.alarm(at(31), "ack", "t2_exceeded")]
    def dense(evs):
        st = episode.State()
        rows = []
        i = 0
        for t in range(at(0), at(120) + 1, 30):
            while i < len(evs) and evs[i]["t"] <= t:
                episode.apply(st, evs[i])
                i += 1
            episode.advance(st, t)
            rows.append(episode.row(st, t))
        return rows
    quiet, loud = dense(base), dense(noisy)
    # Same stage, flags, phase, sub-state and due actions every 30 s...
    assert [r[:11] for r in loud] == [r[:11] for r in quiet]
    # ...while the alarm signals did change.
    assert [r[12] for r in loud] != [r[12] for r in quiet]


def test_alarm_priorities_as_data():
    snap_alarms = dict((a[0], a[1]) for a in rules_table.ALARMS)
    assert rules.PRIORITIES[snap_alarms["first_line_overdue"]] == "high"
    assert rules.PRIORITIES[snap_alarms["t2_exceeded"]] == "high"
    assert rules.PRIORITIES[snap_alarms["bzd_underdosed"]] == "low"


# ---------------------------------------------------------------- engine

def test_engine_log_folds_to_engine_state():
    eng = engine.Engine()
    for e in case4() + [ev.infusion(at(60), "start", "midazolam")]:
        eng.append(e)
    eng.tick(at(hours=30))
    replay = episode.fold(eng.events)
    episode.advance(replay, at(hours=30))
    assert episode.row(replay, at(hours=30)) == episode.row(eng.state, at(hours=30))
    reloaded = engine.Engine()
    reloaded.load(json.loads(json.dumps(eng.events)))
    assert reloaded.events == eng.events  # nothing missing: no new records written


def test_load_writes_missing_alarm_records():
    # Power lost before the raise records were written: load() writes them.
    written = []
    eng = engine.Engine(sink=written.append)
    eng.load([ev.onset(at(0), "convulsive"), ev.note(at(6), "power lost after this")])
    assert [(e["action"], e["cond"]) for e in written] == [("raise", "first_line_overdue"),
                                                          ("raise", "stage_escalation")]
    assert all(e["t"] == at(6) for e in written)


def test_tick_returns_next_deadline_and_jumping_equals_stepping():
    def drive(step):
        eng = engine.Engine()
        for e in case4():
            eng.append(e)
        t = at(25)
        end = at(hours=3)
        while t < end:
            d = eng.tick(t)
            if step is None:  # jump to each deadline
                t = d if 0 <= d <= end else end
            else:
                t += step
        eng.tick(end)
        return eng.events
    jumped = drive(None)
    assert drive(1) == jumped  # second-by-second gives the same log
    # Coarse steps (7 s) still visit every deadline inside tick(): same log.
    assert drive(7) == jumped
    # The alarm record follows the clinical timeline of case 4: t1 at 5 min
    # (first line overdue for an instant: the dose is logged at 5:00 exactly),
    # established at 10 (second line now due), levetiracetam at 15, t2 at 30,
    # refractory at 35 (third line due).
    records = [((e["t"] - at(0)) // 60, e["action"], e["cond"]) for e in jumped if e["type"] == "alarm"]
    assert records == [(5, "raise", "first_line_overdue"), (5, "raise", "stage_escalation"),
                       (5, "clear", "first_line_overdue"),
                       (10, "raise", "second_line_overdue"), (10, "raise", "stage_escalation"),
                       (15, "clear", "second_line_overdue"), (30, "raise", "t2_exceeded"),
                       (35, "raise", "third_line_overdue"), (35, "raise", "stage_escalation")]
    st = episode.fold(jumped)
    episode.advance(st, at(hours=3))
    assert episode.STAGES[st.stage] == "refractory"


def test_deadlines_cover_every_state_change():
    # Between consecutive deadlines nothing observable changes, so an
    # emulator that only visits deadlines misses nothing.
    evs = case4() + [ev.infusion(at(60), "start", "propofol"), ev.stop(at(hours=3))]
    st = episode.fold(evs)
    t = st.t
    while t < at(hours=80):
        d = st.next_deadline
        nxt = d if d >= 0 else at(hours=80)
        before = episode.row(st, t)[1:]
        mid = episode.row(st, (t + nxt) // 2)[1:]
        assert before[:4] == mid[:4] and before[5:] == mid[5:], (t, nxt)  # phase may only change at d
        episode.advance(st, nxt)
        t = nxt
        if d < 0:
            break


def test_weight_change_reassesses_doses_through_hook():
    # Dose logged before the weight (checker assumed 32 kg+): 4 mg lorazepam.
    # Then weight 20 kg: ESETT < 32 kg needs 0.1 mg/kg = 2 mg -> 2000 permille.
    # Then corrected to 70 kg: needs 4 mg -> 1000 permille.
    calls = []

    def assess(dose, weight_g):
        calls.append((dose["drug"], weight_g))
        need = 4000 if weight_g >= 32000 else weight_g // 10  # 0.1 mg/kg in ug
        return dose["amount_ug"] * 1000 // need, False

    evs = [ev.onset(at(0), "convulsive"), bzd(at(5), "lorazepam", "iv", 2), ev.weight(at(6), 20000)]
    st = episode.fold(evs, assess=assess)
    assert st.bzd_permille == 1000 and not st.bzd_underdosed
    episode.advance(st, at(10))
    assert episode.STAGES[st.stage] == "established"
    episode.apply(st, ev.weight(at(12), 70000), assess)
    assert st.bzd_permille == 500 and st.bzd_underdosed
    assert episode.STAGES[st.stage] == "established"  # never goes down
    assert calls == [("lorazepam", 20000), ("lorazepam", 70000)]
    # Without a hook the stored verdicts stand.
    plain = episode.fold(evs)
    assert plain.bzd_permille == 500


def test_bad_assess_hook_leaves_state_and_log_untouched():
    eng = engine.Engine(assess=lambda d, w: (1.5, False))
    eng.append(ev.onset(at(0), "convulsive"))
    eng.append(bzd(at(5), "lorazepam", "iv", 2))
    n = len(eng.events)
    with pytest.raises(ValueError, match="assess hook returned"):
        eng.append(ev.weight(at(6), 20000))
    assert len(eng.events) == n and eng.state.weight_g == 0 and eng.state.bzd_permille == 500


def test_backdated_onset_starts_the_se_clock_in_the_past():
    # Staff log the onset at 3 min, saying it began at 0.
    evs = [ev.power_up(at(0), True), ev.onset(at(3), "convulsive", at(0))]
    st = episode.fold(evs)
    assert episode.STAGES[st.stage] == "seizure"
    assert st.next_deadline == at(5)
    episode.advance(st, at(5))
    assert episode.STAGES[st.stage] == "se"


# ---------------------------------------------------------------- dose checker interface

def test_dose_checker_events_and_assess_hook_plug_in():
    # The dose checker (firmware/core/dosecheck.py) writes the dose fields;
    # its assess() is the engine's weight re-check hook.
    from firmware.core import dosecheck

    def logged(t, drug, route, weight_g, amount_ug):
        fields = dosecheck.dose_event_fields(dosecheck.check_dose(drug, route, weight_g, dose=amount_ug))
        return ev.validate(dict(fields, type="dose", t=t))

    eng = engine.Engine(assess=dosecheck.assess)
    eng.append(ev.weight(at(0), 70000))
    eng.append(ev.onset(at(0), "convulsive"))
    # 70 kg: lorazepam 2 mg is half the ESETT 4 mg (clinical.md 13 vector 2).
    eng.append(logged(at(6), "lorazepam", "iv", 70000, 2000))
    assert eng.state.bzd_permille == 500 and eng.state.bzd_underdosed
    # Weight corrected to 20 kg: ESETT < 32 kg needs 0.1 mg/kg = 2 mg -> adequate.
    eng.append(ev.weight(at(7), 20000))
    assert eng.state.bzd_permille == 1000 and not eng.state.bzd_underdosed
    eng.tick(at(11))
    assert episode.STAGES[eng.state.stage] == "established"  # 5 min after the last dose at 6
    # Levetiracetam 60 mg/kg x 20 kg = 1200 mg over 10 min: adequate second line.
    lev = logged(at(12), "levetiracetam", "iv", 20000, 1_200_000)
    assert lev["second_line_adequate"] and lev["line"] == 2
    eng.append(dict(lev, end_t=at(22)))
    eng.tick(at(32))
    assert episode.STAGES[eng.state.stage] == "refractory"
    assert json.loads(json.dumps(eng.events)) == eng.events


def test_dose_classification_line0_infusion_kind_and_rse_midazolam_load():
    base = [ev.onset(at(0), "convulsive")]
    unknown = dict(ev.dose(at(3), "lorazepam", "iv", 4000, 1, 0), line=0)  # checker error: counts nowhere
    st = episode.fold(base + [ev.validate(unknown)])
    assert st.first_line_n == 0 and st.bzd_n == 1 and st.bzd_permille == 0
    infusion = dict(ev.dose(at(3), "midazolam", "iv", 14000, 3, 0), kind="infusion", rate_ng_per_kg_h=None)
    st = episode.fold(base + [ev.validate(infusion)])
    assert st.bzd_n == 0 and st.third_line_n == 1 and st.anesthetic_t == -1  # use an infusion event for tA
    # A midazolam load (line 3) is a benzodiazepine: it restarts ESETT's 5 min.
    st = episode.fold(base + [bzd(at(5), "lorazepam", "iv", 4), ev.dose(at(8), "midazolam", "iv", 14000, 3, 1400)])
    episode.advance(st, at(12))
    assert episode.STAGES[st.stage] == "se"  # 5 min after 8 is 13
    episode.advance(st, at(13))
    assert episode.STAGES[st.stage] == "established"


def test_boot_continues_the_log_with_and_without_rtc():
    stored = [ev.power_up(at(0), True), ev.onset(at(0), "convulsive"), ev.stop(at(3)), ev.recovered(at(4))]
    # No RTC: time continues from the last logged event; timers lose the outage.
    eng = engine.boot(FakeTicks(123), lambda: None, stored)
    assert eng.events[len(stored)] == {"type": "power_up", "t": at(4), "rtc": False}
    assert "clock_unset" in eng.snapshot()["flags"]
    # RTC set, 2 h later: the gap the RTC measured is added to the timers; no
    # clock flag.  The episode is over (recovered) but not closed: the gap is flagged.
    eng = engine.boot(FakeTicks(123), lambda: clock.statim_to_unix(at(120)), stored)
    assert eng.events[len(stored)] == {"type": "power_up", "t": at(120), "rtc": True, "gap": 116 * 60}
    snap = eng.snapshot()
    assert "clock_unset" not in snap["flags"] and "power_gap" in snap["flags"]
    assert snap["power_gap_s"] == 116 * 60
    # RTC behind the log (badly set): never go back in time; the gap is not
    # measurable and the wall labels are corrected back instead.
    eng = engine.boot(FakeTicks(123), lambda: clock.statim_to_unix(at(-60)), stored)
    assert eng.events[len(stored)] == {"type": "power_up", "t": at(4), "rtc": True, "gap": -1, "delta": -64 * 60}
    assert eng.state.wall_offset == -64 * 60 and eng.snapshot()["power_gap_s"] == -1
    assert eng.clock.wall() == at(-60)
