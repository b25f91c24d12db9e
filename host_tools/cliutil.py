"""What every `statim` command shares: exit codes, user errors, weights.

Exit codes (stated in `statim --help` and the README):

    0    success (dose: the dose is adequate)
    1    the command ran and something failed (a unit did not answer or refused,
         a scenario expectation failed, a file did not verify)
    2    usage error (bad option, bad value, a scenario file that is not valid)
    3-6  statim dose only: 3 underdosed, 4 soft limit, 5 hard limit,
         6 error (the checker could not verify the dose)
    42   statim scenario run only: the only problem was a timeout (Wokwi's code)
    70   internal error (a bug: STATIM_DEBUG=1 shows the traceback)
    130  interrupted (Ctrl-C)
    141  standard output was closed early (e.g. piped into `head`)

A command raises UsageError (exit 2) or CommandError (exit 1) with a message
that names the problem; `host_tools.cli` prints it as `statim CMD: message`.
"""
import sys

OK, FAILED, USAGE, TIMEOUT, INTERNAL, INTERRUPTED, CLOSED_PIPE = 0, 1, 2, 42, 70, 130, 141

DOSE_EXIT = {"adequate": 0, "underdosed": 3, "soft": 4, "hard": 5, "error": 6}

EXIT_CODES_HELP = """exit codes:
  0    success (dose: adequate)
  1    failed: a unit did not answer or refused, an expectation failed
  2    usage error: bad option or value, invalid scenario file
  3-6  statim dose: 3 underdosed, 4 soft limit, 5 hard limit, 6 error (not verified)
  42   statim scenario run: the only problem was a timeout
  70   internal error (STATIM_DEBUG=1 shows the traceback)
  130  interrupted; 141 output pipe closed early"""


class UsageError(Exception):
    """Bad input from the person at the keyboard: exit 2."""


class CommandError(Exception):
    """The command could not do its job (message says why): exit 1."""


def deprecated(text):
    print("statim: deprecated: %s" % text, file=sys.stderr)


def parse_weight(text, option="--weight", allow_bare=False):
    """A patient weight with its unit ('70kg', '70 kg', '154lb') -> grams (int).

    allow_bare (the emulator's older spellings only: `statim run --weight 70`,
    `python -m emulator.live --weight-kg 70`): a bare number is read as kilograms,
    with a deprecation note.  Never for a dose check, where kg/lb confusion harms."""
    from firmware.core import units

    raw = str(text).strip()
    try:
        bare = float(raw)
    except ValueError:
        bare = None
    if bare is not None and allow_bare:
        raw = raw + " kg"
    try:
        grams = units.parse_weight(raw)
    except units.UnitError as e:
        raise UsageError("%s: %s" % (option, e))
    if grams > 500_000:
        raise UsageError("%s %s: more than 500 kg is not a patient weight" % (option, text))
    if bare is not None and allow_bare:
        deprecated("%s %s without a unit is read as kilograms; write %s %skg" % (option, text, option, text))
    return grams


def weight_arg(option="--weight", allow_bare=False):
    """argparse `type=` for a weight option: grams, or argparse's own usage error."""
    import argparse

    def conv(text):
        try:
            return parse_weight(text, option, allow_bare)
        except UsageError as e:
            raise argparse.ArgumentTypeError(str(e).split(": ", 1)[1])

    conv.__name__ = "weight"
    return conv


def format_grams(grams):
    kg = grams / 1000.0
    return ("%d kg" % kg) if grams % 1000 == 0 else ("%.3g kg" % kg if kg < 10 else "%.1f kg" % kg)
