# Dose checking against the drug library (clinical reference section 12).
#
# check_dose() returns a verdict dict; it never raises and never answers
# "adequate" for something it could not compute.  Verdicts, most severe wins:
#   error       input that cannot be verified (no unit, absurd value, unknown
#               drug, unverified library, no reference dose for this patient)
#   hard        refused: dose > 2 x reference, or a boxed-warning rate
#   soft        needs a reasoned, logged override
#   underdosed  below 0.9 x the lower reference
#   adequate    within the reference
#
# Arithmetic is integer-only.  Doses are micrograms, weights grams, times
# seconds; a weight-based reference is kept in nanograms (ug/kg x g), so
# every comparison is an exact integer cross-multiplication and a verdict
# cannot flip between a float32 board and CPython.  Rounding happens only
# for displayed numbers, and is explicit (half up; minimum times up).
from . import druglib
from . import rules as _rules
from . import units

ADEQUATE = "adequate"
UNDERDOSED = "underdosed"
SOFT = "soft"
HARD = "hard"
ERROR = "error"
VERDICTS = (ADEQUATE, UNDERDOSED, SOFT, HARD, ERROR)
_RANK = {ADEQUATE: 0, UNDERDOSED: 1, SOFT: 2, HARD: 3, ERROR: 4}


_MICRO = ("mcg", "ug", "\u00b5g", "\u03bcg")
# Below 2 years: ESETT enrolled from 2 y, AES excludes neonates (Review round 2 rule 13)
EVIDENCE_FROM_MONTHS = 24
OUTSIDE = "outside the guideline's population: neonatal dosing needs a neonatal protocol"


class _Refuse(Exception):
    """Internal: stop checking with an error verdict (message in args[0])."""


def _new_verdict(drug, route, reference):
    return {
        "verdict": ADEQUATE,
        "drug": drug if isinstance(drug, str) else None,
        "route": route if isinstance(route, str) else None,
        "reference": reference if isinstance(reference, str) else None,
        "library_version": None,
        "library_sha256": None,
        "mode": None,
        "line": None,
        "weight_g": None,
        "age_group": None,
        "age_group_inferred": False,
        "dose_ug": None,
        "dose_unit": None,
        "entered_unit": None,
        "rate": None,
        "rate_ng_per_kg_h": None,  # [num, den]: exact rational
        "over_s": None,
        "duration_s": None,
        "target": None,
        "target_ug": None,
        "target_low_ug": None,
        "target_high_ug": None,
        "maximum": None,
        "maximum_ug": None,
        "volume_ml": None,
        "volume_ul": None,
        "concentration": None,
        "pump_ml_h": None,
        "pump_ul_h": None,
        "min_minutes": None,
        "min_seconds": None,
        "counts_toward": None,
        "counts_as_adequate": False,
        "bzd_permille": 0,
        "bzd_cumulative_permille": 0,
        "second_line_adequate": False,
        "age_months": None,
        "extrapolated": False,
        "route_outside_esett": False,
        "limits": [],
        "messages": [],
        "cautions": [],
    }


def _raise(v, level):
    if _RANK[level] > _RANK[v["verdict"]]:
        v["verdict"] = level


def _finding(v, level, code, message, value=None, limit=None):
    """Record a limit event (logged by the caller) and its message."""
    if level in (SOFT, HARD, UNDERDOSED):
        v["limits"].append({"level": level, "code": code, "message": message, "value": value, "limit": limit})
        _raise(v, level)
    v["messages"].append(message)


def _fail(v, message):
    v["verdict"] = ERROR
    v["messages"].append(message)
    v["counts_as_adequate"] = False
    v["bzd_permille"] = 0
    v["bzd_cumulative_permille"] = 0
    v["second_line_adequate"] = False
    return v


def _ratio_text(num, den):
    """num/den as 'x.y times' (one decimal, half up)."""
    return units.fmt_fixed(num, den, 1)


# ---------------------------------------------------------------- inputs ----

def _as_int(value, what, unit_hint):
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float):
            raise _Refuse("%s %s is a bare number: give text with a unit, e.g. %s" % (what, _float_text(value), unit_hint))
        raise _Refuse("%s must be text with a unit, e.g. %s" % (what, unit_hint))
    if value <= 0:
        raise _Refuse("%s %d is %s" % (what, value, "zero" if value == 0 else "negative"))
    return value


def _float_text(x):
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "infinite"
    return "(a float)"


def _parse(fn, value, what, unit_hint, *args):
    if isinstance(value, str):
        try:
            return fn(value, *args) if args else fn(value)
        except units.UnitError as e:
            raise _Refuse(str(e))
    return None


def _weight(value, lib):
    if isinstance(value, str):
        try:
            w = units.parse_weight(value)
        except units.UnitError as e:
            raise _Refuse(str(e))
    else:
        w = _as_int(value, "weight", "'70 kg' or '154 lb'")
    lo = lib.setting("weight_error_below_g")
    hi = lib.setting("weight_error_above_g")
    if w < lo:
        raise _Refuse("weight %s is below %s: not a plausible patient weight" % (units.fmt_weight(w), units.fmt_weight(lo)))
    if w > hi:
        raise _Refuse("weight %s is above %s: not a plausible patient weight (entered in lb or g?)" % (
            units.fmt_weight(w), units.fmt_weight(hi)))
    return w


def _seconds(value, what, upper):
    if isinstance(value, str):
        try:
            s = units.parse_duration(value, what)
        except units.UnitError as e:
            raise _Refuse(str(e))
    else:
        s = _as_int(value, what, "'10 min'")
    if s > upper:
        raise _Refuse("%s %s is not plausible (more than %s)" % (what, units.fmt_seconds_as_min(s), units.fmt_seconds_as_min(upper)))
    return s


def _age_group(age_group, weight_g, lib):
    if age_group is None:
        return ("child" if weight_g < lib.setting("child_below_g") else "adult"), True
    if age_group not in druglib.AGE_GROUPS:
        raise _Refuse("age group %r is not one of: adult, child" % (age_group,))
    return age_group, False


