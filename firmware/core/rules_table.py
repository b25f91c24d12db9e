# The rule table with its sources: every number of the episode engine, the
# values a site may choose where sources disagree, and the alarm conditions.
#
# Data for people and for export (rules.source()).  The engine never reads
# it in a loop: rules.Rules compiles it once into plain integer attributes,
# and a board lets this module go again after that (heap.forget), since the
# source texts are most of its size.

# Each entry: key -> (value, source).  Where sources disagree, CHOICES lists
# the values a site may select (the default is one of them).
TABLE = {
    # ILAE 2015 (Trinka et al.) Table 1; clinical.md 1 and 14.
    "convulsive_t1_s": (300, "ILAE 2015 Table 1: tonic-clonic t1 5 min [C]"),
    "convulsive_t2_s": (1800, "ILAE 2015 Table 1: tonic-clonic t2 30 min [C]; flag at >= 30 min"),
    "focal_impaired_t1_s": (600, "ILAE 2015 Table 1: focal with impaired consciousness t1 10 min [C]"),
    # "> 60 min": the flag fires from 60:01 (clinical.md 1, firmware note).
    "focal_impaired_t2_s": (3601, "ILAE 2015 Table 1: focal t2 > 60 min [C]; first whole second above 60:00"),
    "absence_t1_s": (600, "ILAE 2015 Table 1: absence t1 10-15 min [U]; default the conservative 10"),
    # -1 = not defined: the t2 flag never fires for absence SE.
    "absence_t2_s": (-1, "ILAE 2015 Table 1: absence t2 unknown [U]"),
    # AES 2016 phase starts, seconds from onset (clinical.md 3.1) [S].
    "phase_initial_s": (300, "AES 2016 phases: initial therapy 5-20 min [S]"),
    "phase_second_s": (1200, "AES 2016 phases: second therapy 20-40 min [S]"),
    "phase_third_s": (2400, "AES 2016 phases: third therapy 40-60 min [S]"),
    "phase_beyond_s": (3600, "AES 2016 phases: beyond 60 min [S]; NCS control within 60 min [S]"),
    # Established SE: ESETT gate (Kapur 2019 [C]).
    "established_after_bzd_s": (300, "ESETT: seizures >= 5 min after the last benzodiazepine dose [C]"),
    "bzd_gate_permille": (1000, "ESETT adequate cumulative benzodiazepine; mixed drugs by fractional sum [D]"),
    # Refractory SE: observation window after the end of an adequate second-line load.
    "refractory_window_s": (600, "clinical.md 14 rule 2: 10 min after second-line infusion end [D]"),
    "refractory_needs_bzd_gate": (1, "Brophy 2012: RSE after an adequate benzodiazepine and a second-line drug [S]"),
    # Super-refractory: Shorvon & Ferlisi 2011 [C].
    "super_refractory_after_s": (86400, "Shorvon & Ferlisi 2011: >= 24 h after anesthetic start [C]"),
    # Hirsch 2018 prolonged RSE / SRSE: 7-day figure is from memory [U].
    "prolonged_s": (604800, "Hirsch 2018 prolonged RSE/SRSE >= 7 days [U]"),
    # Due actions (clinical.md 3.1, 11.3, 5.3).  First line is due at t1
    # (ILAE: treatment starts at t1; AES: 5 min for convulsive SE).
    "bzd_repeat_after_s": (300, "NCS 2012: repeat lorazepam in 5-10 min [S]; label 10-15 min [C]"),
    "bzd_max_doses": (2, "AES 2016: benzodiazepine may repeat once [C]"),
    "second_line_due_s": (1200, "AES 2016: second therapy by 20 min [S]"),
    "third_line_due_s": (2400, "AES 2016: third therapy by 40 min [S]"),
    "eeg_control_min_s": (86400, "NCS 2012: 24-48 h electrographic control before weaning [S]"),
    "eeg_control_max_s": (172800, "NCS 2012: 24-48 h electrographic control before weaning [S]"),
    # ESETT weight band edge, used by the dose checker (exposed here so there
    # is one place for it).  Protocol: flat doses at >= 32 kg [C]; a 40 kg
    # threshold appears in an unread context (clinical.md fact-check 1).
    "esett_band_edge_g": (32000, "ESETT protocol: flat doses for >= 32 kg [C]"),
    # IEC 60601-1-8 leaves pause length to the manufacturer, to be disclosed
    # (clinical.md 9).  120 s is the usual figure in monitor manuals [D].
    "audio_pause_s": (120, "IEC 60601-1-8 AUDIO PAUSED, time-limited; length chosen by us [D]"),
    # ACKNOWLEDGED (Amd 1:2012) silences until the condition clears "or a
    # preset time passes" [U]; we re-annunciate a still-present high-priority
    # condition after this time [D].  0 = silence until the condition clears.
    "ack_reannounce_high_s": (600, "IEC 60601-1-8 Amd1 ACKNOWLEDGED with preset time [U]; 10 min [D]"),
    # clinical.md Review round 2 rule 11 [D]: a silent unresolved medium alarm
    # (second-line overdue) is not acceptable for SE; it re-sounds after 15 min.
    "ack_reannounce_medium_s": (900, "IEC 60601-1-8 Amd1 ACKNOWLEDGED with preset time [U]; 15 min (RR2 rule 11) [D]"),
}

