# Reversal potentials, pure Python: the twin of firmware/core_c/biophys.c.
#
# MicroPython-compatible.  Same validation order and the same expression order
# as the C code, so on a double-precision port both give the same number.
# Potentials in mV, concentrations in mM, temperature in degrees Celsius.
from array import array
import math

GAS_CONSTANT = 8.314462618  # J/(mol K), CODATA 2018 exact
FARADAY = 96485.33212  # C/mol, CODATA 2018 exact
ZERO_CELSIUS_K = 273.15
MAX_VALENCE = 8  # |z| above this is not an ion; rejected like z = 0

WEIGHTED = "weighted"  # (E_Cl + r E_HCO3) / (1 + r), r = g_HCO3 / g_Cl
GHK = "ghk"  # GHK for Cl- and HCO3-, p = P_HCO3 / P_Cl
FORMS = (WEIGHTED, GHK)

_INF = float("inf")

# What each kind of argument must be; the C backend reuses these words.
RULE_CONC = "must be a finite concentration > 0 mM"
RULE_NONNEG = "must be a finite number >= 0"
RULE_VALENCE = "must be a nonzero integer valence (|z| <= 8)"
RULE_MONOVALENT = "must be +1 or -1 (monovalent ion)"
RULE_TEMP = "must be a finite temperature above absolute zero (deg C)"
RULE_FORM = "must be 'weighted' or 'ghk'"
RULE_RESULT = "gives a concentration ratio outside the double range"


def invalid(name, value, rule):
    return ValueError("%s %s, got %r" % (name, rule, value))


def _is_num(x):
    # bool counts as int here, as it does when cffi converts it for the C backend
    return isinstance(x, (int, float))


def _conc_ok(c):
    return _is_num(c) and c > 0.0 and c < _INF


def _nonneg_ok(x):
    return _is_num(x) and x >= 0.0 and x < _INF


def _ratio_ok(q):
    return q > 0.0 and q < _INF


def _check_conc(name, c):
    if not _conc_ok(c):
        raise invalid(name, c, RULE_CONC)


def _check_valence(name, z):
    if not isinstance(z, int) or z == 0 or z > MAX_VALENCE or z < -MAX_VALENCE:
        raise invalid(name, z, RULE_VALENCE)


def rt_over_f_mv(temp_c=37.0):
    """RT/F in mV at temp_c (26.727 mV at 37 deg C)."""
    if not _is_num(temp_c) or not (temp_c < _INF):
        raise invalid("temp_c", temp_c, RULE_TEMP)
    t_k = temp_c + ZERO_CELSIUS_K
    if not (t_k > 0.0):
        raise invalid("temp_c", temp_c, RULE_TEMP)
    return 1000.0 * GAS_CONSTANT * t_k / FARADAY


def nernst(c_in_mM, c_out_mM, z, temp_c=37.0):
    """Nernst potential (mV) of an ion of valence z."""
    _check_conc("c_in_mM", c_in_mM)
    _check_conc("c_out_mM", c_out_mM)
    _check_valence("z", z)
    k = rt_over_f_mv(temp_c)
    q = c_out_mM / c_in_mM
    if not _ratio_ok(q):
        raise invalid("c_out_mM / c_in_mM", q, RULE_RESULT)
    return k * math.log(q) / float(z)


def ghk_voltage(ions, temp_c=37.0):
    """GHK voltage (mV); ions is a sequence of (z, permeability, c_in_mM, c_out_mM)."""
    n = len(ions)
    if n == 0:
        raise ValueError("ions must hold at least one (z, permeability, c_in_mM, c_out_mM)")
    num = 0.0
    den = 0.0
    for i in range(n):
        ion = ions[i]
        if len(ion) != 4:
            raise ValueError("ions[%d] must be (z, permeability, c_in_mM, c_out_mM), got %r" % (i, ion))
        z, p, c_in, c_out = ion
        if not isinstance(z, int) or (z != 1 and z != -1):
            raise invalid("ions[%d].z" % i, z, RULE_MONOVALENT)
        if not _nonneg_ok(p):
            raise invalid("ions[%d].permeability" % i, p, RULE_NONNEG)
        _check_conc("ions[%d].c_in_mM" % i, c_in)
        _check_conc("ions[%d].c_out_mM" % i, c_out)
        if z > 0:  # cations: outside on top
            num += p * c_out
            den += p * c_in
        else:  # anions: inside on top
            num += p * c_in
            den += p * c_out
    if not (num > 0.0) or not (den > 0.0):
        raise ValueError("ions: at least one permeability must be > 0")
    k = rt_over_f_mv(temp_c)
    q = num / den
    if not _ratio_ok(q):
        raise invalid("ions", q, RULE_RESULT)
    return k * math.log(q)


