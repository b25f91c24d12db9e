/*
 * biophys.c - reversal potentials (see biophys.h).
 *
 * The pure-Python twin is firmware/core/biophys_ref.py: same validation order,
 * same expression order, so both give the same double (the array forms may use
 * a vector log that differs by a few ulp).
 */
#include <math.h>
#include <stddef.h>

#include "biophys.h"

/* CODATA 2018 exact values (SI 2019). */
#define GAS_CONSTANT 8.314462618     /* J mol^-1 K^-1 */
#define FARADAY 96485.33212          /* C mol^-1 */
#define ZERO_CELSIUS_K 273.15

/*
 * Vector log: with STATIM_VECTOR_MATH (set by the host build where glibc's
 * libmvec exists) the array loops call the SIMD variants of log.  Cortex-M
 * builds leave it undefined and get plain loops.
 */
#if defined(STATIM_VECTOR_MATH)
#pragma omp declare simd notinbranch
extern double log(double);
#define STATIM_SIMD_LOOP _Pragma("omp simd")
/* one clone per ISA, picked at load time; each calls the matching libmvec log */
#define STATIM_ARRAY_FN __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define STATIM_SIMD_LOOP
#define STATIM_ARRAY_FN
#endif

/* A usable concentration: positive and finite (NaN fails both comparisons). */
static int conc_ok(double c) { return c > 0.0 && c < HUGE_VAL; }

static int finite_nonneg(double x) { return x >= 0.0 && x < HUGE_VAL; }

static int valence_ok(int z) { return z != 0 && z <= STATIM_MAX_VALENCE && z >= -STATIM_MAX_VALENCE; }

static int result_ok(double v) { return v > -HUGE_VAL && v < HUGE_VAL; }

/* log() argument must be a positive finite ratio; overflow/underflow is an error. */
static int ratio_ok(double q) { return q > 0.0 && q < HUGE_VAL; }

int statim_rt_over_f_mv(double temp_c, double *out_mv)
{
    double t_k;
    if (!(temp_c < HUGE_VAL)) return STATIM_ERR_TEMP; /* NaN or +inf */
    t_k = temp_c + ZERO_CELSIUS_K;
    if (!(t_k > 0.0)) return STATIM_ERR_TEMP;
    *out_mv = 1000.0 * GAS_CONSTANT * t_k / FARADAY;
    return STATIM_OK;
}

int statim_nernst(double c_in_mm, double c_out_mm, int z, double temp_c, double *out_mv)
{
    double k, q;
    int st;
    if (!conc_ok(c_in_mm)) return STATIM_ERR_C_IN;
    if (!conc_ok(c_out_mm)) return STATIM_ERR_C_OUT;
    if (!valence_ok(z)) return STATIM_ERR_VALENCE;
    st = statim_rt_over_f_mv(temp_c, &k);
    if (st != STATIM_OK) return st;
    q = c_out_mm / c_in_mm;
    if (!ratio_ok(q)) return STATIM_ERR_RESULT;
    *out_mv = k * log(q) / (double)z;
    return STATIM_OK;
}

int statim_ghk_voltage(const int *z, const double *perm, const double *c_in_mm,
                       const double *c_out_mm, size_t n, double temp_c,
                       double *out_mv, size_t *bad_index)
{
    double num = 0.0, den = 0.0, k, q;
    size_t i;
    int st;
    *bad_index = 0;
    if (n == 0) return STATIM_ERR_LENGTH;
    for (i = 0; i < n; i++) {
        *bad_index = i;
        if (z[i] != 1 && z[i] != -1) return STATIM_ERR_VALENCE;
        if (!finite_nonneg(perm[i])) return STATIM_ERR_PERMEABILITY;
        if (!conc_ok(c_in_mm[i])) return STATIM_ERR_C_IN;
        if (!conc_ok(c_out_mm[i])) return STATIM_ERR_C_OUT;
        if (z[i] > 0) { /* cations: outside on top */
            num += perm[i] * c_out_mm[i];
            den += perm[i] * c_in_mm[i];
        } else {        /* anions: inside on top */
            num += perm[i] * c_in_mm[i];
            den += perm[i] * c_out_mm[i];
        }
    }
    *bad_index = n; /* "the ions as a whole" */
    if (!(num > 0.0) || !(den > 0.0)) return STATIM_ERR_PERMEABILITY; /* all zero */
    st = statim_rt_over_f_mv(temp_c, &k);
    if (st != STATIM_OK) return st;
    q = num / den;
    if (!ratio_ok(q)) return STATIM_ERR_RESULT;
    *out_mv = k * log(q);
    *bad_index = 0;
    return STATIM_OK;
}

