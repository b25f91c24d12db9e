# CPython-only glue between the EEG detection API (firmware/core/detect.py,
# firmware/core/kernels.py) and the cffi module ``_core``.  Importing it raises
# ImportError when the extension was not built, which the core takes as "use
# the Python twin".  Speaks the twin's raw tuples, so both backends compare
# directly.
from array import array

from ._core import ffi, lib  # noqa: F401  (ImportError -> pure-Python backend)

if not hasattr(lib, "statim_det_process_f64"):  # an older build without detect.c
    raise ImportError("C core built without the detection kernels")

_EV_CAP = 4096
_EP_CAP = 4096
_PARAM_FIELDS = None


def _doubles(src, n=None):
    """(keepalive, double* cdata, n): zero copy for contiguous float64 buffers."""
    try:
        m = memoryview(src)
        if m.format == "d" and m.c_contiguous and m.ndim == 1:
            if n is None:
                n = len(m)
            return src, ffi.from_buffer("double[]", src), n
    except TypeError:
        pass
    a = array("d", src if n is None else src[:n])
    return a, ffi.from_buffer("double[]", a), len(a) if n is None else n


def _check(status, explain):
    if status != lib.STATIM_DET_OK:
        explain()  # the twin raises ValueError naming the parameter
        raise RuntimeError("C core rejected parameters the Python twin accepts")


# ------------------------------------------------------------------ kernels
# Same shape as firmware/core/kernels.py but the state is a cdata struct and
# process returns an array('d') of outputs.

def ll_init(fs, epoch_len):
    st = ffi.new("statim_ll_state_t *")
    p = ffi.new("statim_ll_params_t *", {"fs": fs, "epoch_len": epoch_len})
    _check(lib.statim_ll_init_f64(st, p), lambda: _twin_init("ll_init", fs, epoch_len))
    return st


