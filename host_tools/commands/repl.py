"""statim repl PORT: the unit's MicroPython REPL, through a maintenance session.

In bedside mode a unit speaks only the Statim protocol (mpremote cannot get
in).  This logs in with the maintenance key, asks the unit to hand its link
over to the REPL, then runs mpremote on the port: its interactive REPL, or
with --exec CODE the code through mpremote's transport (raw REPL), printing
the output.  While in maintenance the unit is not monitoring; Ctrl-D at the
friendly REPL (or `mpremote soft-reset`) returns it to bedside mode.
"""
import sys

from host_tools import cliutil
from host_tools import link as _link
from host_tools.commands.deploy import NOT_MONITORING


def handover(port, key, timeout):
    with _link.open_link(port, timeout=timeout) as c:
        c.hello()
        c.login(key)
        c.request("REPL")


def run(args):
    port = _link.resolve_port(_link.port_of(args))
    key = _link.load_key(args.key_file, port)
    if key is None:
        raise cliutil.CommandError("no maintenance key: give --key-file or set %s" % _link.KEY_ENV)
    handover(port, key, args.timeout)
    print("statim repl: %s; Ctrl-D at >>> resets it into bedside mode" % NOT_MONITORING, file=sys.stderr)
    if args.exec is not None:
        from mpremote.transport_serial import SerialTransport

        t = SerialTransport(port, baudrate=115200)
        try:
            t.enter_raw_repl(soft_reset=False)
            out = t.exec(args.exec)
            t.exit_raw_repl()
        except Exception as e:  # mpremote's TransportExecError carries the unit's traceback
            raise cliutil.CommandError("the code failed on the unit: %s" % e)
        finally:
            t.close()
        sys.stdout.write(out.decode("utf-8", "replace"))
        return 0
    from mpremote import main as _mpremote

    sys.argv = ["mpremote", "connect", port, "resume", "repl"]
    return _mpremote.main() or 0


def register(sub):
    p = sub.add_parser("repl", help="the unit's MicroPython REPL via a maintenance login (mpremote)")
    _link.add_port_args(p, key=True)
    p.add_argument("--exec", metavar="CODE", help="run CODE on the unit (raw REPL) and print its output")
    p.set_defaults(func=run)
