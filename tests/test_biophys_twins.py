"""The C core and its pure-Python twin agree (DESIGN.md: firmware/core_c).

Raw cffi calls are compared with biophys_ref: the same inputs are rejected
(C status != 0 exactly when the twin raises ValueError) and accepted inputs give
the same number within 1e-12 relative.  Scalar C uses the same libm log as
CPython, so scalars are expected bit-equal; the array forms use a vector log
(libmvec, <= 4 ulp), so they are held to 1e-12 of the magnitude of the terms.
"""
import math

import pytest
from hypothesis import given, settings, strategies as st

from firmware.core import biophys_ref as ref

core = pytest.importorskip("firmware.core_c._core", reason="C core not built (pure-Python install)")
ffi, lib = core.ffi, core.lib

EDGE = [0.0, -0.0, -1.0, 5e-324, 1e-300, 1e300, 1.7976931348623157e308, math.inf, -math.inf, math.nan]
conc = st.one_of(
    st.sampled_from(EDGE),
    st.floats(min_value=1e-6, max_value=1e4),
    st.floats(allow_nan=True, allow_infinity=True),
)
good_conc = st.floats(min_value=1e-6, max_value=1e4)
temp = st.one_of(st.floats(min_value=-40.0, max_value=100.0), st.sampled_from([-273.15, -300.0, math.nan, math.inf]))
valence = st.integers(min_value=-10, max_value=10)
ratio = st.one_of(st.floats(min_value=0.0, max_value=10.0), st.sampled_from([-0.1, math.nan, math.inf]))
FORMS = {ref.WEIGHTED: lib.STATIM_EGABA_WEIGHTED, ref.GHK: lib.STATIM_EGABA_GHK}


def ref_result(fn, *args):
    try:
        return fn(*args), None
    except ValueError as exc:
        return None, exc


def same(a, b, scale=None):
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12 * (scale if scale is not None else abs(b)))


@settings(max_examples=600, deadline=None)
@given(conc, conc, valence, temp)
def test_nernst_twins(c_in, c_out, z, t):
    out = ffi.new("double *")
    status = lib.statim_nernst(c_in, c_out, z, t, out)
    value, err = ref_result(ref.nernst, c_in, c_out, z, t)
    assert (status != 0) == (err is not None), (status, err)
    if status == 0:
        assert out[0] == value  # same libm, same expression order: bit-equal
        v = lib.statim_nernst_value(c_in, c_out, z, t)
        assert v == value
    else:
        assert math.isnan(lib.statim_nernst_value(c_in, c_out, z, t))


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from([1, -1, 1, -1, 2, 0]), st.one_of(st.floats(0, 2), st.sampled_from([-1.0, math.nan])), conc, conc), max_size=6),
    temp,
)
def test_ghk_twins(ions, t):
    n = len(ions)
    out, bad = ffi.new("double *"), ffi.new("size_t *")
    status = lib.statim_ghk_voltage(
        ffi.new("int[]", [i[0] for i in ions] or [0]),
        ffi.new("double[]", [i[1] for i in ions] or [0.0]),
        ffi.new("double[]", [i[2] for i in ions] or [0.0]),
        ffi.new("double[]", [i[3] for i in ions] or [0.0]),
        n, t, out, bad,
    )
    value, err = ref_result(ref.ghk_voltage, ions, t)
    assert (status != 0) == (err is not None), (status, err)
    if status == 0:
        assert out[0] == value
    elif bad[0] < n:
        # the C core names the same ion as the twin
        assert str(err).startswith("ions[%d]" % bad[0])


@settings(max_examples=600, deadline=None)
@given(conc, conc, conc, conc, ratio, temp, st.sampled_from(sorted(FORMS)))
def test_e_gaba_twins(cl_in, cl_out, h_in, h_out, r, t, form):
    out = ffi.new("double *")
    status = lib.statim_e_gaba(cl_in, cl_out, h_in, h_out, r, t, FORMS[form], out)
    value, err = ref_result(ref.e_gaba, cl_in, cl_out, h_in, h_out, r, t, form)
    assert (status != 0) == (err is not None), (status, err)
    if status == 0:
        assert out[0] == value


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(good_conc, good_conc), min_size=0, max_size=40), st.sampled_from([-2, -1, 1, 2]), st.floats(0, 45))
def test_nernst_array_twins(pairs, z, t):
    c_in = [p[0] for p in pairs]
    c_out = [p[1] for p in pairs]
    n = len(pairs)
    out, bad = ffi.new("double[]", max(n, 1)), ffi.new("size_t *")
    status = lib.statim_nernst_array(ffi.new("double[]", c_in or [1.0]), ffi.new("double[]", c_out or [1.0]), n, z, t, out, bad)
    assert status == 0
    expected = ref.nernst_array(c_in, c_out, z, t)
    for i in range(n):
        assert same(out[i], expected[i]), (i, out[i], expected[i])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(good_conc, good_conc, good_conc, good_conc), max_size=40), st.floats(0, 5), st.floats(0, 45), st.sampled_from(sorted(FORMS)))
def test_e_gaba_array_twins(rows, r, t, form):
    n = len(rows)
    cols = [[row[k] for row in rows] or [1.0] for k in range(4)]
    out, bad = ffi.new("double[]", max(n, 1)), ffi.new("size_t *")
    status = lib.statim_e_gaba_array(*[ffi.new("double[]", c) for c in cols], n, r, t, FORMS[form], out, bad)
    assert status == 0
    k = ref.rt_over_f_mv(t)
    for i, (cl_in, cl_out, h_in, h_out) in enumerate(rows):
        expected = ref.e_gaba(cl_in, cl_out, h_in, h_out, r, t, form)
        # condition-aware: the weighted sum can cancel, so scale by its terms
        terms = abs(k * math.log(cl_in / cl_out)) + r * abs(k * math.log(h_in / h_out)) + abs(expected)
        assert same(out[i], expected, scale=terms), (i, out[i], expected)


@settings(max_examples=300, deadline=None)
@given(st.lists(conc, min_size=1, max_size=12), st.lists(conc, min_size=1, max_size=12))
def test_array_rejects_the_same_element(c_in, c_out):
    n = min(len(c_in), len(c_out))
    c_in, c_out = c_in[:n], c_out[:n]
    out, bad = ffi.new("double[]", n), ffi.new("size_t *")
    status = lib.statim_nernst_array(ffi.new("double[]", c_in), ffi.new("double[]", c_out), n, -1, 37.0, out, bad)
    _, err = ref_result(ref.nernst_array, c_in, c_out, -1, 37.0)
    assert (status != 0) == (err is not None)
    if status:
        assert ("[%d]" % bad[0]) in str(err).split(" ")[0]


def test_public_module_uses_c_when_built():
    from firmware.core import biophys

    assert biophys.BACKEND == "c"


def test_zero_copy_numpy_arrays():
    np = pytest.importorskip("numpy")
    from firmware.core import biophys

    c_in = np.linspace(1.0, 40.0, 1000)
    c_out = np.full(1000, 120.0)
    out = np.empty(1000)
    res = biophys.nernst_array(c_in, c_out, -1, out=out)
    assert res is out
    assert np.allclose(out, -ref.rt_over_f_mv(37.0) * np.log(120.0 / c_in), rtol=1e-12, atol=0)
    with pytest.raises(ValueError, match="out must be"):
        biophys.nernst_array(c_in, c_out, -1, out=np.empty(1000, dtype=np.float32))