static int e_gaba_check(double cl_in, double cl_out, double hco3_in, double hco3_out,
                        double ratio)
{
    if (!conc_ok(cl_in)) return STATIM_ERR_C_IN;
    if (!conc_ok(cl_out)) return STATIM_ERR_C_OUT;
    if (!conc_ok(hco3_in)) return STATIM_ERR_HCO3_IN;
    if (!conc_ok(hco3_out)) return STATIM_ERR_HCO3_OUT;
    if (!finite_nonneg(ratio)) return STATIM_ERR_RATIO;
    return STATIM_OK;
}

/* The formula alone, inputs already checked; k = RT/F in mV. */
static double e_gaba_value(double cl_in, double cl_out, double hco3_in, double hco3_out,
                           double ratio, double k, int form)
{
    double e_cl, e_hco3;
    if (form == STATIM_EGABA_GHK)
        return k * log((cl_in + ratio * hco3_in) / (cl_out + ratio * hco3_out));
    /* anions (z = -1): E = (RT/F) ln(in/out) */
    e_cl = k * log(cl_in / cl_out);
    e_hco3 = k * log(hco3_in / hco3_out);
    return (e_cl + ratio * e_hco3) / (1.0 + ratio);
}

int statim_e_gaba(double cl_in, double cl_out, double hco3_in, double hco3_out,
                  double ratio, double temp_c, int form, double *out_mv)
{
    double k, v;
    int st = e_gaba_check(cl_in, cl_out, hco3_in, hco3_out, ratio);
    if (st != STATIM_OK) return st;
    st = statim_rt_over_f_mv(temp_c, &k);
    if (st != STATIM_OK) return st;
    if (form != STATIM_EGABA_WEIGHTED && form != STATIM_EGABA_GHK) return STATIM_ERR_FORM;
    v = e_gaba_value(cl_in, cl_out, hco3_in, hco3_out, ratio, k, form);
    if (!result_ok(v)) return STATIM_ERR_RESULT;
    *out_mv = v;
    return STATIM_OK;
}

double statim_nernst_value(double c_in_mm, double c_out_mm, int z, double temp_c)
{
    double v;
    return statim_nernst(c_in_mm, c_out_mm, z, temp_c, &v) == STATIM_OK ? v : NAN;
}

double statim_e_gaba_value(double cl_in, double cl_out, double hco3_in, double hco3_out,
                           double ratio, double temp_c, int form)
{
    double v;
    return statim_e_gaba(cl_in, cl_out, hco3_in, hco3_out, ratio, temp_c, form, &v) == STATIM_OK
               ? v
               : NAN;
}

/*
 * Array forms compute first and check after: one vectorised pass writes out[],
 * then one branch-free sweep checks inputs and results together.  Only when that
 * sweep finds a problem is the array rescanned, in order, to name the first bad
 * element exactly as the scalar form would.  On error out[] is unspecified.
 */
