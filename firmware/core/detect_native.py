# The EEG detector as the board's native module `statim_det` (firmware/core_c/natmod:
# detect.c compiled for the Pico and loaded as machine code), behind the interface
# of detect_ref.DetectorRef, so detect.Detector drives either one.
#
# Why it exists: the Python twin allocates a float object for nearly every
# arithmetic step on the board (about 17 per sample); this one reads the samples
# from the caller's array and keeps its state in one bytearray, so a block costs
# no allocation but the events it completes.  Importing this module raises
# ImportError where `statim_det` is not installed (then the twin is used).
from array import array

import statim_det as _det  # type: ignore  # noqa: F401  (ImportError -> another backend)

from .detect_params import PARAM_NAMES

_EV_CAP = 16  # events per call into the module; it returns early when they are used up

# statim_det.get() fields by name (G_* in natmod/statim_det.c)
_FIELDS = {"bsr": 0, "bpm": 1, "phase": 2, "se": 3, "bs": 4, "burden_count": 5, "step": 6, "fs": 7,
           "step_len": 8, "burden_epochs": 9, "epoch": 10, "amp_base": 11, "ll_base": 12,
           "burden_thresh": 13, "min_epochs": 14, "epoch_len": 15, "convulsive": 16,
           "run_start": 17, "last_ictal": 18}


def param_text(p):
    """The parameters as the module reads them: decimals as written, in PARAM_NAMES order.

    Passed as text, not floats: on the board a float is single precision, and
    1.3 must reach the C code as the double 1.3, as it does on a host."""
    out = []
    for name in PARAM_NAMES:
        v = p[name]
        if name == "convulsive":
            out.append("1" if v else "0")
        else:
            out.append(repr(float(v)))
    return " ".join(out)


class NativeRaw:
    """statim_det behind the interface of detect_ref.DetectorRef (raw tuples out)."""

    def __init__(self, p):
        self._st = bytearray(_det.SIZE)
        self._ev = array("i", bytes(4 * 5 * _EV_CAP))
        if _det.init(self._st, param_text(p)) != 0:
            from . import detect_ref

            detect_ref.DetectorRef(p)  # raises ValueError naming the parameter
            raise ValueError("detector parameters rejected by the native module: %s" % param_text(p))
        # fixed at init: plain attributes
        for name in ("fs", "step_len", "epoch_len", "burden_epochs", "burden_thresh", "min_epochs"):
            setattr(self, name, _det.get(self._st, _FIELDS[name]))

    def set_convulsive(self, flag):
        _det.set_convulsive(self._st, 1 if flag else 0)

    def process(self, src, n, events, epochs=None):
        """Feed src[0:n] (array 'f' or 'd'); append raw event tuples to events."""
        if epochs is not None:
            raise ValueError("per-epoch records need the C core or the Python twin")
        if not isinstance(src, array):
            src = array("d", src)  # a list from a host tool; the board passes its own array
        ev = self._ev
        done = 0
        while done < n:
            r = _det.process(self._st, src, done, n, ev)
            done = r >> 6
            for i in range(0, 5 * (r & 63), 5):
                events.append((ev[i], ev[i + 1], ev[i + 2], ev[i + 3], ev[i + 4]))
        return n

    def __getattr__(self, name):
        """The running status (bsr, phase, se, ...), read from the module's state."""
        g = _FIELDS.get(name)
        if g is None:
            raise AttributeError(name)
        return _det.get(self._st, g)