def _weight_change(v, lib, weight_g, prev_weight_g):
    """Findings for a weight re-entered during an episode (clinical.md Review round 2, rule 2):
    new/old about 2.2 (or 1/2.2) looks like a lb/kg slip; any other change above the
    library's limit (20 %) needs confirmation with the previous value shown."""
    if isinstance(prev_weight_g, bool) or not isinstance(prev_weight_g, int) or prev_weight_g <= 0:
        raise _Refuse("previous weight must be a positive number of grams")
    w = units.fmt_weight(weight_g)
    pw = units.fmt_weight(prev_weight_g)
    lo, hi = _LB_RATIO_PERMILLE
    chg = _CHANGE_SOFT_PERMILLE
    if lib.verified:
        lo, hi = lib.setting("lb_ratio_permille")
        chg = lib.settings.get("weight_change_soft_permille", chg)
    if lo * prev_weight_g <= 1000 * weight_g <= hi * prev_weight_g:
        _finding(v, SOFT, "weight_lb_as_kg",
                 "weight %s is %s times the previous %s: was the weight entered in lb? (%s lb = %s)" % (
                     w, _ratio_text(weight_g, prev_weight_g), pw, units.fmt_fixed(weight_g, 1000, 1),
                     units.fmt_weight(units.round_half_up(weight_g * 45359237, 100000000))), weight_g, prev_weight_g)
    elif lo * weight_g <= 1000 * prev_weight_g <= hi * weight_g:
        _finding(v, SOFT, "weight_kg_as_lb",
                 "weight %s is 1/%s of the previous %s: was the weight entered in lb instead of kg?" % (
                     w, _ratio_text(prev_weight_g, weight_g), pw), weight_g, prev_weight_g)
    elif abs(weight_g - prev_weight_g) * 1000 > chg * prev_weight_g:
        _finding(v, SOFT, "weight_change",
                 "weight %s is %s %s than the previous %s: confirm the new weight" % (
                     w, _percent(abs(weight_g - prev_weight_g), prev_weight_g),
                     "more" if weight_g > prev_weight_g else "less", pw), weight_g, prev_weight_g)


# Used for a weight entry when the library cannot be verified (doses are refused
# then, but the weight still goes on the record with the same checks).
_WEIGHT_BOUNDS_G = {"weight_error_below_g": 300, "weight_error_above_g": 350000}
_LB_RATIO_PERMILLE = (2090, 2310)
_CHANGE_SOFT_PERMILLE = 200


def _check_weight_plausible(v, lib, weight_g, age_group, inferred, prev_weight_g):
    w = units.fmt_weight(weight_g)
    if prev_weight_g is not None:
        _weight_change(v, lib, weight_g, prev_weight_g)
    if inferred or not lib.verified:
        return  # the group was derived from this weight; only the hard bounds apply
    plo, phi = lib.setting("weight_plausible_g")[age_group]
    if weight_g > phi:
        _finding(v, SOFT, "weight_high",
                 "weight %s is above the plausible range for this patient (%s, up to %s) \u2014 entered in lb?" % (
                     w, age_group, units.fmt_weight(phi)), weight_g, phi)
    elif weight_g < plo:
        _finding(v, SOFT, "weight_low",
                 "weight %s is below the plausible range for this patient (%s, from %s) \u2014 entered in the wrong unit?" % (
                     w, age_group, units.fmt_weight(plo)), weight_g, plo)


def check_weight(weight, prev_weight_g=None, age_group=None, library=None, age=None):
    """The verdict on a weight entry, like a dose's: adequate, soft (needs a
    reasoned override to be applied) or error (never applied).

    weight: '70 kg' / '154 lb' or int grams; prev_weight_g: the weight in use
    (None for a first entry); age: '18 months' / '7 y' (optional, entered with
    the weight).  Never raises."""
    v = {"verdict": ADEQUATE, "weight_g": None, "prev_weight_g": prev_weight_g, "age_months": None, "limits": [],
         "messages": []}
    try:
        lib = library if library is not None else druglib.get()
        if lib.verified:
            w = _weight(weight, lib)
        else:
            w = _weight(weight, _Defaults())
            v["messages"].append("drug library not verified (%s): weight checked against built-in limits" % lib.reason)
        v["weight_g"] = w
        if age is not None:
            try:
                v["age_months"] = units.parse_age(age) if isinstance(age, str) else None
            except units.UnitError as e:
                raise _Refuse(str(e))
            if v["age_months"] is None or v["age_months"] > 1800:
                raise _Refuse("age must be text with a unit, e.g. '18 months' or '7 y'")
            if v["age_months"] < EVIDENCE_FROM_MONTHS:
                v["messages"].append(OUTSIDE)
        group = age_group
        if group is not None and group not in druglib.AGE_GROUPS:
            raise _Refuse("age group %r is not one of: adult, child" % (group,))
        _check_weight_plausible(v, lib, w, group, group is None, prev_weight_g)
        if v["verdict"] == ADEQUATE:
            if prev_weight_g is None or prev_weight_g == w:
                v["messages"].append("weight %s" % units.fmt_weight(w))
            else:
                v["messages"].append("weight %s (previous %s)" % (units.fmt_weight(w), units.fmt_weight(prev_weight_g)))
    except _Refuse as e:
        v["verdict"] = ERROR
        v["messages"].append(e.args[0])
    except Exception as e:  # a bug must never apply a weight unchecked
        v["verdict"] = ERROR
        v["messages"].append("internal error while checking the weight (%s: %s)" % (type(e).__name__, e))
    return v


def weight_entry(v, override=None):
    """Whether a checked weight may be applied (v["apply"]) and the note that
    goes in the log before it (or None): error never; soft only with an
    override reason of 3 characters or more; a change shows the previous weight."""
    v["logged"] = False
    v["event"] = None
    v["apply"] = False
    verdict = v["verdict"]
    if verdict not in (ADEQUATE, SOFT):
        return None
    why = ""
    if verdict == SOFT:
        if not override or len(str(override).strip()) < 3:
            v["messages"].append("soft limit: give an override reason to apply this weight")
            return None
        why = ", override: %s [%s]" % (str(override).strip(), ",".join([str(x["code"]) for x in v["limits"]]))
    v["apply"] = True
    old = v.get("prev_weight_g")
    if (old is None or old == v["weight_g"]) and not why:
        return None
    return ("weight %s -> %s%s" % ("-" if old is None else units.fmt_weight(old), units.fmt_weight(v["weight_g"]),
                                   why))[:200]  # events.NOTE_MAX