STATIM_ARRAY_FN
int statim_nernst_array(const double *c_in_mm, const double *c_out_mm, size_t n, int z,
                        double temp_c, double *out_mv, size_t *bad_index)
{
    double k;
    size_t i;
    int st, bad = 0;
    *bad_index = 0;
    if (!valence_ok(z)) return STATIM_ERR_VALENCE;
    st = statim_rt_over_f_mv(temp_c, &k);
    if (st != STATIM_OK) return st;
    /* log first (a pure libmvec pass), then scale and check in one pass; the
     * expression is still k * log(q) / z, as in the scalar form */
    STATIM_SIMD_LOOP
    for (i = 0; i < n; i++)
        out_mv[i] = log(c_out_mm[i] / c_in_mm[i]);
    STATIM_SIMD_LOOP
    for (i = 0; i < n; i++) {
        double v = k * out_mv[i] / (double)z;
        out_mv[i] = v;
        /* c_in > 0 plus a finite result implies both inputs were valid: any NaN,
         * inf, zero or sign error in either makes the log NaN or infinite.  '&'
         * not '&&', so the sweep has no branches and vectorises. */
        bad |= !((c_in_mm[i] > 0.0) & (v > -HUGE_VAL) & (v < HUGE_VAL));
    }
    if (!bad) return STATIM_OK;
    for (i = 0; i < n; i++) {
        *bad_index = i;
        if (!conc_ok(c_in_mm[i])) return STATIM_ERR_C_IN;
        if (!conc_ok(c_out_mm[i])) return STATIM_ERR_C_OUT;
        if (!ratio_ok(c_out_mm[i] / c_in_mm[i])) return STATIM_ERR_RESULT;
    }
    return STATIM_ERR_RESULT; /* not reached: the sweep and the rescan test the same things */
}

STATIM_ARRAY_FN
int statim_e_gaba_array(const double *cl_in, const double *cl_out, const double *hco3_in,
                        const double *hco3_out, size_t n, double ratio, double temp_c,
                        int form, double *out_mv, size_t *bad_index)
{
    double k;
    size_t i;
    int st, bad = 0;
    *bad_index = 0;
    if (!finite_nonneg(ratio)) return STATIM_ERR_RATIO;
    st = statim_rt_over_f_mv(temp_c, &k);
    if (st != STATIM_OK) return st;
    if (form != STATIM_EGABA_WEIGHTED && form != STATIM_EGABA_GHK) return STATIM_ERR_FORM;
    if (form == STATIM_EGABA_GHK) {
        STATIM_SIMD_LOOP
        for (i = 0; i < n; i++)
            out_mv[i] = k * log((cl_in[i] + ratio * hco3_in[i]) /
                                (cl_out[i] + ratio * hco3_out[i]));
    } else {
        /* same expression order as e_gaba_value(), so scalar and array agree */
        STATIM_SIMD_LOOP
        for (i = 0; i < n; i++)
            out_mv[i] = (k * log(cl_in[i] / cl_out[i]) + ratio * (k * log(hco3_in[i] / hco3_out[i])))
                        / (1.0 + ratio);
    }
    /* '&' not '&&': no branches, so the sweep vectorises */
    STATIM_SIMD_LOOP
    for (i = 0; i < n; i++)
        bad |= !((cl_in[i] > 0.0) & (cl_in[i] < HUGE_VAL) & (cl_out[i] > 0.0) & (cl_out[i] < HUGE_VAL) &
                 (hco3_in[i] > 0.0) & (hco3_in[i] < HUGE_VAL) & (hco3_out[i] > 0.0) &
                 (hco3_out[i] < HUGE_VAL) & (out_mv[i] > -HUGE_VAL) & (out_mv[i] < HUGE_VAL));
    if (!bad) return STATIM_OK;
    for (i = 0; i < n; i++) {
        *bad_index = i;
        st = e_gaba_check(cl_in[i], cl_out[i], hco3_in[i], hco3_out[i], ratio);
        if (st != STATIM_OK) return st;
        if (!result_ok(out_mv[i])) return STATIM_ERR_RESULT;
    }
    return STATIM_ERR_RESULT; /* not reached */
}
