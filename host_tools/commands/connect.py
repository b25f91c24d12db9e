"""statim connect PORT: live status and events from a unit, until Ctrl-C.

Prints the unit's status (time since onset, stage, due actions), then every
unsolicited line as it comes (logged events with the time since onset, stage
changes), refreshing the status line every --interval seconds.  --seconds
stops after that long (scripts, tests).
"""
import sys
import time

from host_tools import link as _link
from host_tools import nurse


def describe(line):
    """A readable line for an unsolicited '! ...' body (no onset known)."""
    return nurse.event_line(line, None)[0]


def follow(args, header):
    """Shared by connect and monitor: print events as they come, with the time since onset."""
    state = {"onset": None}

    def show(line):
        text, state["onset"] = nurse.event_line(line, state["onset"])
        print(text, flush=True)

    with _link.client_from_args(args, on_event=show) as c:
        hello = c.hello()
        v = nurse.view(hello, c.status())
        if v["since_onset_s"] is not None:
            state["onset"] = v["unit_time"] - v["since_onset_s"]
        header(v)
        sys.stdout.flush()
        end = time.monotonic() + args.seconds if args.seconds else None
        interval = getattr(args, "interval", 0)
        next_status = time.monotonic() + interval
        while end is None or time.monotonic() < end:
            c.pump(0.2)
            if interval and time.monotonic() >= next_status:
                v = nurse.view(hello, c.status())
                print("-- %s" % " | ".join(nurse.lines(v)[1:3]), flush=True)
                next_status = time.monotonic() + interval
    return 0


def run(args):
    try:
        return follow(args, lambda v: print("\n".join(nurse.lines(v))))
    except KeyboardInterrupt:
        return 0


def register(sub):
    p = sub.add_parser("connect", help="live status and events from a unit (Ctrl-C to stop)")
    _link.add_port_args(p)
    p.add_argument("--interval", type=float, default=10.0, help="status refresh in seconds (0: never)")
    p.add_argument("--seconds", type=float, default=0, help="stop after this many seconds (0: run until Ctrl-C)")
    p.set_defaults(func=run)
