/*
 * biophys.h - reversal potentials for the Statim math core (portable C99).
 *
 * Nernst, Goldman-Hodgkin-Katz voltage for monovalent ions, and the GABA-A
 * reversal potential (E_GABA) in its GHK and conductance-weighted forms.
 * Potentials in mV, concentrations in mM, temperature in degrees Celsius.
 *
 * Rules: no malloc, no static mutable state, caller-owned buffers.  Every
 * function returns a status; invalid input never produces a sentinel value.
 * Array forms report the first offending element through *bad_index.
 *
 * The block between STATIM-CDEF-BEGIN and STATIM-CDEF-END is read verbatim by
 * the cffi build (ffibuild.py), so it holds only declarations cffi can parse.
 */
#ifndef STATIM_BIOPHYS_H
#define STATIM_BIOPHYS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* STATIM-CDEF-BEGIN */
#define STATIM_OK 0
#define STATIM_ERR_C_IN 1         /* inside concentration <= 0, NaN or inf */
#define STATIM_ERR_C_OUT 2        /* outside concentration <= 0, NaN or inf */
#define STATIM_ERR_VALENCE 3      /* valence 0, |z| > 8, or not +1/-1 in GHK */
#define STATIM_ERR_TEMP 4         /* temperature NaN, inf or at/below absolute zero */
#define STATIM_ERR_PERMEABILITY 5 /* permeability < 0, NaN or inf */
#define STATIM_ERR_LENGTH 6       /* bad length: no ions, or all permeabilities zero */
#define STATIM_ERR_RATIO 7        /* ratio < 0, NaN or inf */
#define STATIM_ERR_HCO3_IN 8      /* bicarbonate inside <= 0, NaN or inf */
#define STATIM_ERR_HCO3_OUT 9     /* bicarbonate outside <= 0, NaN or inf */
#define STATIM_ERR_FORM 10        /* unknown E_GABA form */
#define STATIM_ERR_RESULT 11      /* result not finite (overflow) */

#define STATIM_MAX_VALENCE 8       /* |z| above this is not an ion */

#define STATIM_EGABA_WEIGHTED 0   /* (E_Cl + r E_HCO3) / (1 + r), r = g_HCO3/g_Cl */
#define STATIM_EGABA_GHK 1        /* GHK for Cl- and HCO3-, p = P_HCO3/P_Cl */

/* RT/F in mV at temp_c; status as above (only STATIM_ERR_TEMP possible). */
int statim_rt_over_f_mv(double temp_c, double *out_mv);

int statim_nernst(double c_in_mm, double c_out_mm, int z, double temp_c, double *out_mv);

/* GHK voltage; ion i has valence z[i] (+1 or -1), relative permeability perm[i]. */
int statim_ghk_voltage(const int *z, const double *perm, const double *c_in_mm,
                       const double *c_out_mm, size_t n, double temp_c,
                       double *out_mv, size_t *bad_index);

int statim_e_gaba(double cl_in, double cl_out, double hco3_in, double hco3_out,
                  double ratio, double temp_c, int form, double *out_mv);

/*
 * Value forms for language bindings: the same result as the checked form, or
 * NaN exactly when the checked form would return an error status.  A binding
 * that sees NaN must call the checked form (or its own checks) to report the
 * error; the NaN itself is never a result.  They exist because one double
 * return is several times cheaper to marshal than an out-pointer.
 */
double statim_nernst_value(double c_in_mm, double c_out_mm, int z, double temp_c);
double statim_e_gaba_value(double cl_in, double cl_out, double hco3_in, double hco3_out,
                           double ratio, double temp_c, int form);

/* Array forms: element i of out from element i of each input array. */
int statim_nernst_array(const double *c_in_mm, const double *c_out_mm, size_t n, int z,
                        double temp_c, double *out_mv, size_t *bad_index);

int statim_e_gaba_array(const double *cl_in, const double *cl_out, const double *hco3_in,
                        const double *hco3_out, size_t n, double ratio, double temp_c,
                        int form, double *out_mv, size_t *bad_index);
/* STATIM-CDEF-END */

#ifdef __cplusplus
}
#endif

#endif /* STATIM_BIOPHYS_H */
