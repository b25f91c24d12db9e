"""statim egaba: how chloride loading shifts the GABA-A reversal potential.

Why a benzodiazepine given late in status epilepticus fails: as [Cl-]i rises,
E_GABA climbs past the resting potential and GABA-A opening stops inhibiting.
"""
import json

from firmware.core import biophys

REST_MV = -65.0  # typical resting potential (clinical.md §10)
THRESHOLD_MV = -52.0  # typical action-potential threshold, -50 to -55 mV


def table(cl_out, hco3_in, hco3_out, ratio, temp_c, steps):
    rows = []
    for cl_in in steps:
        rows.append(
            {
                "cl_in_mM": cl_in,
                "e_cl_mV": biophys.nernst(cl_in, cl_out, -1, temp_c),
                "e_gaba_weighted_mV": biophys.e_gaba(cl_in, cl_out, hco3_in, hco3_out, ratio, temp_c),
                "e_gaba_ghk_mV": biophys.e_gaba(cl_in, cl_out, hco3_in, hco3_out, ratio, temp_c, form="ghk"),
            }
        )
    return rows


def bar(mv, lo=-95.0, hi=-30.0, width=40):
    pos = int(round((mv - lo) / (hi - lo) * width))
    pos = max(0, min(width, pos))
    rest = int(round((REST_MV - lo) / (hi - lo) * width))
    cells = [" "] * (width + 1)
    cells[rest] = "|"
    cells[pos] = "*"
    return "".join(cells)


def run(args):
    steps = [4, 5, 7, 10, 12, 15, 20, 25, 30]
    rows = table(args.cl_out, args.hco3_in, args.hco3_out, args.ratio, args.temp, steps)
    if args.json:
        print(json.dumps({"backend": biophys.BACKEND, "rows": rows}, indent=2))
        return 0
    print("E_GABA shift with chloride loading (%.1f degC, [Cl]o %g mM, HCO3 %g/%g mM, r = %g)"
          % (args.temp, args.cl_out, args.hco3_in, args.hco3_out, args.ratio))
    print("math backend: %s\n" % biophys.BACKEND)
    print(" [Cl]i   E_Cl    E_GABA   E_GABA   -95 mV%s-30 mV" % (" " * 28))
    print("  mM      mV    weighted   GHK      ('|' = rest %g mV, '*' = E_GABA)" % REST_MV)
    for r in rows:
        e = r["e_gaba_weighted_mV"]
        effect = "inhibits" if e < REST_MV else ("shunts" if e < THRESHOLD_MV else "EXCITES")
        print(" %5.0f %7.2f %8.2f %8.2f   %s %s"
              % (r["cl_in_mM"], r["e_cl_mV"], e, r["e_gaba_ghk_mV"], bar(e), effect))
    print("\nHealthy ([Cl]i 5): E_GABA %.2f mV; chloride-loaded ([Cl]i 20): %.2f mV."
          % (rows[1]["e_gaba_weighted_mV"], rows[6]["e_gaba_weighted_mV"]))
    return 0


def _positive(name):
    """argparse type: a finite number > 0 (concentrations, the permeability ratio)."""
    import argparse
    import math

    def conv(text):
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError("%r is not a number" % text)
        if not math.isfinite(v) or v <= 0:
            raise argparse.ArgumentTypeError("%s must be a finite number above 0, got %s" % (name, text))
        return v

    return conv


def _celsius(text):
    import argparse
    import math

    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a number" % text)
    if not math.isfinite(v) or v <= -273.15:
        raise argparse.ArgumentTypeError("temp must be a finite temperature above absolute zero, got %s" % text)
    return v


def register(sub):
    p = sub.add_parser("egaba", help="E_GABA shift from healthy to chloride-loaded neurons")
    p.add_argument("--cl-out", type=_positive("cl-out"), default=120.0, help="[Cl-]o in mM (default 120)")
    p.add_argument("--hco3-in", type=_positive("hco3-in"), default=15.0, help="[HCO3-]i in mM (default 15)")
    p.add_argument("--hco3-out", type=_positive("hco3-out"), default=25.0, help="[HCO3-]o in mM (default 25)")
    p.add_argument("--ratio", type=_positive("ratio"), default=0.2, help="g_HCO3/g_Cl (weighted) = P_HCO3/P_Cl (GHK); default 0.2")
    p.add_argument("--temp", type=_celsius, default=37.0, help="temperature in degC (default 37)")
    p.add_argument("--json", action="store_true", help="print the table as JSON")
    p.set_defaults(func=run)
