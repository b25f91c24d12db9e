"""Parameters: params.json (clinical units, each with a source) -> the model's flat struct.

``load_params(overrides)`` returns the JSON as a dict of plain values
(``{"model": {name: value}, "eeg": {...}, "drugs": {name: {...}}}``) with
overrides merged in.  ``derive(params, fs, seed, channels)`` turns it into the
field values of ``patient_params`` (patient_c/patient.h): per-second rates,
filter coefficients and reference potentials.  Both backends read the same
derived numbers, so C and Python start from identical doubles.
"""
import copy
import json
import math
import os

from firmware.core import biophys_ref

HERE = os.path.dirname(os.path.abspath(__file__))
PARAMS_JSON = os.path.join(HERE, "params.json")

MAX_DRUGS = 16  # PATIENT_MAX_DRUGS
N_BANDS = 4  # PATIENT_N_BANDS

# mechanism codes (PATIENT_MECH_*)
MECH_BZ = 0  # benzodiazepine: positive modulator of synaptic gamma2 GABA-A receptors
MECH_GABA = 1  # barbiturate / propofol: modulates every GABA-A receptor
MECH_NMDA = 2  # NMDA channel block (ketamine)
MECH_ASM = 3  # other antiseizure mechanisms (Na channel, SV2A, valproate)
MECHANISMS = {"bz": MECH_BZ, "gaba": MECH_GABA, "nmda": MECH_NMDA, "asm": MECH_ASM}

# Field names of patient_params, in header order: the twin-equality tests
# check the C struct against these lists.
PARAM_SCALARS = (
    "dt", "temp_c", "cl_out", "cl_rest", "hco3_in", "hco3_out", "hco3_ratio",
    "k_in", "na_in", "na_out", "p_k", "p_na", "p_cl", "k_o_rest", "k_o_seizure", "k_o_rate",
    "v_threshold", "e_gaba_ref", "eff_min", "g_leak", "g_exc_rest", "g_exc_seizure", "e_exc",
    "g_inh", "mg_ratio", "mg_slope", "unblock_ref",
    "cl_load", "cl_ext", "cl_max", "kcc2_down", "kcc2_min", "kcc2_up",
    "gaba_int", "gaba_min", "gaba_rec", "nmda_up", "nmda_max", "nmda_down",
    "infl_up", "infl_decay", "epi_rate", "insult_decay", "etiology_decay",
    "w_gaba", "f_synaptic", "w_k", "w_nmda", "infl_nmda", "w_epi", "w_asm", "w_anes",
    "theta_on", "theta_off", "pgp_gain", "postictal_rate", "postictal_decay", "postictal_depth",
    "seizure_min",
    "inv_fs", "bg_amp", "noise_floor", "sz_amp", "sz_f0", "sz_f_late", "sz_evo_rate",
    "sz_exhaust_rate", "sz_late_frac", "sz_anes_damp", "env_alpha", "bg_alpha", "bs_alpha",
    "spike_center", "spike_width", "slow_start", "slow_scale", "slow_ratio", "wave_mean",
    "amp_jitter", "freq_jitter", "bs_min", "inv_burst_samples", "burst_gain", "supp_level",
    "anes_bg", "env_floor",
)
PARAM_BANDS = ("band_a1", "band_a2", "band_b")
PARAM_INTS = ("step_samples", "n_drugs")
PARAM_DRUG_ARRAYS = ("v1", "k10", "k12", "k21", "k13", "k31", "ke0", "ka", "kp", "pgp", "ec50", "emax", "ec50_bs")
PARAM_DRUG_INTS = ("mech",)

