/*
 * patient.c - patient simulator inner loop (see patient.h).
 *
 * Twin: emulator/patient/model.py and eeg.py.  Every expression below has the
 * same operands in the same order as the Python, so IEEE doubles (and the
 * same libm exp/log) give the same bits on both paths.  Keep them in step.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "biophys.h"
#include "patient.h"

#define U24 (1.0 / 16777216.0)
#define SQRT3 1.7320508075688772

/* xorshift32 (Marsaglia 2003, 13/17/5) */
static uint32_t xorshift32(uint32_t x)
{
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
}

void patient_model_step(const patient_params *p, patient_state *s)
{
    const double dt = p->dt;
    const double infl = s->inflammation;
    double bz = 0.0, gd = 0.0, asm_ = 0.0, depth = 0.0, nmda_free = 1.0;
    double egaba, v_rest, eff, g_gaba, inhibition, act, rest, g_e, g_i, v_act, unblock, nmda, drive;
    double cl, d3, frac;
    int i;

    /* 1. pharmacokinetics (forward Euler; all k*dt << 1) */
    for (i = 0; i < p->n_drugs; i++) {
        const double dep = s->depot[i], c1 = s->central[i], c2 = s->periph[i], c3 = s->deep[i];
        const double absorbed = p->ka[i] * dt * dep;
        const double to2 = p->k12[i] * dt * c1;
        const double from2 = p->k21[i] * dt * c2;
        const double to3 = p->k13[i] * dt * c1;
        const double from3 = p->k31[i] * dt * c3;
        const double elim = p->k10[i] * dt * c1;
        double kp, cp;
        s->depot[i] = dep - absorbed;
        s->central[i] = c1 + s->infusion[i] * dt + absorbed - elim - to2 + from2 - to3 + from3;
        s->periph[i] = c2 + to2 - from2;
        s->deep[i] = c3 + to3 - from3;
        kp = p->kp[i] / (1.0 + p->pgp_gain * p->pgp[i] * s->epi);
        cp = s->central[i] / p->v1[i];
        s->effect[i] = s->effect[i] + p->ke0[i] * dt * (kp * cp - s->effect[i]);
    }

    /* 2. drug effects */
    for (i = 0; i < p->n_drugs; i++) {
        const double ce = s->effect[i];
        if (ce > 0.0) {
            const int mech = p->mech[i];
            if (p->ec50[i] > 0.0) {
                const double x = ce / p->ec50[i];
                const double h = p->emax[i] * x / (1.0 + x);
                if (mech == PATIENT_MECH_BZ) bz = bz + h;
                else if (mech == PATIENT_MECH_GABA) gd = gd + h;
                else if (mech == PATIENT_MECH_NMDA) nmda_free = nmda_free * (1.0 - h);
                else asm_ = asm_ + h;
            }
            if (p->ec50_bs[i] > 0.0) {
                double xb = ce / p->ec50_bs[i];
                if (mech == PATIENT_MECH_BZ) xb = xb * s->gaba_surface;
                depth = depth + xb;
            }
        }
    }

    /* 3. biophysics: E_GABA (weighted form) and GHK resting potential */
    egaba = statim_e_gaba_value(s->cl_in, p->cl_out, p->hco3_in, p->hco3_out, p->hco3_ratio, p->temp_c,
                                STATIM_EGABA_WEIGHTED);
    {
        const int z[3] = {1, 1, -1};
        const double perm[3] = {p->p_k, p->p_na, p->p_cl};
        const double cin[3] = {p->k_in, p->na_in, s->cl_in};
        const double cout[3] = {s->k_o, p->na_out, p->cl_out};
        size_t bad;
        if (statim_ghk_voltage(z, perm, cin, cout, 3, p->temp_c, &v_rest, &bad) != STATIM_OK)
            v_rest = NAN;
    }
    eff = (p->v_threshold - egaba) / (p->v_threshold - p->e_gaba_ref);
    if (eff < p->eff_min) eff = p->eff_min;
    g_gaba = (p->f_synaptic * s->gaba_surface * (1.0 + bz) + (1.0 - p->f_synaptic)) * (1.0 + gd);
    inhibition = p->w_gaba * eff * g_gaba;
    act = s->seizing ? 1.0 : 0.0;
    g_e = p->g_exc_rest + (p->g_exc_seizure - p->g_exc_rest) * act;
    g_i = p->g_inh * g_gaba;
    v_act = (p->g_leak * v_rest + g_e * p->e_exc + g_i * egaba) / (p->g_leak + g_e + g_i);
    unblock = 1.0 / (1.0 + p->mg_ratio * exp(-p->mg_slope * v_act));
    nmda = p->w_nmda * s->nmda_surface * (unblock / p->unblock_ref) * (1.0 + p->infl_nmda * infl) * nmda_free;

    /* 4. seizure decision */
    drive = s->insult + s->etiology + p->w_k * (s->k_o - p->k_o_rest) + nmda + p->w_epi * s->epi
            - inhibition - p->w_asm * asm_ - p->w_anes * depth;
    if (s->seizing) {
        if (drive < p->theta_off && s->seizure_age >= p->seizure_min) {
            double pi = s->seizure_age * p->postictal_rate;
            s->seizing = 0;
            if (pi > 1.0) pi = 1.0;
            if (pi > s->postictal) s->postictal = pi;
            s->seizure_age = 0.0;
        }
    } else if (drive > p->theta_on) {
        s->seizing = 1;
        s->seizure_age = 0.0;
        s->n_seizures += 1;
    }

    /* 5. slow processes */
    act = s->seizing ? 1.0 : 0.0;
    rest = 1.0 - act;
    s->k_o = s->k_o + dt * p->k_o_rate * (p->k_o_rest + (p->k_o_seizure - p->k_o_rest) * act - s->k_o);
    s->kcc2 = s->kcc2 + dt * (p->kcc2_up * rest * (1.0 - s->kcc2) - p->kcc2_down * act * (s->kcc2 - p->kcc2_min));
    cl = s->cl_in + dt * (p->cl_load * act - p->cl_ext * s->kcc2 * (s->cl_in - p->cl_rest));
    if (cl > p->cl_max) cl = p->cl_max;
    s->cl_in = cl;
    s->gaba_surface = s->gaba_surface + dt * (p->gaba_rec * rest * (1.0 - s->gaba_surface)
                                              - p->gaba_int * act * (s->gaba_surface - p->gaba_min));
    s->nmda_surface = s->nmda_surface + dt * (p->nmda_up * act * (p->nmda_max - s->nmda_surface)
                                              - p->nmda_down * rest * (s->nmda_surface - 1.0));
    s->inflammation = infl + dt * (p->infl_up * act * (1.0 - infl) - p->infl_decay * infl);
    s->epi = s->epi + dt * p->epi_rate * (infl - s->epi);
    s->insult = s->insult - dt * p->insult_decay * s->insult;
    s->etiology = s->etiology - dt * p->etiology_decay * s->etiology;
    if (s->seizing) {
        s->seizure_age = s->seizure_age + dt;
        s->seizure_total = s->seizure_total + dt;
    } else {
        s->postictal = s->postictal - dt * p->postictal_decay * s->postictal;
    }

    s->e_gaba = egaba;
    s->v_rest = v_rest;
    s->v_act = v_act;
    s->unblock = unblock;
    s->inhibition = inhibition;
    s->nmda_drive = nmda;
    s->drive = drive;
    s->bz_effect = bz;
    s->gaba_direct = gd;
    s->asm_effect = asm_;
    s->nmda_free = nmda_free;
    s->depth = depth;

    /* 6. EEG targets */
    d3 = depth * depth * depth;
    frac = d3 / (1.0 + d3);
    s->bs_fraction = frac;
    if (frac < p->bs_min) {
        s->p_burst_end = 0.0;
        s->p_supp_end = 1.0;
    } else {
        s->p_burst_end = p->inv_burst_samples;
        s->p_supp_end = p->inv_burst_samples * (1.0 - frac) / frac;
    }
    if (s->seizing) {
        const double age = s->seizure_age;
        double amp, damp;
        s->sz_freq = p->sz_f_late + (p->sz_f0 - p->sz_f_late) * exp(-age * p->sz_evo_rate);
        amp = p->sz_amp * (p->sz_late_frac + (1.0 - p->sz_late_frac) * exp(-age * p->sz_exhaust_rate));
        damp = depth < 1.0 ? depth : 1.0;
        s->sz_target = amp * (1.0 - p->sz_anes_damp * damp);
    } else {
        s->sz_target = 0.0;
    }
    s->bg_target = p->bg_amp * (1.0 - p->postictal_depth * s->postictal) / (1.0 + p->anes_bg * depth);
}

