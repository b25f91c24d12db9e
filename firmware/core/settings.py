# Small settings on flash (unit id, key id, options), written atomically with
# the previous generation kept.
#
#   s = Settings(hal, defaults={"unit_id": "STATIM-0001"})
#   values = s.load()              # newest valid generation, else defaults
#   gen = s.save({"unit_id": ..})  # durable when it returns
#
# Two slots, NAME.a and NAME.b, each holding one generation:
#
#   0..3   b"STS1"       magic + format version
#   4..7   generation    u32, +1 per save
#   8..9   n             payload length
#   10..   payload       canonical JSON object (eventlog.encode)
#   10+n.. crc32         of bytes 0 .. 10+n
#
# save() writes NAME.tmp completely, closes it, then renames it over the slot
# that does NOT hold the newest generation: the newest good generation is
# never opened for writing.  load() reads both slots and takes the valid one
# with the highest generation; a torn or corrupt slot is reported in .damaged
# and ignored (then the other slot, the previous generation, is used).  This
# holds on littlefs (atomic rename) and also where rename is not atomic (FAT),
# since then only the older slot can be torn.
import struct

from .eventlog import crc32, decode_payload, encode

MAGIC = b"STS1"
HEAD = 10
MAX_PAYLOAD = 2048


def pack(gen, values):
    payload = encode(values)
    if len(payload) > MAX_PAYLOAD:
        raise ValueError("settings of %d bytes (limit %d)" % (len(payload), MAX_PAYLOAD))
    head = MAGIC + struct.pack("<IH", gen, len(payload))
    return head + payload + struct.pack("<I", crc32(payload, crc32(head)))


def unpack(data):
    """(gen, values) of a slot's bytes, or None if torn / corrupt."""
    if data is None or len(data) < HEAD + 4 or data[:4] != MAGIC:
        return None
    gen, n = struct.unpack("<IH", data[4:HEAD])
    if n > MAX_PAYLOAD or len(data) != HEAD + n + 4:
        return None
    (want,) = struct.unpack("<I", data[HEAD + n:])
    if crc32(data[HEAD:HEAD + n], crc32(data[:HEAD])) != want:
        return None
    values = decode_payload(data[HEAD:HEAD + n])
    if values is None:
        return None
    return gen, values


class Settings:
    """After load(): .generation (0: nothing stored), .source (slot name or
    "defaults"), .damaged (slot names that were torn or corrupt),
    .fallback (True when the newest-looking slot was bad and an older
    generation or the defaults were used)."""

    def __init__(self, hal, name="settings", defaults=None):
        self.hal = hal
        self.slots = (name + ".a", name + ".b")
        self.tmp_name = name + ".tmp"
        self.defaults = dict(defaults) if defaults else {}
        self.generation = 0
        self.source = "defaults"
        self.damaged = []  # type: list
        self.fallback = False
        self.values = dict(self.defaults)
        self._slot = -1  # index of the slot holding the newest generation
        self._loaded = False

    def _read(self, name):
        size = self.hal.fs_size(name)
        if size < 0:
            return None, False
        if size > HEAD + MAX_PAYLOAD + 4:
            return None, True
        f = self.hal.fs_open(name, "rb")
        try:
            data = f.read()
        finally:
            f.close()
        got = unpack(data)
        return got, got is None

    def load(self):
        best = None
        best_i = -1
        damaged = []
        for i in range(2):
            got, bad = self._read(self.slots[i])
            if bad:
                damaged.append(self.slots[i])
            elif got is not None and (best is None or got[0] > best[0]):
                best = got
                best_i = i
        self.damaged = damaged
        self.fallback = len(damaged) > 0
        values = dict(self.defaults)
        if best is None:
            self.generation = 0
            self.source = "defaults"
            self._slot = -1
        else:
            self.generation = best[0]
            self.source = self.slots[best_i]
            self._slot = best_i
            for k in best[1]:
                values[k] = best[1][k]
        self.values = values
        self._loaded = True
        return dict(values)

    def lost(self):
        """After load(): why the stored settings could not be used (every copy
        there was damaged, so the defaults are in use), or None."""
        if self.damaged and self.source == "defaults":
            return "settings copies %s unreadable: defaults in use" % "+".join(self.damaged)
        return None

    def save(self, values):
        """Store a new generation; returns its number."""
        if not isinstance(values, dict):
            raise ValueError("settings must be a dict")
        if not self._loaded:
            self.load()  # never overwrite the newest generation blindly
        gen = self.generation + 1
        data = pack(gen, values)
        target = 1 if self._slot == 0 else 0
        f = self.hal.fs_open(self.tmp_name, "wb")
        try:
            f.write(data)
        finally:
            f.close()
        self.hal.fs_rename(self.tmp_name, self.slots[target])
        self.generation = gen
        self._slot = target
        self.source = self.slots[target]
        merged = dict(self.defaults)
        for k in values:
            merged[k] = values[k]
        self.values = merged
        return gen

    def update(self, **changes):
        """save() the current values with some changed."""
        v = dict(self.values)
        for k in changes:
            v[k] = changes[k]
        return self.save(v)
