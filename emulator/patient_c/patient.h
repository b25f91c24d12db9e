/*
 * patient.h - the Statim patient simulator's inner loop (portable C99).
 *
 * A mechanistic model of a patient in status epilepticus (chloride loading and
 * E_GABA, GABA-A internalisation, NMDA up-regulation and Mg2+ unblock,
 * inflammation and blood-brain-barrier efflux, pharmacokinetics, anaesthetic
 * depth) stepped every step_samples frames, and an EEG generator that writes
 * microvolt samples from that state.  Host-side (the emulator's patient), but
 * written like the firmware kernels: caller-owned structs, no malloc, no static
 * mutable state, only <math.h>, <stdint.h>, <stddef.h> (and biophys.h for
 * E_GABA and the GHK voltage).
 *
 * The pure-Python twin is emulator/patient/model.py (patient_model_step) and
 * emulator/patient/eeg.py (patient_process): same expressions in the same
 * order, so both produce the same float32 samples.  The parameter record is
 * filled from params.json by emulator/patient/params.py (derive), never here.
 *
 * The block between STATIM-CDEF-BEGIN and STATIM-CDEF-END is read verbatim by
 * emulator/patient_c/ffibuild.py.
 */
#ifndef STATIM_PATIENT_H
#define STATIM_PATIENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* STATIM-CDEF-BEGIN */
#define PATIENT_MAX_DRUGS 16
#define PATIENT_N_BANDS 4

#define PATIENT_MECH_BZ 0   /* benzodiazepine: synaptic gamma2 GABA-A modulator */
#define PATIENT_MECH_GABA 1 /* barbiturate / propofol: all GABA-A receptors */
#define PATIENT_MECH_NMDA 2 /* NMDA channel block (ketamine) */
#define PATIENT_MECH_ASM 3  /* other antiseizure mechanisms */

/* Derived parameters (rates per second, potentials mV, amplitudes uV). */
typedef struct {
    double dt, temp_c, cl_out, cl_rest, hco3_in, hco3_out, hco3_ratio, k_in, na_in, na_out, p_k;
    double p_na, p_cl, k_o_rest, k_o_seizure, k_o_rate, v_threshold, e_gaba_ref, eff_min, g_leak;
    double g_exc_rest, g_exc_seizure, e_exc, g_inh, mg_ratio, mg_slope, unblock_ref, cl_load;
    double cl_ext, cl_max, kcc2_down, kcc2_min, kcc2_up, gaba_int, gaba_min, gaba_rec, nmda_up;
    double nmda_max, nmda_down, infl_up, infl_decay, epi_rate, insult_decay, etiology_decay, w_gaba;
    double f_synaptic, w_k, w_nmda, infl_nmda, w_epi, w_asm, w_anes, theta_on, theta_off, pgp_gain;
    double postictal_rate, postictal_decay, postictal_depth, seizure_min, inv_fs, bg_amp, noise_floor;
    double sz_amp, sz_f0, sz_f_late, sz_evo_rate, sz_exhaust_rate, sz_late_frac, sz_anes_damp;
    double env_alpha, bg_alpha, bs_alpha, spike_center, spike_width, slow_start, slow_scale, slow_ratio;
    double wave_mean, amp_jitter, freq_jitter, bs_min, inv_burst_samples, burst_gain, supp_level;
    double anes_bg, env_floor;
    double band_a1[4], band_a2[4], band_b[4];
    int step_samples, n_drugs;
    double v1[16], k10[16], k12[16], k21[16], k13[16], k31[16], ke0[16], ka[16];
    double kp[16], pgp[16], ec50[16], emax[16], ec50_bs[16];
    int mech[16];
} patient_params;

/* Slow model state, diagnostics, and the EEG generator's global state. */
typedef struct {
    int countdown, seizing, in_burst, n_seizures;
    double insult, etiology, cl_in, kcc2, gaba_surface, nmda_surface, inflammation, epi, k_o;
    double seizure_age, seizure_total, postictal, e_gaba, v_rest, v_act, unblock, inhibition;
    double nmda_drive, drive, bz_effect, gaba_direct, asm_effect, nmda_free, depth, bs_fraction;
    double sz_target, bg_target, sz_freq, p_burst_end, p_supp_end, sz_env, bg_gain, bs_gain, phase;
    double cycle_amp, cycle_jit;
    /* per drug: amounts in mg/kg, effect site in mg/L, infusion in mg/kg/s */
    double depot[16], central[16], periph[16], deep[16], effect[16], infusion[16];
    uint32_t rng;
} patient_state;

/* One EEG channel: its PRNG, gain and background resonators. */
typedef struct {
    uint32_t rng;
    double gain;
    double y1[4], y2[4];
} patient_channel;

/* One model step of p->dt seconds (PK, effects, biophysics, seizure decision). */
void patient_model_step(const patient_params *p, patient_state *s);

/*
 * Generate nframes frames of nch channels, interleaved, into out (uV).  The
 * model steps whenever s->countdown reaches zero.  Returns 0, or -1 on a
 * NULL pointer or nch == 0 with nframes > 0.
 */
int patient_process(const patient_params *p, patient_state *s, patient_channel *ch,
                    size_t nch, float *out, size_t nframes);

/* Advance nframes of model time without generating EEG (fast-forward). */
void patient_skip(const patient_params *p, patient_state *s, size_t nframes);
/* STATIM-CDEF-END */

#ifdef __cplusplus
}
#endif

#endif /* STATIM_PATIENT_H */
