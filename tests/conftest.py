import os
import sys

# Make ``tests/`` helpers importable as plain modules (e.g. ``import micropython_vm``).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

SHARED_DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared", "data")


# ---------------------------------------------------------------- metrics
# Tests that measure something (detector scores, code sizes, heap figures) print it
# through `report`: nothing goes between pytest's dots; `pytest --metrics` shows the
# lines in a section after the run (the benchmarks print theirs with `make bench`).
import contextlib
import io

import pytest

_METRICS = []


def pytest_addoption(parser):
    parser.addoption("--metrics", action="store_true",
                     help="show the figures tests measure (detector scores, sizes, heap) after the run")


@pytest.fixture
def report(request):
    """`with report(): print(...)` -- the printed lines go to the --metrics section."""

    @contextlib.contextmanager
    def capture():
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            yield
        text = buf.getvalue().strip("\n")
        if text:
            _METRICS.append((request.node.nodeid, text))

    return capture


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if config.getoption("--metrics", False) and _METRICS:
        terminalreporter.section("metrics")
        for nodeid, text in _METRICS:
            terminalreporter.write_line("%s" % nodeid)
            for line in text.splitlines():
                terminalreporter.write_line("  " + line.strip("\n"))
