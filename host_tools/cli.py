"""The ``statim`` command.

Subcommands live in ``host_tools/commands/``: every module there that defines
``register(subparsers)`` adds its own parser and sets ``func`` on it.  ``func``
takes the parsed args and returns the process exit code (host_tools/cliutil.py
lists them).

User errors never end in a traceback: a command raises cliutil.UsageError or
CommandError, or the link's LinkError/RemoteError, or an OSError for a file,
and ``main`` prints ``statim CMD: message``.  A closed output pipe ends the
command quietly (exit 141).  Anything else is a bug: one line saying so, and
the traceback with STATIM_DEBUG=1.

Commands that talk to a unit can be chained on one connection with ``+``, as
with mpremote: ``statim status emu://bed + log export --format csv`` (a later
command without a PORT uses the connection of the one before).
"""
import argparse
import importlib
import os
import pkgutil
import sys

from host_tools import cliutil, commands


def version():
    try:
        import importlib.metadata

        return importlib.metadata.version("statim")
    except Exception:  # not installed: the source tree's own version
        return "0.1.0 (not installed)"


def build_parser():
    parser = argparse.ArgumentParser(
        prog="statim",
        description="Statim: status-epilepticus bedside unit - emulator, host tools and checks.",
        epilog="PORT is a serial port (/dev/ttyACM0, COM3), a pty path, socket://HOST:PORT, emu://[NAME],\n"
               "or auto (the first Statim-looking port, the default; `statim devs` lists them).\n"
               "Chain commands on one connection with +: statim status PORT + log export --format csv\n\n"
               + cliutil.EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version="statim %s" % version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module("host_tools.commands." + info.name)
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def split_chain(argv):
    """['status', 'P', '+', 'log', 'export'] -> [['status', 'P'], ['log', 'export']]."""
    out = [[]]
    for a in argv:
        if a == "+":
            out.append([])
        else:
            out[-1].append(a)
    return out


def _name(args):
    words = [args.command or ""]
    for attr in ("scenario_command", "log_action", "plot_what"):
        if getattr(args, attr, None):
            words.append(getattr(args, attr))
    return "statim " + " ".join(w for w in words if w)


def _quiet_stdout():
    """After a closed pipe: point stdout at /dev/null so the exit flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def run_one(args):
    """One parsed command -> exit code, with every user error as one line on stderr."""
    from host_tools import link as _link

    name = _name(args)
    try:
        rc = int(args.func(args) or 0)
        sys.stdout.flush()
        return rc
    except KeyboardInterrupt:
        return cliutil.INTERRUPTED
    except BrokenPipeError:
        _quiet_stdout()
        return cliutil.CLOSED_PIPE
    except cliutil.UsageError as e:
        print("%s: %s" % (name, e), file=sys.stderr)
        return cliutil.USAGE
    except (cliutil.CommandError, _link.LinkError, _link.RemoteError) as e:
        print("%s: %s" % (name, e), file=sys.stderr)
        return cliutil.FAILED
    except OSError as e:
        where = " %s:" % e.filename if getattr(e, "filename", None) else ""
        print("%s:%s %s" % (name, where, e.strerror or e), file=sys.stderr)
        return cliutil.FAILED
    except Exception as e:
        if os.environ.get("STATIM_DEBUG"):
            raise
        print("%s: internal error (%s: %s); STATIM_DEBUG=1 shows the traceback" % (name, type(e).__name__, e),
              file=sys.stderr)
        return cliutil.INTERNAL


def main(argv=None):
    from host_tools import link as _link

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    segments = split_chain(argv)
    if any(not s for s in segments) and len(segments) > 1:
        parser.error("'+' needs a command on each side")
    parsed = [parser.parse_args(s) for s in segments]
    for args in parsed:
        if not getattr(args, "func", None):
            parser.print_help()
            return cliutil.USAGE
    rc = cliutil.OK
    with _link.chain(len(parsed) > 1):
        for args in parsed:
            rc = run_one(args)
            if rc != cliutil.OK:
                break
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()
        return cliutil.CLOSED_PIPE
    except (OSError, ValueError):
        pass
    return rc


if __name__ == "__main__":
    sys.exit(main())
