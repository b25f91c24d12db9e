# Streaming EEG kernels: the pure-Python twins of firmware/core_c/detect.c.
#
# CMSIS-DSP shape: the caller owns the state (KState from new_state()),
# init(state, ...) fills it, process(state, src, n, dst) consumes n samples and
# writes one output per completed epoch into dst, returning how many.  State
# carries over between calls, so the block partition never changes the output.
# Expressions and their order follow detect.c exactly: on CPython (IEEE double)
# the twins give the C core's doubles bit for bit.
#
# MicroPython-compatible: math and array only; the loops copy state into locals
# and write it back once per call.  Samples in µV, rates in Hz, times in s.
import math
from array import array

BSR_MAX_STEPS = 256  # STATIM_BSR_MAX_STEPS
SINCE_CAP = 0x7FFFFFFF
_EPS_LEN = 1e-9
_INF = float("inf")


class KState:
    """Caller-owned kernel state; the fields are set by the *_init functions."""


def new_state():
    return KState()


def _finite_pos(v):
    return v > 0.0 and v < _INF


def _finite_nonneg(v):
    return v >= 0.0 and v < _INF


def len_round(v, lo, hi):
    """Round half up to a count in [lo, hi]; 0 when outside (detect.c len_round)."""
    if not (v >= 0.0 and v < 4.0e9):
        return 0
    r = math.floor(v + 0.5)
    if r < lo or r > hi:
        return 0
    return int(r)


def len_ceil(v, lo, hi):
    """Smallest count >= v (1e-9 tolerance), at least lo; 0 above hi."""
    if not (v >= 0.0 and v < 4.0e9):
        return 0
    r = math.ceil(v - _EPS_LEN)
    if r < lo:
        r = lo
    if r > hi:
        return 0
    return int(r)


def rms_of(s1, s2, n):
    """RMS about the mean of n samples from their sum and sum of squares."""
    m = s1 / n
    var = s2 / n - m * m
    if not (var > 0.0):
        var = 0.0
    return math.sqrt(var)


def _bad(name, value):
    raise ValueError("%s out of range: %r" % (name, value))


# ---------------------------------------------------------------- line length

def ll_init(st, fs, epoch_len):
    """Line length: mean |x[n] - x[n-1]| * fs per epoch (µV/s)."""
    if not _finite_pos(fs):
        _bad("fs", fs)
    if not epoch_len >= 1:
        _bad("epoch_len", epoch_len)
    st.fs = float(fs)
    st.epoch_len = int(epoch_len)
    st.prev = 0.0
    st.acc = 0.0
    st.count = 0
    st.have_prev = 0


def ll_process(st, src, n, dst):
    out = 0
    prev = st.prev
    acc = st.acc
    count = st.count
    L = st.epoch_len
    if n > 0 and not st.have_prev:
        prev = src[0]
        st.have_prev = 1
    for i in range(n):
        x = src[i]
        acc += abs(x - prev)
        prev = x
        count += 1
        if count == L:
            dst[out] = acc * st.fs / L
            out += 1
            acc = 0.0
            count = 0
    st.prev = prev
    st.acc = acc
    st.count = count
    return out


# ------------------------------------------------------------------------ RMS

def rms_init(st, epoch_len):
    """RMS amplitude about the epoch mean (µV)."""
    if not epoch_len >= 1:
        _bad("epoch_len", epoch_len)
    st.epoch_len = int(epoch_len)
    st.s1 = 0.0
    st.s2 = 0.0
    st.count = 0


def rms_process(st, src, n, dst):
    out = 0
    s1 = st.s1
    s2 = st.s2
    count = st.count
    L = st.epoch_len
    for i in range(n):
        x = src[i]
        s1 += x
        s2 += x * x
        count += 1
        if count == L:
            dst[out] = rms_of(s1, s2, L)
            out += 1
            s1 = 0.0
            s2 = 0.0
            count = 0
    st.s1 = s1
    st.s2 = s2
    st.count = count
    return out


# ----------------------------------------------------------------- band power

def series_sin(w):
    """sin(w) for 0 < w < pi as detect.c computes it (16 Taylor terms, nested), not math.sin:
    the C library's sine differs from one platform to the next in the last bit."""
    x2 = w * w
    t = 1.0
    for k in range(16, 0, -1):
        t = 1.0 - x2 / float((2 * k) * (2 * k + 1)) * t
    return w * t


def series_cos(w):
    """cos(w) for 0 < w < pi as detect.c computes it."""
    x2 = w * w
    t = 1.0
    for k in range(16, 0, -1):
        t = 1.0 - x2 / float((2 * k - 1) * (2 * k)) * t
    return t


