/*
 * detect.c - streaming EEG kernels and the per-channel detector (see detect.h).
 *
 * The pure-Python twins are firmware/core/kernels.py (kernels) and
 * firmware/core/detect_ref.py (detector): same expressions in the same order,
 * so CPython and this file produce the same doubles.  Change one, change both;
 * tests/test_detect_twins.py holds them equal.
 *
 * The detector fuses the kernels into one pass over the samples (one chunk per
 * BSR step, so the inner loop has no boundary tests); the stand-alone kernels
 * exist for reuse and for the tests, which check that the fused features equal
 * theirs.  Built with STATIM_DETECTOR_ONLY (the board's native module,
 * natmod/), only the detector is compiled: on the Pico a native module's code
 * is loaded into the heap.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "detect.h"

#define SINCE_CAP 0x7fffffffu
#define EPS_LEN 1e-9

static int finite_pos(double v) { return v > 0.0 && v < HUGE_VAL; }
static int finite_nonneg(double v) { return v >= 0.0 && v < HUGE_VAL; }

/* round half up to a count of samples/steps; 0 when out of [lo, hi] */
static uint32_t len_round(double v, uint32_t lo, uint32_t hi)
{
    double r;
    if (!(v >= 0.0 && v < 4.0e9)) return 0;
    r = floor(v + 0.5);
    if (r < (double)lo || r > (double)hi) return 0;
    return (uint32_t)r;
}

/* smallest count that is >= v (with a tolerance for v's rounding) */
static uint32_t len_ceil(double v, uint32_t lo, uint32_t hi)
{
    double r;
    if (!(v >= 0.0 && v < 4.0e9)) return 0;
    r = ceil(v - EPS_LEN);
    if (r < (double)lo) r = (double)lo;
    if (r > (double)hi) return 0;
    return (uint32_t)r;
}

/* ------------------------------------------------------------------ line length */

#ifndef STATIM_DETECTOR_ONLY /* stand-alone kernels: the detector does not call them */
int statim_ll_init_f64(statim_ll_state_t *s, const statim_ll_params_t *p)
{
    if (!finite_pos(p->fs) || p->epoch_len < 1) return STATIM_DET_ERR_PARAM;
    s->fs = p->fs;
    s->epoch_len = p->epoch_len;
    s->prev = 0.0;
    s->acc = 0.0;
    s->count = 0;
    s->have_prev = 0;
    return STATIM_DET_OK;
}

size_t statim_ll_process_f64(statim_ll_state_t *s, const double *src, size_t n, double *dst)
{
    size_t i, out = 0;
    double prev = s->prev, acc = s->acc;
    uint32_t count = s->count;
    if (n > 0 && !s->have_prev) {
        prev = src[0];
        s->have_prev = 1;
    }
    for (i = 0; i < n; i++) {
        double x = src[i];
        acc += fabs(x - prev);
        prev = x;
        if (++count == s->epoch_len) {
            dst[out++] = acc * s->fs / (double)s->epoch_len;
            acc = 0.0;
            count = 0;
        }
    }
    s->prev = prev;
    s->acc = acc;
    s->count = count;
    return out;
}

#endif

/* ------------------------------------------------------------------------ RMS */

#ifndef STATIM_DETECTOR_ONLY
int statim_rms_init_f64(statim_rms_state_t *s, const statim_rms_params_t *p)
{
    if (p->epoch_len < 1) return STATIM_DET_ERR_PARAM;
    s->epoch_len = p->epoch_len;
    s->s1 = 0.0;
    s->s2 = 0.0;
    s->count = 0;
    return STATIM_DET_OK;
}
#endif

/* RMS about the mean of n samples from their sum and sum of squares */
static double rms_of(double s1, double s2, uint32_t len)
{
    double m = s1 / (double)len;
    double var = s2 / (double)len - m * m;
    if (!(var > 0.0)) var = 0.0;
    return sqrt(var);
}

