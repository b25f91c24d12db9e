# Strict parsing of clinical quantities into integers.
#
# Every entry must carry an explicit unit: "4 mg", "2 mg/kg/h", "70 kg",
# "154 lb", "10 min".  A bare number, an unknown unit, a decimal comma,
# a missing leading zero (".5"), signs, exponents, NaN or infinity raise
# UnitError with a message naming the problem -- nothing is ever guessed.
#
# Results are integers in fixed internal units so that every later
# comparison is exact on float32 boards and on CPython alike:
#   mass      micrograms (ug); mg PE and mg fosphenytoin sodium kept apart
#   volume    microlitres (uL)
#   weight    grams (rounded half up; 1 lb = 453.59237 g exactly)
#   time      seconds (rounded half up)
#   rate      nanograms (or nanolitres) per [kg per] a whole number of s
# No float is created anywhere in this module.

KIND_MASS = "mass"  # plain mg / mcg / g
KIND_PE = "mass_pe"  # mg phenytoin sodium equivalents
KIND_FOSNA = "mass_fosna"  # mg fosphenytoin sodium (1.5 mg = 1 mg PE)
KIND_VOLUME = "volume"  # mL

_DIGITS = "0123456789"
_MU = ("\u00b5", "\u03bc")  # micro sign and Greek small mu


class UnitError(ValueError):
    """An entry that cannot be read without guessing; str() is the reason."""


# Units are exact tokens (clinical.md Review round 2 rule 12): case and spaces
# inside a unit are never normalised away, so "4 Mg", "4 MG" and "4 m g" are
# input errors, not 4 mg.  Accepted spellings: mg, mcg, ug, \u00b5g (and the
# Greek mu, which looks the same), g, mg PE, mL; kg, lb (and g) for weights.
# "mg FOS-Na" is kept so that mg of fosphenytoin sodium gets its own prompt.
# Unit text -> (kind, multiplier to ug or uL)
_MASS_UNITS = {
    "g": (KIND_MASS, 1000000),
    "mg": (KIND_MASS, 1000),
    "mcg": (KIND_MASS, 1),
    "ug": (KIND_MASS, 1),
    "\u00b5g": (KIND_MASS, 1),
    "\u03bcg": (KIND_MASS, 1),
    "mg PE": (KIND_PE, 1000),
    "mg FOS-Na": (KIND_FOSNA, 1000),
    "mL": (KIND_VOLUME, 1000),
}

_WEIGHT_UNITS = ("kg", "g", "lb")

_TIME_UNITS = {
    "s": 1,
    "sec": 1,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
}

# Ages: completed months (a year is 12 months; weeks and days by 365.25-day
# years, floored: a child is "1 y" from the first birthday).
_AGE_UNITS = {"y": 0, "years": 0, "year": 0, "mo": 1, "months": 1, "month": 1, "wk": 2, "weeks": 2, "d": 3,
              "days": 3}

# Infusion rates are per minute or per hour only ("mg/kg/s" is not a clinical
# unit and is far more likely a slip than an intent).
_RATE_TIME_UNITS = ("min", "h", "hr")


def _unit_token(unit, text, what, known, hint):
    """The unit exactly as written, if it is one of the known tokens."""
    if unit in known:
        return unit
    low = _fold(unit)
    for k in known:
        if _fold(k) == low:
            raise UnitError("%s '%s': unit '%s' is not written as '%s' (units are exact: case and spaces count)" % (
                what, text.strip(), unit, k))
    raise UnitError("%s '%s': unknown unit '%s' (use %s)" % (what, text.strip(), unit, hint))


def _fold(text):
    u = ""
    for ch in text.lower():
        if ch != " " and ch != "\t":
            u += "u" if ch in _MU else ch
    return u


