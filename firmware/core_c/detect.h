/*
 * detect.h - streaming EEG kernels and the per-channel seizure / burst-
 * suppression detector of the Statim math core (portable C99).
 *
 * Shape (CMSIS-DSP): every kernel is a pair init(state, params) and
 * process(state, src, n, dst...), the caller owns every byte of state, nothing
 * is allocated, nothing static is mutable.  State carries over between calls,
 * so one sample at a time, random block sizes and a whole recording give the
 * same outputs.
 *
 * Number type: double throughout ("_f64").  The pure-Python twins
 * (firmware/core/kernels.py, firmware/core/detect_ref.py) run in CPython's
 * double with the same expressions in the same order, so on a host with an
 * IEEE-754 double FPU (no FMA contraction: -std=c99 turns it off) both give
 * bit-identical features and therefore identical decisions.  On Cortex-M0+/M4F
 * double is soft-float: about 10 µs per sample on an M0+ at 125 MHz, which a
 * 256 Hz channel affords; float32 would break the twin equality.
 *
 * Units: samples in µV, rates in Hz, times in s.  The input is expected to be
 * high-passed EEG (>= 0.5 Hz, as every EEG amplifier does): the Rampil rule
 * |x| <= 5 µV assumes no DC offset.
 *
 * The block between STATIM-CDEF-BEGIN and STATIM-CDEF-END is read verbatim by
 * the cffi build (ffibuild.py), so it holds only declarations cffi can parse.
 */
#ifndef STATIM_DETECT_H
#define STATIM_DETECT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* STATIM-CDEF-BEGIN */
#define STATIM_DET_OK 0
#define STATIM_DET_ERR_PARAM 1       /* a parameter is NaN, out of range or too large for the state */

#define STATIM_BSR_MAX_STEPS 256     /* ring length of the BSR / burst windows, in steps */
#define STATIM_BURDEN_MAX_EPOCHS 8192 /* bits of the seizure-burden window (60 min of 1-s epochs fits) */
#define STATIM_DET_MAX_EVENTS_PER_STEP 6
#define STATIM_DET_CLAMP_UV 100000   /* |x| above this is clamped; NaN holds the previous sample */

/* event kinds */
#define STATIM_EV_SEIZURE_ON 1       /* t = onset step; v1 = 0 */
#define STATIM_EV_SEIZURE_OFF 2      /* t = end step; v1 = duration in epochs */
#define STATIM_EV_SE_ON 3            /* v1 = reason */
#define STATIM_EV_SE_OFF 4
#define STATIM_EV_BS_ON 5            /* v1 = BSR in permille */
#define STATIM_EV_BS_OFF 6           /* v1 = BSR in permille */
#define STATIM_EV_BSR_TREND 7        /* v1 = BSR permille, v2 = bursts/min x10 */

/* reasons for electrographic SE (clinical.md section 0 / fact-check 10) */
#define STATIM_SE_CONTINUOUS 1       /* one seizure >= se_cont_s (10 min) */
#define STATIM_SE_BURDEN 2           /* >= se_burden_pct (20 %) of the trailing 60 min */
#define STATIM_SE_CONVULSIVE 3       /* ACNS 2021: >= 5 min when a bilateral tonic-clonic seizure is flagged */

/* epoch flags */
#define STATIM_EPF_ICTAL 1
#define STATIM_EPF_CANDIDATE 2
#define STATIM_EPF_SEIZURE 4
#define STATIM_EPF_SE 8
#define STATIM_EPF_BS 16
#define STATIM_EPF_SUPPRESSED 32     /* the epoch held a confirmed suppression */
#define STATIM_EPF_BAD 64            /* the epoch held NaN or clamped samples */

/* ---- line length: mean |x[n] - x[n-1]| * fs per epoch, in µV/s ---------- */
typedef struct {
    double fs;
    uint32_t epoch_len;              /* samples per output */
} statim_ll_params_t;

typedef struct {
    double fs;
    double prev;
    double acc;
    uint32_t epoch_len;
    uint32_t count;
    int32_t have_prev;               /* the very first sample has no difference */
} statim_ll_state_t;

int statim_ll_init_f64(statim_ll_state_t *s, const statim_ll_params_t *p);
/* dst needs room for n / epoch_len + 1 values; returns the number written */
size_t statim_ll_process_f64(statim_ll_state_t *s, const double *src, size_t n, double *dst);

