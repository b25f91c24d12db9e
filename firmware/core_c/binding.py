# CPython-only glue between firmware/core's public APIs and the cffi module
# ``_core``: buffers in, status codes out.  Importing it raises ImportError when
# the extension was not built, which the core takes as "use the Python twin".
from array import array
import threading

NAN = float("nan")

from ._core import ffi, lib  # noqa: F401  (ImportError -> pure-Python backend)


def _explain(ref_call, args):
    """The C core refused the input: let the Python twin name the argument."""
    ref_call(*args)  # raises ValueError for any input the C core rejects
    raise RuntimeError("C core rejected input the Python twin accepts: %r" % (args,))


def bind_biophys(ref):
    forms = {ref.WEIGHTED: lib.STATIM_EGABA_WEIGHTED, ref.GHK: lib.STATIM_EGABA_GHK}
    local = threading.local()  # one scratch output per thread: cffi releases the GIL

    def scratch():
        try:
            return local.out, local.bad
        except AttributeError:
            local.out = ffi.new("double *")
            local.bad = ffi.new("size_t *")
            return local.out, local.bad

    nernst_value = lib.statim_nernst_value
    e_gaba_value = lib.statim_e_gaba_value

    def nernst(c_in_mM, c_out_mM, z, temp_c=37.0):
        try:
            v = nernst_value(c_in_mM, c_out_mM, z, temp_c)
        except (TypeError, OverflowError):
            v = NAN
        if v != v:  # NaN only ever means "rejected"
            _explain(ref.nernst, (c_in_mM, c_out_mM, z, temp_c))
        return v

    def ghk_voltage(ions, temp_c=37.0):
        try:
            n = len(ions)
            zs = ffi.new("int[]", [ion[0] for ion in ions])
            ps = ffi.new("double[]", [ion[1] for ion in ions])
            ci = ffi.new("double[]", [ion[2] for ion in ions])
            co = ffi.new("double[]", [ion[3] for ion in ions])
            out, bad = scratch()
            st = lib.statim_ghk_voltage(zs, ps, ci, co, n, temp_c, out, bad)
        except (TypeError, OverflowError, IndexError, ValueError):
            st = -1
        if st:
            _explain(ref.ghk_voltage, (ions, temp_c))
        return out[0]

    def e_gaba(cl_in, cl_out, hco3_in, hco3_out, ratio, temp_c=37.0, form=ref.WEIGHTED):
        try:
            v = e_gaba_value(cl_in, cl_out, hco3_in, hco3_out, ratio, temp_c, forms[form])
        except (TypeError, OverflowError, KeyError):
            v = NAN
        if v != v:
            _explain(ref.e_gaba, (cl_in, cl_out, hco3_in, hco3_out, ratio, temp_c, form))
        return v

    def as_doubles(x):
        """A zero-copy double view when x already is contiguous float64, else a copy."""
        try:
            m = memoryview(x)
            if m.format == "d" and m.c_contiguous and m.ndim == 1:
                return x, ffi.from_buffer("double[]", x)
        except TypeError:
            pass
        a = array("d", x)
        return a, ffi.from_buffer("double[]", a)

    def out_buffer(out, n):
        if out is None:
            out = array("d", bytes(8 * n))
        m = memoryview(out)
        if m.format != "d" or not m.c_contiguous or len(out) != n or m.readonly:
            raise ValueError("out must be a writable contiguous float64 buffer of length %d" % n)
        return out, ffi.from_buffer("double[]", out, require_writable=True)

    def nernst_array(c_in_mM, c_out_mM, z, temp_c=37.0, out=None):
        try:
            n = ref._same_length(("c_in_mM", "c_out_mM"), (c_in_mM, c_out_mM))
            keep = (as_doubles(c_in_mM), as_doubles(c_out_mM))
        except (TypeError, ValueError):
            return ref.nernst_array(c_in_mM, c_out_mM, z, temp_c, out)
        out, cout = out_buffer(out, n)
        _, bad = scratch()
        try:
            st = lib.statim_nernst_array(keep[0][1], keep[1][1], n, z, temp_c, cout, bad)
        except (TypeError, OverflowError):
            st = -1
        if st:
            _explain(ref.nernst_array, (c_in_mM, c_out_mM, z, temp_c))
        return out

    def e_gaba_array(cl_in, cl_out, hco3_in, hco3_out, ratio, temp_c=37.0, form=ref.WEIGHTED, out=None):
        seqs = (cl_in, cl_out, hco3_in, hco3_out)
        try:
            n = ref._same_length(("cl_in", "cl_out", "hco3_in", "hco3_out"), seqs)
            keep = [as_doubles(s) for s in seqs]
        except (TypeError, ValueError):
            return ref.e_gaba_array(cl_in, cl_out, hco3_in, hco3_out, ratio, temp_c, form, out)
        out, cout = out_buffer(out, n)
        _, bad = scratch()
        try:
            st = lib.statim_e_gaba_array(
                keep[0][1], keep[1][1], keep[2][1], keep[3][1], n, ratio, temp_c, forms[form], cout, bad
            )
        except (TypeError, OverflowError, KeyError):
            st = -1
        if st:
            _explain(ref.e_gaba_array, (cl_in, cl_out, hco3_in, hco3_out, ratio, temp_c, form))
        return out

    return nernst, ghk_voltage, e_gaba, nernst_array, e_gaba_array
