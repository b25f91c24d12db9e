"""statim status PORT: the unit's identity and episode status, once."""
import json
import sys

from host_tools import link as _link


def summary(hello, st):
    """Human-readable lines for a HELLO + STATUS pair (LinkError if STATUS has the wrong shapes)."""
    try:
        return _summary(hello, st)
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as e:
        raise _link.malformed("STATUS", "%s: %s" % (type(e).__name__, e))


def _summary(hello, st):
    lines = ["unit %s  firmware %s  protocol %s  drug library %s%s" % (
        hello.get("unit"), hello.get("fw"), hello.get("proto"), hello.get("druglib"),
        "" if hello.get("druglib_ok") == "1" else " (NOT VERIFIED)")]
    stage = st.get("stage")
    active = "seizure ACTIVE" if st.get("seizure_active") else "no seizure"
    lines.append("stage %s  %s  phase %s" % (stage, active, st.get("phase") or "-"))
    w = st.get("weight_g")
    lines.append("weight %s  events %s%s" % ("%.1f kg" % (w / 1000.0) if w else "not entered", st.get("events"),
                                            "  CLOCK NOT SET" if st.get("clock_unset") else ""))
    if st.get("storage_full"):
        lines.append("STORAGE FULL: actions are refused, nothing new is logged")
    if st.get("settings_defaults"):
        lines.append("SETTINGS LOST: both copies unreadable, defaults in use")
    if st.get("log_invalid"):
        lines.append("LOG: %s invalid record(s) kept, not replayed" % st.get("log_invalid"))
    for a in st.get("alarms") or []:
        lines.append("ALARM %s (%s)%s" % (a[0], a[1], "" if len(a) < 4 or a[3] else " acknowledged"))
    for d in st.get("due") or []:
        lines.append("due %s (%s)" % (d[0], d[3] if len(d) > 3 else ""))
    return lines


def run(args):
    try:
        with _link.client_from_args(args) as c:
            hello = c.hello()
            st = c.status()
        if args.json:
            print(json.dumps({"hello": hello, "status": st}, indent=2))
        else:
            print("\n".join(summary(hello, st)))
    except (_link.LinkError, _link.RemoteError) as e:
        print("statim status: %s" % e, file=sys.stderr)
        return 1
    return 0


def register(sub):
    p = sub.add_parser("status", help="show a unit's status once (board port, pty, socket:// or emu://)")
    _link.add_port_args(p)
    p.add_argument("--json", action="store_true", help="print HELLO and STATUS as JSON")
    p.set_defaults(func=run)
