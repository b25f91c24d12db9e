# The event log on flash: append-only, length- and CRC-framed records.
#
#   log = EventLog(hal)            # hal: fs_open / fs_rename / fs_remove / fs_size
#   events = log.load()            # replay; a torn or corrupt tail is cut
#   seq = log.append(ev)           # durable when it returns (file closed)
#   seqs = log.append_many(evs)    # one open/write/close for several events
#   for seq, ev in log.records(from_seq): ...   # export
#   log.clear()                    # maintenance: empty log, sequence continues
#
# Record layout (little-endian), RECORD_OVERHEAD = 12 bytes around the payload:
#
#   0      0xA5          magic
#   1      kind          1 = event, 2 = meta (log cleared)
#   2..3   n             payload length, 1..MAX_PAYLOAD
#   4..7   seq           sequence number, strictly increasing across reboots
#   8..    payload       canonical JSON (sorted keys, no spaces, UTF-8)
#   8+n..  crc32         binascii.crc32 of bytes 0 .. 8+n
#
# Guarantees (tests/test_persist_*.py and tests/test_record_adversarial.py
# hold them, cutting power at every byte and writing hostile records):
# - A record whose append() returned is never lost or altered by a later
#   power cut, reboot or recovery.  A record being written when power failed
#   is either entirely there or entirely gone.
# - load() never hides a CRC-valid record.  Only a torn tail (bytes after the
#   last valid record) is ever cut (the good prefix is copied to a temp file
#   that atomically replaces the log; the copy itself may be interrupted any
#   number of times).  Damaged bytes between valid records are skipped, left
#   in place and reported in .skipped; later records are kept.
# - Sequence numbers are labels, not a gate: a gap or a number out of order
#   is counted in .seq_gaps and the record is kept.  The next number is one
#   past the highest seen; past 0xFFFFFFFF it wraps to 1 (never a failure).
# - A "log cleared" meta record is honoured only as the first record of the
#   file (clear() writes it there); anywhere else it is handed to the caller
#   as an invalid-record marker and nothing before it is dropped.  So is an
#   event record whose payload is not a JSON object.  Markers are dicts
#   {"type": "invalid", "reason": str, "record": obj or None} without "t";
#   the engine quarantines them (engine.py).
# - Canonical encoding: CPython and MicroPython write identical bytes.
import json  # (at the top: an import inside a function looks for a json.py on flash at every call)
import struct

from . import canon as _canon
from . import heap as _heap

try:
    from binascii import crc32 as _crc32
except ImportError:  # pragma: no cover - a port built without it
    _crc32 = None  # type: ignore

MAGIC = 0xA5
KIND_EVENT = 1
KIND_META = 2
HEADER = 8
RECORD_OVERHEAD = 12
MAX_PAYLOAD = 2048
SEQ_MAX = 0xFFFFFFFF
_COPY_CHUNK = 256
_SCAN_CHUNK = 512
# A replay into a list collects every this many records: each record's read and decode leave
# garbage, and without collections the decoded events -- kept in the list -- end up strewn over
# the whole heap between it (measured on the emulated Pico: a log of 400 requests did not replay
# at boot, "allocating 2048 bytes").  A replay into a window keeps nothing and does not collect:
# at power-up each collection walks all the code just loaded (emulated Pico, Unit() with 703
# requests on flash: the index pass 1.26 s with them, 0.44 s without).  A power-up's replay feeds
# the watchdog this often (.feed); no other read does: the health check gates it.
REPLAY_COLLECT_EVERY = 16


def crc32(data, crc=0):
    if _crc32 is not None:
        return _crc32(data, crc) & 0xFFFFFFFF
    crc = crc ^ 0xFFFFFFFF  # bitwise fallback, same polynomial as zlib
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0xEDB88320 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


# ---------------------------------------------------------------- encoding --

def encode(obj):
    """Canonical JSON bytes of a record payload (canon.py)."""
    return _canon.encode(obj, "log record")


def frame(kind, seq, payload):
    """One framed record (bytes)."""
    n = len(payload)
    if n < 1 or n > MAX_PAYLOAD:
        raise ValueError("log record of %d bytes (limit %d)" % (n, MAX_PAYLOAD))
    head = struct.pack("<BBHI", MAGIC, kind, n, seq)
    c = crc32(payload, crc32(head))
    return head + payload + struct.pack("<I", c)


