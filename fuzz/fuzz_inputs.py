"""atheris harness: coverage-guided fuzzing of the event-log reader, the
settings reader and the drug-library loader (targets in fuzz/targets.py; the
same targets run under hypothesis in tests/test_fuzz_inputs.py).

    .venv/bin/python fuzz/fuzz_inputs.py --target log      -max_total_time=600 fuzz/corpus/log
    .venv/bin/python fuzz/fuzz_inputs.py --target settings -runs=200000
    .venv/bin/python fuzz/fuzz_inputs.py --target library  -max_total_time=600 fuzz/corpus/library
    .venv/bin/python fuzz/fuzz_inputs.py --target resealed -max_total_time=600

Everything after --target NAME goes to libFuzzer.  A crash, an assertion
(invariant broken) or a slow input (-timeout=, default 10 s) is a finding:
libFuzzer writes the input to crash-*/timeout-* in the current directory;
replay it with `.venv/bin/python fuzz/fuzz_inputs.py --target NAME crash-...`.
"""
import json
import os
import sys

import atheris

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

with atheris.instrument_imports():
    from fuzz import targets
    from firmware.core import druglib, eventlog, settings  # noqa: F401

LIB_DOC = json.loads(open(druglib.default_path()).read())


def fuzz_log(data):
    if len(data) and data[0] & 1:
        # half the inputs: a valid log with damage, to reach resync and cut paths
        fdp = atheris.FuzzedDataProvider(data[1:])
        edits = [(fdp.ConsumeIntInRange(0, 10 ** 6), fdp.ConsumeIntInRange(0, 255))
                 for _ in range(fdp.ConsumeIntInRange(1, 6))]
        base = targets.valid_log()
        targets.log_damage(base[: fdp.ConsumeIntInRange(0, len(base))], edits)
    else:
        targets.log_reader(bytes(data[1:]))


def fuzz_settings(data):
    fdp = atheris.FuzzedDataProvider(data)
    n = fdp.ConsumeIntInRange(0, 400)
    targets.settings_reader(fdp.ConsumeBytes(n), fdp.ConsumeBytes(400))


def fuzz_library(data):
    targets.library_loader(bytes(data))


def _value(fdp, depth=0):
    k = fdp.ConsumeIntInRange(0, 6 if depth < 3 else 3)
    if k == 0:
        return None
    if k == 1:
        return fdp.ConsumeBool()
    if k == 2:
        return fdp.ConsumeIntInRange(-10 ** 12, 10 ** 12)
    if k == 3:
        return fdp.ConsumeUnicodeNoSurrogates(12)
    if k == 4:
        return [_value(fdp, depth + 1) for _ in range(fdp.ConsumeIntInRange(0, 3))]
    return {fdp.ConsumeUnicodeNoSurrogates(6): _value(fdp, depth + 1) for _ in range(fdp.ConsumeIntInRange(0, 3))}


def fuzz_resealed(data):
    fdp = atheris.FuzzedDataProvider(data)
    doc = LIB_DOC
    for _ in range(fdp.ConsumeIntInRange(1, 3)):
        path = [fdp.ConsumeIntInRange(0, 10 ** 6) for _ in range(fdp.ConsumeIntInRange(1, 7))]
        doc = targets.mutate_doc(doc, path, _value(fdp))
    targets.library_loader(targets.resealed(doc).encode())


TARGETS = {"log": fuzz_log, "settings": fuzz_settings, "library": fuzz_library, "resealed": fuzz_resealed}


def main(argv):
    if "--target" not in argv:
        sys.exit("usage: fuzz_inputs.py --target {%s} [libFuzzer options] [corpus dirs]" % ",".join(TARGETS))
    i = argv.index("--target")
    name = argv[i + 1]
    rest = argv[:i] + argv[i + 2:]
    atheris.Setup(rest, TARGETS[name])
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