STATE_INTS = ("countdown", "seizing", "in_burst", "n_seizures")
STATE_SCALARS = (
    "insult", "etiology", "cl_in", "kcc2", "gaba_surface", "nmda_surface", "inflammation", "epi", "k_o",
    "seizure_age", "seizure_total", "postictal",
    "e_gaba", "v_rest", "v_act", "unblock", "inhibition", "nmda_drive", "drive",
    "bz_effect", "gaba_direct", "asm_effect", "nmda_free", "depth", "bs_fraction",
    "sz_target", "bg_target", "sz_freq", "p_burst_end", "p_supp_end",
    "sz_env", "bg_gain", "bs_gain", "phase", "cycle_amp", "cycle_jit",
)
STATE_DRUG_ARRAYS = ("depot", "central", "periph", "deep", "effect", "infusion")


def load_params(overrides=None, path=PARAMS_JSON):
    """Plain-value parameters from params.json, with ``overrides`` merged in.

    overrides: ``{"model": {"insult_level": 0.8}, "eeg": {...}, "drugs": {"ketamine": {"ec50_mg_per_l": 0.5}}}``;
    a flat ``{"insult_level": 0.8}`` is also accepted for model/eeg names.
    """
    with open(path) as f:
        raw = json.load(f)
    out = {"version": raw["version"], "model": {}, "eeg": {}, "drugs": {}}
    for section in ("model", "eeg"):
        for name, entry in raw[section].items():
            out[section][name] = copy.deepcopy(entry["value"])
    for name, entry in raw["drugs"].items():
        out["drugs"][name] = {k: copy.deepcopy(v) for k, v in entry.items() if k != "source"}
    if overrides:
        for key, value in overrides.items():
            if key in ("model", "eeg"):
                for name, v in value.items():
                    if name not in out[key]:
                        raise KeyError("unknown %s parameter %r" % (key, name))
                    out[key][name] = v
            elif key == "drugs":
                for drug, fields in value.items():
                    entry = out["drugs"].setdefault(drug, {})
                    entry.update(fields)
            elif key in out["model"]:
                out["model"][key] = value
            elif key in out["eeg"]:
                out["eeg"][key] = value
            else:
                raise KeyError("unknown parameter %r" % (key,))
    if len(out["drugs"]) > MAX_DRUGS:
        raise ValueError("at most %d drugs" % MAX_DRUGS)
    return out


def param_sources(path=PARAMS_JSON):
    """{(section, name): source text} for every parameter (for reports and tests)."""
    with open(path) as f:
        raw = json.load(f)
    out = {}
    for section in ("model", "eeg"):
        for name, entry in raw[section].items():
            out[(section, name)] = entry["source"]
    for name, entry in raw["drugs"].items():
        out[("drugs", name)] = entry["source"]
    return out


def _per_min(x):
    return x / 60.0


def _per_h(tau_h):
    return 1.0 / (tau_h * 3600.0)


def _ar2(fs, centre, bw, weight):
    """AR(2) resonator y = a1 y1 + a2 y2 + b e with rms ``weight`` for unit white e."""
    if centre >= 0.45 * fs:  # above what this rate can represent: band off
        return 0.0, 0.0, 0.0
    r = math.exp(-math.pi * bw / fs)
    a1 = 2.0 * r * math.cos(2.0 * math.pi * centre / fs)
    a2 = -r * r
    var = (1.0 - a2) / ((1.0 + a2) * ((1.0 - a2) ** 2 - a1 * a1))
    return a1, a2, weight / math.sqrt(var)


def mg_unblock(v_mv, mg_ratio, mg_slope):
    """Jahr & Stevens (1990) fraction of NMDA channels free of Mg2+ block."""
    return 1.0 / (1.0 + mg_ratio * math.exp(-mg_slope * v_mv))


