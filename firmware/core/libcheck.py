# Shape check for a drug library (called once the seal matches).  The seal
# proves the bytes were not changed after sealing; it does not prove the
# sealed content is well formed, and a library with a drug that is not an
# object, or a setting of the wrong type, would make the unit's menus or the
# dose checker fail at the bedside.  Refusing it at load time keeps the
# failure where the maintainer sees it.
#
# The checks come in pieces (settings, alias tables, a drug's own fields, one
# route entry) so the unit can check its library one entry at a time, never
# holding the whole document; shape_error() runs them all on a parsed
# document (host tools, tests).

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


def _float_in(v, depth=0):
    """Whether a parsed value holds a float (the library is integers only:
    a float32 board and CPython would not agree on it)."""
    if isinstance(v, float):
        return True
    if depth > 20:
        return False
    if isinstance(v, dict):
        for k in v:
            if _float_in(v[k], depth + 1):
                return True
    elif isinstance(v, list):
        for x in v:
            if _float_in(x, depth + 1):
                return True
    return False


def settings_error(st):
    if not isinstance(st, dict):
        return "settings is not an object"
    if _float_in(st):
        return "settings hold a number that is not an integer (integers only)"
    for name, kind in SETTINGS:
        v = st.get(name)
        if kind is int:
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                return "setting %s must be a positive integer" % name
        elif not isinstance(v, kind):
            return "setting %s has the wrong type" % name
    if not _pair(st["lb_ratio_permille"]):
        return "setting lb_ratio_permille must be [low, high]"
    for g in st.get("same_drug_groups", []) if isinstance(st.get("same_drug_groups", []), list) else [0]:
        if not isinstance(g, list) or not g or [x for x in g if not isinstance(x, str)]:
            return "setting same_drug_groups must be a list of lists of drug keys"
    wp = st["weight_plausible_g"]
    for group in ("adult", "child"):
        if not _pair(wp.get(group)):
            return "setting weight_plausible_g.%s must be [low, high] grams" % group
    return None


def aliases_error(name, al):
    if not isinstance(al, dict):
        return "%s is not an object" % name
    for k in al:
        if not isinstance(al[k], str):
            return "%s.%s is not text" % (name, k)
    return None


def head_error(key, d, routes):
    """A drug's own fields (d, without "routes") and the names of its routes."""
    if not isinstance(key, str) or not key or not isinstance(d, dict):
        return "drug %r is not an object" % (key,)
    if _float_in(d):
        return "drug %s holds a number that is not an integer (integers only)" % key
    if "name" in d and not isinstance(d["name"], str):
        return "drug %s: name is not text" % key
    if not isinstance(d.get("hazards", []), list):
        return "drug %s: hazards is not a list" % key
    if not routes:
        return "drug %s has no routes" % key
    return None


def entry_error(key, rk, e):
    if not isinstance(rk, str) or not isinstance(e, dict):
        return "drug %s route %r is not an object" % (key, rk)
    if _float_in(e):
        return "drug %s route %s holds a number that is not an integer (integers only)" % (key, rk)
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
    return None


def shape_error(doc):
    """None if a parsed document has the shape the unit relies on, else why not."""
    bad = settings_error(doc.get("settings"))
    if bad is not None:
        return bad
    drugs = doc.get("drugs")
    if not isinstance(drugs, dict) or not drugs:
        return "drugs is not a non-empty object"
    for key in drugs:
        d = drugs[key]
        routes = d.get("routes") if isinstance(d, dict) else None
        head = {}
        if isinstance(d, dict):
            for k in d:
                if k != "routes":
                    head[k] = d[k]
        bad = head_error(key, head if isinstance(d, dict) else d, routes if isinstance(routes, dict) else None)
        if bad is not None:
            return bad
        if not isinstance(routes, dict):
            return "drug %s has no routes" % key
        for rk in routes:
            bad = entry_error(key, rk, routes[rk])
            if bad is not None:
                return bad
    for name in ("drug_aliases", "route_aliases"):
        bad = aliases_error(name, doc.get(name, {}))
        if bad is not None:
            return bad
    return None