#ifndef STATIM_DETECTOR_ONLY
size_t statim_rms_process_f64(statim_rms_state_t *s, const double *src, size_t n, double *dst)
{
    size_t i, out = 0;
    double s1 = s->s1, s2 = s->s2;
    uint32_t count = s->count;
    for (i = 0; i < n; i++) {
        double x = src[i];
        s1 += x;
        s2 += x * x;
        if (++count == s->epoch_len) {
            dst[out++] = rms_of(s1, s2, s->epoch_len);
            s1 = 0.0;
            s2 = 0.0;
            count = 0;
        }
    }
    s->s1 = s1;
    s->s2 = s2;
    s->count = count;
    return out;
}

#endif

/* ----------------------------------------------------------------- band power */

/* sin and cos of 0 < w < pi from their Taylor series in nested form (16 terms:
 * the first one left out is below 3e-17 there).  Written out rather than taken
 * from the C library so that every build -- glibc on the host, newlib on the
 * board, the Python twin -- makes the same filter from the same bits, and so
 * that the board's native module does not carry a general argument reduction. */
#define SINCOS_TERMS 16
static double series_sin(double w)
{
    double x2 = w * w, t = 1.0;
    int k;
    for (k = SINCOS_TERMS; k >= 1; k--) t = 1.0 - x2 / (double)((2 * k) * (2 * k + 1)) * t;
    return w * t;
}

static double series_cos(double w)
{
    double x2 = w * w, t = 1.0;
    int k;
    for (k = SINCOS_TERMS; k >= 1; k--) t = 1.0 - x2 / (double)((2 * k - 1) * (2 * k)) * t;
    return t;
}

int statim_bandpass_coeffs(double fs, double f_lo, double f_hi, double *coeffs)
{
    double f0, q, w0, alpha, a0;
    if (!finite_pos(fs) || !finite_pos(f_lo) || !(f_hi > f_lo) || !(f_hi < 0.5 * fs))
        return STATIM_DET_ERR_PARAM;
    f0 = sqrt(f_lo * f_hi);
    q = f0 / (f_hi - f_lo);
    w0 = 2.0 * 3.141592653589793 * f0 / fs;
    alpha = series_sin(w0) / (2.0 * q);
    a0 = 1.0 + alpha;
    coeffs[0] = alpha / a0;
    coeffs[1] = -alpha / a0;
    coeffs[2] = -2.0 * series_cos(w0) / a0;
    coeffs[3] = (1.0 - alpha) / a0;
    return STATIM_DET_OK;
}

#ifndef STATIM_DETECTOR_ONLY
int statim_bp_init_f64(statim_bp_state_t *s, const statim_bp_params_t *p)
{
    double c[4];
    if (p->epoch_len < 1 || statim_bandpass_coeffs(p->fs, p->f_lo, p->f_hi, c) != STATIM_DET_OK)
        return STATIM_DET_ERR_PARAM;
    s->b0 = c[0];
    s->b2 = c[1];
    s->a1 = c[2];
    s->a2 = c[3];
    s->z1 = 0.0;
    s->z2 = 0.0;
    s->acc = 0.0;
    s->epoch_len = p->epoch_len;
    s->count = 0;
    return STATIM_DET_OK;
}

size_t statim_bp_process_f64(statim_bp_state_t *s, const double *src, size_t n, double *dst)
{
    size_t i, out = 0;
    const double b0 = s->b0, b2 = s->b2, a1 = s->a1, a2 = s->a2;
    double z1 = s->z1, z2 = s->z2, acc = s->acc;
    uint32_t count = s->count;
    for (i = 0; i < n; i++) {
        double x = src[i];
        double y = b0 * x + z1;
        z1 = z2 - a1 * y;
        z2 = b2 * x - a2 * y;
        acc += y * y;
        if (++count == s->epoch_len) {
            dst[out++] = acc / (double)s->epoch_len;
            acc = 0.0;
            count = 0;
        }
    }
    s->z1 = z1;
    s->z2 = z2;
    s->acc = acc;
    s->count = count;
    return out;
}

#endif

/* --------------------------------------------------------------------- rhythm */

#ifndef STATIM_DETECTOR_ONLY
int statim_rhythm_init_f64(statim_rhythm_state_t *s, const statim_rhythm_params_t *p)
{
    if (!finite_pos(p->fs) || p->epoch_len < 1 || !finite_nonneg(p->hyst_frac) || !finite_pos(p->hyst_min_uv))
        return STATIM_DET_ERR_PARAM;
    s->fs = p->fs;
    s->hyst_frac = p->hyst_frac;
    s->hyst_min = p->hyst_min_uv;
    s->lo = -p->hyst_min_uv;
    s->hi = p->hyst_min_uv;
    s->s1 = 0.0;
    s->s2 = 0.0;
    s->epoch_len = p->epoch_len;
    s->count = 0;
    s->zc = 0;
    s->sgn = 0;
    return STATIM_DET_OK;
}
#endif

