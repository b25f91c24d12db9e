"""Reversal potentials against the clinical reference (clinical.md §10) and NEURON.

Expected numbers come from the reference text and from NEURON 9.0.2 run with
the same CODATA 2018 constants, not from this code.  Both backends are checked:
the public module (C when built) and the pure-Python twin.
"""
import math

import pytest

from firmware.core import biophys, biophys_ref

BACKENDS = [pytest.param(biophys, id="public-" + biophys.BACKEND), pytest.param(biophys_ref, id="python")]
TOL_MV = 1e-4


@pytest.fixture(params=BACKENDS)
def bp(request):
    return request.param


def test_rt_over_f_matches_reference_table():
    # clinical.md §10 "Derived": RT/F 26.727 mV at 37 °C, 26.641 at 36, 25.693 at 25
    assert biophys_ref.rt_over_f_mv(37.0) == pytest.approx(26.727, abs=5e-4)
    # The table's 36 °C entry, 26.641, is 26.6405 rounded half-up twice; the exact value is
    # 8.314462618 * 309.15 / 96485.33212 * 1000 = 26.64049 mV.
    assert biophys_ref.rt_over_f_mv(36.0) == pytest.approx(26.64049, abs=5e-6)
    assert biophys_ref.rt_over_f_mv(25.0) == pytest.approx(25.693, abs=5e-4)
    assert math.log(10) * biophys_ref.rt_over_f_mv(37.0) == pytest.approx(61.54, abs=5e-3)


def test_e_cl_healthy_and_loaded_match_neuron(bp):
    assert bp.nernst(5, 120, -1) == pytest.approx(-84.93876136502196, abs=TOL_MV)
    assert bp.nernst(20, 120, -1) == pytest.approx(-47.88774454572968, abs=TOL_MV)
    assert bp.nernst(5.0, 120.0, -1, 37.0) == pytest.approx(-84.9388, abs=TOL_MV)


@pytest.mark.parametrize(
    "cl_in, expected",
    [(4, -90.90), (5, -84.94), (7, -75.95), (10, -66.41), (15, -55.58), (20, -47.89), (25, -41.92)],
)
def test_e_cl_worked_table(bp, cl_in, expected):
    assert bp.nernst(cl_in, 120, -1) == pytest.approx(expected, abs=0.005)


@pytest.mark.parametrize(
    "hco3_in, hco3_out, expected",
    [(10, 25, -24.49), (12, 24, -18.53), (15, 25, -13.65), (16, 26, -12.98), (16, 25, -11.93)],
)
def test_e_hco3_worked_table(bp, hco3_in, hco3_out, expected):
    assert bp.nernst(hco3_in, hco3_out, -1) == pytest.approx(expected, abs=0.005)


def test_nernst_cation_sign_and_valence(bp):
    # E_K for 140 in / 5 out is about -89 mV (clinical.md §10 resting example)
    assert bp.nernst(140, 5, 1) == pytest.approx(-89.06, abs=0.01)
    # divalent ion: half the monovalent potential for the same ratio
    assert bp.nernst(0.0001, 2, 2) == pytest.approx(bp.nernst(0.0001, 2, 1) / 2, rel=1e-15)


def test_ghk_potassium_only_equals_e_k(bp):
    e_k = bp.nernst(140, 5, 1)
    assert bp.ghk_voltage([(1, 1.0, 140, 5)]) == pytest.approx(e_k, rel=1e-14)
    # zero-permeability ions do not move the potential
    assert bp.ghk_voltage([(1, 1.0, 140, 5), (1, 0.0, 10, 145), (-1, 0.0, 10, 110)]) == pytest.approx(
        e_k, rel=1e-14
    )


def test_ghk_three_ions(bp):
    # issue acceptance: K 140/5, Na 10/145, Cl 10/110 mM (in/out), P 1 : 0.05 : 0.45
    v = bp.ghk_voltage([(1, 1.0, 140, 5), (1, 0.05, 10, 145), (-1, 0.45, 10, 110)])
    assert v == pytest.approx(-64.9091, abs=TOL_MV)


def test_ghk_resting_example_of_reference(bp):
    # clinical.md §10: K 5/140, Na 145/15, Cl 120/10 (out/in), P 1:0.05:0.45 -> -65.6 mV
    v = bp.ghk_voltage([(1, 1.0, 140, 5), (1, 0.05, 15, 145), (-1, 0.45, 10, 120)])
    assert v == pytest.approx(-65.6, abs=0.05)


