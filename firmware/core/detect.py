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
# Uses the C core (firmware/core_c) when it is built and the pure-Python twin
# (detect_ref) otherwise; BACKEND says which.  Both give the same events.
from . import detect_ref as _ref

DEFAULTS = _ref.DEFAULTS
params = _ref.params

try:
    from firmware.core_c.binding_detect import CDetector as _CDetector  # type: ignore
except ImportError:  # MicroPython, or installed without a C compiler
    _CDetector = None  # type: ignore[assignment, misc]

BACKEND = "c" if _CDetector is not None else "python"

_STATES = {
    _ref.EV_SEIZURE_ON: "seizure_on",
    _ref.EV_SEIZURE_OFF: "seizure_off",
    _ref.EV_SE_ON: "se_on",
    _ref.EV_SE_OFF: "se_off",
    _ref.EV_BS_ON: "bs_on",
    _ref.EV_BS_OFF: "bs_off",
    _ref.EV_BSR_TREND: "bsr",
}
_REASONS = {_ref.SE_CONTINUOUS: "continuous", _ref.SE_BURDEN: "burden", _ref.SE_CONVULSIVE: "convulsive"}


def make_raw(p, backend=None):
    """The raw detector (tuples out) for a full parameter dict; backend 'c', 'python' or None."""
    if backend is None:
        backend = BACKEND
    if backend == "c":
        if _CDetector is None:
            raise ValueError("C backend not built")
        return _CDetector(p)
    if backend == "python":
        return _ref.DetectorRef(p)
    raise ValueError("backend must be 'c' or 'python'")


class Detector:
    """Seizure, burden, SE and burst-suppression detection for one channel."""

    def __init__(self, fs, channel=0, backend=None, keep_epochs=False, **overrides):
        self.params = params(fs, **overrides)
        self.raw = make_raw(self.params, backend)
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
        """Feed samples (µV); returns the events they completed, as dicts."""
        if n is None:
            n = len(block)
        raw = self._raw_events
        self.raw.process(block, n, raw, self.epochs)
        if not raw:
            return []
        out = [self.to_dict(e) for e in raw]
        del raw[:]
        return out

    def to_dict(self, e):
        kind, t_step, at_step, v1, v2 = e
        d = {"type": "eeg", "ch": self.channel, "state": _STATES[kind], "t_ms": self.ms(t_step),
             "at_ms": self.ms(at_step)}
        if kind == _ref.EV_SEIZURE_OFF:
            d["duration_ms"] = int(v1 * 2 * self.step_len * 1000.0 / self.fs)
        elif kind == _ref.EV_SE_ON:
            d["reason"] = _REASONS[v1]
            d["burden_permille"] = v2 * 1000 // self.raw.burden_epochs
        elif kind == _ref.EV_SE_OFF:
            d["burden_permille"] = v2 * 1000 // self.raw.burden_epochs
        elif kind == _ref.EV_BS_ON or kind == _ref.EV_BS_OFF:
            d["bsr_permille"] = v1
        elif kind == _ref.EV_BSR_TREND:
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