/* Schmitt trigger: a crossing is a change between "above hi" and "below lo" */
#define SCHMITT(x, lo, hi, sgn, zc)                                  \
    do {                                                             \
        int up_ = (x) > (hi), dn_ = (x) < (lo);                      \
        (zc) += (uint32_t)((up_ && (sgn) < 0) || (dn_ && (sgn) > 0)); \
        (sgn) = up_ ? 1 : (dn_ ? -1 : (sgn));                        \
    } while (0)

/* next epoch's trigger levels from this epoch's mean and RMS */
static void rhythm_levels(double s1, double s2, uint32_t len, double frac, double hmin,
                          double *lo, double *hi)
{
    double m = s1 / (double)len;
    double h = frac * rms_of(s1, s2, len);
    if (h < hmin) h = hmin;
    *lo = m - h;
    *hi = m + h;
}

#ifndef STATIM_DETECTOR_ONLY
size_t statim_rhythm_process_f64(statim_rhythm_state_t *s, const double *src, size_t n, double *dst)
{
    size_t i, out = 0;
    double s1 = s->s1, s2 = s->s2, lo = s->lo, hi = s->hi;
    uint32_t count = s->count, zc = s->zc;
    int32_t sgn = s->sgn;
    for (i = 0; i < n; i++) {
        double x = src[i];
        s1 += x;
        s2 += x * x;
        SCHMITT(x, lo, hi, sgn, zc);
        if (++count == s->epoch_len) {
            dst[out++] = (double)zc * s->fs / (2.0 * (double)s->epoch_len);
            rhythm_levels(s1, s2, s->epoch_len, s->hyst_frac, s->hyst_min, &lo, &hi);
            s1 = 0.0;
            s2 = 0.0;
            zc = 0;
            count = 0;
        }
    }
    s->s1 = s1;
    s->s2 = s2;
    s->lo = lo;
    s->hi = hi;
    s->count = count;
    s->zc = zc;
    s->sgn = sgn;
    return out;
}

#endif

/* -------------------------------------------------------- suppression and BSR */

int statim_supp_init_f64(statim_supp_state_t *s, const statim_supp_params_t *p)
{
    uint32_t i;
    if (!finite_pos(p->fs) || !finite_nonneg(p->thr_uv) || !finite_pos(p->step_s))
        return STATIM_DET_ERR_PARAM;
    s->fs = p->fs;
    s->thr = p->thr_uv;
    s->min_len = len_ceil(p->min_s * p->fs, 1, 0x7fffffffu);
    s->step_len = len_round(p->step_s * p->fs, 1, 65535u);
    s->window_steps = len_round(p->window_s / p->step_s, 1, STATIM_BSR_MAX_STEPS);
    s->burst_min = len_ceil(p->burst_min_s * p->fs, 1, 0x7fffffffu);
    s->burst_window_steps = len_round(p->burst_window_s / p->step_s, 1, STATIM_BSR_MAX_STEPS);
    if (!s->min_len || !s->step_len || !s->window_steps || !s->burst_min || !s->burst_window_steps)
        return STATIM_DET_ERR_PARAM;
    s->run = 0;
    s->since = 0;
    s->armed = 0;
    s->pos = 0;
    s->cur = 0;
    s->cur_bursts = 0;
    s->head = s->filled = s->sum = 0;
    s->bhead = s->bfilled = s->bsum = 0;
    for (i = 0; i < STATIM_BSR_MAX_STEPS; i++) {
        s->ring[i] = 0;
        s->bring[i] = 0;
    }
    return STATIM_DET_OK;
}

/*
 * A run just reached min_len at sample k of the current step (0-based):
 * attribute its min_len samples to the steps that hold them.  Returns the
 * number that fall in the current step; earlier ones go into the ring.
 */
