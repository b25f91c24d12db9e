"""statim status PORT: the unit's identity and episode status, once, in the nurse's terms.

Time since onset, stage, due actions by name with countdowns, alarms by name;
--json prints the same with named fields (and the unit's own HELLO and STATUS
replies under "hello" and "status", as before).
"""
import json

from host_tools import link as _link
from host_tools import nurse


def summary(hello, st):
    """Human-readable lines for a HELLO + STATUS pair."""
    return nurse.lines(nurse.view(hello, st))


def run(args):
    with _link.client_from_args(args) as c:
        hello = c.hello()
        st = c.status()
    v = nurse.view(hello, st)
    if args.json:
        print(json.dumps(dict(v, hello=hello, status=st), indent=2))
    else:
        print("\n".join(nurse.lines(v)))
    return 0


def register(sub):
    p = sub.add_parser("status", help="show a unit's status once: time since onset, stage, due actions")
    _link.add_port_args(p)
    p.add_argument("--json", action="store_true", help="print the status as JSON with named fields")
    p.set_defaults(func=run)
