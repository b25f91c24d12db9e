"""statim log export PORT --format csv|json|fhir: the unit's event log.
statim log void PORT SEQ REASON: mark entry SEQ entered in error (kept, marked).

Reads the whole log over the link (LOG pages from sequence 0, or --from N)
and writes it to --output (default stdout).  FHIR output is an R4 Bundle of
MedicationAdministration (doses, infusions) and Observation (everything else).
"""
import json
import sys

from host_tools import export as _export
from host_tools import link as _link


def run(args):
    with _link.client_from_args(args) as c:
        hello = c.hello()
        rows = c.log(args.start)
    if args.format == "csv":
        text = _export.to_csv(rows)
    elif args.format == "json":
        text = _export.to_json(rows, hello)
    else:
        text = json.dumps(_export.to_fhir(rows, hello), indent=1) + "\n"
    if args.output and args.output != "-":
        with open(args.output, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        print("wrote %d events from %s to %s (%s)" % (len(rows), hello.get("unit"), args.output, args.format),
              file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def run_void(args):
    try:
        with _link.client_from_args(args) as c:
            reply = c.void(args.seq, args.reason)
    except (_link.LinkError, _link.RemoteError) as e:
        print("statim log void: %s" % e, file=sys.stderr)
        return 1
    print("entry %d marked entered in error (%s)" % (args.seq, reply))
    return 0


def register(sub):
    p = sub.add_parser("log", help="export a unit's event log (CSV, JSON, FHIR R4)")
    lsub = p.add_subparsers(dest="log_action", metavar="ACTION", required=True)
    e = lsub.add_parser("export", help="read the whole log and write it out")
    _link.add_port_args(e)
    e.add_argument("--format", choices=["csv", "json", "fhir"], default="json",
                   help="csv (documented columns), json (statim-log/1) or fhir (R4 Bundle); default json")
    e.add_argument("-o", "--output", help="file to write (default: stdout)")
    e.add_argument("--from", dest="start", type=int, default=0, help="first sequence number")
    e.set_defaults(func=run)
    v = lsub.add_parser("void", help="mark a log entry entered in error (it stays in the log, marked)")
    _link.add_port_args(v)
    v.add_argument("seq", type=int, help="the entry's sequence number (as the log export shows it)")
    v.add_argument("reason", help="why it was entered in error")
    v.set_defaults(func=run_void)