def decode_payload(payload):
    """The record dict, or None if the payload is not a JSON object."""
    try:
        obj = json.loads(str(payload, "utf-8"))
    except Exception:
        return None
    return obj if isinstance(obj, dict) else None


# ----------------------------------------------------------------- the log --

FULL = "FULL"  # the link's error code for it (docs/protocol.md)
ENOSPC = 28


class StorageFull(OSError):
    """The flash has no room for the record: nothing was written (an OSError
    ENOSPC with the link's error code and a message for people)."""

    code = FULL

    def __init__(self, message="storage full: the record cannot be written, nothing was logged"):
        super().__init__(ENOSPC, message)  # (OSError.__init__(self, ...) fails on MicroPython)
        self.message = message


def _cleared(payload):
    # a "log cleared" meta record's payload
    obj = decode_payload(payload)
    return obj is not None and isinstance(obj.get("cleared"), int)


def _drop(payload, pos):
    pass


def _is_full(e):
    return isinstance(e, OSError) and len(e.args) > 0 and e.args[0] == ENOSPC


class EventLog:
    """The append-only event log in one flash file.

    After load(): .count (events), .next_seq, .size (bytes of valid log),
    .recovered (True if anything was cut or skipped), .cut_bytes (torn tail
    removed), .skipped (list of (offset, length) damaged regions left in
    place), .cuts (total tails cut by this object), .appends, .failures
    (appends that raised; the next append re-runs recovery first)."""

    def __init__(self, hal, name="events.log"):
        self.hal = hal
        self.name = name
        self.tmp_name = name + ".tmp"
        self._loaded = False
        self.next_seq = 1
        self.count = 0
        self.size = 0
        self.recovered = False
        self.cut_bytes = 0
        self.skipped = []  # type: list
        self.cuts = 0
        self.appends = 0
        self.failures = 0
        self.cleared_at = 0  # seq of the last clear() (0: never)
        self.seq_gaps = 0  # records whose seq does not follow the one before (kept)
        self.tail_left = 0  # bytes of a torn tail a full flash left uncut
        self._last_scan = (0, 0, [])  # type: tuple
        self.first_pos = -1  # file offset of the first valid record (-1: none yet)
        self.last_pos = -1  # file offset of the record last written
        self.feed = None  # the watchdog's feed while the unit replays the log at power-up (Unit._boot)

    # -------------------------------------------------------------- reading
    def _read_record(self, f, pos, size):
        """(kind, seq, payload, end) of a valid record at pos, else None."""
        if size - pos < RECORD_OVERHEAD:
            return None
        f.seek(pos)
        head = f.read(HEADER)
        if len(head) < HEADER or head[0] != MAGIC:
            return None
        magic, kind, n, seq = struct.unpack("<BBHI", head)
        if kind != KIND_EVENT and kind != KIND_META:
            return None
        if n < 1 or n > MAX_PAYLOAD or pos + RECORD_OVERHEAD + n > size:
            return None
        body = f.read(n + 4)
        if len(body) < n + 4:
            return None
        payload = body[:n]
        (want,) = struct.unpack("<I", body[n:])
        if crc32(payload, crc32(head)) != want:
            return None
        return kind, seq, payload, pos + RECORD_OVERHEAD + n

    def _resync(self, f, pos, size):
        """Offset of the next valid record after a bad one at pos, or -1."""
        p = pos + 1
        while p < size:
            f.seek(p)
            chunk = f.read(_SCAN_CHUNK)
            if not chunk:
                break
            i = chunk.find(b"\xa5")
            while i >= 0:
                if self._read_record(f, p + i, size) is not None:
                    return p + i
                i = chunk.find(b"\xa5", i + 1)
            p += len(chunk)
        return -1

    def _scan(self, visit, pos=0):
        """Walk the file from offset pos (a record's start); visit(kind, seq, payload, pos) per
        valid record, which stops the walk by returning True.

        Returns (end, size, skipped) where end is the end of the last valid record visited
        (after a whole walk, everything after it is a torn tail)."""
        size = self.hal.fs_size(self.name)
        if size <= 0:
            return 0, 0, []
        skipped = []
        n = 0
        feed = self.feed
        f = self.hal.fs_open(self.name, "rb")
        try:
            while pos < size:
                rec = self._read_record(f, pos, size)
                if rec is None:
                    q = self._resync(f, pos, size)
                    if q < 0:
                        break
                    skipped.append((pos, q - pos))
                    pos = q
                    continue
                kind, seq, payload, end = rec
                n += 1
                if n % REPLAY_COLLECT_EVERY == 0 and feed is not None:
                    feed()  # a power-up's replay makes progress, record by record: not a hang
                stop = visit(kind, seq, payload, pos)
                pos = end
                if stop:
                    break
        finally:
            f.close()
        return pos, size, skipped

    def _object(self, kind, seq, payload, pos):
        """What replay makes of a valid record: the event, an invalid-record marker, or None
        for a record that stands for no entry (the "log cleared" marker first in the file, a
        meta record this firmware does not know)."""
        obj = decode_payload(payload)
        if kind == KIND_META:
            if obj is None or not isinstance(obj.get("cleared"), int):
                return None  # (what _cleared tells)
            if pos == self.first_pos:
                return None  # clear() leaves its marker first in a fresh file
            return {"type": "invalid", "reason": "log-cleared marker seq %d in the middle of the log" % seq,
                    "record": obj}
        if obj is None:
            return {"type": "invalid", "reason": "record seq %d is not a JSON object" % seq, "record": None}
        return obj

    def _walk(self, out, state, from_seq):
        """Scan the file into out: events (dicts) or invalid-record markers, as (seq, obj)
        pairs when from_seq > 0 (export); out may be a callable(obj, pos) instead of a list
        (replay into the engine's window on the log).  state: see load()."""
        self.first_pos = -1

        def visit(kind, seq, payload, pos):
            if state[2] and seq != state[3] + 1:
                state[4] += 1  # a gap or a number out of order: kept, counted
            state[2] += 1
            if state[2] % REPLAY_COLLECT_EVERY == 0 and type(out) is list:  # (see the constant)
                _heap.collect()
            state[3] = seq
            if seq > state[0]:
                state[0] = seq
            if self.first_pos < 0:
                self.first_pos = pos
            if kind == KIND_EVENT and from_seq <= 0 and type(out) is not list:
                state[5] += 1
                out(payload, pos)  # a window's index (logwindow.py): one entry, read back when needed
                return
            obj = self._object(kind, seq, payload, pos)
            if obj is None:
                if kind == KIND_META and state[2] == 1 and _cleared(payload):
                    state[1] = seq  # the "log cleared" marker (a meta record nobody knows: nothing)
                return
            state[5] += 1
            if from_seq > 0:
                if seq >= from_seq:
                    out.append((seq, obj))
            elif type(out) is list:
                out.append(obj)
            else:
                out(b"", pos)  # a marker made of a meta record: an entry that is no event

        self._last_scan = self._scan(visit)

    def load(self, sink=None):
        """Replay the log: the list of stored events, oldest first; or, given
        sink(payload, pos), each entry's record offset and event payload (JSON
        bytes, not decoded; b"" for an entry made of a meta record), keeping none:
        the index of the engine's window on the log (logwindow.py).

        Cuts a torn tail (reported in .cut_bytes), skips damaged regions
        (reported in .skipped).  Never raises for bad content; raises OSError
        only if the flash itself fails."""
        if self.hal.fs_size(self.tmp_name) >= 0:
            self.hal.fs_remove(self.tmp_name)  # left by an interrupted recovery or clear()
        events = []  # type: list
        # highest seq, cleared_at, records seen, last seq (file order), gaps, entries
        state = [0, 0, 0, 0, 0, 0]
        self._walk(events if sink is None else sink, state, 0)
        good_end, size, skipped = self._last_scan
        cut = size - good_end
        self.tail_left = 0
        if cut > 0:
            try:
                self._cut(good_end)
                self.cuts += 1
            except OSError as e:
                if not _is_full(e):
                    raise
                # no room for the copy: the records replay, the torn tail stays,
                # and nothing is appended after it until a cut succeeds
                self.hal.fs_remove(self.tmp_name)
                self.tail_left = cut
        self.cut_bytes = cut
        self.skipped = skipped
        self.recovered = cut > 0 or len(skipped) > 0
        top = state[0]
        self.next_seq = top + 1 if top < SEQ_MAX else (state[3] + 1 if state[3] < SEQ_MAX else 1)
        self.cleared_at = state[1]
        self.seq_gaps = state[4]
        self.count = state[5]
        self.size = good_end
        self._loaded = True
        return events

    def read(self, pos, n):
        """The next n entries of the log from the record at file offset pos, as
        replay makes them: (objects, offsets).  pos must be an offset replay gave."""
        objs = []  # type: list
        offs = []  # type: list

        def visit(kind, seq, payload, at):
            obj = self._object(kind, seq, payload, at)
            if obj is not None:
                objs.append(obj)
                offs.append(at)
            return len(objs) >= n

        self._scan(visit, pos)
        return objs, offs

    def _cut(self, keep):
        """Replace the log by its first `keep` bytes (copy, then atomic rename)."""
        hal = self.hal
        src = hal.fs_open(self.name, "rb")
        try:
            dst = hal.fs_open(self.tmp_name, "wb")
            try:
                left = keep
                while left > 0:
                    b = src.read(_COPY_CHUNK if left > _COPY_CHUNK else left)
                    if not b:
                        raise OSError("event log shrank while it was being recovered")
                    dst.write(b)
                    left -= len(b)
            finally:
                dst.close()
        finally:
            src.close()
        hal.fs_rename(self.tmp_name, self.name)

    def records(self, from_seq=0):
        """(seq, event) for every stored event with seq >= from_seq (export).
        Reads the file; the order and content are those load() replays."""
        out = []  # type: list
        self._walk(out, [0, 0, 0, 0, 0, 0], from_seq if from_seq > 0 else 1)
        return out

    # -------------------------------------------------------------- writing
    def append(self, ev):
        """Store one event; returns its seq once it is durable."""
        return self.append_many((ev,))[0]

    def append_many(self, evs):
        """Store several events with one write; returns their seqs.

        Encoding errors (ValueError) are raised before anything is written.
        A full flash raises StorageFull (nothing of these events is stored)."""
        try:
            return self._append(evs)
        except StorageFull:
            raise
        except OSError as e:
            if _is_full(e):
                raise StorageFull()
            raise

    def _append(self, evs):
        if not self._loaded or self.tail_left:
            self.load(_drop)  # recovery: cut a torn tail; the entries are the engine's already
            if self.tail_left:
                raise StorageFull("storage full: a torn record cannot be cut, nothing was logged")
        seq = self.next_seq
        parts = []
        seqs = []
        for ev in evs:
            if not isinstance(ev, dict):
                raise ValueError("log record must be a dict, got %r" % (ev,))
            parts.append(frame(KIND_EVENT, seq, encode(ev)))
            seqs.append(seq)
            seq = seq + 1 if seq < SEQ_MAX else 1
        if not parts:
            return seqs
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        start = self.size  # where this write's records begin
        self._write(data)
        self.last_pos = start + len(data) - len(parts[-1])
        if self.first_pos < 0:
            self.first_pos = start
        self.next_seq = seq
        self.count += len(parts)
        self.appends += len(parts)
        return seqs

    def _write(self, data):
        try:
            f = self.hal.fs_open(self.name, "ab")
            try:
                f.write(data)
            finally:
                f.close()
        except Exception:
            # The file may now end in a partial record: recover before the
            # next append so nothing is ever written after a torn record.
            self.failures += 1
            self._loaded = False
            raise
        self.size += len(data)

    def clear(self):
        """Maintenance: start an empty log.  Atomic (temp file + rename); the
        sequence continues, recorded in a meta record."""
        if not self._loaded:
            self.load()
        seq = self.next_seq
        rec = frame(KIND_META, seq, encode({"cleared": seq}))
        f = self.hal.fs_open(self.tmp_name, "wb")
        try:
            f.write(rec)
        finally:
            f.close()
        self.hal.fs_rename(self.tmp_name, self.name)
        self.first_pos = 0
        self.last_pos = -1
        self.next_seq = seq + 1 if seq < SEQ_MAX else 1
        self.cleared_at = seq
        self.seq_gaps = 0
        self.count = 0
        self.size = len(rec)
        return seq