/* ---- RMS amplitude about the epoch mean, in µV ------------------------ */
typedef struct {
    uint32_t epoch_len;
} statim_rms_params_t;

typedef struct {
    double s1;
    double s2;
    uint32_t epoch_len;
    uint32_t count;
} statim_rms_state_t;

int statim_rms_init_f64(statim_rms_state_t *s, const statim_rms_params_t *p);
size_t statim_rms_process_f64(statim_rms_state_t *s, const double *src, size_t n, double *dst);

/* ---- band power: 2nd-order IIR band-pass (RBJ, 0 dB peak, DF2T), mean
 *      square of its output per epoch, in µV^2 ---------------------------- */
typedef struct {
    double fs;
    double f_lo;                     /* -3 dB edges; 0 < f_lo < f_hi < fs/2 */
    double f_hi;
    uint32_t epoch_len;
} statim_bp_params_t;

typedef struct {
    double b0, b2, a1, a2;           /* b1 = 0 for this band-pass */
    double z1, z2;
    double acc;
    uint32_t epoch_len;
    uint32_t count;
} statim_bp_state_t;

/* coeffs[0..3] = b0, b2, a1, a2 (normalised by a0) */
int statim_bandpass_coeffs(double fs, double f_lo, double f_hi, double *coeffs);
int statim_bp_init_f64(statim_bp_state_t *s, const statim_bp_params_t *p);
size_t statim_bp_process_f64(statim_bp_state_t *s, const double *src, size_t n, double *dst);

/* ---- rhythm: dominant frequency from zero crossings (Schmitt trigger
 *      about the previous epoch's mean, hysteresis from its RMS), in Hz ----- */
typedef struct {
    double fs;
    double hyst_frac;                /* hysteresis = max(hyst_min_uv, hyst_frac * RMS of last epoch) */
    double hyst_min_uv;
    uint32_t epoch_len;
} statim_rhythm_params_t;

typedef struct {
    double fs;
    double hyst_frac;
    double hyst_min;
    double lo, hi;
    double s1, s2;
    uint32_t epoch_len;
    uint32_t count;
    uint32_t zc;
    int32_t sgn;                     /* -1 below lo, +1 above hi, 0 not yet known */
} statim_rhythm_state_t;

int statim_rhythm_init_f64(statim_rhythm_state_t *s, const statim_rhythm_params_t *p);
size_t statim_rhythm_process_f64(statim_rhythm_state_t *s, const double *src, size_t n, double *dst);

/* ---- suppression (Rampil rule) and burst-suppression ratio ------------
 * A sample is suppressed when it belongs to a run of >= min_s seconds with
 * |x| <= thr_uv.  Every step (step_s) the kernel outputs the BSR: the percent
 * of the last window_s seconds (whole steps) that was suppressed, and the
 * bursts per minute over the last burst_window_s.  A burst is a stretch of
 * >= burst_min_s between two suppressions; it is counted when the second
 * suppression is confirmed.  Until the window has filled, the denominator is
 * the time seen so far.  Suppressed samples are attributed to the steps that
 * hold them, so the BSR is exact to the sample for runs already confirmed. */
typedef struct {
    double fs;
    double thr_uv;                   /* 5 µV */
    double min_s;                    /* 0.5 s */
    double step_s;                   /* 0.5 s */
    double window_s;                 /* 63 s */
    double burst_min_s;              /* 0.5 s */
    double burst_window_s;           /* 60 s */
} statim_supp_params_t;

typedef struct {
    double fs;
    double thr;
    uint32_t min_len, step_len, window_steps, burst_min, burst_window_steps;
    uint32_t run;                    /* current run of |x| <= thr */
    uint32_t since;                  /* samples since the last suppressed one (saturating) */
    int32_t armed;                   /* a suppression has been seen */
    uint32_t pos;                    /* samples into the current step */
    uint32_t cur;                    /* suppressed samples in the current step */
    uint32_t cur_bursts;
    uint32_t head, filled, sum;
    uint32_t bhead, bfilled, bsum;
    uint16_t ring[256];              /* STATIM_BSR_MAX_STEPS */
    uint8_t bring[256];
} statim_supp_state_t;

int statim_supp_init_f64(statim_supp_state_t *s, const statim_supp_params_t *p);
/* dst_bsr (percent) and dst_bpm (bursts/min), either may be NULL, need room
 * for n / step_len + 1 values; returns the number of steps completed */
