"""The serial link keeps only its framing and the polled answers (HELLO, PING, STATUS)
resident; every other bedside request is answered by link_requests.py, loaded when one
arrives and let go REQUESTS_KEEP_S after the last (on a board, code lives in the heap)."""
import os
import subprocess
import sys

from firmware.core import frames, protocol

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(code):
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_a_polling_nurse_station_never_loads_the_request_handlers():
    code = """
import sys
from emulator.board import EmulatedUnit
from firmware.core import frames, protocol
e = EmulatedUnit(weight_kg=70); e.attach_link()
for i, b in enumerate(["HELLO", "PING", "STATUS"] * 5):
    e.board.uart.host_write(frames.seal("%d %s" % (i, b))); e.unit.step()
out = e.board.uart.host_read()
assert out.count(b" OK") == 15, out
print("firmware.core.link_requests" in sys.modules, e.unit.link._req_mod)
"""
    assert _run(code) == "False None"


def test_requests_are_answered_then_the_handlers_let_go_after_30_s():
    from emulator.board import EmulatedUnit

    e = EmulatedUnit(weight_kg=70)
    e.attach_link()
    link = e.unit.link

    def ask(body):
        e.board.uart.host_write(frames.seal(body))
        e.unit.step()
        rid = body.split(" ")[0] + " "
        for line in e.board.uart.host_read().split(b"\n"):  # event lines ("! EVT") come too
            text = frames.unseal(line, len(line)) if line else ""
            if text.startswith(rid):
                return text
        return None

    assert ask("1 ONSET").startswith("1 OK seq=")
    assert ask("2 DOSE lorazepam iv dose=\"4 mg\"").startswith('2 OK {"seq":')
    assert link._req_mod is not None
    e.run_for((protocol.REQUESTS_KEEP_S - 2) * 1000)
    assert link._req_mod is not None  # still talking: kept
    assert ask("3 LOG max=1").startswith('3 OK {"from":0')
    e.run_for((protocol.REQUESTS_KEEP_S + 2) * 1000)
    assert link._req_mod is None  # quiet for REQUESTS_KEEP_S: let go
    assert ask("4 DOSE lorazepam iv dose=\"40 mg\"").startswith("4 ERR HARD")  # loaded again, checked again
