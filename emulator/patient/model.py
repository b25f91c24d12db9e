"""Mechanistic patient state and pharmacokinetics: the pure-Python twin of
patient_model_step() in emulator/patient_c/patient.c.

Same expressions in the same order as the C, so on CPython (IEEE double, the
same libm) both give the same doubles.  ``p`` is the derived parameter record
(params.derive), ``s`` a State; both have the field names of patient.h.

One step (dt, 1 s by default):
1. PK: per drug a depot (IM/IN/rectal absorption or fosphenytoin conversion),
   central, peripheral and deep compartment (amounts in mg/kg) and an effect
   site (mg/L).  Brain entry scales with kp / (1 + pgp_gain * pgp * inflammation):
   blood-brain-barrier efflux pumps lower brain levels of substrate drugs.
2. Drug effects (Emax, Hill 1): benzodiazepine modulation of synaptic GABA-A
   (needs gamma2 receptors on the surface), barbiturate/propofol modulation of
   all GABA-A, NMDA block (ketamine), other antiseizure mechanisms, and an
   anaesthetic depth that produces burst suppression.
3. E_GABA from [Cl]i and HCO3- (weighted form, the C E_GABA kernel's twin);
   resting potential from GHK (K+, Na+, Cl-) with K+o; the active membrane
   potential from a conductance balance; Mg2+ unblock of NMDA from it.
4. Drive = insult + K+o + NMDA + inflammation - GABA inhibition - ASMs -
   anaesthesia; a seizure starts above theta_on and stops below theta_off.
5. Slow processes during seizures: K+o rises, KCC2 is lost and [Cl]i loads,
   synaptic GABA-A receptors internalise, NMDA receptors accumulate,
   inflammation builds; between seizures they recover.
6. EEG targets for the sample loop (eeg.py).
"""
import math

from firmware.core import biophys_ref

from .params import MAX_DRUGS, MECH_BZ, MECH_GABA, MECH_NMDA, STATE_DRUG_ARRAYS, STATE_INTS, STATE_SCALARS

_exp = math.exp


class State:
    """Python twin of patient_state: the model's slow state and the EEG generator's global state."""

    __slots__ = STATE_INTS + STATE_SCALARS + STATE_DRUG_ARRAYS + ("rng",)

    def __init__(self):
        for k in STATE_INTS:
            setattr(self, k, 0)
        for k in STATE_SCALARS:
            setattr(self, k, 0.0)
        for k in STATE_DRUG_ARRAYS:
            setattr(self, k, [0.0] * MAX_DRUGS)
        self.rng = 1


def init_state(p, s, rng):
    """Healthy patient before onset (patient_state_init)."""
    s.countdown = 0
    s.seizing = 0
    s.in_burst = 1
    s.n_seizures = 0
    s.insult = 0.0
    s.etiology = 0.0
    s.cl_in = p.cl_rest
    s.kcc2 = 1.0
    s.gaba_surface = 1.0
    s.nmda_surface = 1.0
    s.inflammation = 0.0
    s.epi = 0.0
    s.k_o = p.k_o_rest
    s.seizure_age = 0.0
    s.seizure_total = 0.0
    s.postictal = 0.0
    for k in ("e_gaba", "v_rest", "v_act", "unblock", "inhibition", "nmda_drive", "drive", "bz_effect",
              "gaba_direct", "asm_effect", "depth", "bs_fraction", "sz_target", "sz_freq",
              "p_burst_end", "sz_env", "phase"):
        setattr(s, k, 0.0)
    s.nmda_free = 1.0
    s.bg_target = p.bg_amp
    s.bg_gain = p.bg_amp
    s.p_supp_end = 1.0
    s.bs_gain = 1.0
    s.cycle_amp = 1.0
    s.cycle_jit = 1.0
    for k in STATE_DRUG_ARRAYS:
        arr = getattr(s, k)
        for i in range(MAX_DRUGS):
            arr[i] = 0.0
    s.rng = rng