size_t statim_supp_process_f64(statim_supp_state_t *s, const double *src, size_t n,
                               double *dst_bsr, double *dst_bpm);

/* ---- the detector ------------------------------------------------------ */
typedef struct {
    double fs;                       /* 128-512 Hz, 173.61 for the Bonn data */
    double step_s;                   /* BSR step; a feature epoch is two steps */
    /* suppression / BSR (Rampil, BIS) */
    double supp_uv, supp_min_s, bsr_window_s, burst_min_s, burst_window_s;
    /* features */
    double band_lo_hz, band_hi_hz;   /* ictal band of the amplitude feature */
    double hyst_frac, hyst_min_uv;
    /* adaptive baseline */
    double amp_prior_uv, amp_floor_uv, ll_prior_uvps, ll_floor_uvps;
    double base_tau_s, base_fall_tau_s, base_clip; /* rise slowly, fall faster */
    /* decision */
    double k_amp_on, k_amp_off, k_ll_on, k_ll_off;
    double f_min_hz, f_max_hz;
    double seizure_min_s, bridge_s;
    /* burden and SE */
    double burden_window_s, se_cont_s, se_burden_pct, se_convulsive_s;
    /* burst suppression reached / lost, trend */
    double bs_on_pct, bs_off_pct, bs_min_s, trend_s;
    int32_t convulsive;              /* a bilateral tonic-clonic seizure is observed */
} statim_det_params_t;

typedef struct {
    int32_t kind;
    uint32_t t_step;                 /* when it happened, in steps from the start */
    uint32_t at_step;                /* when it was decided */
    int32_t v1;
    int32_t v2;
} statim_det_event_t;

typedef struct {
    double ll;                       /* µV/s */
    double rms;                      /* µV */
    double amp;                      /* RMS of the ictal band, µV */
    double fdom;                     /* Hz */
    double amp_base;                 /* baselines after this epoch's update */
    double ll_base;
    double bsr;                      /* percent, at the end of the epoch */
    double bpm;                      /* bursts per minute */
    uint32_t burden;                 /* seizure epochs in the burden window */
    int32_t flags;                   /* STATIM_EPF_* */
} statim_det_epoch_t;

typedef struct {
    /* derived, fixed at init */
    double fs;
    double alpha, alpha_fall;
    double amp_floor, ll_floor, amp_clip, k_amp_on, k_amp_off, k_ll_on, k_ll_off, f_min, f_max;
    double bs_on, bs_off;
    uint32_t step_len, epoch_len;
    uint32_t min_epochs, bridge_epochs, burden_epochs, burden_thresh;
    uint32_t se_cont_epochs, se_conv_epochs, bs_min_steps, trend_steps;
    int32_t convulsive;
    /* sample level */
    double prev, ll, s1, s2, bp;
    double b0, b2, a1, a2, z1, z2;
    double lo, hi, hyst_frac, hyst_min;
    double ll_scale;
    uint32_t zc, q, bad;
    int32_t sgn, have_prev;
    statim_supp_state_t supp;
    /* step / epoch level */
    uint32_t step, epoch;
    double bsr, bpm;
    double amp_base, ll_base;
    int32_t phase;                   /* 0 idle, 1 candidate, 2 seizure */
    uint32_t run_start, last_ictal;
    int32_t se, bs;
    uint32_t burden_count;
    uint8_t burden_bits[1024];       /* STATIM_BURDEN_MAX_EPOCHS / 8 */
} statim_det_state_t;

int statim_det_init_f64(statim_det_state_t *s, const statim_det_params_t *p);
void statim_det_set_convulsive(statim_det_state_t *s, int32_t flag);
/*
 * Feed n samples.  Events go to ev (capacity ev_cap, count in *n_ev), one
 * record per completed epoch to ep (NULL for none; capacity ep_cap, count in
 * *n_ep).  Returns the samples consumed: fewer than n only when a buffer could
 * not take the next step's output (ev_cap must be >= STATIM_DET_MAX_EVENTS_PER_STEP);
 * call again with the rest.
 */
size_t statim_det_process_f64(statim_det_state_t *s, const double *src, size_t n,
                              statim_det_event_t *ev, size_t ev_cap, size_t *n_ev,
                              statim_det_epoch_t *ep, size_t ep_cap, size_t *n_ep);
/* STATIM-CDEF-END */

#ifdef __cplusplus
}
#endif

#endif /* STATIM_DETECT_H */
