# EEG detection, the public API: one Detector per channel.
#
#   d = Detector(256.0, channel=0)          # fs in Hz, overrides as keywords
#   events = d.process(samples)             # µV; any block size, any number of calls
#   d.bsr_percent, d.burden_percent, d.in_seizure, d.se, d.bs
#
# Events are dicts for the episode engine, times in ms from the channel's first
# sample (the engine adds its own clock):
#   {"type": "eeg", "ch": 0, "state": "seizure_on",  "t_ms": onset,  "at_ms": decided}
#   {"type": "eeg", "ch": 0, "state": "seizure_off", "t_ms": end,    "at_ms": ..., "duration_ms": ...}
#   {"type": "eeg", "ch": 0, "state": "se_on", "reason": "continuous"|"burden"|"convulsive", "burden_permille": ...}
#   {"type": "eeg", "ch": 0, "state": "se_off", ...}
#   {"type": "eeg", "ch": 0, "state": "bs_on" | "bs_off", "bsr_permille": ...}
#   {"type": "eeg", "ch": 0, "state": "bsr", "bsr_permille": ..., "bursts_per_min_x10": ...}  (trend, every 60 s)
# Values are integers (permille, tenths) so the event log is identical on
# CPython and MicroPython.
#
# Backends, all giving the same events: the C core through cffi on a host
# ("c"), the same C compiled as the board's native module statim_det ("native",
# firmware/core_c/natmod), else the pure-Python twin detect_ref ("python").
# BACKEND says which is used by default; the twin is imported only when used.
from . import heap as _heap

try:
    from firmware.core_c.binding_detect import CDetector as _CDetector  # type: ignore
except ImportError:  # MicroPython, or installed without a C compiler
    _CDetector = None  # type: ignore[assignment, misc]

_NativeRaw = None
if _CDetector is None:
    try:
        from .detect_native import NativeRaw as _NativeRaw  # type: ignore
    except (ImportError, ValueError):  # no statim_det here, or one built for another MicroPython
        pass

BACKEND = "c" if _CDetector is not None else ("native" if _NativeRaw is not None else "python")

# Event kinds and SE reasons by code (detect.h STATIM_EV_*, STATIM_SE_*; detect_params
# names them, tests/test_detect_native.py holds the two equal).  Codes, not the
# parameters module: that is needed only while a detector is made.
_STATES = (None, "seizure_on", "seizure_off", "se_on", "se_off", "bs_on", "bs_off", "bsr")
_REASONS = (None, "continuous", "burden", "convulsive")
_EV_SEIZURE_OFF = 2
_EV_SE_ON = 3
_EV_SE_OFF = 4
_EV_BS_ON = 5
_EV_BS_OFF = 6
_EV_BSR_TREND = 7


def params(fs=None, **overrides):
    """The detector's DEFAULTS (detect_params.py) with fs and overrides applied."""
    from . import detect_params

    p = detect_params.params(fs, **overrides)
    _heap.forget("detect_params")  # a board keeps the parameters' values, not their table
    return p


def make_raw(p, backend=None):
    """The raw detector (tuples out) for a full parameter dict; backend 'c', 'native', 'python' or None."""
    if backend is None:
        backend = BACKEND
    if backend == "c":
        if _CDetector is None:
            raise ValueError("C backend not built")
        return _CDetector(p)
    if backend == "native":
        if _NativeRaw is None:
            raise ValueError("native module statim_det not installed")
        return _NativeRaw(p)
    if backend == "python":
        from . import detect_ref

        return detect_ref.DetectorRef(p)
    raise ValueError("backend must be 'c', 'native' or 'python'")


class Detector:
    """Seizure, burden, SE and burst-suppression detection for one channel."""

    def __init__(self, fs, channel=0, backend=None, keep_epochs=False, **overrides):
        self.raw = make_raw(params(fs, **overrides), backend)
        self.backend = backend or BACKEND
        self.channel = channel
        self.fs = self.raw.fs
        self.step_len = self.raw.step_len
        self.epochs = [] if keep_epochs else None  # type: list | None
        self._raw_events = []  # type: list

    def set_convulsive(self, flag):
        """A bilateral tonic-clonic seizure is observed: SE after 5 min (ACNS 2021)."""
        self.raw.set_convulsive(flag)

    def ms(self, step):
        return int(step * self.step_len * 1000.0 / self.fs)

    def process(self, block, n=None):
        """Feed samples (µV); returns the events they completed, as dicts (a new list)."""
        out = []  # type: list
        self.process_into(block, len(block) if n is None else n, out)
        return out

    def process_into(self, block, n, out):
        """Feed block[0:n]; appends the events they completed to out (dicts); returns how many.
        Nothing is allocated when no event completes (the bedside loop's path)."""
        raw = self._raw_events
        self.raw.process(block, n, raw, self.epochs)
        if not raw:
            return 0
        for e in raw:  # not a comprehension: it would close over self, a cell allocated on every call
            out.append(self.to_dict(e))
        k = len(raw)
        del raw[:]
        return k

    def to_dict(self, e):
        kind, t_step, at_step, v1, v2 = e
        d = {"type": "eeg", "ch": self.channel, "state": _STATES[kind], "t_ms": self.ms(t_step),
             "at_ms": self.ms(at_step)}
        if kind == _EV_SEIZURE_OFF:
            d["duration_ms"] = int(v1 * 2 * self.step_len * 1000.0 / self.fs)
        elif kind == _EV_SE_ON:
            d["reason"] = _REASONS[v1]
            d["burden_permille"] = v2 * 1000 // self.raw.burden_epochs
        elif kind == _EV_SE_OFF:
            d["burden_permille"] = v2 * 1000 // self.raw.burden_epochs
        elif kind == _EV_BS_ON or kind == _EV_BS_OFF:
            d["bsr_permille"] = v1
        elif kind == _EV_BSR_TREND:
            d["bsr_permille"] = v1
            d["bursts_per_min_x10"] = v2
        return d

    # status
    @property
    def bsr_percent(self):
        return self.raw.bsr

    @property
    def bursts_per_min(self):
        return self.raw.bpm

    @property
    def burden_percent(self):
        return 100.0 * self.raw.burden_count / self.raw.burden_epochs

    @property
    def in_seizure(self):
        return self.raw.phase == 2

    @property
    def se(self):
        return bool(self.raw.se)

    @property
    def bs(self):
        return bool(self.raw.bs)

    @property
    def elapsed_ms(self):
        return self.ms(self.raw.step)