class _Defaults:
    verified = False

    def setting(self, name):
        return _WEIGHT_BOUNDS_G[name]


# ------------------------------------------------------ reference doses ----

def _reference_dose(rule, weight_g, v, drug_name, unit):
    """(low_ng, high_ng, max_ug, description) for a dose rule, or _Refuse."""
    if not isinstance(rule, dict):
        raise _Refuse("the library has no %s dose for %s %s under the %s reference" % (
            v["age_group"], drug_name, v["route"], v["reference"]))
    basis = rule.get("basis")
    mx = rule.get("max_ug")
    mx_ng = mx * 1000 if mx is not None else None
    kg = units.fmt_weight(weight_g)

    def cap(x):
        return x if mx_ng is None or x < mx_ng else mx_ng

    if basis == "per_kg":
        t = rule["ug_per_kg"] * weight_g
        c = cap(t)
        desc = "%s/kg" % units.fmt_ug(rule["ug_per_kg"], unit)
        if mx is not None:
            desc += ", max %s" % units.fmt_ug(mx, unit)
        return c, c, mx, "%s for %s (%s)" % (units.fmt_ug(_ng_to_ug(c), unit), kg, desc)
    if basis == "per_kg_range":
        lo = cap(rule["lo_ug_per_kg"] * weight_g)
        hi = cap(rule["hi_ug_per_kg"] * weight_g)
        desc = "%s-%s/kg" % (units.fmt_fixed(rule["lo_ug_per_kg"], 1000, 3), units.fmt_ug(rule["hi_ug_per_kg"], unit))
        if mx is not None:
            desc += ", max %s" % units.fmt_ug(mx, unit)
        return lo, hi, mx, "%s-%s for %s (%s)" % (
            units.fmt_fixed(_ng_to_ug(lo), 1000, 3), units.fmt_ug(_ng_to_ug(hi), unit), kg, desc)
    if basis == "flat_range":
        lo = rule["lo_ug"] * 1000
        hi = rule["hi_ug"] * 1000
        return lo, hi, mx, "%s-%s (flat dose)" % (units.fmt_fixed(rule["lo_ug"], 1000, 3), units.fmt_ug(rule["hi_ug"], unit))
    if basis == "bands":
        for b in rule["bands"]:
            if weight_g >= b["lo_g"] and (b["hi_g"] is None or weight_g <= b["hi_g"]):
                c = b["ug"] * 1000
                if b["hi_g"] is None:
                    band = "above %s" % units.fmt_weight(b["lo_g"] - 1)
                else:
                    band = "%s-%s band" % (units.fmt_fixed(b["lo_g"], 1000, 3), units.fmt_weight(b["hi_g"]))
                return c, c, mx, "%s for %s (%s)" % (units.fmt_ug(b["ug"], unit), kg, band)
        raise _Refuse("%s at %s: %s" % (drug_name, kg, rule.get("uncovered", "no weight band covers this weight")))
    if basis == "age_bands":
        m = v["age_months"]
        top = rule["bands"][-1]
        if m is None:
            if v["age_group"] != "adult" or top["hi_mo"] is not None:
                raise _Refuse("%s %s is dosed by age (%s): enter the patient's age" % (
                    drug_name, v["route"], rule.get("src", "")))
            b = top
        else:
            b = None
            for x in rule["bands"]:
                if m >= x["lo_mo"] and (x["hi_mo"] is None or m <= x["hi_mo"]):
                    b = x
            if b is None:
                raise _Refuse("%s at %s: %s" % (drug_name, _age_text(m), rule.get("uncovered", "no age band covers this age")))
        c = b["ug"] * 1000
        band = "adults" if m is None else _age_text(m)
        return c, c, mx, "%s for %s (age band %s%s)" % (
            units.fmt_ug(b["ug"], unit), band, _age_text(b["lo_mo"]),
            " and over" if b["hi_mo"] is None else "-" + _age_text(b["hi_mo"]))
    if basis == "none":
        raise _Refuse("%s %s for a %s: %s" % (drug_name, v["route"], v["age_group"], rule.get("why", "not covered")))
    raise _Refuse("library rule for %s %s has an unknown dosing basis %r" % (drug_name, v["route"], basis))