static uint32_t supp_confirm(statim_supp_state_t *s, uint32_t k)
{
    uint32_t here = k + 1 < s->min_len ? k + 1 : s->min_len;
    uint32_t rem = s->min_len - here;
    uint32_t j;
    for (j = 1; rem > 0 && j <= s->filled; j++) {
        uint32_t slot = (s->head + s->window_steps - j) % s->window_steps;
        uint32_t add = rem < s->step_len ? rem : s->step_len;
        s->ring[slot] = (uint16_t)(s->ring[slot] + add);
        s->sum += add;
        rem -= add;
    }
    return here;
}

/* close the current step; returns the BSR (percent) and bursts/min */
static void supp_step(statim_supp_state_t *s, uint32_t cur, uint32_t cur_bursts, double *bsr, double *bpm)
{
    if (s->filled == s->window_steps) s->sum -= s->ring[s->head];
    else s->filled++;
    s->ring[s->head] = (uint16_t)cur;
    s->sum += cur;
    s->head = (s->head + 1) % s->window_steps;

    if (s->bfilled == s->burst_window_steps) s->bsum -= s->bring[s->bhead];
    else s->bfilled++;
    s->bring[s->bhead] = (uint8_t)(cur_bursts > 255 ? 255 : cur_bursts);
    s->bsum += s->bring[s->bhead];
    s->bhead = (s->bhead + 1) % s->burst_window_steps;

    *bsr = 100.0 * (double)s->sum / ((double)s->filled * (double)s->step_len);
    *bpm = 60.0 * (double)s->bsum * s->fs / ((double)s->bfilled * (double)s->step_len);
    s->pos = 0;
    s->cur = 0;
    s->cur_bursts = 0;
}

/* One suppression sample; shared by the kernel and the detector loops. */
#define SUPP_SAMPLE(s, x, k, run, since, cur, curb, q)                   \
    do {                                                                \
        if (fabs(x) <= (s)->thr) {                                      \
            (run)++;                                                    \
            if ((run) >= (s)->min_len) {                                \
                if ((run) == (s)->min_len) {                            \
                    /* the burst before it: >= burst_min since the last */ \
                    if ((s)->armed && (since) >= (s)->burst_min + (s)->min_len - 1) (curb)++; \
                    (s)->armed = 1;                                     \
                    (cur) += supp_confirm((s), (k));                    \
                } else {                                                \
                    (cur)++;                                            \
                }                                                       \
                (since) = 0;                                            \
                (q)++;                                                  \
            } else if ((since) < SINCE_CAP) {                           \
                (since)++;                                              \
            }                                                           \
        } else {                                                        \
            (run) = 0;                                                  \
            if ((since) < SINCE_CAP) (since)++;                         \
        }                                                               \
    } while (0)

#ifndef STATIM_DETECTOR_ONLY
size_t statim_supp_process_f64(statim_supp_state_t *s, const double *src, size_t n,
                               double *dst_bsr, double *dst_bpm)
{
    size_t i = 0, out = 0;
    while (i < n) {
        uint32_t m = s->step_len - s->pos;
        uint32_t k, run = s->run, since = s->since, cur = s->cur, curb = s->cur_bursts, q = 0;
        if ((size_t)m > n - i) m = (uint32_t)(n - i);
        for (k = 0; k < m; k++) {
            double x = src[i + k];
            SUPP_SAMPLE(s, x, s->pos + k, run, since, cur, curb, q);
        }
        (void)q;
        i += m;
        s->run = run;
        s->since = since;
        s->pos += m;
        if (s->pos == s->step_len) {
            double bsr, bpm;
            supp_step(s, cur, curb, &bsr, &bpm);
            if (dst_bsr) dst_bsr[out] = bsr;
            if (dst_bpm) dst_bpm[out] = bpm;
            out++;
        } else {
            s->cur = cur;
            s->cur_bursts = curb;
        }
    }
    return out;
}

#endif

/* ------------------------------------------------------------------- detector */