def split_number(text, what="value"):
    """'4.5 mg' -> (45, 1, 'mg'): mantissa, decimal places, unit text.

    The number must be plain decimal with a leading digit; the unit is
    whatever follows (may be empty -- callers decide whether that is allowed).
    """
    if not isinstance(text, str):
        raise UnitError("%s must be text with a unit, e.g. '4 mg' (got %s)" % (what, _typename(text)))
    s = text.strip()
    if not s:
        raise UnitError("%s is empty" % what)
    if len(s) > 40:
        raise UnitError("%s '%s...' is too long to be a clinical entry" % (what, s[:20]))
    i = 0
    n = len(s)
    while i < n and (s[i] in _DIGITS or s[i] == "."):
        i += 1
    num = s[:i]
    unit = s[i:].strip()
    if not num:
        first = s[0]
        if first == "-":
            raise UnitError("%s '%s' is negative" % (what, s))
        if first == "+":
            raise UnitError("%s '%s': write the number without a sign" % (what, s))
        low = s.lower()
        if low.startswith("nan") or low.startswith("inf"):
            raise UnitError("%s '%s' is not a number" % (what, s))
        raise UnitError("%s '%s' does not start with a number" % (what, s))
    if num[0] == ".":
        raise UnitError("%s '%s': write a leading zero (0%s), a bare decimal point is easily missed" % (what, s, num))
    if num.count(".") > 1:
        raise UnitError("%s '%s' has more than one decimal point" % (what, s))
    if num[-1] == ".":
        raise UnitError("%s '%s' ends in a decimal point" % (what, s))
    if unit and unit[0] == ",":
        raise UnitError(
            "%s '%s' contains a comma: write 1500 or 1.5, never 1,500 or 1,5 (ambiguous)" % (what, s))
    if unit and unit[0] in "eE" and len(unit) > 1 and (unit[1] in _DIGITS or unit[1] in "+-"):
        raise UnitError("%s '%s': exponent notation is not accepted" % (what, s))
    if "." in num:
        whole, frac = num.split(".")
    else:
        whole, frac = num, ""
    if len(whole) + len(frac) > 12:
        raise UnitError("%s '%s' has too many digits to be a clinical entry" % (what, s))
    mant = int(whole + frac) if (whole + frac) else 0
    return mant, len(frac), unit


def _typename(x):
    if x is None:
        return "nothing"
    return type(x).__name__


def _nonzero(mant, text, what):
    if mant == 0:
        raise UnitError("%s '%s' is zero" % (what, text.strip()))


def _exact(mant, places, mult, text, what, resolution):
    """mant / 10**places * mult as an exact integer, or UnitError."""
    num = mant * mult
    den = 10 ** places
    if num % den:
        raise UnitError("%s '%s' is more precise than %s" % (what, text.strip(), resolution))
    return num // den


def round_half_up(num, den):
    """Nearest integer to num/den (num >= 0, den > 0), halves rounded up."""
    return (2 * num + den) // (2 * den)