def ll_process(st, src):
    keep, buf, n = _doubles(src)
    out = array("d", bytes(8 * (n // st.epoch_len + 1)))
    k = lib.statim_ll_process_f64(st, buf, n, ffi.from_buffer("double[]", out, require_writable=True))
    return out[:k]


def rms_init(epoch_len):
    st = ffi.new("statim_rms_state_t *")
    p = ffi.new("statim_rms_params_t *", {"epoch_len": epoch_len})
    _check(lib.statim_rms_init_f64(st, p), lambda: _twin_init("rms_init", epoch_len))
    return st


def rms_process(st, src):
    keep, buf, n = _doubles(src)
    out = array("d", bytes(8 * (n // st.epoch_len + 1)))
    k = lib.statim_rms_process_f64(st, buf, n, ffi.from_buffer("double[]", out, require_writable=True))
    return out[:k]


def bandpass_coeffs(fs, f_lo, f_hi):
    c = ffi.new("double[4]")
    _check(lib.statim_bandpass_coeffs(fs, f_lo, f_hi, c), lambda: _twin("bandpass_coeffs", fs, f_lo, f_hi))
    return (c[0], c[1], c[2], c[3])


def bp_init(fs, f_lo, f_hi, epoch_len):
    st = ffi.new("statim_bp_state_t *")
    p = ffi.new("statim_bp_params_t *", {"fs": fs, "f_lo": f_lo, "f_hi": f_hi, "epoch_len": epoch_len})
    _check(lib.statim_bp_init_f64(st, p), lambda: _twin_init("bp_init", fs, f_lo, f_hi, epoch_len))
    return st


def bp_process(st, src):
    keep, buf, n = _doubles(src)
    out = array("d", bytes(8 * (n // st.epoch_len + 1)))
    k = lib.statim_bp_process_f64(st, buf, n, ffi.from_buffer("double[]", out, require_writable=True))
    return out[:k]


def rhythm_init(fs, epoch_len, hyst_frac=0.25, hyst_min_uv=2.0):
    st = ffi.new("statim_rhythm_state_t *")
    p = ffi.new("statim_rhythm_params_t *",
                {"fs": fs, "epoch_len": epoch_len, "hyst_frac": hyst_frac, "hyst_min_uv": hyst_min_uv})
    _check(lib.statim_rhythm_init_f64(st, p),
           lambda: _twin_init("rhythm_init", fs, epoch_len, hyst_frac, hyst_min_uv))
    return st


def rhythm_process(st, src):
    keep, buf, n = _doubles(src)
    out = array("d", bytes(8 * (n // st.epoch_len + 1)))
    k = lib.statim_rhythm_process_f64(st, buf, n, ffi.from_buffer("double[]", out, require_writable=True))
    return out[:k]


def supp_init(fs, thr_uv=5.0, min_s=0.5, step_s=0.5, window_s=63.0, burst_min_s=0.5, burst_window_s=60.0):
    st = ffi.new("statim_supp_state_t *")
    p = ffi.new("statim_supp_params_t *", {
        "fs": fs, "thr_uv": thr_uv, "min_s": min_s, "step_s": step_s, "window_s": window_s,
        "burst_min_s": burst_min_s, "burst_window_s": burst_window_s})
    _check(lib.statim_supp_init_f64(st, p),
           lambda: _twin_init("supp_init", fs, thr_uv, min_s, step_s, window_s, burst_min_s, burst_window_s))
    return st


def supp_process(st, src):
    """Returns (bsr_percent array, bursts_per_min array), one value per step."""
    keep, buf, n = _doubles(src)
    cap = n // st.step_len + 1
    bsr = array("d", bytes(8 * cap))
    bpm = array("d", bytes(8 * cap))
    k = lib.statim_supp_process_f64(st, buf, n, ffi.from_buffer("double[]", bsr, require_writable=True),
                                    ffi.from_buffer("double[]", bpm, require_writable=True))
    return bsr[:k], bpm[:k]


def _twin(name, *args):
    from firmware.core import kernels

    return getattr(kernels, name)(*args)


def _twin_init(name, *args):
    from firmware.core import kernels

    getattr(kernels, name)(kernels.new_state(), *args)


# ------------------------------------------------------------------ detector

class CDetector:
    """statim_det_* behind the interface of detect_ref.DetectorRef."""

    def __init__(self, p):
        self._st = ffi.new("statim_det_state_t *")
        self._ev = ffi.new("statim_det_event_t[]", _EV_CAP)
        self._ep = ffi.new("statim_det_epoch_t[]", _EP_CAP)
        self._n_ev = ffi.new("size_t *")
        self._n_ep = ffi.new("size_t *")
        self.init(p)

    def init(self, p):
        cp = ffi.new("statim_det_params_t *")
        from firmware.core import detect_ref

        try:
            for name in detect_ref.PARAM_NAMES:
                setattr(cp, name, int(bool(p[name])) if name == "convulsive" else p[name])
            st = lib.statim_det_init_f64(self._st, cp)
        except (TypeError, OverflowError):
            st = -1
        if st != lib.STATIM_DET_OK:
            detect_ref.DetectorRef(p)  # raises ValueError naming the parameter
            raise RuntimeError("C core rejected detector parameters the Python twin accepts")
        s = self._st
        self.fs = s.fs
        self.step_len = s.step_len
        self.epoch_len = s.epoch_len
        self.burden_epochs = s.burden_epochs
        self.burden_thresh = s.burden_thresh
        self.min_epochs = s.min_epochs

    def set_convulsive(self, flag):
        lib.statim_det_set_convulsive(self._st, 1 if flag else 0)

    def process(self, src, n, events, epochs=None):
        keep, buf, n = _doubles(src, n)
        st, ev, n_ev, n_ep = self._st, self._ev, self._n_ev, self._n_ep
        ep = self._ep if epochs is not None else ffi.NULL
        done = 0
        while done < n:
            used = lib.statim_det_process_f64(st, buf + done, n - done, ev, _EV_CAP, n_ev, ep, _EP_CAP, n_ep)
            for i in range(n_ev[0]):
                e = ev[i]
                events.append((e.kind, e.t_step, e.at_step, e.v1, e.v2))
            if epochs is not None:
                for i in range(n_ep[0]):
                    r = ep[i]
                    epochs.append((r.ll, r.rms, r.amp, r.fdom, r.amp_base, r.ll_base, r.bsr, r.bpm,
                                   r.burden, r.flags))
            if used == 0 and n_ev[0] == 0 and n_ep[0] == 0:
                raise RuntimeError("detector made no progress")
            done += used
        return n

    # status, read from the C state (the twin has plain attributes)
    def __getattr__(self, name):
        if name in _STATUS:
            return getattr(self._st, name)
        raise AttributeError(name)


_STATUS = ("bsr", "bpm", "amp_base", "ll_base", "phase", "se", "bs", "burden_count", "epoch", "step",
           "run_start", "last_ictal", "convulsive")
