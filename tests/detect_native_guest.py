# Guest for tests/test_detect_native.py, run in the MicroPython unix port with the
# native module statim_det on the path:
#   micropython detect_native_guest.py SAMPLES TYPECODE FS SEED [name=value ...]
# SAMPLES: raw array bytes (TYPECODE 'd' or 'f'), streamed in blocks of random
# sizes (1..300, from SEED; 0: blocks of 300) through core.detect.Detector.
# Prints the backend, then the events as one JSON line, then the final status as
# one JSON line: every field the module answers (doubles as their bytes, exactly).
import json
import struct
import sys
from array import array

from core import detect

path, code, fs, seed = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
over = {}
for arg in sys.argv[5:]:
    k, v = arg.split("=")
    over[k] = float(v)
print("BACKEND", detect.BACKEND)
d = detect.Detector(fs, **over)
events = []
state = seed or 1
size = 8 if code == "d" else 4
buf = array(code, bytes(300 * size))
with open(path, "rb") as f:  # streamed: a long recording does not fit a board-sized heap
    while True:
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        k = 1 + state % 300 if seed else 300
        chunk = f.read(k * size)
        if not chunk:
            break
        k = len(chunk) // size
        src = array(code, chunk)
        for j in range(k):
            buf[j] = src[j]
        events += d.process(buf, k)
print(json.dumps(events))
r = d.raw
out = {}
from core.detect_native import _FIELDS  # every field the module answers

for name in _FIELDS:
    v = getattr(r, name)
    out[name] = "".join("%02x" % b for b in struct.pack("<d", v)) if isinstance(v, float) else v
print(json.dumps(out))