def bandpass_coeffs(fs, f_lo, f_hi):
    """RBJ band-pass (0 dB peak), -3 dB at f_lo and f_hi: (b0, b2, a1, a2), b1 = 0."""
    if not _finite_pos(fs):
        _bad("fs", fs)
    if not _finite_pos(f_lo):
        _bad("f_lo", f_lo)
    if not (f_hi > f_lo and f_hi < 0.5 * fs):
        _bad("f_hi", f_hi)
    f0 = math.sqrt(f_lo * f_hi)
    q = f0 / (f_hi - f_lo)
    w0 = 2.0 * 3.141592653589793 * f0 / fs
    alpha = series_sin(w0) / (2.0 * q)
    a0 = 1.0 + alpha
    return (alpha / a0, -alpha / a0, -2.0 * series_cos(w0) / a0, (1.0 - alpha) / a0)


def bp_init(st, fs, f_lo, f_hi, epoch_len):
    """Band power: mean square of the band-passed signal per epoch (µV^2)."""
    if not epoch_len >= 1:
        _bad("epoch_len", epoch_len)
    st.b0, st.b2, st.a1, st.a2 = bandpass_coeffs(fs, f_lo, f_hi)
    st.z1 = 0.0
    st.z2 = 0.0
    st.acc = 0.0
    st.epoch_len = int(epoch_len)
    st.count = 0


def bp_process(st, src, n, dst):
    out = 0
    b0 = st.b0
    b2 = st.b2
    a1 = st.a1
    a2 = st.a2
    z1 = st.z1
    z2 = st.z2
    acc = st.acc
    count = st.count
    L = st.epoch_len
    for i in range(n):
        x = src[i]
        y = b0 * x + z1
        z1 = z2 - a1 * y
        z2 = b2 * x - a2 * y
        acc += y * y
        count += 1
        if count == L:
            dst[out] = acc / L
            out += 1
            acc = 0.0
            count = 0
    st.z1 = z1
    st.z2 = z2
    st.acc = acc
    st.count = count
    return out


# --------------------------------------------------------------------- rhythm

def rhythm_levels(s1, s2, n, frac, hmin):
    """Schmitt levels for the next epoch: mean -/+ max(hmin, frac * RMS)."""
    m = s1 / n
    h = frac * rms_of(s1, s2, n)
    if h < hmin:
        h = hmin
    return m - h, m + h


def rhythm_init(st, fs, epoch_len, hyst_frac=0.25, hyst_min_uv=2.0):
    """Dominant frequency (Hz) from zero crossings of a Schmitt trigger."""
    if not _finite_pos(fs):
        _bad("fs", fs)
    if not epoch_len >= 1:
        _bad("epoch_len", epoch_len)
    if not _finite_nonneg(hyst_frac):
        _bad("hyst_frac", hyst_frac)
    if not _finite_pos(hyst_min_uv):
        _bad("hyst_min_uv", hyst_min_uv)
    st.fs = float(fs)
    st.hyst_frac = float(hyst_frac)
    st.hyst_min = float(hyst_min_uv)
    st.lo = -float(hyst_min_uv)
    st.hi = float(hyst_min_uv)
    st.s1 = 0.0
    st.s2 = 0.0
    st.epoch_len = int(epoch_len)
    st.count = 0
    st.zc = 0
    st.sgn = 0


def rhythm_process(st, src, n, dst):
    out = 0
    s1 = st.s1
    s2 = st.s2
    lo = st.lo
    hi = st.hi
    count = st.count
    zc = st.zc
    sgn = st.sgn
    L = st.epoch_len
    for i in range(n):
        x = src[i]
        s1 += x
        s2 += x * x
        if x > hi:
            if sgn < 0:
                zc += 1
            sgn = 1
        elif x < lo:
            if sgn > 0:
                zc += 1
            sgn = -1
        count += 1
        if count == L:
            dst[out] = zc * st.fs / (2.0 * L)
            out += 1
            lo, hi = rhythm_levels(s1, s2, L, st.hyst_frac, st.hyst_min)
            s1 = 0.0
            s2 = 0.0
            zc = 0
            count = 0
    st.s1 = s1
    st.s2 = s2
    st.lo = lo
    st.hi = hi
    st.count = count
    st.zc = zc
    st.sgn = sgn
    return out


# -------------------------------------------------------- suppression and BSR