int statim_det_init_f64(statim_det_state_t *s, const statim_det_params_t *p)
{
    statim_supp_params_t sp;
    double c[4], epoch_s, step_s;
    uint32_t i;
    const double fs = p->fs;

    if (!finite_pos(fs) || !finite_pos(p->step_s)) return STATIM_DET_ERR_PARAM;
    sp.fs = fs;
    sp.thr_uv = p->supp_uv;
    sp.min_s = p->supp_min_s;
    sp.step_s = p->step_s;
    sp.window_s = p->bsr_window_s;
    sp.burst_min_s = p->burst_min_s;
    sp.burst_window_s = p->burst_window_s;
    if (statim_supp_init_f64(&s->supp, &sp) != STATIM_DET_OK) return STATIM_DET_ERR_PARAM;
    if (s->supp.step_len > 32767u) return STATIM_DET_ERR_PARAM;
    if (statim_bandpass_coeffs(fs, p->band_lo_hz, p->band_hi_hz, c) != STATIM_DET_OK) return STATIM_DET_ERR_PARAM;
    if (!finite_nonneg(p->hyst_frac) || !finite_pos(p->hyst_min_uv) || !finite_pos(p->amp_prior_uv) ||
        !finite_pos(p->amp_floor_uv) || !finite_pos(p->ll_prior_uvps) || !finite_pos(p->ll_floor_uvps) ||
        !finite_pos(p->base_tau_s) || !finite_pos(p->base_fall_tau_s) || !(p->base_clip >= 1.0 && p->base_clip < HUGE_VAL) ||
        !finite_pos(p->k_amp_on) || !finite_pos(p->k_amp_off) || !finite_nonneg(p->k_ll_on) ||
        !finite_nonneg(p->k_ll_off) || !finite_nonneg(p->f_min_hz) || !(p->f_max_hz >= p->f_min_hz) ||
        !finite_nonneg(p->bridge_s) || !finite_pos(p->se_cont_s) || !finite_pos(p->se_convulsive_s) ||
        !(p->se_burden_pct > 0.0 && p->se_burden_pct <= 100.0) || !finite_nonneg(p->bs_on_pct) ||
        !(p->bs_off_pct >= 0.0 && p->bs_off_pct <= p->bs_on_pct) || !finite_nonneg(p->bs_min_s) ||
        !finite_nonneg(p->trend_s))
        return STATIM_DET_ERR_PARAM;

    s->fs = fs;
    s->step_len = s->supp.step_len;
    s->epoch_len = 2 * s->step_len;
    step_s = (double)s->step_len / fs;
    epoch_s = (double)s->epoch_len / fs;
    s->alpha = epoch_s / p->base_tau_s;
    if (s->alpha > 1.0) s->alpha = 1.0;
    s->alpha_fall = epoch_s / p->base_fall_tau_s;
    if (s->alpha_fall > 1.0) s->alpha_fall = 1.0;
    s->amp_floor = p->amp_floor_uv;
    s->ll_floor = p->ll_floor_uvps;
    s->amp_clip = p->base_clip;
    s->k_amp_on = p->k_amp_on;
    s->k_amp_off = p->k_amp_off;
    s->k_ll_on = p->k_ll_on;
    s->k_ll_off = p->k_ll_off;
    s->f_min = p->f_min_hz;
    s->f_max = p->f_max_hz;
    s->bs_on = p->bs_on_pct;
    s->bs_off = p->bs_off_pct;
    s->min_epochs = len_ceil(p->seizure_min_s / epoch_s, 1, 0x7fffffffu);
    s->bridge_epochs = len_round(p->bridge_s / epoch_s, 0, 1000u);
    s->burden_epochs = len_round(p->burden_window_s / epoch_s, 1, STATIM_BURDEN_MAX_EPOCHS);
    if (!s->min_epochs || !s->burden_epochs || s->min_epochs + s->bridge_epochs >= s->burden_epochs)
        return STATIM_DET_ERR_PARAM;
    if (p->bridge_s / epoch_s > 1000.5) return STATIM_DET_ERR_PARAM;
    s->burden_thresh = len_ceil(p->se_burden_pct / 100.0 * (double)s->burden_epochs, 1, s->burden_epochs);
    s->se_cont_epochs = len_ceil(p->se_cont_s / epoch_s, 1, 0x7fffffffu);
    s->se_conv_epochs = len_ceil(p->se_convulsive_s / epoch_s, 1, 0x7fffffffu);
    s->bs_min_steps = len_ceil(p->bs_min_s / step_s, 1, 0x7fffffffu);
    s->trend_steps = p->trend_s > 0.0 ? len_round(p->trend_s / step_s, 1, 0x7fffffffu) : 0;
    if (!s->burden_thresh || !s->se_cont_epochs || !s->se_conv_epochs || !s->bs_min_steps ||
        (p->trend_s > 0.0 && !s->trend_steps))
        return STATIM_DET_ERR_PARAM;
    s->convulsive = p->convulsive ? 1 : 0;

    s->prev = 0.0;
    s->ll = s->s1 = s->s2 = s->bp = 0.0;
    s->b0 = c[0];
    s->b2 = c[1];
    s->a1 = c[2];
    s->a2 = c[3];
    s->z1 = s->z2 = 0.0;
    s->hyst_frac = p->hyst_frac;
    s->hyst_min = p->hyst_min_uv;
    s->lo = -p->hyst_min_uv;
    s->hi = p->hyst_min_uv;
    s->ll_scale = fs / (double)s->epoch_len;
    s->zc = s->q = s->bad = 0;
    s->sgn = 0;
    s->have_prev = 0;

    s->step = s->epoch = 0;
    s->bsr = s->bpm = 0.0;
    s->amp_base = p->amp_prior_uv > p->amp_floor_uv ? p->amp_prior_uv : p->amp_floor_uv;
    s->ll_base = p->ll_prior_uvps > p->ll_floor_uvps ? p->ll_prior_uvps : p->ll_floor_uvps;
    s->phase = 0;
    s->run_start = s->last_ictal = 0;
    s->se = s->bs = 0;
    s->burden_count = 0;
    for (i = 0; i < STATIM_BURDEN_MAX_EPOCHS / 8; i++) s->burden_bits[i] = 0;
    return STATIM_DET_OK;
}

