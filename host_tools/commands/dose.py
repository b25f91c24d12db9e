"""statim dose: check one dose or infusion rate against the drug library.

Exit status by verdict, so a script can act on it: 0 adequate, 3 underdosed,
4 soft limit, 5 hard limit, 6 error (the checker could not verify the dose --
the verdict says why); 2 for usage errors.
"""
import argparse
import json

from firmware.core import dosecheck
from host_tools import cliutil

EPILOG = """exit codes: 0 adequate, 3 underdosed, 4 soft limit (needs a reason), 5 hard limit
(refused), 6 error (could not be verified: never treat as safe), 2 usage error."""


def to_json(v):
    """The verdict as CLI JSON: volume_ml, min_minutes and pump_ml_h as numbers."""
    out = dict(v)
    for k in ("volume_ml", "min_minutes", "pump_ml_h"):
        if out.get(k) is not None:
            out[k] = float(out[k])
    return out


T0 = 1_000_000  # episode seconds of the checked dose; --given times are relative to it


def _given(args):
    """--given "DRUG ROUTE AMOUNT [@-MIN]": earlier doses of this episode, checked in
    order as the unit checks them (each against the ones before), as dose events."""
    from firmware.core import units

    history = []
    for text in args.given or []:
        body, _, when = text.partition("@")
        parts = body.split(None, 2)
        if len(parts) != 3:
            raise SystemExit('--given %r: write "DRUG ROUTE AMOUNT [@-MIN]", e.g. "lorazepam iv 4 mg @-12min"' % text)
        t = T0 - 3600
        if when.strip():
            w = when.strip()
            if not w.startswith("-"):
                raise SystemExit("--given %r: the time is before the checked dose, e.g. @-12min" % text)
            try:
                t = T0 - units.parse_duration(w[1:])
            except units.UnitError as e:
                raise SystemExit("--given %r: %s" % (text, e))
        v = dosecheck.check_dose(parts[0], parts[1], args.weight, dose=parts[2], reference=args.reference,
                                 age_group=args.age_group, history=history, t=t, age=args.age)
        if v["verdict"] in ("hard", "error"):
            raise SystemExit("--given %r would not have been logged: %s: %s" % (text, v["verdict"], "; ".join(v["messages"])))
        ev = dosecheck.dose_event_fields(v)
        ev["type"] = "dose"
        ev["t"] = t
        history.append(ev)
    return history


def run(args):
    # The weight goes to the checker as typed: it requires a unit (no bare numbers for a dose).
    wv = None
    if args.prev_weight:
        try:
            from firmware.core import units

            prev = units.parse_weight(args.prev_weight)
        except ValueError as e:
            raise SystemExit("--prev-weight: %s" % e)
        wv = dosecheck.check_weight(args.weight, prev, args.age_group)
    history = _given(args)
    v = dosecheck.check_dose(
        args.drug, args.route, args.weight, dose=args.dose, rate=args.rate, over=args.over,
        duration=args.duration, reference=args.reference, age_group=args.age_group,
        concentration=args.conc, history=history or None, t=T0 if history else None,
        prev_weight_g=wv["prev_weight_g"] if wv else None, age=args.age)
    if args.json:
        out = to_json(v)
        if wv is not None:
            out["weight_check"] = wv
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return exit_code(v)
    if wv is not None:
        print("WEIGHT %s: %s" % (wv["verdict"].upper(), "; ".join(wv["messages"])))
    print("%s: %s %s" % (v["verdict"].upper(), v.get("drug") or args.drug, v.get("route") or args.route))
    for label, key in (("target", "target"), ("maximum", "maximum"), ("rate", "rate")):
        if v.get(key):
            print("  %-9s %s" % (label, v[key]))
    if v.get("volume_ml") is not None:
        print("  %-9s %s mL of %s" % ("draw", v["volume_ml"], v["concentration"]))
    if v.get("pump_ml_h") is not None:
        print("  %-9s %s mL/h of %s" % ("pump", v["pump_ml_h"], v["concentration"]))
    if v.get("min_minutes") is not None:
        print("  %-9s at least %s min" % ("give over", v["min_minutes"]))
    if v.get("counts_toward"):
        print("  %-9s %s (%s)" % ("counts", v["counts_toward"], "adequate" if v["counts_as_adequate"] else "not adequate"))
    for m in v["messages"]:
        print("  - " + m)
    return exit_code(v)


def exit_code(v):
    """The verdict's exit code; anything the table does not know counts as not verified."""
    return cliutil.DOSE_EXIT.get(v.get("verdict"), cliutil.DOSE_EXIT["error"])


def register(sub):
    p = sub.add_parser("dose", help="check a dose or infusion rate against the drug library (exit code = verdict)",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weight", required=True, help="patient weight with unit: 70kg, 154lb")
    p.add_argument("--drug", required=True, help="drug name as in the library (`statim druglib list`): lorazepam")
    p.add_argument("--route", required=True, help="im, in, buccal, iv, rectal, infusion")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--dose", help='dose with unit: "4 mg", "1400 mg PE", "2 mL"')
    g.add_argument("--rate", help='infusion rate with unit: "2 mg/kg/h", "90 mcg/kg/min"')
    p.add_argument("--over", help="administration time of a bolus: 10min")
    p.add_argument("--duration", help="planned infusion duration: 72h")
    p.add_argument("--reference", choices=["aes", "ncs"], default="aes",
                   help="guideline the adequacy is judged by: aes (AES 2016, default) or ncs (NCS 2012)")
    p.add_argument("--age-group", choices=["adult", "child"], default=None,
                   help="default: inferred from the weight (child below 40 kg)")
    p.add_argument("--conc", help='concentration to draw from: "5 mg/mL" (must be in the library)')
    p.add_argument("--given", action="append", metavar='"DRUG ROUTE AMOUNT [@-MIN]"',
                   help='a dose already given in this episode (repeatable, oldest first), e.g. '
                        '"fosphenytoin iv 1400 mg PE @-30min": repeat and cumulative rules')
    p.add_argument("--prev-weight", help="the weight on record before this one: the weight re-entry check")
    p.add_argument("--age", help='patient age with unit ("18 months", "7 y"): age bands and the under-2 warning')
    p.add_argument("--json", action="store_true", help="print the verdict as JSON")
    p.set_defaults(func=run)