def _age_text(months):
    if months < 24:
        return "%d months" % months
    return "%d y" % (months // 12)


def _ng_to_ug(ng):
    return units.round_half_up(ng, 1000)


def _dose_amount(value, entry, v, concentration_ug_ml, drug_name):
    """Parse the entered dose into micrograms of the library's dose unit."""
    unit = entry.get("dose_unit", "mg")
    pe_drug = unit == "mg PE"
    if not isinstance(value, str):
        return _as_int(value, "dose", "'4 mg'")
    try:
        amount, kind = units.parse_mass(value, "dose")
        v["entered_unit"] = units.split_number(value, "dose")[2]
    except units.UnitError as e:
        raise _Refuse(str(e))
    if kind == units.KIND_VOLUME:
        if concentration_ug_ml is None:
            raise _Refuse("dose %s is a volume, and %s comes in %s: give the concentration" % (
                value.strip(), drug_name, _conc_list(entry, unit)))
        v["messages"].append("%s of %s/mL read as %s" % (
            value.strip(), units.fmt_ug(concentration_ug_ml, unit),
            units.fmt_ug(units.round_half_up(amount * concentration_ug_ml, 1000), unit)))
        return units.round_half_up(amount * concentration_ug_ml, 1000)
    if kind == units.KIND_MASS:
        if pe_drug:
            raise _Refuse("%s doses must be entered in mg PE (phenytoin sodium equivalents): write '%s PE', or "
                          "'%s FOS-Na' if you mean mg of fosphenytoin sodium" % (drug_name, value.strip(), value.strip()))
        return amount
    if kind == units.KIND_PE:
        if pe_drug or v["drug"] == "phenytoin":
            return amount
        raise _Refuse("mg PE applies only to fosphenytoin and phenytoin, not %s" % drug_name)
    if kind == units.KIND_FOSNA:
        if not pe_drug:
            raise _Refuse("mg fosphenytoin sodium applies only to fosphenytoin, not %s" % drug_name)
        pe = (amount * 2) // 3  # 1.5 mg fosphenytoin sodium = 1 mg PE; floor to 1 ug PE
        v["messages"].append("enter fosphenytoin in mg PE: %s fosphenytoin sodium = %s" % (
            units.fmt_ug(amount, "mg"), units.fmt_ug(pe, "mg PE")))
        return pe
    raise _Refuse("dose %s: unsupported unit" % value.strip())


def _conc_list(entry, unit):
    return " or ".join(["%s/mL" % units.fmt_ug(c, unit) for c in entry.get("concentrations_ug_per_ml", [])])


def _concentration(value, entry, drug_name, pe_ok=False):
    """Chosen concentration (ug/mL) or None if none was given."""
    unit = entry.get("dose_unit", "mg")
    if value is None:
        return None
    if isinstance(value, str):
        try:
            c, kind = units.parse_concentration(value)
        except units.UnitError as e:
            raise _Refuse(str(e))
        if kind == units.KIND_VOLUME or kind == units.KIND_FOSNA:
            raise _Refuse("concentration %s: wrong unit for %s" % (value.strip(), drug_name))
        if unit == "mg PE" and kind != units.KIND_PE:
            raise _Refuse("%s concentration must be in mg PE/mL" % drug_name)
        if unit != "mg PE" and kind == units.KIND_PE and not pe_ok:
            raise _Refuse("concentration %s: mg PE applies only to fosphenytoin and phenytoin" % value.strip())
    else:
        c = _as_int(value, "concentration", "'2 mg/mL'")
    if c not in entry.get("concentrations_ug_per_ml", []):
        raise _Refuse("concentration %s/mL is not in the library for %s (library: %s)" % (
            units.fmt_ug(c, unit), drug_name, _conc_list(entry, unit)))
    return c


# ----------------------------------------------------------- bolus check ----

def _check_bolus(v, lib, entry, rule, d_ug, weight_g, over_s, drug_name, conc, history, t, rate_rules):
    unit = entry.get("dose_unit", "mg")
    if d_ug > lib.setting("max_dose_ug"):
        raise _Refuse("dose %s is not a plausible entry (more than %s)" % (
            units.fmt_ug(d_ug, unit), units.fmt_ug(lib.setting("max_dose_ug"), "mg")))
    v["dose_ug"] = d_ug
    lo, hi, mx, desc = _reference_dose(rule, weight_g, v, drug_name, unit)
    v["target_low_ug"] = _ng_to_ug(lo)
    v["target_high_ug"] = _ng_to_ug(hi)
    v["target_ug"] = v["target_high_ug"]
    v["target"] = desc
    v["maximum_ug"] = mx
    v["maximum"] = units.fmt_ug(mx, unit) if mx is not None else None
    s = lib.settings
    dn = d_ug * 1000
    if v["dose_unit"] == "mg" and v["entered_unit"] in _MICRO and dn * 100 <= lo:
        # "4 mcg" of lorazepam: a unit slip, never an underdose (Review round 2 rule 12)
        raise _Refuse("check units: mcg entered for a mg drug (%s is %s of the %s reference %s)" % (
            "%d mcg" % d_ug, "1/%s" % units.fmt_fixed(lo, dn, 0), v["reference"].upper(), desc))
    dose_txt = "%s %s" % (drug_name, units.fmt_ug(d_ug, unit))
    if dn * 1000 > s["hard_over_permille"] * hi:
        _finding(v, HARD, "dose_over_hard",
                 "%s is %s times the %s reference %s -- refused (check decimal point, mg/mcg, lb/kg and concentration)" % (
                     dose_txt, _ratio_text(dn, hi), v["reference"].upper(), desc), d_ug, _ng_to_ug(hi))
    elif dn * 1000 > s["soft_over_permille"] * hi:
        _finding(v, SOFT, "dose_over_soft",
                 "%s is above the %s reference %s (%s times) -- confirm with a reason to override" % (
                     dose_txt, v["reference"].upper(), desc, _ratio_text(dn, hi)), d_ug, _ng_to_ug(hi))
    elif dn * 1000 < s["under_permille"] * lo:
        _finding(v, UNDERDOSED, "dose_under",
                 "%s is below the %s reference %s (%s of it)" % (
                     dose_txt, v["reference"].upper(), desc, _percent(dn, lo)), d_ug, _ng_to_ug(lo))
    else:
        v["messages"].append("%s is within the %s reference %s" % (dose_txt, v["reference"].upper(), desc))
    if mx is not None and d_ug > mx:
        v["messages"].append("%s is above the %s maximum per dose" % (dose_txt, units.fmt_ug(mx, unit)))
    lc = entry.get("load_caution")
    if lc:
        # a per-load ceiling no guideline sets (phenobarbital, Review round 2 rule 14): the lower
        # of the per-kg and the absolute figure, soft above it
        cap = lc["ug_per_kg"] * weight_g
        if lc.get("max_ug") is not None and lc["max_ug"] * 1000 < cap:
            cap = lc["max_ug"] * 1000
        if dn > cap:
            _finding(v, SOFT, "load_caution",
                     "%s is above %s (the lower of %s/kg and %s per load; no guideline cap) -- confirm with a reason" % (
                         dose_txt, units.fmt_ug(_ng_to_ug(cap), unit), units.fmt_ug(lc["ug_per_kg"], unit),
                         units.fmt_ug(lc.get("max_ug"), unit)), d_ug, _ng_to_ug(cap))
    # volume to draw
    c = conc
    concs = entry.get("concentrations_ug_per_ml", [])
    if c is None and concs:
        c = concs[0]
    if c:
        v["volume_ul"] = units.round_half_up(d_ug * 1000, c)
        v["volume_ml"] = units.fmt_fixed(d_ug, c, 2)
        v["concentration"] = "%s/mL" % units.fmt_ug(c, unit)
        if conc is None and len(concs) > 1:
            others = " or ".join(["%s/mL" % units.fmt_ug(x, unit) for x in concs if x != c])
            v["messages"].append("volume %s mL assumes %s/mL; the library also lists %s" % (
                v["volume_ml"], units.fmt_ug(c, unit), others))
    # administration rate
    _check_admin_rate(v, lib, rate_rules, d_ug, weight_g, over_s, drug_name, unit)
    # repeat rule, from the episode's history
    _check_repeat(v, lib, entry, history, t, drug_name)


def _percent(num, den):
    return "%s%%" % units.fmt_fixed(num * 100, den, 0)


def _limit_ng_per_min(lim, weight_g):
    """Tightest of the absolute and per-kg parts ('whichever is slower'), ng/min."""
    best = None
    if "max_ug_per_min" in lim:
        best = lim["max_ug_per_min"] * 1000
    if "max_ug_per_kg_per_min" in lim:
        x = lim["max_ug_per_kg_per_min"] * weight_g
        if best is None or x < best:
            best = x
    return best


def _check_admin_rate(v, lib, limits, d_ug, weight_g, over_s, drug_name, unit):
    if not limits:
        if over_s is not None:
            v["over_s"] = over_s
        return
    dn = d_ug * 1000
    group = v["age_group"]
    min_s = 0
    pending = []
    refused = False
    for lim in limits:
        age = lim.get("age", "any")
        level = lim["level"]
        downgraded = False
        if age != "any" and age != group:
            # Weight said adult but nobody confirmed it: a paediatric boxed-warning
            # limit still warns (soft) -- it never silently passes nor refuses.
            if v["age_group_inferred"] and group == "adult" and age == "child" and level == HARD:
                downgraded = True
                level = SOFT
            else:
                continue
        per_min = _limit_ng_per_min(lim, weight_g)
        need = 0
        if per_min:
            need = units.ceil_div(dn * 60, per_min)
        if "min_s" in lim and lim["min_s"] > need:
            need = lim["min_s"]
        if level in (HARD, SOFT) and not downgraded and need > min_s:
            min_s = need
        if over_s is None:
            continue
        if over_s < need:
            rate_txt = "%s/min" % units.fmt_ug(units.round_half_up(d_ug * 60, over_s), unit)
            msg = "%s over %s = %s: %s (%s); give over at least %s" % (
                units.fmt_ug(d_ug, unit), units.fmt_seconds_as_min(over_s), rate_txt, lim["why"], lim["src"],
                units.fmt_seconds_as_min(need))
            if downgraded:
                msg += " -- this limit is for children; the patient was taken as an adult from the weight: confirm"
            if level == "advice":
                v["messages"].append("note: " + msg)
            elif downgraded:
                pending.append(msg)
            else:
                _finding(v, level, "rate_" + level, msg, over_s, need)
                if level == HARD:
                    refused = True
    for msg in pending:
        if not refused:  # already refused on the adult limit: no second event
            _finding(v, SOFT, "rate_soft", msg, over_s, None)
    v["over_s"] = over_s
    if min_s:
        v["min_seconds"] = min_s
        v["min_minutes"] = units.fmt_fixed(units.ceil_div(min_s, 6), 10, 1)
        if over_s is None:
            v["messages"].append("no administration time given: give over at least %s min" % v["min_minutes"])


def _same_drug(lib, dk):
    """The drugs that count as dk for the repeat rules (library setting same_drug_groups:
    phenytoin and fosphenytoin, 1 mg PE = 1 mg phenytoin sodium)."""
    for g in lib.settings.get("same_drug_groups") or []:
        if dk in g:
            return g
    return [dk]


def _check_repeat(v, lib, entry, history, t, drug_name):
    # The library's repeat rule for the reference (0 where it sets none): the
    # one value the checker's repeat findings and the unit's "repeat due" both
    # use (clinical.md Review round 2 rule 8); the dose event carries it.
    rep = druglib.pick(entry.get("repeat"), v["reference"], v["age_group"])
    v["repeat_max"] = v["repeat_after_s"] = 0
    if not rep:
        return
    v["repeat_max"] = rep.get("max_doses") or 0
    gap = rep.get("min_interval_s")
    if gap:
        v["repeat_after_s"] = druglib.pick(gap, v["reference"], v["age_group"]) or 0
    if not history:
        return
    group = _same_drug(lib, v["drug"])
    same = [e for e in history if _is_dose(e) and e.get("drug") in group and e.get("route") == v["route"]]
    if not same:
        return
    n = len(same) + 1
    mxd = v["repeat_max"]
    if mxd and n > mxd:
        allowed = "a single dose" if mxd == 1 else "%d doses" % mxd
        one = ""
        if len(group) > 1:
            one = " (%s count as one drug)" % " and ".join(group)
        _finding(v, SOFT, "repeat_count",
                 "this would be %s dose %d%s; %s allows %s (%s)" % (
                     drug_name, n, one, v["reference"].upper(), allowed, rep.get("src", "")), n, mxd)
    gap = v["repeat_after_s"]
    if gap and isinstance(t, int) and not isinstance(t, bool):
        last = None
        for e in same:
            et = e.get("t")
            if isinstance(et, int) and (last is None or et > last):
                last = et
        if last is not None and t - last < gap:
            _finding(v, SOFT, "repeat_interval",
                     "only %s since the last %s dose; wait at least %s (%s)" % (
                         units.fmt_seconds_as_min(t - last if t >= last else 0), drug_name,
                         units.fmt_seconds_as_min(gap), rep.get("src", "")), t - last, gap)


def _is_dose(e):
    return isinstance(e, dict) and e.get("type", "dose") == "dose"


# ------------------------------------------------------- counts (staging) ----

def _bzd_permille(entry, d_ug, weight_g, lib):
    """Per-mille (floor) of the ESETT adequate benzodiazepine dose, or 0."""
    es = entry.get("esett")
    if not es or d_ug is None:
        return 0
    if weight_g >= lib.setting("esett_flat_from_g"):
        thr_ng = es["flat_ug"] * 1000
    else:
        thr_ng = es["ug_per_kg"] * weight_g
    return (d_ug * 1000 * 1000) // thr_ng


def _esett_threshold_text(entry, weight_g, lib):
    es = entry["esett"]
    if weight_g >= lib.setting("esett_flat_from_g"):
        return units.fmt_ug(es["flat_ug"])
    return units.fmt_ug(_ng_to_ug(es["ug_per_kg"] * weight_g))


def _second_line_ok(rule, d_ug, weight_g, v, lib, drug_name, unit):
    lo, hi, mx, desc = _reference_dose(rule, weight_g, v, drug_name, unit)
    return d_ug * 1000 * 1000 >= lib.setting("under_permille") * lo


def _is_bzd_dose(e):
    """A benzodiazepine bolus of any drug and route (infusions are not doses here)."""
    if not _is_dose(e) or e.get("kind") == "infusion" or e.get("route") == "infusion":
        return False
    ct = e.get("counts_toward")
    if ct is not None:
        return ct == "benzodiazepine"
    return e.get("drug") in _rules.BENZODIAZEPINES


def _counts(v, lib, entry, rule, d_ug, weight_g, history, drug_name):
    ct = entry.get("counts_toward")
    v["counts_toward"] = ct
    if ct == "benzodiazepine":
        prior = 0
        n = 0
        for e in history or []:
            if _is_bzd_dose(e):
                n += 1
                x = e.get("bzd_permille", 0)
                if isinstance(x, int) and not isinstance(x, bool) and x > 0:
                    prior += x
        # The repeat rules are per drug and route; this one is per class (Review round 2
        # rule 4): after a first dose and one repeat of any benzodiazepine, by any route,
        # a further one needs a reasoned override.
        if n >= 2 or prior >= lib.setting("bzd_class_soft_permille"):
            _finding(v, SOFT, "bzd_class_cumulative",
                     "benzodiazepines already given: %d doses, %s of an adequate dose (a first dose and one repeat, any "
                     "drug or route); another one risks respiratory depression - confirm, or move to second-line therapy"
                     % (n, _percent(prior, 1000)), n, 2)
        es = entry.get("esett")
        if es:
            p = _bzd_permille(entry, d_ug, weight_g, lib)
            thr = _esett_threshold_text(entry, weight_g, lib)
            what = "ESETT"
        elif entry.get("staging") == "route_reference":
            # ESETT did not use this route: a full dose by the route's own reference counts
            lo = _reference_dose(rule, weight_g, v, drug_name, entry.get("dose_unit", "mg"))[0]
            p = (d_ug * 1000 * 1000) // lo
            thr = units.fmt_ug(_ng_to_ug(lo))
            what = "route outside ESETT, %s reference" % v["reference"].upper()
            v["route_outside_esett"] = True
            v["messages"].append(entry.get("esett_note", "route outside ESETT"))
        else:
            v["messages"].append(entry.get("esett_note", "this route does not count toward the benzodiazepine gate"))
            return
        if v["extrapolated"]:
            what += ", extrapolated below 2 y"
        v["bzd_permille"] = p
        v["bzd_cumulative_permille"] = prior + p
        v["counts_as_adequate"] = prior + p >= 1000
        frac = _percent(prior + p, 1000)
        if prior + p >= 1000:
            v["messages"].append("benzodiazepine gate met (%s): cumulative %s of an adequate dose (%s %s at %s)" % (
                what, frac, thr, drug_name.lower(), units.fmt_weight(weight_g)))
        else:
            v["messages"].append(
                "underdosed: established-SE criteria not met (%s adequate %s dose at %s is %s; cumulative %s of it)" % (
                    what, drug_name.lower(), units.fmt_weight(weight_g), thr, frac))
    elif ct == "second_line":
        ok = _second_line_ok(rule, d_ug, weight_g, v, lib, drug_name, entry.get("dose_unit", "mg"))
        v["second_line_adequate"] = ok
        v["counts_as_adequate"] = ok
        if ok:
            v["messages"].append("counts as an adequate second-line load (%s reference%s)" % (
                v["reference"].upper(), ", extrapolated" if v["extrapolated"] else ""))
        else:
            v["messages"].append("does not count as an adequate second-line load (%s reference)" % v["reference"].upper())


# -------------------------------------------------------- infusion check ----

def _rate_ng_kg_h(value, weight_g, conc, entry, drug_name, lib):
    """Entered rate -> exact (num, den) in ng/kg/h."""
    if not isinstance(value, str):
        r = _as_int(value, "rate", "'2 mg/kg/h'")
        return r, 1
    try:
        amount, kind, per_kg, per_s = units.parse_rate(value)
    except units.UnitError as e:
        raise _Refuse(str(e))
    scale = 1  # volume rates: nL * (ug/mL) / 1000 = ng, kept exact in the denominator
    if kind == units.KIND_VOLUME:
        if conc is None:
            concs = entry.get("concentrations_ug_per_ml", [])
            if len(concs) != 1:
                raise _Refuse("rate %s is a volume rate, and %s comes in %s: give the concentration" % (
                    value.strip(), drug_name, _conc_list(entry, "mg")))
            conc = concs[0]
        amount = amount * conc
        scale = 1000
    elif kind != units.KIND_MASS:
        raise _Refuse("rate %s: use mg or mcg for %s" % (value.strip(), drug_name))
    if per_kg:
        return amount * 3600, per_s * scale
    return amount * 3600 * 1000, per_s * weight_g * scale


def _check_infusion(v, lib, entry, rate_value, weight_g, duration_s, conc, drug_name):
    spec = entry["rate"]
    disp = spec.get("display", "mg/kg/h")
    num, den = _rate_ng_kg_h(rate_value, weight_g, conc, entry, drug_name, lib)
    if num > lib.setting("max_rate_ng_per_kg_h") * den:
        raise _Refuse("rate %s is not a plausible entry (more than 1 g/kg/min)" % _rate_text(rate_value))
    v["rate_ng_per_kg_h"] = [num, den]
    v["rate"] = druglib.fmt_rate_ng_kg_h(num, den, disp)
    lo, shi, hhi = spec["lo_ng_per_kg_h"], spec["soft_hi_ng_per_kg_h"], spec["hard_hi_ng_per_kg_h"]
    v["target"] = "%s-%s" % (druglib.fmt_rate_ng_kg_h(lo, 1, disp).split(" ")[0], druglib.fmt_rate_ng_kg_h(shi, 1, disp))
    v["maximum"] = druglib.fmt_rate_ng_kg_h(hhi, 1, disp)
    rt = "%s %s" % (drug_name, v["rate"])
    if isinstance(rate_value, str) and rate_value.strip() != v["rate"]:
        rt = "%s %s (= %s)" % (drug_name, rate_value.strip(), v["rate"])
    if num > hhi * den:
        _finding(v, HARD, "rate_over_hard",
                 "%s is above the hard limit %s -- refused (check mg/mcg and per min/per h)" % (rt, v["maximum"]),
                 v["rate"], v["maximum"])
    elif num > shi * den:
        _finding(v, SOFT, "rate_over_soft",
                 "%s is above the usual range %s (%s) -- confirm with a reason to override" % (rt, v["target"], spec["src"]),
                 v["rate"], v["target"])
    elif num < lo * den:
        _finding(v, UNDERDOSED, "rate_under", "%s is below the usual range %s (%s)" % (rt, v["target"], spec["src"]),
                 v["rate"], v["target"])
    else:
        v["messages"].append("%s is within the usual range %s" % (rt, v["target"]))
    for rule in druglib.pick(entry.get("rate_rules"), v["reference"], v["age_group"]) or []:
        age = rule.get("age", "any")
        if age != "any" and age != v["age_group"]:
            continue
        if "above_ng_per_kg_h" in rule and not num > rule["above_ng_per_kg_h"] * den:
            continue
        if "below_ng_per_kg_h" in rule and not num < rule["below_ng_per_kg_h"] * den:
            continue
        longer = rule.get("longer_than_s", 0)
        if longer:
            if duration_s is None:
                if lib.setting("pris_duration_unknown_advice"):
                    v["messages"].append("note: no planned duration given; caution %s (%s)" % (rule["why"], rule["src"]))
                continue
            if not duration_s > longer:
                continue
        msg = "%s: %s (%s)" % (rt, rule["why"], rule["src"])
        if rule["level"] == "advice":
            v["messages"].append("note: " + msg)
        else:
            _finding(v, rule["level"], "rate_rule", msg, v["rate"], rule["why"])
    # pump rate
    concs = entry.get("concentrations_ug_per_ml", [])
    c = conc if conc is not None else (concs[0] if concs else None)
    if c:
        # ng/kg/h * kg / (ug/mL) -> uL/h:  num * weight_g / (den * 1000 * c)
        v["pump_ul_h"] = units.round_half_up(num * weight_g, den * 1000 * c)
        v["pump_ml_h"] = units.fmt_fixed(num * weight_g, den * 1000000 * c, 2)
        v["concentration"] = "%s/mL" % units.fmt_ug(c)
        v["messages"].append("%s mg/h = %s mL/h of %s/mL" % (
            units.fmt_fixed(num * weight_g, den * 1000000000, 3), v["pump_ml_h"], units.fmt_ug(c)))
    v["counts_toward"] = entry.get("counts_toward")


def _rate_text(x):
    return x.strip() if isinstance(x, str) else str(x)


# -------------------------------------------------------------- public ----

def check_dose(drug, route, weight, dose=None, rate=None, over=None, duration=None, reference="aes",
               age_group=None, concentration=None, history=None, t=None, prev_weight_g=None, library=None, age=None):
    """Check one dose (bolus or load: `dose`) or one infusion `rate`.

    weight: '70 kg' / '154 lb' or int grams.  dose: '4 mg', '1400 mg PE',
    '2 mL' or int micrograms (ug PE for fosphenytoin).  rate: '2 mg/kg/h',
    '90 mcg/kg/min', '378 mg/h', '37.8 mL/h' or int ng/kg/h.  over /
    duration: '10 min' / '72 h' or int seconds.  reference: 'aes' or 'ncs'.
    age_group: 'adult', 'child' or None (inferred from the weight).
    history: the episode's earlier dose events (for repeat rules and the
    cumulative benzodiazepine gate); t: wall seconds of this dose.
    Returns the verdict dict; never raises."""
    v = _new_verdict(drug, route, reference)
    try:
        _check(v, drug, route, weight, dose, rate, over, duration, reference, age_group, concentration,
               history, t, prev_weight_g, library, age)
    except _Refuse as e:
        _fail(v, e.args[0])
    except Exception as e:  # a bug must never look like a safe dose
        _fail(v, "internal error while checking (%s: %s): dose not verified" % (type(e).__name__, e))
    if v["verdict"] == ERROR:
        v["counts_as_adequate"] = False
        v["bzd_permille"] = 0
        v["bzd_cumulative_permille"] = 0
        v["second_line_adequate"] = False
    if v["extrapolated"]:
        v["messages"].insert(0, OUTSIDE)
        v["cautions"].insert(0, OUTSIDE)
    return v


def _check(v, drug, route, weight, dose, rate, over, duration, reference, age_group, concentration,
           history, t, prev_weight_g, library, age):
    lib = library if library is not None else druglib.get()
    v["library_version"] = lib.version
    v["library_sha256"] = lib.sha256
    if not lib.verified:
        raise _Refuse("dose checks refused: %s" % lib.reason)
    if reference not in druglib.REFERENCES:
        raise _Refuse("reference %r is not one of: aes, ncs" % (reference,))
    dk = lib.resolve_drug(drug)
    if dk is None:
        raise _Refuse("drug %r is not in the library (library %s has: %s)" % (
            drug, lib.version, ", ".join(lib.drug_names())))
    rk = lib.resolve_route(dk, route)
    if rk is None:
        raise _Refuse("route %r is not in the library for %s (routes: %s)" % (route, dk, ", ".join(lib.route_names(dk))))
    v["drug"], v["route"] = dk, rk
    try:
        # read from the library file on use: a slice that no longer reads or parses refuses the check
        entry = lib.entry(dk, rk)
        head = lib.drug(dk)
    except druglib.LibraryError as e:
        raise _Refuse("dose checks refused: drug library entry unusable (%s)" % e)
    drug_name = lib.drug_name(dk)
    v["mode"] = entry.get("mode")
    v["line"] = entry.get("line")
    v["dose_unit"] = entry.get("dose_unit", "mg")
    v["cautions"] = list(head.get("hazards", [])) + list(entry.get("cautions", []))
    if history is not None and not isinstance(history, (list, tuple)):
        raise _Refuse("dose history must be a list of dose events")
    weight_g = _weight(weight, lib)
    v["weight_g"] = weight_g
    if age is not None:
        if isinstance(age, str):
            try:
                v["age_months"] = units.parse_age(age)
            except units.UnitError as e:
                raise _Refuse(str(e))
        elif isinstance(age, int) and not isinstance(age, bool) and 0 <= age <= 1800:
            v["age_months"] = age
        else:
            raise _Refuse("age must be text with a unit, e.g. '18 months' or '7 y'")
        v["extrapolated"] = v["age_months"] < EVIDENCE_FROM_MONTHS
    group, inferred = _age_group(age_group, weight_g, lib)
    v["age_group"], v["age_group_inferred"] = group, inferred
    if inferred:
        v["messages"].append("age group not given: taken as %s from the weight %s" % (group, units.fmt_weight(weight_g)))
    _check_weight_plausible(v, lib, weight_g, group, inferred, prev_weight_g)
    if (dose is None) == (rate is None):
        raise _Refuse("give either a dose or an infusion rate" if dose is None else "give a dose or a rate, not both")
    conc = _concentration(concentration, entry, drug_name, dk == "phenytoin")
    over_s = _seconds(over, "administration time", lib.setting("max_over_s")) if over is not None else None
    dur_s = _seconds(duration, "planned duration", lib.setting("max_duration_s")) if duration is not None else None
    v["duration_s"] = dur_s
    if rate is not None:
        if entry.get("mode") != "infusion":
            raise _Refuse("%s %s is given as a bolus: enter a dose, not a rate" % (drug_name, rk))
        _check_infusion(v, lib, entry, rate, weight_g, dur_s, conc, drug_name)
        return
    if entry.get("mode") == "infusion":
        rule = druglib.pick(entry.get("load"), reference, group)
        v["messages"].append("checking the %s loading dose" % drug_name.lower())
    else:
        rule = druglib.pick(entry.get("dose"), reference, group)
    if conc is None and isinstance(dose, str) and len(entry.get("concentrations_ug_per_ml", [])) == 1:
        # a volume entry with a single library concentration is unambiguous
        try:
            if units.parse_mass(dose)[1] == units.KIND_VOLUME:
                conc = entry["concentrations_ug_per_ml"][0]
        except units.UnitError:
            pass
    d_ug = _dose_amount(dose, entry, v, conc, drug_name)
    limits = druglib.pick(entry.get("admin_rate"), reference, group) or []
    _check_bolus(v, lib, entry, rule, d_ug, weight_g, over_s, drug_name, conc, history, t, limits)
    _counts(v, lib, entry, rule, d_ug, weight_g, history, drug_name)


# ------------------------------------------------ episode-engine interface ----

def dose_event_fields(verdict):
    """The dose-event fields the episode engine stores, from a verdict.

    An error verdict yields zero counts: a dose that could not be checked
    never advances staging."""
    ok = verdict.get("verdict") != ERROR
    line = verdict.get("line")
    out = {
        "drug": verdict.get("drug"),
        "route": verdict.get("route"),
        "kind": "infusion" if verdict.get("rate") is not None else "bolus",
        "amount_ug": verdict.get("dose_ug"),
        "rate_ng_per_kg_h": verdict.get("rate_ng_per_kg_h"),
        "line": line if isinstance(line, int) else 0,
        "bzd_permille": verdict.get("bzd_permille", 0) if ok else 0,
        "second_line_adequate": bool(verdict.get("second_line_adequate")) if ok else False,
        "counts_toward": verdict.get("counts_toward"),
        "reference": verdict.get("reference"),
        # an inferred age group is re-inferred from the new weight by assess()
        "age_group": None if verdict.get("age_group_inferred") else verdict.get("age_group"),
        "verdict": verdict.get("verdict"),
        "library_version": verdict.get("library_version"),
        # the repeat rule the checker applied (RR2 rule 8): the due list opens the repeat from it
        "repeat_max": verdict.get("repeat_max"),
        "repeat_after_s": verdict.get("repeat_after_s"),
    }
    if verdict.get("age_months") is not None:  # an age-banded dose is re-assessed at the same age
        out["age_months"] = verdict["age_months"]
    return out


def assess(dose_event, weight_g, library=None):
    """(bzd_permille, second_line_adequate) of a stored dose event at a
    (new) weight in grams.  Anything that cannot be checked gives (0, False)."""
    try:
        if not isinstance(dose_event, dict):
            return 0, False
        amount = dose_event.get("amount_ug")
        if dose_event.get("kind") == "infusion" or not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            return 0, False
        v = check_dose(dose_event.get("drug"), dose_event.get("route"), weight_g, dose=amount,
                       reference=dose_event.get("reference") or "aes", age_group=dose_event.get("age_group"),
                       library=library, age=dose_event.get("age_months"))
        if v["verdict"] == ERROR:
            return 0, False
        return v["bzd_permille"], bool(v["second_line_adequate"])
    except Exception:
        return 0, False


def min_admin_s(verdict, library=None):
    """The longest minimum administration time the library lists for this
    bolus dose (label, reference and advice limits alike, for the verdict's
    reference and age group), in whole seconds; 0 when it lists none.

    clinical.md Review round 2 rule 5: a second-line load logged without an
    infusion time is taken to end this long after its start, never at it."""
    try:
        lib = library if library is not None else druglib.get()
        d_ug = verdict.get("dose_ug")
        weight_g = verdict.get("weight_g")
        if not isinstance(d_ug, int) or not isinstance(weight_g, int) or d_ug <= 0:
            return 0
        entry = lib.entry(verdict["drug"], verdict["route"])
        group = verdict.get("age_group")
        limits = druglib.pick(entry.get("admin_rate"), verdict.get("reference"), group) or []
        best = 0
        for lim in limits:
            age = lim.get("age", "any")
            if age != "any" and age != group:
                continue
            need = lim.get("min_s", 0)
            per_min = _limit_ng_per_min(lim, weight_g)
            if per_min:
                x = units.ceil_div(d_ug * 1000 * 60, per_min)
                if x > need:
                    need = x
            if need > best:
                best = need
        return best
    except Exception:
        return 0


ASSUMED_LOAD_S = 600  # no time given and no library minimum: ESETT's 10-min infusion [D]
INITIAL_THERAPY_NOTE = ("%s taken as initial therapy (AES 2016, no benzodiazepine given): it does not meet the "
                        "ESETT benzodiazepine gate, so established SE cannot be declared from it")


def assumed_load_end(verdict, library=None):
    """(seconds, note) for a second-line load logged without an infusion time
    (clinical.md Review round 2 rule 5): it cannot have ended before the
    library's minimum administration time for the dose; the note goes into
    the record and the verdict's messages."""
    s = min_admin_s(verdict, library) or ASSUMED_LOAD_S
    why = "%s: no infusion time logged; end taken as start + %d min %d s" % (verdict.get("drug"), s // 60, s % 60)
    verdict["messages"].append(why + " (minimum administration time); the RSE window counts from then")
    return s, why
