"""statim scenario run PATH... [--json] [--junit OUT]: scenario files against the emulated unit.

A PATH is a file, a folder (its *.yaml / *.yml files, subfolders included,
sorted) or a glob ("scenarios/0*.yaml", expanded here when the shell did not).

Exit code, one rule (the first that applies): 2 when a PATH names nothing or a
file is not a valid scenario, 1 when an expectation failed, 42 (Wokwi's) when
the only problem is a timeout, 0 when every expectation held.  Every file is
run and every problem reported; the summary counts passed, failed, timed out
and invalid apart.  A failure names the file, the step and the virtual time.
"""
import argparse
import glob
import json
import os
import sys

from host_tools import cliutil

EPILOG = """exit codes (the first that applies): 2 a path names nothing or a file is not a valid
scenario; 1 an expectation failed; 42 the only problem was a timeout; 0 all held.
JUnit: a failed expectation is a <failure>; an invalid file and a timeout are <error>s."""

EXTS = (".yaml", ".yml")


def expand(paths):
    """Files, folders and globs -> scenario files, in order, each once."""
    out = []
    for p in paths:
        if os.path.isdir(p):
            found = sorted(os.path.join(d, f) for d, _, files in os.walk(p) for f in files if f.endswith(EXTS))
            if not found:
                raise cliutil.UsageError("%s: no scenario files (*.yaml, *.yml) in this folder" % p)
        elif os.path.exists(p):
            found = [p]
        elif glob.has_magic(p):
            found = sorted(f for f in glob.glob(p, recursive=True) if os.path.isfile(f))
            if not found:
                raise cliutil.UsageError("%s: matches no file" % p)
        else:
            raise cliutil.UsageError("%s: no such file or folder" % p)
        for f in found:
            if f not in out:
                out.append(f)
    return out


def counts_line(results):
    from emulator import runner

    n = {code: sum(1 for r in results if r.code == code)
         for code in (runner.PASSED, runner.FAILED, runner.TIMEOUT, runner.INVALID)}
    text = "%d passed, %d failed" % (n[runner.PASSED], n[runner.FAILED])
    if n[runner.TIMEOUT]:
        text += ", %d timed out" % n[runner.TIMEOUT]
    if n[runner.INVALID]:
        text += ", %d invalid" % n[runner.INVALID]
    return text


def run(args):
    from emulator import runner

    files = expand(args.files)
    results = [runner.run_file(path) for path in files]
    if args.json:
        print(json.dumps([r.as_dict() for r in results], indent=2))
    else:
        for r in results:
            print(r.summary())
        print(counts_line(results))
    if args.junit:
        with open(args.junit, "w") as f:
            f.write(runner.junit_xml(results))
    sys.stdout.flush()
    return runner.exit_code(results)


def register(sub):
    p = sub.add_parser("scenario", help="run scenario files against the emulated unit")
    ssub = p.add_subparsers(dest="scenario_command", metavar="ACTION")
    r = ssub.add_parser("run", help="run scenario files, folders or globs (exit 0 pass, 1 fail, 2 invalid, "
                                    "42 timeout only)", epilog=EPILOG,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("files", nargs="+", metavar="PATH", help="scenario file, folder (searched recursively) or glob")
    r.add_argument("--json", action="store_true", help="print results as JSON")
    r.add_argument("--junit", metavar="OUT", help="write JUnit XML to OUT")
    r.set_defaults(func=run)
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])
