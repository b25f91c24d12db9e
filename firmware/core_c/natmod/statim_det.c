/*
 * statim_det: the EEG detector of detect.c as a MicroPython native module
 * (a .mpy with machine code, loaded by `import statim_det`).
 *
 * Why: on the board every float operation of the Python twin (detect_ref.py)
 * allocates a float object, about 17 per sample; at 250 samples/s that is most
 * of the detector's CPU (allocation and collection) and the garbage fragments
 * the heap the bedside shares.  Here the samples are read from the caller's
 * buffer and the whole detector runs in C on its own state, which lives in a
 * bytearray the caller owns: no object is made per sample.
 *
 * The same detect.c is built for CPython by cffi (firmware/core_c/binding_detect.py)
 * and held equal to the twin by tests; this file adds only the glue.
 * Arithmetic is IEEE double everywhere (libgcc soft-float on Cortex-M0+), so
 * the board's events equal the host's for the same samples.
 *
 *   statim_det.SIZE                       bytes of state to allocate
 *   statim_det.init(state, text) -> int   0, or 1 when a parameter is rejected;
 *                                         text = the 35 parameters in
 *                                         detect_ref.PARAM_NAMES order, as
 *                                         decimal numbers separated by spaces
 *   statim_det.set_convulsive(state, flag)
 *   statim_det.process(state, src, start, n, ev) -> (done << 6) | n_ev
 *                                         src: array('f') or array('d') of µV;
 *                                         feeds src[start:n]; writes n_ev events
 *                                         as 5 ints each (kind, t_step, at_step,
 *                                         v1, v2) to ev, an array('i'); stops early
 *                                         (done < n) only when ev is full
 *   statim_det.get(state, field)          one status value (G_* below)
 */
#include "py/dynruntime.h"

#include "detect.h"

#define CHUNK 32     /* samples converted to double per call into detect.c */
#define EV_INTS 5
#define N_PARAMS 35  /* 34 doubles, then convulsive */

#if defined(__arm__)
/* On Cortex-M0+ the compiler turns detect.c's zeroing loop into a call to
 * memset, which a native module takes from the firmware. */
void *memset(void *s, int c, size_t n)
{
    return mp_fun_table.memset_(s, c, n);
}

/* a - b as a + (-b), which IEEE 754 defines it to be (same rounding, same
 * signed zeros): libgcc's Cortex-M0 subtraction is a second 1.8 KB copy of
 * its addition, and this module's code is loaded into the heap. */
extern double __aeabi_dadd(double a, double b);
double __aeabi_dsub(double a, double b)
{
    return __aeabi_dadd(a, -b);
}
#endif

/* the parameters are 34 doubles in a row, then one int32 */
typedef char params_layout_check[(offsetof(statim_det_params_t, convulsive) == 34 * sizeof(double)) ? 1 : -1];

static statim_det_state_t *state_of(mp_obj_t o)
{
    mp_buffer_info_t b;
    mp_get_buffer_raise(o, &b, MP_BUFFER_RW);
    if (b.len < sizeof(statim_det_state_t) || ((uintptr_t)b.buf & 3u)) {
        mp_raise_ValueError(MP_ERROR_TEXT("detector state: need statim_det.SIZE bytes"));
    }
    return (statim_det_state_t *)b.buf;
}

/* A decimal number as written by repr(): [-]digits[.digits][e[-]digits].
 * Exact for up to 15 significant digits and powers of ten up to 1e22 (one
 * correctly rounded multiplication or division, as a C compiler reads the
 * same literal); anything else is refused rather than approximated. */