def model_step(p, s):
    dt = p.dt
    infl = s.inflammation

    # 1. pharmacokinetics (forward Euler; all k*dt << 1)
    for i in range(p.n_drugs):
        dep = s.depot[i]
        c1 = s.central[i]
        c2 = s.periph[i]
        c3 = s.deep[i]
        absorbed = p.ka[i] * dt * dep
        to2 = p.k12[i] * dt * c1
        from2 = p.k21[i] * dt * c2
        to3 = p.k13[i] * dt * c1
        from3 = p.k31[i] * dt * c3
        elim = p.k10[i] * dt * c1
        s.depot[i] = dep - absorbed
        s.central[i] = c1 + s.infusion[i] * dt + absorbed - elim - to2 + from2 - to3 + from3
        s.periph[i] = c2 + to2 - from2
        s.deep[i] = c3 + to3 - from3
        kp = p.kp[i] / (1.0 + p.pgp_gain * p.pgp[i] * s.epi)
        cp = s.central[i] / p.v1[i]
        s.effect[i] = s.effect[i] + p.ke0[i] * dt * (kp * cp - s.effect[i])

    # 2. drug effects
    bz = 0.0
    gd = 0.0
    asm = 0.0
    depth = 0.0
    nmda_free = 1.0
    for i in range(p.n_drugs):
        ce = s.effect[i]
        if ce > 0.0:
            mech = p.mech[i]
            if p.ec50[i] > 0.0:
                x = ce / p.ec50[i]
                h = p.emax[i] * x / (1.0 + x)
                if mech == MECH_BZ:
                    bz = bz + h
                elif mech == MECH_GABA:
                    gd = gd + h
                elif mech == MECH_NMDA:
                    nmda_free = nmda_free * (1.0 - h)
                else:
                    asm = asm + h
            if p.ec50_bs[i] > 0.0:
                xb = ce / p.ec50_bs[i]
                if mech == MECH_BZ:
                    xb = xb * s.gaba_surface  # benzodiazepines need their receptors
                depth = depth + xb

    # 3. biophysics: E_GABA and the membrane
    egaba = biophys_ref.e_gaba(s.cl_in, p.cl_out, p.hco3_in, p.hco3_out, p.hco3_ratio, p.temp_c)
    v_rest = biophys_ref.ghk_voltage(((1, p.p_k, p.k_in, s.k_o), (1, p.p_na, p.na_in, p.na_out),
                                      (-1, p.p_cl, s.cl_in, p.cl_out)), p.temp_c)
    eff = (p.v_threshold - egaba) / (p.v_threshold - p.e_gaba_ref)
    if eff < p.eff_min:
        eff = p.eff_min
    g_gaba = (p.f_synaptic * s.gaba_surface * (1.0 + bz) + (1.0 - p.f_synaptic)) * (1.0 + gd)
    inhibition = p.w_gaba * eff * g_gaba
    act = 1.0 if s.seizing else 0.0
    g_e = p.g_exc_rest + (p.g_exc_seizure - p.g_exc_rest) * act
    g_i = p.g_inh * g_gaba
    v_act = (p.g_leak * v_rest + g_e * p.e_exc + g_i * egaba) / (p.g_leak + g_e + g_i)
    unblock = 1.0 / (1.0 + p.mg_ratio * _exp(-p.mg_slope * v_act))
    nmda = p.w_nmda * s.nmda_surface * (unblock / p.unblock_ref) * (1.0 + p.infl_nmda * infl) * nmda_free

    # 4. seizure decision
    drive = (s.insult + s.etiology + p.w_k * (s.k_o - p.k_o_rest) + nmda + p.w_epi * s.epi
             - inhibition - p.w_asm * asm - p.w_anes * depth)
    if s.seizing:
        if drive < p.theta_off and s.seizure_age >= p.seizure_min:
            s.seizing = 0
            pi = s.seizure_age * p.postictal_rate
            if pi > 1.0:
                pi = 1.0
            if pi > s.postictal:
                s.postictal = pi
            s.seizure_age = 0.0
    elif drive > p.theta_on:
        s.seizing = 1
        s.seizure_age = 0.0
        s.n_seizures += 1

    # 5. slow processes
    act = 1.0 if s.seizing else 0.0
    rest = 1.0 - act
    s.k_o = s.k_o + dt * p.k_o_rate * (p.k_o_rest + (p.k_o_seizure - p.k_o_rest) * act - s.k_o)
    s.kcc2 = s.kcc2 + dt * (p.kcc2_up * rest * (1.0 - s.kcc2) - p.kcc2_down * act * (s.kcc2 - p.kcc2_min))
    cl = s.cl_in + dt * (p.cl_load * act - p.cl_ext * s.kcc2 * (s.cl_in - p.cl_rest))
    if cl > p.cl_max:
        cl = p.cl_max
    s.cl_in = cl
    s.gaba_surface = s.gaba_surface + dt * (p.gaba_rec * rest * (1.0 - s.gaba_surface)
                                            - p.gaba_int * act * (s.gaba_surface - p.gaba_min))
    s.nmda_surface = s.nmda_surface + dt * (p.nmda_up * act * (p.nmda_max - s.nmda_surface)
                                            - p.nmda_down * rest * (s.nmda_surface - 1.0))
    s.inflammation = infl + dt * (p.infl_up * act * (1.0 - infl) - p.infl_decay * infl)
    s.epi = s.epi + dt * p.epi_rate * (infl - s.epi)
    s.insult = s.insult - dt * p.insult_decay * s.insult
    s.etiology = s.etiology - dt * p.etiology_decay * s.etiology
    if s.seizing:
        s.seizure_age = s.seizure_age + dt
        s.seizure_total = s.seizure_total + dt
    else:
        s.postictal = s.postictal - dt * p.postictal_decay * s.postictal

    s.e_gaba = egaba
    s.v_rest = v_rest
    s.v_act = v_act
    s.unblock = unblock
    s.inhibition = inhibition
    s.nmda_drive = nmda
    s.drive = drive
    s.bz_effect = bz
    s.gaba_direct = gd
    s.asm_effect = asm
    s.nmda_free = nmda_free
    s.depth = depth

    # 6. EEG targets
    d3 = depth * depth * depth
    frac = d3 / (1.0 + d3)
    s.bs_fraction = frac
    if frac < p.bs_min:
        s.p_burst_end = 0.0
        s.p_supp_end = 1.0
    else:
        s.p_burst_end = p.inv_burst_samples
        s.p_supp_end = p.inv_burst_samples * (1.0 - frac) / frac
    if s.seizing:
        age = s.seizure_age
        s.sz_freq = p.sz_f_late + (p.sz_f0 - p.sz_f_late) * _exp(-age * p.sz_evo_rate)
        amp = p.sz_amp * (p.sz_late_frac + (1.0 - p.sz_late_frac) * _exp(-age * p.sz_exhaust_rate))
        damp = depth if depth < 1.0 else 1.0
        s.sz_target = amp * (1.0 - p.sz_anes_damp * damp)
    else:
        s.sz_target = 0.0
    s.bg_target = p.bg_amp * (1.0 - p.postictal_depth * s.postictal) / (1.0 + p.anes_bg * depth)


def skip(p, s, nframes):
    """Advance nframes of model time without EEG (patient_skip)."""
    while nframes > 0:
        if s.countdown == 0:
            model_step(p, s)
            s.countdown = p.step_samples
        m = s.countdown
        if m > nframes:
            m = nframes
        s.countdown -= m
        nframes -= m