def supp_init(st, fs, thr_uv=5.0, min_s=0.5, step_s=0.5, window_s=63.0, burst_min_s=0.5, burst_window_s=60.0):
    """Rampil suppression (|x| <= thr_uv for >= min_s), BSR over window_s, bursts/min.

    One output per step_s: BSR in percent of the trailing window (whole steps;
    the time seen so far until it fills) and bursts per minute over
    burst_window_s.  A burst is >= burst_min_s between two suppressions.
    """
    if not _finite_pos(fs):
        _bad("fs", fs)
    if not _finite_nonneg(thr_uv):
        _bad("thr_uv", thr_uv)
    if not _finite_pos(step_s):
        _bad("step_s", step_s)
    st.fs = float(fs)
    st.thr = float(thr_uv)
    st.min_len = len_ceil(min_s * fs, 1, 0x7FFFFFFF)
    st.step_len = len_round(step_s * fs, 1, 65535)
    st.window_steps = len_round(window_s / step_s, 1, BSR_MAX_STEPS)
    st.burst_min = len_ceil(burst_min_s * fs, 1, 0x7FFFFFFF)
    st.burst_window_steps = len_round(burst_window_s / step_s, 1, BSR_MAX_STEPS)
    for name in ("min_len", "step_len", "window_steps", "burst_min", "burst_window_steps"):
        if not getattr(st, name):
            _bad(name, getattr(st, name))
    st.run = 0
    st.since = 0
    st.armed = 0
    st.pos = 0
    st.cur = 0
    st.cur_bursts = 0
    st.head = 0
    st.filled = 0
    st.sum = 0
    st.bhead = 0
    st.bfilled = 0
    st.bsum = 0
    st.ring = array("H", bytes(2 * BSR_MAX_STEPS))
    st.bring = array("B", bytes(BSR_MAX_STEPS))


def supp_confirm(st, k):
    """A run reached min_len at sample k of the step: spread it over its steps."""
    min_len = st.min_len
    here = k + 1 if k + 1 < min_len else min_len
    rem = min_len - here
    j = 1
    ring = st.ring
    W = st.window_steps
    while rem > 0 and j <= st.filled:
        slot = (st.head + W - j) % W
        add = rem if rem < st.step_len else st.step_len
        ring[slot] = ring[slot] + add
        st.sum += add
        rem -= add
        j += 1
    return here


def supp_step(st, cur, cur_bursts):
    """Close the step; returns (bsr_percent, bursts_per_min)."""
    ring = st.ring
    if st.filled == st.window_steps:
        st.sum -= ring[st.head]
    else:
        st.filled += 1
    ring[st.head] = cur
    st.sum += cur
    st.head = (st.head + 1) % st.window_steps

    bring = st.bring
    if st.bfilled == st.burst_window_steps:
        st.bsum -= bring[st.bhead]
    else:
        st.bfilled += 1
    bring[st.bhead] = 255 if cur_bursts > 255 else cur_bursts
    st.bsum += bring[st.bhead]
    st.bhead = (st.bhead + 1) % st.burst_window_steps

    bsr = 100.0 * st.sum / float(st.filled * st.step_len)
    bpm = 60.0 * st.bsum * st.fs / float(st.bfilled * st.step_len)
    st.pos = 0
    st.cur = 0
    st.cur_bursts = 0
    return bsr, bpm


def supp_process(st, src, n, dst_bsr=None, dst_bpm=None):
    i = 0
    out = 0
    thr = st.thr
    min_len = st.min_len
    burst_gap = st.burst_min + min_len - 1
    while i < n:
        m = st.step_len - st.pos
        if m > n - i:
            m = n - i
        run = st.run
        since = st.since
        cur = st.cur
        curb = st.cur_bursts
        pos = st.pos
        for k in range(m):
            x = src[i + k]
            if abs(x) <= thr:
                run += 1
                if run >= min_len:
                    if run == min_len:
                        if st.armed and since >= burst_gap:
                            curb += 1
                        st.armed = 1
                        cur += supp_confirm(st, pos + k)
                    else:
                        cur += 1
                    since = 0
                elif since < SINCE_CAP:
                    since += 1
            else:
                run = 0
                if since < SINCE_CAP:
                    since += 1
        i += m
        st.run = run
        st.since = since
        st.pos = pos + m
        if st.pos == st.step_len:
            bsr, bpm = supp_step(st, cur, curb)
            if dst_bsr is not None:
                dst_bsr[out] = bsr
            if dst_bpm is not None:
                dst_bpm[out] = bpm
            out += 1
        else:
            st.cur = cur
            st.cur_bursts = curb
    return out
