# Shape check for a drug library document (called by druglib.verify_doc once
# the integrity tag matches).  The tag proves the text was not changed after
# sealing; it does not prove the sealed content is well formed, and a library
# with a drug that is not an object, or a setting of the wrong type, would
# make the unit's menus or the dose checker fail at the bedside.  Refusing it
# at load time keeps the failure where the maintainer sees it.

# settings the dose checker reads, with their types
SETTINGS = (
    ("hard_over_permille", int), ("soft_over_permille", int), ("under_permille", int),
    ("esett_flat_from_g", int), ("child_below_g", int), ("weight_error_below_g", int),
    ("weight_error_above_g", int), ("weight_plausible_g", dict), ("lb_ratio_permille", list),
    ("max_dose_ug", int), ("max_rate_ng_per_kg_h", int), ("max_over_s", int), ("max_duration_s", int),
)


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _pair(v):
    if not isinstance(v, list) or len(v) != 2:
        return False
    lo = v[0]
    hi = v[1]
    if not _is_int(lo) or not _is_int(hi):
        return False
    return 0 < int(lo) <= int(hi)


def shape_error(doc):
    """None if the document has the shape the unit relies on, else why not."""
    st = doc.get("settings")
    if not isinstance(st, dict):
        return "settings is not an object"
    for name, kind in SETTINGS:
        v = st.get(name)
        if kind is int:
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                return "setting %s must be a positive integer" % name
        elif not isinstance(v, kind):
            return "setting %s has the wrong type" % name
    if not _pair(st["lb_ratio_permille"]):
        return "setting lb_ratio_permille must be [low, high]"
    wp = st["weight_plausible_g"]
    for group in ("adult", "child"):
        if not _pair(wp.get(group)):
            return "setting weight_plausible_g.%s must be [low, high] grams" % group
    drugs = doc.get("drugs")
    if not isinstance(drugs, dict) or not drugs:
        return "drugs is not a non-empty object"
    for key in drugs:
        d = drugs[key]
        if not isinstance(key, str) or not key or not isinstance(d, dict):
            return "drug %r is not an object" % (key,)
        if "name" in d and not isinstance(d["name"], str):
            return "drug %s: name is not text" % key
        if not isinstance(d.get("hazards", []), list):
            return "drug %s: hazards is not a list" % key
        routes = d.get("routes")
        if not isinstance(routes, dict) or not routes:
            return "drug %s has no routes" % key
        for rk in routes:
            e = routes[rk]
            if not isinstance(rk, str) or not isinstance(e, dict):
                return "drug %s route %r is not an object" % (key, rk)
            if e.get("mode") not in ("bolus", "infusion"):
                return "drug %s route %s: mode must be bolus or infusion" % (key, rk)
            if not isinstance(e.get("cautions", []), list):
                return "drug %s route %s: cautions is not a list" % (key, rk)
            conc = e.get("concentrations_ug_per_ml", [])
            if not isinstance(conc, list):
                return "drug %s route %s: concentrations is not a list" % (key, rk)
            for c in conc:
                if not _is_int(c) or c <= 0:
                    return "drug %s route %s: concentration %r is not a positive integer" % (key, rk, c)
    for name in ("drug_aliases", "route_aliases"):
        al = doc.get(name, {})
        if not isinstance(al, dict):
            return "%s is not an object" % name
        for k in al:
            if not isinstance(al[k], str):
                return "%s.%s is not text" % (name, k)
    return None
