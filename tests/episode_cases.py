"""Shared event logs for the episode-engine tests: clinical.md section 14 scenarios
and a generator of random valid episodes.

Doses carry the verdicts the dose checker would attach; here they are computed
from the ESETT table of clinical.md section 4 (not from firmware code), so the
tests do not depend on the drug library.
"""
import random

from firmware.core import events as ev

T0 = 200_000_000  # episode seconds (2026-05-04): any small positive int works
MIN = 60
HOUR = 3600
DAY = 86400


def at(minutes=0, hours=0, days=0, seconds=0):
    return T0 + round(minutes * MIN) + hours * HOUR + days * DAY + seconds


# ESETT "adequate" cumulative benzodiazepine (clinical.md section 4), in mg:
# >= 32 kg flat doses; < 32 kg per kg.
ESETT_FLAT_MG = {"lorazepam": 4.0, "diazepam": 10.0, "midazolam": 10.0}
ESETT_PER_KG_MG = {("lorazepam", "iv"): 0.1, ("diazepam", "iv"): 0.3, ("diazepam", "rectal"): 0.3,
                   ("midazolam", "im"): 0.3, ("midazolam", "iv"): 0.2}


def esett_threshold_ug(drug, route, weight_kg):
    if weight_kg >= 32:
        return round(ESETT_FLAT_MG[drug] * 1000)
    return round(ESETT_PER_KG_MG[(drug, route)] * weight_kg * 1000)


def bzd(t, drug, route, mg, weight_kg=70):
    ug = round(mg * 1000)
    permille = ug * 1000 // esett_threshold_ug(drug, route, weight_kg)
    return ev.dose(t, drug, route, ug, 1, permille)


# AES/ESETT second-line loads (clinical.md 3.2, 4): adequate when >= the
# weight-based dose up to the cap.
SECOND_LINE = {"levetiracetam": (60, 4500), "fosphenytoin": (20, 1500), "valproate": (40, 3000)}


def second_line(t, drug, mg, weight_kg, end_t=None):
    per_kg, cap = SECOND_LINE[drug]
    adequate = mg >= min(per_kg * weight_kg, cap)
    return ev.dose(t, drug, "iv", round(mg * 1000), 2, 0, adequate, end_t)


def case4():
    """GTC, 70 kg; lorazepam 4 mg at 5; levetiracetam 4200 mg infused 15-25; seizing."""
    return [
        ev.weight(at(0), 70000),
        ev.onset(at(0), "convulsive"),
        bzd(at(5), "lorazepam", "iv", 4),
        second_line(at(15), "levetiracetam", 4200, 70, end_t=at(25)),
    ]


def scenario_logs():
    """name -> (events, rules overrides) for clinical.md 14 scenarios 1-10."""
    s = {}
    s["1_gtc_untreated"] = ([ev.weight(at(0), 70000), ev.onset(at(0), "convulsive")], None)
    s["2_lorazepam_4mg"] = ([ev.weight(at(0), 70000), ev.onset(at(0), "convulsive"),
                             bzd(at(6), "lorazepam", "iv", 4)], None)
    s["3_lorazepam_split"] = ([ev.weight(at(0), 70000), ev.onset(at(0), "convulsive"),
                               bzd(at(6), "lorazepam", "iv", 2), bzd(at(13), "lorazepam", "iv", 2)], None)
    s["4_second_line"] = (case4(), None)
    s["5_midazolam_norse"] = (case4() + [
        ev.infusion(at(60), "start", "midazolam", 200),
        ev.flag(at(hours=12), "norse"),
    ], None)
    s["6_propofol_wean"] = (case4() + [
        ev.infusion(at(hours=2), "start", "propofol", 3000),
        ev.stop(at(hours=3)),
        ev.eeg(at(hours=3), "no_seizure"),
        ev.wean(at(hours=50), "start"),
        ev.eeg(at(hours=52), "seizure"),
    ], None)
    s["7_early_wean"] = (case4() + [
        ev.infusion(at(hours=1), "start", "midazolam", 200),
        ev.stop(at(hours=2)),
        ev.wean(at(hours=12), "start"),
        ev.recur(at(hours=14)),
        ev.wean(at(hours=14, minutes=5), "stop"),
        ev.infusion(at(hours=14, minutes=5), "change", "midazolam", 400),
    ], None)
    s["8_focal"] = ([ev.onset(at(0), "focal_impaired")], None)
    s["9_absence"] = ([ev.onset(at(0), "absence")], None)
    s["9_absence_15"] = ([ev.onset(at(0), "absence")], {"absence_t1_s": 900})
    s["10_cluster"] = ([ev.weight(at(0), 70000), ev.onset(at(0), "convulsive"), ev.stop(at(2)),
                        ev.recur(at(4)), ev.stop(at(5.5))], None)
    return s