# Configurable definitions (clinical.md 15): key -> {choice name: value}.
CHOICES = {
    "absence_t1_s": {"ilae_low_10min": 600, "ilae_high_15min": 900},
    "ack_reannounce_high_s": {"reannounce_5min": 300, "reannounce_10min": 600, "until_clear": 0},
    "ack_reannounce_medium_s": {"reannounce_15min": 900},
    "audio_pause_s": {"pause_60s": 60, "pause_120s": 120, "pause_180s": 180},
    "bzd_repeat_after_s": {"ncs_5min": 300, "ncs_10min": 600, "label_10min": 600, "label_15min": 900},
    "esett_band_edge_g": {"esett_32kg": 32000, "esett_40kg": 40000},
    "refractory_needs_bzd_gate": {"strict": 1, "any_benzodiazepine": 0},
    "refractory_window_s": {"default_10min": 600, "ncs_no_window": 0, "window_20min": 1200},
}

BENZODIAZEPINES_SRC = "ESETT adequacy table (Kapur 2019) [C]; clonazepam added [D]"

# Alarm conditions: (name, priority, kind, source).  IEC 60601-1-8 fixes the
# priority levels but not which condition gets which (clinical.md 9 [C]); the
# assignment below is our risk analysis [D].
#   kind "state":   present while its condition holds; clears by itself.
#   kind "latched": a moment worth announcing (t2 reached, stage rose); stays
#                   until acknowledged, and the acknowledgement resets it.
# Priorities: 0 high, 1 medium, 2 low.
ALARMS = (
    ("first_line_overdue", 0, "state", "no first-line drug by t1 (ILAE/AES) [D priority]"),
    ("second_line_overdue", 1, "state", "no second-line drug by 20 min or at established SE (AES/ESETT) [D]"),
    ("third_line_overdue", 1, "state", "no third-line therapy by 40 min or at RSE (AES) [D]"),
    ("t2_exceeded", 0, "latched", "ILAE t2 reached with seizure ongoing [D priority]"),
    ("stage_escalation", 1, "latched", "stage rose (se/established/refractory/super_refractory) [D]"),
    ("breakthrough", 0, "state", "seizure during or after anesthetic therapy [D]"),
    ("bzd_underdosed", 2, "state", "ESETT gate not met while seizing (clinical.md 12) [D]"),
    ("weaning_recurrence_lt_24h", 2, "latched", "recurrence on weaning < 24 h: check local definition (clinical.md 15.9) [D]"),
    ("clock_unset", 2, "state", "no RTC: timers exclude time powered off [D]"),
    ("storage_full", 1, "state", "flash full: actions are refused, the record cannot grow (technical alarm) [D]"),
    ("settings_defaults", 2, "state", "both settings copies unreadable: defaults in use (technical alarm) [D]"),
    ("library_refused", 1, "state", "installed drug library refused at boot: built-in one in use (technical alarm) [D]"),
)
