# Reversal potentials: the public API (Nernst, GHK voltage, E_GABA).
#
# Uses the C core (firmware/core_c, built by cffi at install) when it is
# present and the pure-Python twin (biophys_ref) otherwise, e.g. on MicroPython
# or on a host without a C compiler.  BACKEND says which one is active.
# Invalid input raises ValueError naming the argument, on both backends: the
# C path re-runs the twin's checks to build the message.
from . import biophys_ref as _ref

WEIGHTED = _ref.WEIGHTED
GHK = _ref.GHK
rt_over_f_mv = _ref.rt_over_f_mv

try:
    from firmware.core_c.binding import bind_biophys as _bind  # type: ignore
except ImportError:  # MicroPython, or installed without a C compiler
    _bind = None  # type: ignore[assignment]

if _bind is None:
    BACKEND = "python"
    nernst = _ref.nernst
    ghk_voltage = _ref.ghk_voltage
    e_gaba = _ref.e_gaba
    nernst_array = _ref.nernst_array
    e_gaba_array = _ref.e_gaba_array
else:
    BACKEND = "c"
    nernst, ghk_voltage, e_gaba, nernst_array, e_gaba_array = _bind(_ref)