void statim_det_set_convulsive(statim_det_state_t *s, int32_t flag) { s->convulsive = flag ? 1 : 0; }

static void push(statim_det_event_t *ev, size_t *n_ev, int32_t kind, uint32_t t_step, uint32_t at_step,
                 int32_t v1, int32_t v2)
{
    statim_det_event_t *e = &ev[(*n_ev)++];
    e->kind = kind;
    e->t_step = t_step;
    e->at_step = at_step;
    e->v1 = v1;
    e->v2 = v2;
}

/* permille of a percent value, rounded half up (values are >= 0) */
static int32_t permille(double pct) { return (int32_t)floor(pct * 10.0 + 0.5); }

/* mark epoch j as seizure in the burden window (current epoch e) */
static void burden_mark(statim_det_state_t *s, uint32_t j, uint32_t e)
{
    uint32_t pos;
    uint8_t bit;
    if (e - j >= s->burden_epochs) return;
    pos = j % s->burden_epochs;
    bit = (uint8_t)(1u << (pos & 7u));
    if (!(s->burden_bits[pos >> 3] & bit)) {
        s->burden_bits[pos >> 3] = (uint8_t)(s->burden_bits[pos >> 3] | bit);
        s->burden_count++;
    }
}

/* the step just closed: BSR, burst suppression reached/lost, trend */
static void det_step(statim_det_state_t *s, uint32_t cur, uint32_t curb, statim_det_event_t *ev, size_t *n_ev)
{
    uint32_t at;
    supp_step(&s->supp, cur, curb, &s->bsr, &s->bpm);
    at = ++s->step;
    if (s->supp.filled >= s->bs_min_steps) {
        if (!s->bs && s->bsr >= s->bs_on) {
            s->bs = 1;
            push(ev, n_ev, STATIM_EV_BS_ON, at, at, permille(s->bsr), 0);
        } else if (s->bs && s->bsr < s->bs_off) {
            s->bs = 0;
            push(ev, n_ev, STATIM_EV_BS_OFF, at, at, permille(s->bsr), 0);
        }
    }
    if (s->trend_steps && at % s->trend_steps == 0)
        push(ev, n_ev, STATIM_EV_BSR_TREND, at, at, permille(s->bsr), (int32_t)floor(s->bpm * 10.0 + 0.5));
}

