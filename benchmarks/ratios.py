"""Which results to compare (fastest rounds), and the targets each ratio is held to (printed, not asserted)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# (label, slower, faster, target): speedup = time[slower] / time[faster]
PAIRS = []


def pair(label, slower, faster, target):
    PAIRS.append((label, slower, faster, target))


def report(results):
    lines = []
    for label, slower, faster, target in PAIRS:
        if slower in results and faster in results:
            r = results[slower] / results[faster]
            ok = "ok" if r >= target else "BELOW TARGET"
            lines.append("%-46s %8.2fx  (target >= %gx: %s)" % (label, r, target, ok))
    for name in sorted(results):
        if name.endswith("scalar-call"):
            ns = results[name] * 1e9
            lines.append("%-46s %8.0f ns (target <= 150 ns: %s)" % (name, ns, "ok" if ns <= 150 else "ABOVE TARGET"))
    return lines