def test_e_gaba_weighted_reproduces_seed_values(bp):
    assert bp.e_gaba(5, 120, 15, 25, 0.2) == pytest.approx(-73.06, abs=0.005)
    assert bp.e_gaba(20, 120, 15, 25, 0.2) == pytest.approx(-42.18, abs=0.005)
    # alternatives listed in the reference
    assert bp.e_gaba(5, 120, 16, 26, 0.2) == pytest.approx(-72.94, abs=0.005)
    assert bp.e_gaba(20, 120, 16, 26, 0.2) == pytest.approx(-42.07, abs=0.005)
    assert bp.e_gaba(5, 120, 18, 25, 0.18) == pytest.approx(-73.32, abs=0.005)
    assert bp.e_gaba(20, 120, 18, 25, 0.18) == pytest.approx(-41.92, abs=0.005)


def test_e_gaba_weighted_is_the_conductance_average(bp):
    e_cl = bp.nernst(5, 120, -1)
    e_hco3 = bp.nernst(15, 25, -1)
    assert bp.e_gaba(5, 120, 15, 25, 0.2) == pytest.approx((e_cl + 0.2 * e_hco3) / 1.2, rel=1e-14)
    # r = 0: pure chloride
    assert bp.e_gaba(5, 120, 15, 25, 0.0) == pytest.approx(e_cl, rel=1e-14)


def test_e_gaba_ghk_form(bp):
    assert bp.e_gaba(5, 120, 15, 25, 0.2, form="ghk") == pytest.approx(-73.47, abs=0.005)
    assert bp.e_gaba(20, 120, 15, 25, 0.2, form="ghk") == pytest.approx(-45.24, abs=0.005)
    # GHK with two anions equals the general GHK voltage with those two ions
    v = bp.ghk_voltage([(-1, 1.0, 5, 120), (-1, 0.2, 15, 25)])
    assert bp.e_gaba(5, 120, 15, 25, 0.2, form="ghk") == pytest.approx(v, rel=1e-14)


def test_array_forms_match_scalars(bp):
    cl = [4, 5, 7, 10, 15, 20, 25]
    out = bp.nernst_array(cl, [120] * len(cl), -1)
    assert list(out) == pytest.approx([bp.nernst(c, 120, -1) for c in cl], rel=1e-13)
    eg = bp.e_gaba_array(cl, [120] * 7, [15] * 7, [25] * 7, 0.2)
    assert list(eg) == pytest.approx([bp.e_gaba(c, 120, 15, 25, 0.2) for c in cl], rel=1e-13)
    assert len(bp.nernst_array([], [], -1)) == 0


@pytest.mark.parametrize(
    "call, names",
    [
        (lambda b: b.nernst(0, 120, -1), "c_in_mM"),
        (lambda b: b.nernst(-5, 120, -1), "c_in_mM"),
        (lambda b: b.nernst(5, float("nan"), -1), "c_out_mM"),
        (lambda b: b.nernst(5, float("inf"), -1), "c_out_mM"),
        (lambda b: b.nernst(5, 120, 0), "z"),
        (lambda b: b.nernst(5, 120, 1.5), "z"),
        (lambda b: b.nernst(5, 120, -1, float("nan")), "temp_c"),
        (lambda b: b.nernst(5, 120, -1, -300.0), "temp_c"),
        (lambda b: b.nernst("5", 120, -1), "c_in_mM"),
        (lambda b: b.ghk_voltage([]), "ions"),
        (lambda b: b.ghk_voltage([(2, 1.0, 5, 5)]), "ions[0].z"),
        (lambda b: b.ghk_voltage([(1, 1.0, 5, 5), (1, -1.0, 5, 5)]), "ions[1].permeability"),
        (lambda b: b.ghk_voltage([(1, 0.0, 5, 5)]), "ions"),
        (lambda b: b.ghk_voltage([(1, 1.0, 5, 0)]), "ions[0].c_out_mM"),
        (lambda b: b.e_gaba(5, 120, 0, 25, 0.2), "hco3_in"),
        (lambda b: b.e_gaba(5, 120, 15, -25, 0.2), "hco3_out"),
        (lambda b: b.e_gaba(5, 120, 15, 25, -0.2), "ratio"),
        (lambda b: b.e_gaba(5, 120, 15, 25, 0.2, form="fractional"), "form"),
        (lambda b: b.nernst_array([5, 20, -1], [120, 120, 120], -1), "c_in_mM[2]"),
        (lambda b: b.nernst_array([5, 20], [120], -1), "c_out_mM"),
        (lambda b: b.e_gaba_array([5, 20], [120, 120], [15, 15], [25, float("nan")], 0.2), "hco3_out[1]"),
        (lambda b: b.nernst(1e-300, 1e300, -1), "c_out_mM / c_in_mM"),
    ],
)
def test_invalid_input_raises_value_error_naming_the_argument(bp, call, names):
    with pytest.raises(ValueError) as err:
        call(bp)
    assert str(err.value).startswith(names)
