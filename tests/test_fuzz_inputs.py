"""Hostile input (issue 8, item 4, without the protocol parser): property-based
fuzzing of the event-log reader, the settings reader and the drug-library
loader.  The targets live in fuzz/targets.py and are shared with the atheris
harness for longer runs (fuzz/README.md).

Invariants: no exception, work bounded by the input's size (every byte read
from flash or the library file is counted: fuzz/targets.py), recovery idempotent and
tail-only, committed records before any damage never lost or altered, intact
records after it kept, nothing invented; a library that does not verify
refuses every dose check, a verified one never crashes a dose check.
"""
import json
import os
import sys

from hypothesis import HealthCheck, given, settings, strategies as hs

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from fuzz import targets  # noqa: E402
from firmware.core import druglib, eventlog, libcheck  # noqa: E402

FUZZ = settings(max_examples=int(os.environ.get("STATIM_FUZZ_EXAMPLES", "300")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
BASE = targets.valid_log()
RECORD = eventlog.frame(1, 7, eventlog.encode({"type": "note", "t": 5, "text": "x"}))

# bytes that look like the log: magic bytes, plausible headers, real records
log_like = hs.lists(hs.one_of(hs.binary(max_size=40), hs.just(b"\xa5\x01"), hs.just(b"\xa5\x02"),
                              hs.just(RECORD), hs.just(BASE), hs.sampled_from([BASE[:n] for n in range(0, 60, 7)])),
                    max_size=8).map(b"".join)


@FUZZ
@given(hs.binary(max_size=3000))
def test_log_reader_random_bytes(data):
    targets.log_reader(data)


@FUZZ
@given(log_like)
def test_log_reader_log_like_bytes(data):
    targets.log_reader(data)


@FUZZ
@given(hs.lists(hs.tuples(hs.integers(0, 10 ** 6), hs.integers(0, 255)), min_size=1, max_size=6),
       hs.integers(0, len(BASE)))
def test_log_damage_keeps_what_it_can(edits, cut):
    evs, before, after = targets.log_damage(BASE[:cut] if cut < len(BASE) // 2 else BASE, edits)


@FUZZ
@given(hs.binary(max_size=300), hs.binary(max_size=300))
def test_settings_reader_random_bytes(a, b):
    targets.settings_reader(a, b)


@FUZZ
@given(hs.binary(max_size=2000))
def test_library_loader_random_bytes(data):
    lib = targets.library_loader(data)
    assert not lib.verified


LIB_TEXT = open(druglib.default_path()).read()
LIB_DOC = json.loads(LIB_TEXT)

json_values = hs.recursive(
    hs.none() | hs.booleans() | hs.integers(-10 ** 12, 10 ** 12) | hs.text(max_size=12),
    lambda kids: hs.lists(kids, max_size=4) | hs.dictionaries(hs.text(max_size=8), kids, max_size=4),
    max_leaves=12)


@FUZZ
@given(hs.lists(hs.integers(0, 10 ** 6), min_size=1, max_size=7), json_values)
def test_library_mutated_and_resealed(path, value):
    """A structurally broken library with a correct integrity tag (anyone can
    compute a SHA-256: authenticity is item 3's HMAC tag) still never crashes
    a dose check."""
    doc = targets.mutate_doc(LIB_DOC, path, value)
    lib = targets.library_loader(targets.resealed(doc).encode())
    if lib.verified:
        # the unit's streaming check accepted it: the parsed-document check must agree
        assert libcheck.shape_error(doc) is None, (libcheck.shape_error(doc), path, value)
        assert lib.version == doc["version"] and lib.sha256 == druglib.compute_hash(doc)
    else:
        assert lib.reason and not lib.settings
    if doc == LIB_DOC:
        assert lib.verified, lib.reason  # nothing changed: the sealed library is good


@FUZZ
@given(hs.integers(0, len(LIB_TEXT) - 1), hs.binary(min_size=1, max_size=8))
def test_library_tampered_text_is_refused(pos, junk):
    text = LIB_TEXT.encode()
    data = text[:pos] + junk + text[pos + len(junk):]
    lib = targets.library_loader(data)
    if data != text:
        # any change to the sealed text either breaks the JSON or the tag, unless
        # it only touched insignificant whitespace
        assert (not lib.verified) or druglib.compute_hash(json.loads(data.decode("utf-8", "replace"))) == \
            LIB_DOC["sha256"]


def test_library_deep_nesting_and_huge_numbers():
    head = '{"format":"statim-druglib/1","version":"x","sha256":"' + "a" * 64 + '","n":'
    inputs = [(head + "[" * depth + "]" * depth + "}").encode() for depth in (10, 500, 900, 990, 1000, 5000, 100000)]
    inputs += [(head + "1" * 5000 + "}").encode(), b"\xff\xfe" + "{}".encode("utf-16-le"), b""]
    for data in inputs:
        lib = targets.library_loader(data)  # no RecursionError, no crash: a refusal with a reason
        assert not lib.verified and lib.reason, data[:80]
    # the same depth in a device-form file with a correct seal: refused by the scanner's depth bound
    body = b'{"format":"statim-druglib/1","n":' + b"[" * 200 + b"]" * 200 + b',"version":"x"}'
    sha = druglib.sha256_hex(body)
    dev = b"statim-druglib/1 compact sha256=%s tag=%s size=%d version=\"x\"\n" % (
        sha.encode(), druglib.TAG_UNSET.encode(), len(body)) + body
    lib = targets.library_loader(dev)
    assert not lib.verified and "well-formed" in lib.reason, lib.reason


def test_library_of_the_repository_verifies_within_its_work_bound():
    lib = targets.library_loader(LIB_TEXT.encode())
    assert lib.verified, lib.reason
    assert 0 < lib.budget.used <= lib.budget.limit
