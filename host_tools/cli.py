"""The ``statim`` command.

Subcommands live in ``host_tools/commands/``: every module there that defines
``register(subparsers)`` adds its own parser and sets ``func`` on it.  ``func``
takes the parsed args and returns the process exit code.
"""
import argparse
import importlib
import pkgutil
import sys

from host_tools import commands


def build_parser():
    parser = argparse.ArgumentParser(
        prog="statim",
        description="Statim: status-epilepticus bedside unit - emulator, host tools and checks.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module("host_tools.commands." + info.name)
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
