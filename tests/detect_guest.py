"""Guest programs for MicroPython runs of the EEG detector (tests and benchmarks)."""

# Cost of the Python twin per second of 256 Hz EEG, and the float garbage it makes.
COST = """
import gc, math, time
from array import array
from core import detect
fs = 256.0
blk = array('d', [40.0 * math.sin(2 * math.pi * 9.5 * i / fs) + 15.0 * math.sin(2 * math.pi * 3.3 * i / fs + 1.0)
                  for i in range(256)])
d = detect.Detector(fs)
total = 0
for k in range(120):
    gc.collect()
    t0 = time.ticks_us()
    d.process(blk)
    total += time.ticks_diff(time.ticks_us(), t0)
gc.collect()
a0 = gc.mem_alloc()
d.process(blk)
print(total // 120, gc.mem_alloc() - a0)
"""