static const char *parse_number(const char *s, const char *end, double *out)
{
    static const double P10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    uint64_t mant = 0;
    int neg = 0, digits = 0, exp10 = 0, any = 0;
    double v;
    if (s < end && (*s == '-' || *s == '+')) {
        neg = *s == '-';
        s++;
    }
    while (s < end && *s >= '0' && *s <= '9') {
        if (mant || *s != '0') digits++;
        if (digits > 15) return NULL;
        mant = mant * 10u + (uint64_t)(*s - '0');
        s++;
        any = 1;
    }
    if (s < end && *s == '.') {
        s++;
        while (s < end && *s >= '0' && *s <= '9') {
            if (mant || *s != '0') digits++;
            if (digits > 15) {
                if (*s != '0') return NULL;  /* trailing zeros change nothing */
            } else {
                mant = mant * 10u + (uint64_t)(*s - '0');
                exp10--;
            }
            s++;
            any = 1;
        }
    }
    if (!any) return NULL;
    if (s < end && (*s == 'e' || *s == 'E')) {
        int eneg = 0, e = 0, edig = 0;
        s++;
        if (s < end && (*s == '-' || *s == '+')) {
            eneg = *s == '-';
            s++;
        }
        while (s < end && *s >= '0' && *s <= '9') {
            if (e < 1000) e = e * 10 + (*s - '0');
            s++;
            edig = 1;
        }
        if (!edig) return NULL;
        exp10 += eneg ? -e : e;
    }
    if (exp10 > 22 || exp10 < -22) return NULL;
    v = (double)mant;  /* exact: < 10^15 < 2^53 */
    v = exp10 >= 0 ? v * P10[exp10] : v / P10[-exp10];
    *out = neg ? -v : v;
    return s;
}

static mp_obj_t det_init(mp_obj_t state_obj, mp_obj_t text_obj)
{
    statim_det_state_t *s = state_of(state_obj);
    statim_det_params_t p;
    double *fields = &p.fs, v = 0.0;
    size_t len;
    const char *t = mp_obj_str_get_data(text_obj, &len);
    const char *end = t + len;
    int i;
    for (i = 0; i < N_PARAMS; i++) {
        while (t < end && *t == ' ') t++;
        t = parse_number(t, end, &v);
        if (t == NULL || (t < end && *t != ' ')) return MP_OBJ_NEW_SMALL_INT(STATIM_DET_ERR_PARAM);
        if (i < N_PARAMS - 1) {
            fields[i] = v;
        } else {
            p.convulsive = v != 0.0;
        }
    }
    while (t < end && *t == ' ') t++;
    if (t != end) return MP_OBJ_NEW_SMALL_INT(STATIM_DET_ERR_PARAM);
    return MP_OBJ_NEW_SMALL_INT(statim_det_init_f64(s, &p));
}
static MP_DEFINE_CONST_FUN_OBJ_2(det_init_obj, det_init);

