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


def run(args):
    # The weight goes to the checker as typed: it requires a unit (no bare numbers for a dose).
    v = dosecheck.check_dose(
        args.drug, args.route, args.weight, dose=args.dose, rate=args.rate, over=args.over,
        duration=args.duration, reference=args.reference, age_group=args.age_group,
        concentration=args.conc)
    if args.json:
        print(json.dumps(to_json(v), indent=2, ensure_ascii=False))
        return exit_code(v)
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
    p.add_argument("--json", action="store_true", help="print the verdict as JSON")
    p.set_defaults(func=run)
