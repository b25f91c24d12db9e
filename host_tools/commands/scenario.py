"""statim scenario run FILE... [--json] [--junit OUT]: scenario files against the emulated unit.

Exit 0 when every expectation held, 1 when one failed (or a file is invalid),
42 on a timeout.  A failure names the file, the step and the virtual time.
"""
import json
import sys


def run(args):
    from emulator import runner

    results = [runner.run_file(path) for path in args.files]
    if args.json:
        print(json.dumps([r.as_dict() for r in results], indent=2))
    else:
        for r in results:
            print(r.summary())
        passed = sum(1 for r in results if r.passed)
        print("%d passed, %d failed" % (passed, len(results) - passed))
    if args.junit:
        with open(args.junit, "w") as f:
            f.write(runner.junit_xml(results))
    sys.stdout.flush()
    return runner.exit_code(results)


def register(sub):
    p = sub.add_parser("scenario", help="run scenario files against the emulated unit")
    ssub = p.add_subparsers(dest="scenario_command", metavar="ACTION")
    r = ssub.add_parser("run", help="run scenario files (exit 0 pass, 1 fail, 42 timeout)")
    r.add_argument("files", nargs="+", metavar="FILE")
    r.add_argument("--json", action="store_true", help="print results as JSON")
    r.add_argument("--junit", metavar="OUT", help="write JUnit XML to OUT")
    r.set_defaults(func=run)
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])