static void process_frames(const patient_params *p, patient_state *s, patient_channel *ch,
                           size_t nch, float *out, size_t nframes);

int patient_process(const patient_params *p, patient_state *s, patient_channel *ch,
                    size_t nch, float *out, size_t nframes)
{
    if (nframes == 0) return 0;
    if (!p || !s || !ch || !out || nch == 0) return -1;
    process_frames(p, s, ch, nch, out, nframes);
    return 0;
}

static void process_frames(const patient_params *p, patient_state *s, patient_channel *ch,
                           size_t nch, float *out, size_t nframes)
{
    const double a10 = p->band_a1[0], a11 = p->band_a1[1], a12 = p->band_a1[2], a13 = p->band_a1[3];
    const double a20 = p->band_a2[0], a21 = p->band_a2[1], a22 = p->band_a2[2], a23 = p->band_a2[3];
    const double b0 = p->band_b[0], b1 = p->band_b[1], b2 = p->band_b[2], b3 = p->band_b[3];
    const double noise = p->noise_floor;
    size_t f, c, k = 0;

    for (f = 0; f < nframes; f++) {
        double target, wave = 0.0, g, bgg;
        if (s->countdown == 0) {
            patient_model_step(p, s);
            s->countdown = p->step_samples;
        }
        s->countdown -= 1;

        s->sz_env = s->sz_env + p->env_alpha * (s->sz_target - s->sz_env);
        s->bg_gain = s->bg_gain + p->bg_alpha * (s->bg_target - s->bg_gain);
        if (s->p_burst_end > 0.0) {
            uint32_t x = xorshift32(s->rng);
            double u;
            s->rng = x;
            u = (double)(x >> 8) * U24;
            if (s->in_burst) {
                if (u < s->p_burst_end) s->in_burst = 0;
            } else if (u < s->p_supp_end) {
                s->in_burst = 1;
            }
            target = s->in_burst ? p->burst_gain : p->supp_level;
        } else {
            s->in_burst = 1;
            target = 1.0;
        }
        s->bs_gain = s->bs_gain + p->bs_alpha * (target - s->bs_gain);

        if (s->sz_env > p->env_floor) {
            double ph = s->phase + s->sz_freq * s->cycle_jit * p->inv_fs;
            double d, spike = 0.0, slow = 0.0;
            if (ph >= 1.0) {
                uint32_t x;
                double u1, u2;
                ph = ph - 1.0;
                x = xorshift32(s->rng);
                u1 = (double)(x >> 8) * U24;
                x = xorshift32(x);
                u2 = (double)(x >> 8) * U24;
                s->rng = x;
                s->cycle_amp = 1.0 + p->amp_jitter * (2.0 * u1 - 1.0);
                s->cycle_jit = 1.0 + p->freq_jitter * (2.0 * u2 - 1.0);
            }
            s->phase = ph;
            d = ph - p->spike_center;
            if (d < 0.0) d = -d;
            if (d < p->spike_width) {
                const double q = 1.0 - d / p->spike_width;
                spike = q * q;
            }
            if (ph > p->slow_start) {
                const double v = (ph - p->slow_start) * p->slow_scale;
                slow = 4.0 * v * (1.0 - v);
            }
            wave = s->sz_env * s->cycle_amp * (p->slow_ratio * slow - spike - p->wave_mean);
        }

        g = s->bs_gain;
        bgg = s->bg_gain;
        for (c = 0; c < nch; c++) {
            patient_channel *cc = &ch[c];
            uint32_t x = xorshift32(cc->rng);
            double e, v0, v1, v2, v3, bg;
            e = (double)(x >> 8) * U24;
            x = xorshift32(x);
            e = e + (double)(x >> 8) * U24;
            x = xorshift32(x);
            e = e + (double)(x >> 8) * U24;
            x = xorshift32(x);
            e = e + (double)(x >> 8) * U24;
            cc->rng = x;
            e = (e - 2.0) * SQRT3;
            v0 = a10 * cc->y1[0] + a20 * cc->y2[0] + b0 * e;
            v1 = a11 * cc->y1[1] + a21 * cc->y2[1] + b1 * e;
            v2 = a12 * cc->y1[2] + a22 * cc->y2[2] + b2 * e;
            v3 = a13 * cc->y1[3] + a23 * cc->y2[3] + b3 * e;
            cc->y2[0] = cc->y1[0];
            cc->y2[1] = cc->y1[1];
            cc->y2[2] = cc->y1[2];
            cc->y2[3] = cc->y1[3];
            cc->y1[0] = v0;
            cc->y1[1] = v1;
            cc->y1[2] = v2;
            cc->y1[3] = v3;
            bg = v0 + v1 + v2 + v3;
            out[k++] = (float)(cc->gain * (g * (bgg * bg + wave)) + noise * e);
        }
    }
}

void patient_skip(const patient_params *p, patient_state *s, size_t nframes)
{
    while (nframes > 0) {
        size_t m;
        if (s->countdown == 0) {
            patient_model_step(p, s);
            s->countdown = p->step_samples;
        }
        m = (size_t)s->countdown;
        if (m > nframes) m = nframes;
        s->countdown -= (int)m;
        nframes -= m;
    }
}