# ---------------------------------------------------------------- random episodes

DRUGS1 = [("lorazepam", "iv", 1, 4), ("diazepam", "iv", 5, 10), ("midazolam", "im", 5, 10)]
DRUGS2 = ["levetiracetam", "fosphenytoin", "valproate"]
ANESTHETICS = ["midazolam", "propofol", "ketamine", "pentobarbital"]


def random_episode(rnd, n_steps=40, t_start=T0, engine=None):
    """Drive a random but valid episode; returns the action list
    [(delay_ms, event_builder(t) or None)].  Validity is tracked here with a
    small model of what the engine accepts; alarm acks use the engine's state
    at the time, so the list must be replayed through an Engine in order."""
    steps = []
    model = {"started": False, "clin": False, "eeg": False, "inf": set(), "wean": False,
             "anesthetic": False, "closed": False}

    def pick(t, st):
        m = model
        if not m["started"]:
            m["started"] = True
            m["clin"] = True
            kind = rnd.choice(["convulsive", "convulsive", "focal_impaired", "absence"])
            back = rnd.choice([0, 0, 30, 120])
            return ev.onset(t, kind, t - back if back else None)
        r = rnd.random()
        if r < 0.12:
            m["clin"] = not m["clin"]
            return ev.recur(t) if m["clin"] else ev.stop(t)
        if r < 0.18:
            if m["clin"] or m["eeg"]:
                m["clin"] = False
                return ev.stop(t) if st.clin else ev.note(t, "x")
            return ev.recovered(t)
        if r < 0.30:
            d, route, lo, hi = rnd.choice(DRUGS1)
            return bzd(t, d, route, rnd.randint(lo, hi), rnd.choice([20, 70]))
        if r < 0.38:
            drug = rnd.choice(DRUGS2)
            mg = rnd.choice([1000, 1400, 2400, 4200, 4500])
            end = t + rnd.choice([0, 300, 600, 900])
            return second_line(t, drug, mg, 70, end if end > t else None)
        if r < 0.44:
            return ev.dose(t, "phenobarbital", "iv", 1_000_000, 3, 0)
        if r < 0.52:
            free = [a for a in ANESTHETICS if a not in m["inf"]]
            if free and rnd.random() < 0.6:
                a = rnd.choice(free)
                m["inf"].add(a)
                m["anesthetic"] = True
                m["wean"] = False
                return ev.infusion(t, "start", a, rnd.randint(50, 5000))
            if m["inf"]:
                a = rnd.choice(sorted(m["inf"]))
                if rnd.random() < 0.5:
                    return ev.infusion(t, "change", a, rnd.randint(50, 5000))
                m["inf"].discard(a)
                return ev.infusion(t, "stop", a)
            return ev.note(t, "no infusion")
        if r < 0.58:
            if m["anesthetic"] and not m["wean"]:
                m["wean"] = True
                return ev.wean(t, "start")
            if m["wean"]:
                m["wean"] = False
                return ev.wean(t, "stop")
            return ev.weight(t, rnd.choice([20000, 32000, 70000, 100000]))
        if r < 0.68:
            state = rnd.choice(["seizure", "no_seizure", "burst_suppression", "artifact"])
            m["eeg"] = state == "seizure"
            return ev.eeg(t, state)
        if r < 0.78:
            from firmware.core import alarms
            active = [alarms.NAMES[i] for i in range(alarms.N_ALARMS) if st.al_active[i]]
            if active and rnd.random() < 0.7:
                return ev.alarm(t, "ack", rnd.choice(active))
            return ev.alarm(t, "pause")
        if r < 0.82:
            return ev.flag(t, "norse", rnd.random() < 0.8)
        if r < 0.85:
            return ev.power_up(t, rnd.random() < 0.5)
        return None  # time passes, nothing logged

    for _ in range(n_steps):
        # Gaps from a second to a day, weighted to minutes.
        delay = rnd.choice([1, 7, 30, 59, 60, 61, 120, 299, 300, 301, 600, 1200, 3600, 4 * HOUR, DAY])
        steps.append((delay * 1000 + rnd.randint(0, 999), pick))
    return steps


def run_random(seed, engine, clock_now, advance_ms, n_steps=40):
    """Replay a random episode through `engine`, using `advance_ms(ms)` to move
    the test clock and `clock_now()` to stamp events."""
    rnd = random.Random(seed)
    steps = random_episode(rnd, n_steps)
    for delay_ms, pick in steps:
        advance_ms(delay_ms)
        t = clock_now()
        engine.tick(t)
        e = pick(t, engine.state)
        if e is not None:
            engine.append(e)
    return engine