def derive(params, fs):
    """Field values of patient_params for sampling rate ``fs`` (Hz)."""
    if not (fs >= 32.0 and fs <= 100000.0):
        raise ValueError("fs must be within 32..100000 Hz, got %r" % (fs,))
    m, e = params["model"], params["eeg"]
    d = {}
    step = max(1, int(round(m["model_dt_s"] * fs)))
    d["step_samples"] = step
    d["dt"] = step / fs
    for src, dst in (("temp_c", "temp_c"), ("cl_out_mM", "cl_out"), ("cl_rest_mM", "cl_rest"),
                     ("hco3_in_mM", "hco3_in"), ("hco3_out_mM", "hco3_out"), ("hco3_ratio", "hco3_ratio"),
                     ("k_in_mM", "k_in"), ("na_in_mM", "na_in"), ("na_out_mM", "na_out"),
                     ("p_k", "p_k"), ("p_na", "p_na"), ("p_cl", "p_cl"),
                     ("k_o_rest_mM", "k_o_rest"), ("k_o_seizure_mM", "k_o_seizure"),
                     ("v_threshold_mV", "v_threshold"), ("gaba_efficacy_min", "eff_min"),
                     ("g_leak", "g_leak"), ("g_exc_rest", "g_exc_rest"), ("g_exc_seizure", "g_exc_seizure"),
                     ("e_exc_mV", "e_exc"), ("g_inh", "g_inh"), ("mg_slope_per_mV", "mg_slope"),
                     ("cl_load_mM_per_s", "cl_load"), ("cl_extrusion_per_s", "cl_ext"), ("cl_max_mM", "cl_max"),
                     ("kcc2_min", "kcc2_min"), ("gaba_surface_min", "gaba_min"), ("nmda_surface_max", "nmda_max"),
                     ("w_gaba", "w_gaba"), ("f_synaptic", "f_synaptic"), ("w_k", "w_k"), ("w_nmda", "w_nmda"),
                     ("infl_nmda_gain", "infl_nmda"), ("w_epi", "w_epi"), ("w_asm", "w_asm"),
                     ("w_anes", "w_anes"), ("theta_on", "theta_on"), ("theta_off", "theta_off"),
                     ("pgp_gain", "pgp_gain"), ("postictal_per_s", "postictal_rate"),
                     ("postictal_depth", "postictal_depth"), ("seizure_min_s", "seizure_min")):
        d[dst] = float(m[src])
    d["k_o_rate"] = 1.0 / m["k_o_tau_s"]
    d["mg_ratio"] = m["mg_out_mM"] / m["mg_k_mM"]
    d["kcc2_down"] = 1.0 / (m["kcc2_loss_tau_min"] * 60.0)
    d["kcc2_up"] = _per_h(m["kcc2_recovery_tau_h"])
    d["gaba_int"] = 1.0 / (m["gaba_internalisation_tau_min"] * 60.0)
    d["gaba_rec"] = _per_h(m["gaba_recovery_tau_h"])
    d["nmda_up"] = 1.0 / (m["nmda_upregulation_tau_min"] * 60.0)
    d["nmda_down"] = _per_h(m["nmda_recovery_tau_h"])
    d["infl_up"] = _per_h(m["inflammation_rise_tau_h"])
    d["infl_decay"] = _per_h(m["inflammation_decay_tau_h"])
    d["epi_rate"] = _per_h(m["epileptogenic_tau_h"])
    d["insult_decay"] = 1.0 / (m["insult_decay_tau_min"] * 60.0)
    d["etiology_decay"] = _per_h(m["etiology_decay_tau_h"])
    d["postictal_decay"] = 1.0 / m["postictal_tau_s"]

    # reference potentials: the healthy neuron ([Cl]i at rest, K+o at rest)
    d["e_gaba_ref"] = biophys_ref.e_gaba(d["cl_rest"], d["cl_out"], d["hco3_in"], d["hco3_out"],
                                         d["hco3_ratio"], d["temp_c"])
    if not d["v_threshold"] > d["e_gaba_ref"]:
        raise ValueError("v_threshold_mV must lie above the healthy E_GABA (%.1f mV)" % d["e_gaba_ref"])
    # Mg2+ unblock of a healthy neuron at seizure onset: the NMDA weight's unit
    v_rest = biophys_ref.ghk_voltage(((1, d["p_k"], d["k_in"], d["k_o_seizure"]),
                                      (1, d["p_na"], d["na_in"], d["na_out"]),
                                      (-1, d["p_cl"], d["cl_rest"], d["cl_out"])), d["temp_c"])
    g_i = d["g_inh"]
    v_act = (d["g_leak"] * v_rest + d["g_exc_seizure"] * d["e_exc"] + g_i * d["e_gaba_ref"]) / (
        d["g_leak"] + d["g_exc_seizure"] + g_i)
    d["unblock_ref"] = mg_unblock(v_act, d["mg_ratio"], d["mg_slope"])

    # EEG
    d["inv_fs"] = 1.0 / fs
    d["bg_amp"] = float(e["bg_amp_uV"])
    d["noise_floor"] = float(e["noise_floor_uV"])
    d["sz_amp"] = float(e["sz_amp_uV"])
    d["sz_f0"] = float(e["sz_f0_hz"])
    d["sz_f_late"] = float(e["sz_f_late_hz"])
    d["sz_evo_rate"] = 1.0 / e["sz_evolution_tau_s"]
    d["sz_exhaust_rate"] = _per_h(e["sz_exhaust_tau_h"])
    d["sz_late_frac"] = float(e["sz_late_frac"])
    d["sz_anes_damp"] = float(e["sz_anes_damp"])
    d["env_alpha"] = 1.0 - math.exp(-1.0 / (e["env_tau_s"] * fs))
    d["bg_alpha"] = 1.0 - math.exp(-1.0 / (e["bg_tau_s"] * fs))
    d["bs_alpha"] = 1.0 - math.exp(-1.0 / (e["bs_tau_s"] * fs))
    for k in ("spike_center", "spike_width", "slow_start", "slow_ratio", "amp_jitter", "freq_jitter",
              "burst_gain", "supp_level", "anes_bg"):
        d[k] = float(e[k])
    d["slow_scale"] = 1.0 / (1.0 - e["slow_start"])
    # cycle mean of (slow_ratio * slow - spike): subtracted so discharges carry no DC
    d["wave_mean"] = e["slow_ratio"] * (2.0 / 3.0) * (1.0 - e["slow_start"]) - (2.0 / 3.0) * e["spike_width"]
    d["bs_min"] = float(e["bs_min_fraction"])
    d["inv_burst_samples"] = 1.0 / (e["burst_mean_s"] * fs)
    d["env_floor"] = 1e-3
    bands = list(e["bands"])[:N_BANDS]
    while len(bands) < N_BANDS:
        bands.append([1.0, 1.0, 0.0])
    coefs = [_ar2(fs, *b) for b in bands]
    d["band_a1"] = [c[0] for c in coefs]
    d["band_a2"] = [c[1] for c in coefs]
    d["band_b"] = [c[2] for c in coefs]

    # drugs
    names = sorted(params["drugs"])
    d["n_drugs"] = len(names)
    for k in PARAM_DRUG_ARRAYS + PARAM_DRUG_INTS:
        d[k] = [0 if k in PARAM_DRUG_INTS else 0.0] * MAX_DRUGS
    d["v1"] = [1.0] * MAX_DRUGS
    for i, name in enumerate(names):
        g = params["drugs"][name]
        d["mech"][i] = MECHANISMS[g["mechanism"]]
        d["v1"][i] = float(g["v1_l_per_kg"])
        for k in ("k10", "k12", "k21", "k13", "k31", "ke0", "ka"):
            d[k][i] = _per_min(g[k + "_per_min"])
        d["kp"][i] = float(g["kp"])
        d["pgp"][i] = float(g["pgp"])
        d["ec50"][i] = float(g["ec50_mg_per_l"])
        d["emax"][i] = float(g["emax"])
        d["ec50_bs"][i] = float(g["ec50_bs_mg_per_l"])
    return d, names


def check_fields(d):
    """Every field of patient_params is present (used by both backends)."""
    missing = [k for k in PARAM_SCALARS + PARAM_BANDS + PARAM_INTS + PARAM_DRUG_ARRAYS + PARAM_DRUG_INTS if k not in d]
    if missing:
        raise KeyError("derived parameters missing: %s" % ", ".join(missing))
