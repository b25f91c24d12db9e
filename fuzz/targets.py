"""Fuzz targets for the event-log reader, the settings reader and the drug-
library loader.  Shared by the hypothesis tests (tests/test_fuzz_inputs.py)
and the atheris harness (fuzz/fuzz_inputs.py).

Each target takes bytes (what is on flash, or what arrives as a library
update), must never raise, never hang, and holds its invariants with
assertions (an AssertionError is a finding, like a crash)."""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from emulator.powercut import FsHal, MemFlash, _MemFile  # noqa: E402
from firmware.core import dosecheck, druglib, eventlog  # noqa: E402
from firmware.core.eventlog import EventLog  # noqa: E402
from firmware.core.settings import Settings  # noqa: E402

# Work is bounded by the input's size, not by wall-clock time (a loaded
# machine makes a clock limit flaky, and a slow-but-finite blow-up passes
# it): every byte a target reads from its flash or library file is counted,
# and reading more than READS_PER_BYTE * size + READS_FIXED bytes is a
# finding -- raised at the read that crosses the bound, so a loop that keeps
# reading (a hang) fails there instead of running forever.
READS_PER_BYTE = 16
READS_FIXED = 8 * 1024
LIB_READS_FIXED = 512 * 1024  # a verified library: every entry read at its check, dose checks read entries


class Budget:
    def __init__(self, size, fixed=READS_FIXED):
        self.limit = READS_PER_BYTE * size + fixed
        self.used = 0

    def spend(self, n):
        self.used += n
        if self.used > self.limit:
            raise AssertionError("read %d bytes, more than the bound %d for this input (a hang?)" % (
                self.used, self.limit))


class _CountingFile(_MemFile):
    def read(self, n=-1):
        out = _MemFile.read(self, n)
        self.fs.budget.spend(len(out))
        return out


class CountingFlash(MemFlash):
    """MemFlash that charges every byte read to a Budget."""

    def __init__(self, files, budget):
        MemFlash.__init__(self, files)
        self.budget = budget

    def open(self, name, mode):
        self._check(name)
        return _CountingFile(self, name, mode)


class _CountingLibFile(druglib._MemFile):
    def __init__(self, data, budget):
        druglib._MemFile.__init__(self, data)
        self.budget = budget

    def readinto(self, buf):
        n = druglib._MemFile.readinto(self, buf)
        self.budget.spend(n)
        return n

    def read(self, n=-1):
        out = druglib._MemFile.read(self, n)
        self.budget.spend(len(out))
        return out


def _counting_opener(budget):
    class Opener(druglib._MemOpener):
        def __call__(self, name, mode):
            return _CountingLibFile(self.data, budget)

    return Opener

SEED_EVENTS = [
    {"type": "power_up", "t": 200000000, "rtc": True},
    {"type": "onset", "t": 200000005, "se_type": "convulsive"},
    {"type": "dose", "t": 200000185, "drug": "lorazepam", "route": "iv", "amount_ug": 4000, "line": 1,
     "bzd_permille": 1000, "second_line_adequate": False},
    {"type": "alarm", "t": 200000305, "action": "raise", "cond": "stage_escalation"},
    {"type": "note", "t": 200000400, "text": "family informed"},
]


def valid_log(events=SEED_EVENTS):
    """Bytes of a log holding `events` (seq 1..n)."""
    out = b""
    for i, ev in enumerate(events):
        out += eventlog.frame(eventlog.KIND_EVENT, i + 1, eventlog.encode(ev))
    return out


def record_spans(data):
    """[(start, end, seq, event)] of the valid records in a clean log."""
    out = []
    pos = 0
    fl = MemFlash({"x": data})
    log = EventLog(FsHal(fl), "x")
    f = fl.open("x", "rb")
    last = 0
    while True:
        rec = log._read_record(f, pos, len(data))
        if rec is None:
            break
        kind, seq, payload, end = rec
        out.append((pos, end, seq, eventlog.decode_payload(payload)))
        last = seq
        pos = end
    return out