/* the epoch just closed: features, decision, burden, SE, baseline */
static void det_epoch(statim_det_state_t *s, statim_det_event_t *ev, size_t *n_ev, statim_det_epoch_t *ep)
{
    const uint32_t L = s->epoch_len;
    const uint32_t e = s->epoch;
    const uint32_t at = s->step;
    double ll = s->ll * s->fs / (double)L;
    double rms = rms_of(s->s1, s->s2, L);
    double amp = sqrt(s->bp / (double)L);
    double fdom = (double)s->zc * s->fs / (2.0 * (double)L);
    int active = s->phase == 2; /* hysteresis only once a seizure is established */
    int ictal, se_reason;
    uint32_t pos, cont;
    int32_t flags;

    rhythm_levels(s->s1, s->s2, L, s->hyst_frac, s->hyst_min, &s->lo, &s->hi);

    ictal = s->q == 0 && amp >= (active ? s->k_amp_off : s->k_amp_on) * s->amp_base &&
            ll >= (active ? s->k_ll_off : s->k_ll_on) * s->ll_base && fdom >= s->f_min && fdom <= s->f_max;

    /* the burden window slides: epoch e replaces epoch e - N */
    pos = e % s->burden_epochs;
    if (s->burden_bits[pos >> 3] & (1u << (pos & 7u))) {
        s->burden_bits[pos >> 3] = (uint8_t)(s->burden_bits[pos >> 3] & ~(1u << (pos & 7u)));
        s->burden_count--;
    }

    if (s->phase == 0) {
        if (ictal) {
            s->phase = 1;
            s->run_start = e;
            s->last_ictal = e;
        }
    } else if (ictal) {
        if (s->phase == 2) {
            uint32_t j;
            for (j = s->last_ictal + 1; j <= e; j++) burden_mark(s, j, e);
        }
        s->last_ictal = e;
    } else if (e - s->last_ictal > s->bridge_epochs) {
        if (s->phase == 2)
            push(ev, n_ev, STATIM_EV_SEIZURE_OFF, 2 * (s->last_ictal + 1), at, (int32_t)(s->last_ictal - s->run_start + 1), 0);
        s->phase = 0;
    }
    if (s->phase == 1 && ictal && e - s->run_start + 1 >= s->min_epochs) {
        uint32_t j;
        s->phase = 2;
        push(ev, n_ev, STATIM_EV_SEIZURE_ON, 2 * s->run_start, at, 0, 0);
        for (j = s->run_start; j <= e; j++) burden_mark(s, j, e);
    }

    /* electrographic SE: convulsive 5 min, continuous 10 min, or 20 % burden */
    cont = s->phase == 2 ? s->last_ictal - s->run_start + 1 : 0;
    se_reason = 0;
    if (s->convulsive && cont >= s->se_conv_epochs) se_reason = STATIM_SE_CONVULSIVE;
    else if (cont >= s->se_cont_epochs) se_reason = STATIM_SE_CONTINUOUS;
    else if (s->burden_count >= s->burden_thresh) se_reason = STATIM_SE_BURDEN;
    if (!s->se && se_reason) {
        s->se = 1;
        push(ev, n_ev, STATIM_EV_SE_ON, at, at, se_reason, (int32_t)s->burden_count);
    } else if (s->se && s->phase != 2 && s->burden_count < s->burden_thresh) {
        s->se = 0;
        push(ev, n_ev, STATIM_EV_SE_OFF, at, at, 0, (int32_t)s->burden_count);
    }

    /* baseline: only quiet, clean, non-seizure epochs teach it; bursts of a
     * burst-suppression pattern are not this patient's background either */
    if (s->phase == 0 && !ictal && s->q == 0 && s->bad == 0 && !s->bs) {
        double a = amp, cap = s->amp_clip * s->amp_base;
        if (a > cap) a = cap;
        s->amp_base += (a < s->amp_base ? s->alpha_fall : s->alpha) * (a - s->amp_base);
        if (s->amp_base < s->amp_floor) s->amp_base = s->amp_floor;
        a = ll;
        cap = s->amp_clip * s->ll_base;
        if (a > cap) a = cap;
        s->ll_base += (a < s->ll_base ? s->alpha_fall : s->alpha) * (a - s->ll_base);
        if (s->ll_base < s->ll_floor) s->ll_base = s->ll_floor;
    }

    if (ep) {
        flags = ictal ? STATIM_EPF_ICTAL : 0;
        if (s->phase == 1) flags |= STATIM_EPF_CANDIDATE;
        if (s->phase == 2) flags |= STATIM_EPF_SEIZURE;
        if (s->se) flags |= STATIM_EPF_SE;
        if (s->bs) flags |= STATIM_EPF_BS;
        if (s->q) flags |= STATIM_EPF_SUPPRESSED;
        if (s->bad) flags |= STATIM_EPF_BAD;
        ep->ll = ll;
        ep->rms = rms;
        ep->amp = amp;
        ep->fdom = fdom;
        ep->amp_base = s->amp_base;
        ep->ll_base = s->ll_base;
        ep->bsr = s->bsr;
        ep->bpm = s->bpm;
        ep->burden = s->burden_count;
        ep->flags = flags;
    }

    s->epoch = e + 1;
    s->ll = s->s1 = s->s2 = s->bp = 0.0;
    s->zc = s->q = s->bad = 0;
}

