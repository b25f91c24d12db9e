# The EEG detector's parameters (with their sources) and its event and flag
# codes: shared by every backend -- the C core through cffi on a host, the
# native module on the board (firmware/core_c/natmod), the pure-Python twin
# (detect_ref.py) -- so that choosing one never loads another.
CLAMP_UV = 100000.0
MAX_EVENTS_PER_STEP = 6
BURDEN_MAX_EPOCHS = 8192

EV_SEIZURE_ON = 1
EV_SEIZURE_OFF = 2
EV_SE_ON = 3
EV_SE_OFF = 4
EV_BS_ON = 5
EV_BS_OFF = 6
EV_BSR_TREND = 7

SE_CONTINUOUS = 1
SE_BURDEN = 2
SE_CONVULSIVE = 3

EPF_ICTAL = 1
EPF_CANDIDATE = 2
EPF_SEIZURE = 4
EPF_SE = 8
EPF_BS = 16
EPF_SUPPRESSED = 32
EPF_BAD = 64

# Order = the C struct statim_det_params_t (natmod/statim_det.c reads them in this order).
PARAM_NAMES = (
    "fs", "step_s",
    "supp_uv", "supp_min_s", "bsr_window_s", "burst_min_s", "burst_window_s",
    "band_lo_hz", "band_hi_hz", "hyst_frac", "hyst_min_uv",
    "amp_prior_uv", "amp_floor_uv", "ll_prior_uvps", "ll_floor_uvps", "base_tau_s", "base_fall_tau_s", "base_clip",
    "k_amp_on", "k_amp_off", "k_ll_on", "k_ll_off", "f_min_hz", "f_max_hz", "seizure_min_s", "bridge_s",
    "burden_window_s", "se_cont_s", "se_burden_pct", "se_convulsive_s",
    "bs_on_pct", "bs_off_pct", "bs_min_s", "trend_s", "convulsive",
)

DEFAULTS = {
    "fs": 256.0,
    "step_s": 0.5,           # BIS: 0.5-s steps, 126 of them in 63 s
    "supp_uv": 5.0,          # Rampil: |x| <= 5 µV ...
    "supp_min_s": 0.5,       # ... for >= 0.5 s
    "bsr_window_s": 63.0,    # BIS Vista: SR over the last 63 s
    "burst_min_s": 0.5,      # ACNS: bursts average > 0.5 s
    "burst_window_s": 60.0,
    "band_lo_hz": 2.5,       # ACNS: electrographic seizure > 2.5 Hz
    "band_hi_hz": 9.0,       # [D] above the ictal band: alpha/beta of normal EEG
    "hyst_frac": 0.25,
    "hyst_min_uv": 2.0,
    "amp_prior_uv": 25.0,    # [D] ictal-band RMS of normal scalp EEG (Bonn Z median 24 µV)
    "amp_floor_uv": 5.0,
    "ll_prior_uvps": 1500.0, # [D] line length of normal scalp EEG (Bonn Z median ~1700 µV/s)
    "ll_floor_uvps": 300.0,
    "base_tau_s": 600.0,     # [D] the baseline rises slowly (an unseen seizure must not become it) ...
    "base_fall_tau_s": 120.0,  # ... and falls faster (a quiet patient is learnt within minutes)
    "base_clip": 1.5,
    "k_amp_on": 3.0,
    "k_amp_off": 2.0,
    "k_ll_on": 1.3,
    "k_ll_off": 1.1,
    "f_min_hz": 2.5,
    "f_max_hz": 25.0,
    "seizure_min_s": 10.0,   # ACNS: >= 10 s
    "bridge_s": 3.0,
    "burden_window_s": 3600.0,
    "se_cont_s": 600.0,      # ACNS 2021: >= 10 continuous min
    "se_burden_pct": 20.0,   # ... or >= 20 % of any 60 min
    "se_convulsive_s": 300.0,  # ... or >= 5 min with a bilateral tonic-clonic seizure
    "bs_on_pct": 50.0,       # ACNS: burst suppression when > 50 % is suppressed
    "bs_off_pct": 40.0,
    "bs_min_s": 63.0,        # [D] reached/lost only once the 63-s window is full
    "trend_s": 60.0,
    "convulsive": 0,
}


def params(fs=None, **overrides):
    """DEFAULTS with fs and overrides applied; unknown names raise ValueError."""
    p = dict(DEFAULTS)
    if fs is not None:
        p["fs"] = fs
    for name in overrides:
        if name not in p:
            raise ValueError("unknown detector parameter: %s" % name)
        p[name] = overrides[name]
    return p