def log_reader(data):
    """Any bytes as the log file: load() recovers, is idempotent, cuts only a
    tail, leaves everything before it untouched, and the log stays usable."""
    budget = Budget(len(data))
    fl = CountingFlash({"events.log": data}, budget)
    hal = FsHal(fl)
    log = EventLog(hal)
    evs = log.load()
    assert isinstance(evs, list) and all(isinstance(e, dict) for e in evs)
    after = fl.files().get("events.log", b"")
    assert after == data[: len(after)], "load changed bytes it kept"
    assert log.cut_bytes == len(data) - len(after)
    assert [e for _, e in log.records()] == evs
    again = EventLog(hal)
    assert again.load() == evs and again.cut_bytes == 0, "recovery is not idempotent"
    seq = again.append({"type": "note", "t": 1, "text": "after fuzz"})
    assert again.next_seq == (seq + 1 if seq < eventlog.SEQ_MAX else 1) and seq > 0
    third = EventLog(hal)
    assert third.load() == evs + [{"type": "note", "t": 1, "text": "after fuzz"}]
    assert third.next_seq == (seq + 1 if seq < eventlog.SEQ_MAX else 1)
    return evs


def log_damage(base, edits):
    """A clean log with edits [(offset, byte)] and an optional truncation:
    every record wholly before the first damaged byte comes back exactly, and
    every undamaged record after it that starts after the damage comes back
    too (resynchronisation), in order."""
    data = bytearray(base)
    first = len(data)
    for off, b in edits:
        if not data:
            break
        off %= len(data)
        if data[off] != b:
            data[off] = b
            first = min(first, off)
    evs = log_reader(bytes(data))
    spans = record_spans(base)
    before = [e for s, end, seq, e in spans if end <= first]
    assert evs[: len(before)] == before, "a record before the damage was lost or altered"
    damaged = set()
    for off, b in edits:
        if base:
            off %= len(base)
            if base[off] != data[off]:
                damaged.add(off)
    intact_after = [e for s, end, seq, e in spans
                    if s >= first and not any(s <= d < end for d in damaged)]
    # records after the damage are kept when intact (resync), never invented
    for e in evs[len(before):]:
        assert e in [x[3] for x in spans], "an event that was never written appeared"
    for e in intact_after:
        assert e in evs, "an intact record after the damage was lost"
    return evs, before, intact_after


def settings_reader(a, b):
    fl = CountingFlash({"settings.a": a, "settings.b": b}, Budget(len(a) + len(b)))
    s = Settings(FsHal(fl), defaults={"unit_id": "X"})
    v = s.load()
    assert isinstance(v, dict) and "unit_id" in v
    gen = s.save({"unit_id": "Y"})
    s2 = Settings(FsHal(fl))
    assert s2.load()["unit_id"] == "Y" and s2.generation == gen
    return v


_CASES = [
    dict(dose="4 mg"), dict(dose="1400 mg PE", over="10 min"), dict(rate="2 mg/kg/h"), dict(dose="2 mL"),
]


def library_loader(data):
    """Any bytes as a drug-library update: loads() never raises; an
    unverified library refuses every dose check; a verified one never
    crashes a dose check (a broken entry gives an error verdict)."""
    budget = Budget(len(data), LIB_READS_FIXED)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    plain = druglib._MemOpener
    druglib._MemOpener = _counting_opener(budget)  # the library's reads, charged to the budget
    try:
        lib = druglib.loads(text)
    finally:
        druglib._MemOpener = plain
    assert isinstance(lib.verified, bool)
    if not lib.verified:
        assert lib.reason
    _exercise(lib)
    lib.budget = budget
    return lib


def _exercise(lib):
    names = lib.drug_names()[:6] if lib.verified else ["lorazepam"]
    for name in names:
        routes = lib.route_names(name)[:3] if lib.verified else ["iv"]
        for route in routes or ["iv"]:
            for kw in _CASES:
                v = dosecheck.check_dose(name, route, "70 kg", library=lib, **kw)
                assert v["verdict"] in dosecheck.VERDICTS
                if not lib.verified:
                    assert v["verdict"] == dosecheck.ERROR


def resealed(doc):
    """A library document with a correct integrity tag for its content."""
    doc = dict(doc)
    doc["sha256"] = druglib.compute_hash(doc)
    return json.dumps(doc)


def mutate_doc(doc, path, value):
    """Replace the value at `path` (list of keys/indices, wrapped) by value."""
    doc = json.loads(json.dumps(doc))
    node = doc
    for i, step in enumerate(path):
        if isinstance(node, dict) and node:
            keys = sorted(node)
            k = keys[step % len(keys)]
            if i == len(path) - 1 or not isinstance(node[k], (dict, list)):
                node[k] = value
                return doc
            node = node[k]
        elif isinstance(node, list) and node:
            j = step % len(node)
            if i == len(path) - 1 or not isinstance(node[j], (dict, list)):
                node[j] = value
                return doc
            node = node[j]
        else:
            return doc
    return doc