size_t statim_det_process_f64(statim_det_state_t *s, const double *src, size_t n,
                              statim_det_event_t *ev, size_t ev_cap, size_t *n_ev,
                              statim_det_epoch_t *ep, size_t ep_cap, size_t *n_ep)
{
    const double cl = (double)STATIM_DET_CLAMP_UV;
    statim_supp_state_t *sp = &s->supp;
    size_t i = 0;
    *n_ev = 0;
    *n_ep = 0;
    while (i < n) {
        uint32_t m = sp->step_len - sp->pos;
        int closes_epoch;
        uint32_t k, run, since, cur, curb, q, zc, bad;
        double prev, ll, s1, s2, bp, z1, z2;
        const double b0 = s->b0, b2 = s->b2, a1 = s->a1, a2 = s->a2, lo = s->lo, hi = s->hi;
        int32_t sgn;
        if ((size_t)m > n - i) {
            m = (uint32_t)(n - i);
        } else {
            /* this chunk closes a step: is there room for its output? */
            closes_epoch = (s->step & 1u) == 1u;
            if (ev_cap - *n_ev < STATIM_DET_MAX_EVENTS_PER_STEP) break;
            if (closes_epoch && ep && *n_ep >= ep_cap) break;
        }
        if (!s->have_prev) {
            double x0 = src[i];
            s->prev = (x0 >= -cl && x0 <= cl) ? x0 : (x0 > cl ? cl : (x0 < -cl ? -cl : 0.0));
            s->have_prev = 1;
        }
        prev = s->prev;
        ll = s->ll;
        s1 = s->s1;
        s2 = s->s2;
        bp = s->bp;
        z1 = s->z1;
        z2 = s->z2;
        zc = s->zc;
        sgn = s->sgn;
        q = s->q;
        bad = s->bad;
        run = sp->run;
        since = sp->since;
        cur = sp->cur;
        curb = sp->cur_bursts;
        for (k = 0; k < m; k++) {
            double x = src[i + k], y;
            if (!(x >= -cl && x <= cl)) {
                x = x > cl ? cl : (x < -cl ? -cl : prev);
                bad++;
            }
            ll += fabs(x - prev);
            prev = x;
            s1 += x;
            s2 += x * x;
            y = b0 * x + z1;
            z1 = z2 - a1 * y;
            z2 = b2 * x - a2 * y;
            bp += y * y;
            SCHMITT(x, lo, hi, sgn, zc);
            SUPP_SAMPLE(sp, x, sp->pos + k, run, since, cur, curb, q);
        }
        s->prev = prev;
        s->ll = ll;
        s->s1 = s1;
        s->s2 = s2;
        s->bp = bp;
        s->z1 = z1;
        s->z2 = z2;
        s->zc = zc;
        s->sgn = sgn;
        s->q = q;
        s->bad = bad;
        sp->run = run;
        sp->since = since;
        sp->cur = cur;
        sp->cur_bursts = curb;
        sp->pos += m;
        i += m;
        if (sp->pos == sp->step_len) {
            closes_epoch = (s->step & 1u) == 1u;
            det_step(s, cur, curb, ev, n_ev);
            if (closes_epoch) {
                det_epoch(s, ev, n_ev, ep ? &ep[*n_ep] : NULL);
                if (ep) (*n_ep)++;
            }
        }
    }
    return i;
}
