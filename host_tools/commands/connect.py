"""statim connect PORT: live status and events from a unit, until Ctrl-C.

Prints the unit's HELLO and status, then every unsolicited line as it comes
(`EVT` logged events, `STAGE` changes), refreshing the status line every
--interval seconds.  --seconds stops after that long (scripts, tests).
"""
import json
import sys
import time

from host_tools import link as _link
from host_tools.commands.status import summary


def describe(line):
    """A readable line for an unsolicited '! ...' body."""
    parts = line.split(" ", 2)
    if parts[0] == "EVT" and len(parts) == 3:
        try:
            ev = json.loads(parts[2])
        except ValueError:
            return line
        rest = " ".join("%s=%s" % (k, v) for k, v in ev.items() if k not in ("type", "t"))
        return "event #%s %-8s %s" % (parts[1], ev.get("type"), rest)
    if parts[0] == "STAGE":
        return "STAGE -> " + " ".join(parts[1:])
    return line


def run(args):
    out = sys.stdout

    def show(line):
        print(describe(line), file=out, flush=True)

    try:
        with _link.client_from_args(args, on_event=show) as c:
            hello = c.hello()
            print("\n".join(summary(hello, c.status())), flush=True)
            end = time.monotonic() + args.seconds if args.seconds else None
            next_status = time.monotonic() + args.interval
            while end is None or time.monotonic() < end:
                c.pump(0.2)
                if args.interval and time.monotonic() >= next_status:
                    st = c.status()
                    print("-- %s" % " | ".join(summary(hello, st)[1:3]), flush=True)
                    next_status = time.monotonic() + args.interval
    except KeyboardInterrupt:
        return 0
    except (_link.LinkError, _link.RemoteError) as e:
        print("statim connect: %s" % e, file=sys.stderr)
        return 1
    return 0


def register(sub):
    p = sub.add_parser("connect", help="live status and events from a unit (Ctrl-C to stop)")
    _link.add_port_args(p)
    p.add_argument("--interval", type=float, default=10.0, help="status refresh in seconds (0: never)")
    p.add_argument("--seconds", type=float, default=0, help="stop after this many seconds (0: run until Ctrl-C)")
    p.set_defaults(func=run)