static mp_obj_t det_set_convulsive(mp_obj_t state_obj, mp_obj_t flag)
{
    statim_det_set_convulsive(state_of(state_obj), mp_obj_is_true(flag) ? 1 : 0);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(det_set_convulsive_obj, det_set_convulsive);

static mp_obj_t det_process(size_t n_args, const mp_obj_t *args)
{
    statim_det_state_t *s = state_of(args[0]);
    mp_buffer_info_t src, evb;
    mp_int_t start = mp_obj_get_int(args[2]), n = mp_obj_get_int(args[3]);
    size_t item, ev_cap, n_out = 0, done;
    int32_t *ev;
    double tmp[CHUNK];
    statim_det_event_t evl[STATIM_DET_MAX_EVENTS_PER_STEP];

    (void)n_args;
    mp_get_buffer_raise(args[1], &src, MP_BUFFER_READ);
    mp_get_buffer_raise(args[4], &evb, MP_BUFFER_RW);
    item = src.typecode == 'f' ? 4 : src.typecode == 'd' ? 8 : 0;
    if (item == 0) mp_raise_ValueError(MP_ERROR_TEXT("samples: need array('f') or array('d')"));
    if (evb.typecode != 'i' || ((uintptr_t)evb.buf & 3u)) mp_raise_ValueError(MP_ERROR_TEXT("events: need array('i')"));
    if (start < 0 || n < start || (size_t)n > src.len / item) mp_raise_ValueError(MP_ERROR_TEXT("samples: bad range"));
    ev = (int32_t *)evb.buf;
    ev_cap = evb.len / (EV_INTS * sizeof(int32_t));
    if (ev_cap > 63) ev_cap = 63;  /* the count travels in 6 bits of the result */
    if (ev_cap < STATIM_DET_MAX_EVENTS_PER_STEP) mp_raise_ValueError(MP_ERROR_TEXT("events: too small"));

    done = (size_t)start;
    while (done < (size_t)n && ev_cap - n_out >= STATIM_DET_MAX_EVENTS_PER_STEP) {
        size_t m = (size_t)n - done, k, used, n_ev = 0, n_ep = 0;
        if (m > CHUNK) m = CHUNK;
        if (item == 4) {
            const float *f = (const float *)src.buf + done;
            for (k = 0; k < m; k++) tmp[k] = (double)f[k];
        } else {
            const double *d = (const double *)src.buf + done;
            for (k = 0; k < m; k++) tmp[k] = d[k];
        }
        used = statim_det_process_f64(s, tmp, m, evl, STATIM_DET_MAX_EVENTS_PER_STEP, &n_ev, NULL, 0, &n_ep);
        for (k = 0; k < n_ev; k++) {
            int32_t *e = ev + EV_INTS * (n_out + k);
            e[0] = evl[k].kind;
            e[1] = (int32_t)evl[k].t_step;
            e[2] = (int32_t)evl[k].at_step;
            e[3] = evl[k].v1;
            e[4] = evl[k].v2;
        }
        n_out += n_ev;
        done += used;
        if (used == 0 && n_ev == 0) mp_raise_ValueError(MP_ERROR_TEXT("detector made no progress"));
    }
    return mp_obj_new_int((mp_int_t)((done << 6) | n_out));
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(det_process_obj, 5, 5, det_process);

enum {
    G_BSR, G_BPM, G_PHASE, G_SE, G_BS, G_BURDEN_COUNT, G_STEP, G_FS, G_STEP_LEN, G_BURDEN_EPOCHS,
    G_EPOCH, G_AMP_BASE, G_LL_BASE, G_BURDEN_THRESH, G_MIN_EPOCHS, G_EPOCH_LEN, G_CONVULSIVE,
    G_RUN_START, G_LAST_ICTAL,
};

static mp_obj_t det_get(mp_obj_t state_obj, mp_obj_t field)
{
    const statim_det_state_t *s = state_of(state_obj);
    switch (mp_obj_get_int(field)) {
    case G_BSR: return mp_obj_new_float_from_d(s->bsr);
    case G_BPM: return mp_obj_new_float_from_d(s->bpm);
    case G_PHASE: return MP_OBJ_NEW_SMALL_INT(s->phase);
    case G_SE: return MP_OBJ_NEW_SMALL_INT(s->se);
    case G_BS: return MP_OBJ_NEW_SMALL_INT(s->bs);
    case G_BURDEN_COUNT: return mp_obj_new_int_from_uint(s->burden_count);
    case G_STEP: return mp_obj_new_int_from_uint(s->step);
    case G_FS: return mp_obj_new_float_from_d(s->fs);
    case G_STEP_LEN: return mp_obj_new_int_from_uint(s->step_len);
    case G_BURDEN_EPOCHS: return mp_obj_new_int_from_uint(s->burden_epochs);
    case G_EPOCH: return mp_obj_new_int_from_uint(s->epoch);
    case G_AMP_BASE: return mp_obj_new_float_from_d(s->amp_base);
    case G_LL_BASE: return mp_obj_new_float_from_d(s->ll_base);
    case G_BURDEN_THRESH: return mp_obj_new_int_from_uint(s->burden_thresh);
    case G_MIN_EPOCHS: return mp_obj_new_int_from_uint(s->min_epochs);
    case G_EPOCH_LEN: return mp_obj_new_int_from_uint(s->epoch_len);
    case G_CONVULSIVE: return MP_OBJ_NEW_SMALL_INT(s->convulsive);
    case G_RUN_START: return mp_obj_new_int_from_uint(s->run_start);
    case G_LAST_ICTAL: return mp_obj_new_int_from_uint(s->last_ictal);
    }
    mp_raise_ValueError(MP_ERROR_TEXT("no such detector field"));
}
static MP_DEFINE_CONST_FUN_OBJ_2(det_get_obj, det_get);

mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args)
{
    MP_DYNRUNTIME_INIT_ENTRY

    mp_store_global(MP_QSTR_SIZE, MP_OBJ_NEW_SMALL_INT(sizeof(statim_det_state_t)));
    mp_store_global(MP_QSTR_init, MP_OBJ_FROM_PTR(&det_init_obj));
    mp_store_global(MP_QSTR_set_convulsive, MP_OBJ_FROM_PTR(&det_set_convulsive_obj));
    mp_store_global(MP_QSTR_process, MP_OBJ_FROM_PTR(&det_process_obj));
    mp_store_global(MP_QSTR_get, MP_OBJ_FROM_PTR(&det_get_obj));

    MP_DYNRUNTIME_INIT_EXIT
}