def ceil_div(num, den):
    return -((-num) // den)


def parse_mass(text, what="dose"):
    """'4 mg' -> (4000, KIND_MASS); '1400 mg PE' -> (1400000, KIND_PE);
    '2 mL' -> (2000, KIND_VOLUME) (microlitres, converted later with a
    concentration).  Masses are whole micrograms."""
    mant, places, unit = split_number(text, what)
    if not unit:
        raise UnitError("%s '%s' has no unit: write e.g. '%s mg' or '%s mcg'" % (what, text.strip(), text.strip(), text.strip()))
    u = _unit_token(unit, text, what, _MASS_UNITS, "mg, mcg, g, mg PE or mL")
    _nonzero(mant, text, what)
    kind, mult = _MASS_UNITS[u]
    res = "1 microlitre" if kind == KIND_VOLUME else "1 microgram"
    return _exact(mant, places, mult, text, what, res), kind


def parse_weight(text):
    """'70 kg' / '154 lb' / '3500 g' -> grams (int, rounded half up)."""
    what = "weight"
    mant, places, unit = split_number(text, what)
    if not unit:
        raise UnitError("weight '%s' has no unit: write '%s kg' or '%s lb'" % (text.strip(), text.strip(), text.strip()))
    u = _unit_token(unit, text, what, _WEIGHT_UNITS, "kg or lb")
    _nonzero(mant, text, what)
    den = 10 ** places
    if u == "kg":
        g = round_half_up(mant * 1000, den)
    elif u == "g":
        g = round_half_up(mant, den)
    else:  # 1 lb = 0.45359237 kg exactly = 45359237 / 100000 g
        g = round_half_up(mant * 45359237, den * 100000)
    if g <= 0:
        raise UnitError("weight '%s' is less than 1 g" % text.strip())
    return g


def parse_duration(text, what="duration"):
    """'10 min' / '72h' / '90 s' -> seconds (int, rounded half up)."""
    mant, places, unit = split_number(text, what)
    if not unit:
        raise UnitError("%s '%s' has no unit: write e.g. '%s min'" % (what, text.strip(), text.strip()))
    u = _unit_token(unit, text, what, _TIME_UNITS, "s, min or h")
    _nonzero(mant, text, what)
    secs = round_half_up(mant * _TIME_UNITS[u], 10 ** places)
    if secs <= 0:
        raise UnitError("%s '%s' is less than 1 second" % (what, text.strip()))
    return secs


def parse_age(text):
    """'18 months' / '7 y' / '10 d' -> completed months (int)."""
    what = "age"
    mant, places, unit = split_number(text, what)
    if not unit:
        raise UnitError("age '%s' has no unit: write e.g. '%s y' or '%s months'" % (text.strip(), text.strip(), text.strip()))
    k = _AGE_UNITS[_unit_token(unit, text, what, _AGE_UNITS, "y, months, weeks or days")]
    den = 10 ** places
    if k == 0:
        return mant * 12 // den
    if k == 1:
        return mant // den
    days = mant * (7 if k == 2 else 1)
    return days * 48 // (1461 * den)  # 365.25 days = 12 months


def parse_rate(text, what="rate"):
    """'2 mg/kg/h' -> (2000000, KIND_MASS, True, 3600): amount in ng (or nL
    for mL rates) per kg (if the flag is set) per that many seconds."""
    mant, places, unit = split_number(text, what)
    t = text.strip()
    if not unit:
        raise UnitError("%s '%s' has no unit: write e.g. '%s mg/kg/h'" % (what, t, t))
    parts = unit.split("/")
    if len(parts) == 3 and parts[1] == "kg":
        per_kg = True
    elif len(parts) == 2:
        per_kg = False
    else:
        raise UnitError("%s '%s': unit '%s' is not a rate (use e.g. mg/kg/h, mcg/kg/min, mg/h, mL/h)" % (what, t, unit))
    mu, tu = parts[0], parts[-1]
    mu = _unit_token(mu, text, what, _MASS_UNITS, "mg, mcg or mL per kg per min or h")
    if tu not in _RATE_TIME_UNITS:
        raise UnitError("%s '%s': unknown time unit '/%s' (use /min or /h; units are exact)" % (what, t, tu))
    _nonzero(mant, text, what)
    kind, mult = _MASS_UNITS[mu]
    res = "1 nanolitre" if kind == KIND_VOLUME else "1 nanogram"
    amount = _exact(mant, places, mult * 1000, text, what, res)
    return amount, kind, per_kg, _TIME_UNITS[tu]


def parse_concentration(text, what="concentration"):
    """'2 mg/mL' -> (2000, KIND_MASS): micrograms (or ug PE) per mL."""
    mant, places, unit = split_number(text, what)
    t = text.strip()
    if not unit:
        raise UnitError("%s '%s' has no unit: write e.g. '%s mg/mL'" % (what, t, t))
    parts = unit.split("/")
    if len(parts) != 2 or parts[1] != "mL" or parts[0] not in _MASS_UNITS or parts[0] == "mL":
        raise UnitError("%s '%s': unit '%s' is not a concentration (use mg/mL or mg PE/mL)" % (what, t, unit))
    _nonzero(mant, text, what)
    kind, mult = _MASS_UNITS[parts[0]]
    return _exact(mant, places, mult, text, what, "1 microgram per mL"), kind


# ---- formatting (integers in, text out; no trailing zeros, ISMP style) ----

def fmt_fixed(num, den, places):
    """num/den rounded half up to `places` decimals, trailing zeros dropped."""
    scale = 10 ** places
    v = round_half_up(num * scale, den)
    whole = v // scale
    frac = v % scale
    if not frac:
        return "%d" % whole
    fs = ("%0" + str(places) + "d") % frac
    while fs.endswith("0"):
        fs = fs[:-1]
    return "%d.%s" % (whole, fs)


def fmt_ug(ug, unit="mg"):
    """4000 -> '4 mg'; 933333 -> '933.333 mg'; 'mg PE' keeps its suffix."""
    return "%s %s" % (fmt_fixed(ug, 1000, 3), unit)


def fmt_weight(grams):
    return "%s kg" % fmt_fixed(grams, 1000, 3)


def fmt_seconds_as_min(seconds):
    return "%s min" % fmt_fixed(seconds, 60, 1)
