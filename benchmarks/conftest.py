"""Benchmarks (pytest-benchmark): `make bench`, or `make bench-quick` for CI.

Each benchmark stores its fastest round in RESULTS (the minimum is the estimate
least disturbed by other load on a shared 2-core machine); at the end of the
run the ratios measured in that one run are printed (C vs numpy vs pure Python).
"""
import pytest

RESULTS = {}


def pytest_addoption(parser):
    parser.addoption("--quick", action="store_true", help="small sizes, few rounds (CI)")


@pytest.fixture
def quick(request):
    return request.config.getoption("--quick")


@pytest.fixture
def record():
    def _record(name, benchmark):
        RESULTS[name] = benchmark.stats.stats.min
    return _record


def pytest_terminal_summary(terminalreporter):
    if not RESULTS:
        return
    tr = terminalreporter
    tr.section("Statim speed ratios (fastest round of each, this run)")
    for name in sorted(RESULTS):
        tr.write_line("  %-40s %12.3f us" % (name, RESULTS[name] * 1e6))
    from ratios import report  # benchmarks/ratios.py: which pairs to compare

    for line in report(RESULTS):
        tr.write_line("  " + line)
