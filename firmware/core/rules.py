# The clinical rule numbers of the episode engine, in ONE versioned table.
#
# Every number carries its source and the reliability tag of clinical.md
# ([C] confirmed, [S] secondary, [U] unconfirmed, [D] design proposal).  Where
# sources disagree (clinical.md section 15) the entry lists the alternatives and
# a default; a site picks one with `build(overrides)`, which refuses values that
# are not listed (a typo must not silently become a clinical rule).
#
# Units are integers: seconds, grams, per-mille.  No floats anywhere, so the
# fold gives bit-identical results under CPython and MicroPython.
#
# The table is data for people and for export; the engine reads the compiled
# `Rules` object (plain attributes, looked up once), never the dict in a loop.

from . import heap as _heap

VERSION = "statim-rules-1"

# SE types, in the order of their integer codes (events carry the name).
SE_TYPES = ("convulsive", "focal_impaired", "absence")

# Stages, lowest first; the integer code is the index.  The stage never goes
# down within an episode (issue 3; clinical.md section 14).
STAGES = ("idle", "seizure", "se", "established", "refractory", "super_refractory")

# AES 2016 phase labels, in order (clinical.md 3.1).
PHASES = ("stabilization", "initial", "second", "third", "beyond")

# Drugs whose boluses count toward the ESETT benzodiazepine gate
# (ESETT table: diazepam, lorazepam, midazolam [C]).  Names are the drug
# library's lowercase generic names.
BENZODIAZEPINES = ("lorazepam", "diazepam", "midazolam", "clonazepam")

# AES 2016 initial therapy when no benzodiazepine is available: IV
# phenobarbital 15 mg/kg [S].  A full load (the checker's adequacy) in the
# initial phase answers the first-line due action; it never counts toward the
# ESETT benzodiazepine gate (clinical.md Review round 2 rule 7).
INITIAL_ALTERNATIVES = ("phenobarbital",)

# Alarm priorities and condition names, in the order of their integer codes;
# rules_table.ALARMS has each condition's priority, kind and source.
PRIORITIES = ("high", "medium", "low")
ALARM_NAMES = ("first_line_overdue", "second_line_overdue", "third_line_overdue", "t2_exceeded",
               "stage_escalation", "breakthrough", "bzd_underdosed", "weaning_recurrence_lt_24h", "clock_unset",
               "storage_full", "settings_defaults", "library_refused")


def _check_choice(choices, key, value):
    if key not in choices:
        raise ValueError("rule %s is not configurable" % key)
    allowed = choices[key]
    if value not in allowed.values():
        raise ValueError("rule %s: %r is not one of the listed choices %r" % (key, value, sorted(allowed.values())))


class Rules:
    """Compiled rule set: plain integer attributes, one per TABLE key."""

    def __init__(self, overrides=None):
        from . import rules_table as _t

        table = _t.TABLE
        self.version = VERSION
        self.overrides = {}
        v = {}
        for key in table:
            v[key] = table[key][0]
        if overrides:
            for key in overrides:
                if key not in table:
                    raise ValueError("unknown rule %r" % (key,))
                value = overrides[key]
                if type(value) is not int:
                    raise ValueError("rule %s must be an int, got %r" % (key, value))
                _check_choice(_t.CHOICES, key, value)
                v[key] = value
                self.overrides[key] = value
        # One plain attribute per TABLE key (spelled out for the type checker).
        self.convulsive_t1_s = v["convulsive_t1_s"]
        self.convulsive_t2_s = v["convulsive_t2_s"]
        self.focal_impaired_t1_s = v["focal_impaired_t1_s"]
        self.focal_impaired_t2_s = v["focal_impaired_t2_s"]
        self.absence_t1_s = v["absence_t1_s"]
        self.absence_t2_s = v["absence_t2_s"]
        self.phase_initial_s = v["phase_initial_s"]
        self.phase_second_s = v["phase_second_s"]
        self.phase_third_s = v["phase_third_s"]
        self.phase_beyond_s = v["phase_beyond_s"]
        self.established_after_bzd_s = v["established_after_bzd_s"]
        self.bzd_gate_permille = v["bzd_gate_permille"]
        self.refractory_window_s = v["refractory_window_s"]
        self.refractory_needs_bzd_gate = v["refractory_needs_bzd_gate"]
        self.super_refractory_after_s = v["super_refractory_after_s"]
        self.prolonged_s = v["prolonged_s"]
        self.bzd_repeat_after_s = v["bzd_repeat_after_s"]
        self.bzd_max_doses = v["bzd_max_doses"]
        self.second_line_due_s = v["second_line_due_s"]
        self.third_line_due_s = v["third_line_due_s"]
        self.eeg_control_min_s = v["eeg_control_min_s"]
        self.eeg_control_max_s = v["eeg_control_max_s"]
        self.esett_band_edge_g = v["esett_band_edge_g"]
        self.audio_pause_s = v["audio_pause_s"]
        self.ack_reannounce_high_s = v["ack_reannounce_high_s"]
        self.ack_reannounce_medium_s = v["ack_reannounce_medium_s"]
        # Per SE type, indexed by SE type code: t1, t2 (-1 = undefined).
        self.t1_s = (self.convulsive_t1_s, self.focal_impaired_t1_s, self.absence_t1_s)
        self.t2_s = (self.convulsive_t2_s, self.focal_impaired_t2_s, self.absence_t2_s)
        # Phase start times, indexed by phase code.
        self.phase_start_s = (0, self.phase_initial_s, self.phase_second_s, self.phase_third_s, self.phase_beyond_s)
        self.benzodiazepines = BENZODIAZEPINES
        self.initial_alternatives = INITIAL_ALTERNATIVES
        # Re-annunciation after acknowledgement, indexed by priority code.
        self.ack_reannounce_s = (self.ack_reannounce_high_s, self.ack_reannounce_medium_s, 0)
        alarms = _t.ALARMS
        if tuple(a[0] for a in alarms) != ALARM_NAMES:
            raise ValueError("rules_table.ALARMS does not match rules.ALARM_NAMES")
        self.alarm_priority = tuple(a[1] for a in alarms)
        self.alarm_latched = tuple(a[2] == "latched" for a in alarms)

    def tag(self):
        """Version plus the chosen overrides, for logs and exports."""
        if not self.overrides:
            return self.version
        keys = sorted(self.overrides)
        return self.version + ";" + ",".join("%s=%d" % (k, self.overrides[k]) for k in keys)


def build(overrides=None):
    """Return a compiled Rules; `overrides` maps TABLE keys to listed choices."""
    return Rules(overrides)


def source(key):
    """The source text of one rule number."""
    from . import rules_table

    return rules_table.TABLE[key][1]


DEFAULT = Rules()
_heap.forget("rules_table")  # compiled: a board does not keep the source texts
