"""statim monitor PORT: the unit's events as they happen, with the time since onset.

One line per logged event (doses, alarms, stage changes, notes...), whoever
caused it: the panel, or a request over the link.  Nothing is sent to the unit
but HELLO and one STATUS at the start.  Ctrl-C (or --seconds) stops it.
"""
from host_tools import link as _link
from host_tools import nurse
from host_tools.commands.connect import follow


def run(args):
    def header(v):
        print("monitoring %s (%s): %s%s" % (
            v["unit"], args.port or _link.port_of(args), v["stage_label"],
            ", %s since onset" % v["since_onset"] if v["since_onset"] else ""))

    try:
        return follow(args, header)
    except KeyboardInterrupt:
        return 0


def register(sub):
    p = sub.add_parser("monitor", help="live events from a unit with the time since onset (Ctrl-C to stop)")
    _link.add_port_args(p)
    p.add_argument("--seconds", type=float, default=0, help="stop after this many seconds (0: run until Ctrl-C)")
    p.set_defaults(func=run)