def _check_gaba(cl_in, cl_out, hco3_in, hco3_out, ratio, prefix, suffix):
    _check_conc(prefix + "cl_in" + suffix, cl_in)
    _check_conc(prefix + "cl_out" + suffix, cl_out)
    _check_conc(prefix + "hco3_in" + suffix, hco3_in)
    _check_conc(prefix + "hco3_out" + suffix, hco3_out)
    if not _nonneg_ok(ratio):
        raise invalid("ratio", ratio, RULE_NONNEG)


def _e_gaba_value(cl_in, cl_out, hco3_in, hco3_out, ratio, k, form):
    if form == GHK:
        return k * math.log((cl_in + ratio * hco3_in) / (cl_out + ratio * hco3_out))
    # anions (z = -1): E = (RT/F) ln(in / out)
    e_cl = k * math.log(cl_in / cl_out)
    e_hco3 = k * math.log(hco3_in / hco3_out)
    return (e_cl + ratio * e_hco3) / (1.0 + ratio)


def _check_form(form):
    if form != WEIGHTED and form != GHK:
        raise invalid("form", form, RULE_FORM)


def e_gaba(cl_in, cl_out, hco3_in, hco3_out, ratio, temp_c=37.0, form=WEIGHTED):
    """GABA-A reversal potential (mV) from Cl- and HCO3- (mM).

    form "weighted": ratio is r = g_HCO3/g_Cl; form "ghk": ratio is p = P_HCO3/P_Cl.
    """
    _check_gaba(cl_in, cl_out, hco3_in, hco3_out, ratio, "", "")
    k = rt_over_f_mv(temp_c)
    _check_form(form)
    v = _e_gaba_value(cl_in, cl_out, hco3_in, hco3_out, ratio, k, form)
    if not (v > -_INF and v < _INF):
        raise invalid("e_gaba", v, RULE_RESULT)
    return v


def _same_length(names, seqs):
    n = len(seqs[0])
    for i in range(1, len(seqs)):
        if len(seqs[i]) != n:
            raise ValueError("%s has length %d but %s has length %d" % (names[i], len(seqs[i]), names[0], n))
    return n


def _out_array(out, n):
    if out is None:
        return array("d", bytes(8 * n))
    if len(out) != n:
        raise ValueError("out has length %d, expected %d" % (len(out), n))
    return out


def nernst_array(c_in_mM, c_out_mM, z, temp_c=37.0, out=None):
    """Element-wise Nernst potentials; returns out (a new array('d') if None)."""
    n = _same_length(("c_in_mM", "c_out_mM"), (c_in_mM, c_out_mM))
    _check_valence("z", z)
    k = rt_over_f_mv(temp_c)
    for i in range(n):
        _check_conc("c_in_mM[%d]" % i, c_in_mM[i])
        _check_conc("c_out_mM[%d]" % i, c_out_mM[i])
        if not _ratio_ok(c_out_mM[i] / c_in_mM[i]):
            raise invalid("c_out_mM[%d] / c_in_mM[%d]" % (i, i), c_out_mM[i] / c_in_mM[i], RULE_RESULT)
    out = _out_array(out, n)
    zf = float(z)
    for i in range(n):
        out[i] = k * math.log(c_out_mM[i] / c_in_mM[i]) / zf
    return out


def e_gaba_array(cl_in, cl_out, hco3_in, hco3_out, ratio, temp_c=37.0, form=WEIGHTED, out=None):
    """Element-wise E_GABA over equal-length concentration sequences."""
    n = _same_length(("cl_in", "cl_out", "hco3_in", "hco3_out"), (cl_in, cl_out, hco3_in, hco3_out))
    if not _nonneg_ok(ratio):
        raise invalid("ratio", ratio, RULE_NONNEG)
    k = rt_over_f_mv(temp_c)
    _check_form(form)
    for i in range(n):
        _check_gaba(cl_in[i], cl_out[i], hco3_in[i], hco3_out[i], ratio, "", "[%d]" % i)
    out = _out_array(out, n)
    for i in range(n):
        v = _e_gaba_value(cl_in[i], cl_out[i], hco3_in[i], hco3_out[i], ratio, k, form)
        if not (v > -_INF and v < _INF):
            raise invalid("e_gaba[%d]" % i, v, RULE_RESULT)
        out[i] = v
    return out
