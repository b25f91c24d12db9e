"""Maintenance requests signed one by one (issue 14, the Pico's session gap).

A Pico cannot see the host close its USB port (MicroPython's CDC driver does not
report DTR), so its HAL takes the first byte after 30 s of silence as a new
connection: until then a process that opens the port after the maintainer closed
it is, to the unit, the maintainer's connection.  These tests model exactly that:
the emulated unit's in-memory UART with no new-connection event (no
`uart.reconnect()`), or a live unit whose port reports no opens and closes, the
intruder arriving well within the 30 s.  The session is there; it is of no use
without the key, because every request that needs it is signed
(docs/protocol.md, "Signed requests"; auth.check_request).
"""
import binascii
import os
import random
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.board import EmulatedUnit
from emulator.live import DEV_KEY, LiveUnit
from firmware.core import auth, druglib, frames, protocol, service
from host_tools import link as _link
from protocol_harness import Harness

WINDOW_S = 10  # the intruder arrives this long after the maintainer left: inside the Pico's 30 s
KG = 70


def _raw(h, body):
    """One framed request body as given (no signing added) -> ('OK'|'ERR', text)."""
    replies, _ = h.exchange(body)
    assert len(replies) == 1, replies
    got, ok, code, data = frames.parse_reply(replies[0])
    assert got == body.split(" ", 1)[0]
    return ("OK", data) if ok else ("ERR", "%s %s" % (code, data))


def _flash(path):
    """Every file of the emulated flash: name -> bytes."""
    out = {}
    for root, _, files in os.walk(path):
        for name in files:
            full = os.path.join(root, name)
            with open(full, "rb") as f:
                out[os.path.relpath(full, path)] = f.read()
    return out


from test_security import _attack_library  # noqa: E402  (the red team's library, one copy)


def _maint(h, action=None):
    return [e for e in h.unit.events if e["type"] == "maint" and (action is None or e["action"] == action)]


def _intruder_requests():
    """What the red team sent after inheriting the session: clear the record, push the attack
    library, change the settings, set the clock, take the REPL."""
    lib = _attack_library()
    b64 = binascii.b2a_base64(lib[:protocol.DL_CHUNK], newline=False).decode()
    return ["CLEARLOG confirm=yes",
            "DLPUT size=%d sha256=%s" % (len(lib), auth.hexlify(auth.sha256(lib))),
            "DLDATA off=0 data=%s" % b64,
            "DLCOMMIT tag=%s" % ("ab" * 32),
            "DLABORT",
            "SETTINGS reference=ncs age_group=child",
            "CLOCK unix=1800000000",
            "REPL"]


# ---------------------------------------------------------------- the hijack chain, Pico style

def test_pico_window_hijack_chain_every_session_request_is_refused_and_nothing_changes(tmp_path):
    from emulator.repl import MaintenanceRepl

    flash = str(tmp_path)
    h = Harness(weight_kg=KG, flash_dir=flash, repl=MaintenanceRepl(flash))
    h.ok("NOTE text=before")
    assert h.login()[0] == "OK"
    assert h.ok("CLOCK unix=1800000000").startswith("unix=1800000000")  # the maintainer's signed request
    h.advance_s(WINDOW_S)  # the port closed without LOGOUT; the Pico sees no new connection
    assert h.uart.link_id() == h.link._conn  # no connection change: the session is still open ...
    assert h.link._maint is not None and h.link._maint.auth.session
    before_flash, before_events = _flash(flash), list(h.unit.events)
    before_cfg = dict(h.unit.config)
    # ... and the intruder, who never logged in, sends what the red team sent: unsigned
    for i, text in enumerate(_intruder_requests()):
        status, msg = _raw(h, "x%d %s" % (i, text))
        assert status == "ERR" and msg.startswith("AUTH mac required"), (text, msg)
    # ... then with made-up signatures (it has no key): refused, each counted and logged
    for i, text in enumerate(_intruder_requests()[:4]):
        status, msg = _raw(h, "y%d %s n=%d mac=%s" % (i, text, i + 1, "0" * 32))
        assert status == "ERR" and msg.startswith("AUTH bad mac"), (text, msg)
    assert not h.link.repl_active
    assert h.unit.config == before_cfg
    assert h.unit.library.version == druglib.get().version
    after = _flash(flash)
    assert set(after) == set(before_flash)
    for name in after:  # the log only grew by the four refused attempts, everything else is as it was
        if after[name] != before_flash[name]:
            assert after[name].startswith(before_flash[name]), name
    new = h.unit.events[len(before_events):]
    assert h.unit.events[:len(before_events)] == before_events
    assert [(e["type"], e["action"]) for e in new] == [("maint", "login_fail")] * 4
    assert "wrong mac" in new[0]["detail"]
    # the maintainer's session did not end: the next signed request goes through
    h.advance_s(5)
    assert h.ok("CLOCK unix=1800000100").startswith("unix=1800000100")
    # two reboots: the record and the library in use as they were; a 28 mg lorazepam is refused
    for boot in (2, 3):
        h2 = Harness(flash_dir=flash)
        h2.unit.set_weight(KG * 1000)
        assert any(e.get("text") == "before" for e in h2.unit.events), boot
        assert h2.unit.config["reference"] == before_cfg["reference"], boot
        assert h2.unit.library.version == druglib.get().version, boot
        assert h2.unit.check("lorazepam", "iv", dose="28 mg")["verdict"] == "hard", boot
        assert h2.err("CLEARLOG confirm=yes", rid="boot%d" % boot).startswith("AUTH"), boot


def test_pico_window_through_the_host_tools(tmp_path):
    """The same over a pty, with statim's own client: the port reports no opens and closes
    (a Pico's USB CDC); the maintainer's requests are signed transparently, the intruder's
    are refused."""
    flash = str(tmp_path / "flash")
    live = LiveUnit(uart="pty", flash_dir=flash, weight_kg=KG)
    live.uart.link_id = lambda: 0  # no DTR: the unit never learns that the port changed hands
    live.link._conn = 0
    live.start()
    try:
        with _link.open_link(live.port) as c:
            c.login(DEV_KEY)
            assert c.request("CLOCK", unix=1800000000).startswith("unix=1800000000")
            assert '"reference":"ncs"' in c.request("SETTINGS", reference="ncs")
            assert '"reference":"aes"' in c.request("SETTINGS", reference="aes")
        # closed without LOGOUT; the next process opens the port
        with _link.open_link(live.port) as c:
            lib = _attack_library()
            for word, kw in (("REPL", {}), ("DLPUT", {"size": len(lib), "sha256": auth.hexlify(auth.sha256(lib))}),
                             ("CLEARLOG", {"confirm": "yes"}), ("SETTINGS", {"reference": "ncs"}),
                             ("CLOCK", {"unix": 1800000000})):
                with pytest.raises(_link.RemoteError) as e:
                    c.request(word, **kw)
                assert e.value.code == "AUTH" and "mac required" in e.value.message, (word, e.value)
        assert not live.link.repl_active
        assert live.unit.config["reference"] == "aes"
        acts = [e["action"] for e in live.unit.events if e["type"] == "maint"]
        assert acts == ["login", "clock", "settings", "settings"], acts  # no logout: the unit saw no change
    finally:
        live.stop()


# ---------------------------------------------------------------- replay and alteration

def _session(tmp_path=None):
    h = Harness(flash_dir=str(tmp_path) if tmp_path else None)
    assert h.login()[0] == "OK"
    return h


def test_a_captured_request_replayed_is_not_run_again(tmp_path):
    h = _session(tmp_path)
    h.ok("CLOCK unix=1800000000", rid="m1")
    captured = h.sent[-1]
    assert " mac=" in captured
    clocks = len(_maint(h, "clock"))
    # replayed verbatim at once: the id is remembered, the first reply comes back, nothing runs again
    status, data = _raw(h, captured)
    assert status == "OK" and data.startswith("unix=1800000000")
    assert len(_maint(h, "clock")) == clocks
    # under another id (so that the memory of ids does not catch it): the MAC covers the id
    status, msg = _raw(h, "m2" + captured[2:])
    assert status == "ERR" and msg.startswith("AUTH bad mac"), msg
    # once 32 newer requests pushed its id out of that memory: its counter is spent
    for i in range(protocol.IDEM_SLOTS + 1):
        h.ok("NOTE text=n%d" % i)
    status, msg = _raw(h, captured)
    assert status == "ERR" and msg.startswith("AUTH replayed"), msg
    assert len(_maint(h, "clock")) == clocks
    # a request nothing remembers by id (DLABORT): refused the first time it comes back
    h.ok("DLABORT", rid="m3")
    aborted = h.sent[-1]
    status, msg = _raw(h, aborted)
    assert status == "ERR" and msg.startswith("AUTH replayed"), msg
    # after LOGOUT and a new login (a new session key, the counter from 0), an old signature is worthless
    h.ok("LOGOUT")
    assert h.login()[0] == "OK"
    status, msg = _raw(h, aborted)
    assert status == "ERR" and msg.startswith("AUTH bad mac"), msg
    assert len(_maint(h, "clock")) == clocks


def test_counters_must_rise_within_a_session():
    h = _session()
    skey = h.skey
    assert _raw(h, auth.sign(skey, "a1 DLABORT n=5"))[0] == "OK"
    assert _raw(h, auth.sign(skey, "a2 DLABORT n=5"))[1].startswith("AUTH replayed")  # same n, new id
    assert _raw(h, auth.sign(skey, "a3 DLABORT n=3"))[1].startswith("AUTH replayed")  # an older n
    assert _raw(h, auth.sign(skey, "a4 DLABORT n=40"))[0] == "OK"  # gaps are fine (a lost request)
    assert _raw(h, auth.sign(skey, "a5 DLABORT n=41"))[0] == "OK"


@pytest.mark.parametrize("alter", ["value", "word", "counter", "id", "add an argument", "drop an argument",
                                   "mac before n", "mac shortened", "mac lengthened", "mac 64 hex",
                                   "mac not hex", "mac quoted", "no n", "no mac"])
def test_a_request_altered_after_signing_is_refused(tmp_path, alter):
    h = _session(tmp_path)
    h.req_n += 1
    body = "c1 CLOCK unix=1800000000 n=%d" % h.req_n
    mac = auth.hexlify(auth.request_mac(h.skey, body))
    good = body + " mac=" + mac
    bad = {
        "value": good.replace("unix=1800000000", "unix=1800000001"),
        "word": good.replace("CLOCK", "clock"),
        "counter": good.replace(" n=%d " % h.req_n, " n=%d " % (h.req_n + 1)),
        "id": good.replace("c1 ", "c2 ", 1),
        "add an argument": body + " unix2=1 mac=" + mac,
        "drop an argument": "c1 CLOCK n=%d mac=%s" % (h.req_n, mac),
        "mac before n": "c1 CLOCK unix=1800000000 mac=%s n=%d" % (mac, h.req_n),
        "mac shortened": good[:-2],
        "mac lengthened": good + "00",
        "mac 64 hex": body + " mac=" + auth.hexlify(auth.hmac_sha256(h.skey, body.encode())),
        "mac not hex": good[:-1] + "g",
        "mac quoted": body + ' mac="%s"' % mac,
        "no n": "c1 CLOCK unix=1800000000 mac=" + mac,
        "no mac": body,
    }[alter]
    n = len(h.unit.events)
    status, msg = _raw(h, bad)
    assert status == "ERR", msg
    assert msg.startswith("AUTH") or (alter == "add an argument" and msg.startswith("ARGS")), msg
    assert [e["action"] for e in h.unit.events[n:]] in ([], ["login_fail"])
    assert not _maint(h, "clock") and h.emu.board.rtc_s() < 1800000000
    # the maintainer's request as signed (under a new id: the altered one used c1) still goes through
    body = "c3 CLOCK unix=1800000000 n=%d" % (h.req_n + 1)
    status, data = _raw(h, auth.sign(h.skey, body))
    assert status == "OK" and data.startswith("unix=1800000000"), data


def test_the_signed_request_itself_is_accepted_in_upper_case_hex():
    h = _session()
    h.req_n += 1
    body = "u1 DLABORT n=%d" % h.req_n
    assert _raw(h, body + " mac=" + auth.hexlify(auth.request_mac(h.skey, body)).upper())[0] == "OK"


def test_a_mac_that_matches_only_in_its_first_bytes_is_refused():
    # a compare without its length check, or one that stops early, would let these in
    h = _session()
    body = "p1 DLABORT n=1"
    right = auth.request_mac(h.skey, body)
    for wrong in (right[:1], right[:8], right[:15], right + b"\x00", right[:15] + bytes([right[15] ^ 1]),
                  bytes([right[0] ^ 0x80]) + right[1:]):
        status, msg = _raw(h, body + " mac=" + auth.hexlify(wrong))
        assert status == "ERR" and msg.startswith("AUTH bad mac"), (wrong, msg)
    assert _raw(h, body + " mac=" + auth.hexlify(right))[0] == "OK"


# ---------------------------------------------------------------- counters out of range

@pytest.mark.parametrize("n", ["0", "-1", "1000000000", "99999999999999999999999999999999", "9" * 600, "1e3",
                               "0x10", "+5", "1.0"])
def test_counters_out_of_range_are_refused_without_a_crash(n):
    h = _session()
    status, msg = _raw(h, auth.sign(h.skey, "k1 DLABORT n=%s" % n))
    assert status == "ERR" and msg.startswith("AUTH n must be a counter"), msg
    assert _raw(h, auth.sign(h.skey, "k2 DLABORT n=1"))[0] == "OK"  # nothing was spent


def test_the_largest_counter_is_accepted_once_and_then_a_new_login_is_needed():
    h = _session()
    top = "k1 DLABORT n=%d" % auth.COUNTER_MAX
    assert _raw(h, auth.sign(h.skey, top))[0] == "OK"
    assert _raw(h, auth.sign(h.skey, "k2 DLABORT n=%d" % auth.COUNTER_MAX))[1].startswith("AUTH replayed")
    assert _raw(h, auth.sign(h.skey, "k3 DLABORT n=1000000000"))[1].startswith("AUTH n must be")
    assert h.login()[0] == "OK"  # a new session starts its counter again
    assert _raw(h, auth.sign(h.skey, "k4 DLABORT n=1"))[0] == "OK"


# ---------------------------------------------------------------- failures, lock-out, what needs no session

def test_wrong_macs_count_toward_the_lockout_but_leave_the_session(tmp_path):
    h = _session(tmp_path)
    for i in range(auth.MAX_FAILURES):
        status, msg = _raw(h, "f%d CLOCK unix=1800000000 n=%d mac=%s" % (i, i + 1, "%032x" % i))
        assert status == "ERR" and msg.startswith("AUTH bad mac"), msg
    assert len(_maint(h, "login_fail")) == auth.MAX_FAILURES
    # locked: no one can start a login now ...
    assert h.err("CHALLENGE").startswith("LOCKED")
    # ... the maintainer's signed requests still go through (the session did not end) ...
    assert h.ok("CLOCK unix=1800000000").startswith("unix=")
    # ... further forgeries while locked are refused and counted, not each written to the log
    n = len(h.unit.events)
    for i in range(20):
        assert _raw(h, "g%d DLABORT n=%d mac=%s" % (i, 100 + i, "1" * 32))[1].startswith("AUTH bad mac")
    assert len(h.unit.events) == n
    # the count survives a reboot (rebuilt from the logged failures)
    h2 = Harness(flash_dir=str(tmp_path))
    assert h2.err("CHALLENGE").startswith("LOCKED")
    # bedside use is unaffected by all of it
    assert h2.ok("ONSET").startswith("seq=")


def test_a_session_request_without_a_session_still_says_log_in_first():
    h = Harness()
    assert h.err("DLABORT n=1 mac=" + "0" * 32).startswith("AUTH DLABORT is a maintenance command: log in first")
    h.login()
    h.ok("LOGOUT")
    h.skey = None
    assert h.err("CLOCK unix=1800000000 n=1 mac=" + "0" * 32).startswith("AUTH CLOCK is a maintenance command")


def test_bedside_commands_take_no_signature_fields():
    h = _session()
    assert h.err("PING n=1 mac=" + "0" * 32).startswith("ARGS")  # n and mac belong to session requests only
    assert h.ok("PING").startswith("t=")
    assert '"reference"' in h.ok("SETTINGS")  # a settings read stays bedside, unsigned


def test_the_maintenance_code_stays_out_of_a_bedside_unit():
    import subprocess
    import sys

    code = """
import sys
from emulator.board import EmulatedUnit
from firmware.core import frames, protocol
e = EmulatedUnit(); link = protocol.Link(e.unit, e.board, key=b"k" * 32, rand=lambda n: bytes(n)); e.unit.link = link
for i, b in enumerate(["HELLO", "STATUS", "SETTINGS", "ONSET", "SETTINGS reference=ncs",
                       "CLOCK unix=1800000000 n=1 mac=" + "0" * 32, "REPL"]):
    e.board.uart.host_write(frames.seal("%d %s" % (i, b))); e.unit.step()
assert b"ERR AUTH" in e.board.uart.host_read()
print(sorted(m for m in sys.modules if m in ("firmware.core.auth", "firmware.core.maint")), link._maint)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert out.stdout.strip() == "[] None", out.stdout + out.stderr


def test_service_mode_repl_needs_a_signed_request():
    from test_security import service_unit

    board, svc, ask = service_unit()
    kv = dict(t.split("=", 1) for t in ask("1 CHALLENGE").split(" ", 2)[2].split())
    assert ask("2 LOGIN mac=" + auth.hexlify(auth.login_mac(DEV_KEY, kv["unit"], kv["nonce"]))).startswith("2 OK")
    skey = auth.session_key(DEV_KEY, kv["unit"], kv["nonce"])
    assert ask("3 REPL").startswith("3 ERR AUTH mac required")  # same connection, unsigned
    assert ask("4 REPL n=1 mac=" + "0" * 32).startswith("4 ERR AUTH bad mac")
    assert not svc.repl_requested
    assert ask(auth.sign(skey, "5 REPL n=2")) == "5 OK repl"
    assert svc.repl_requested


# ---------------------------------------------------------------- the host tools sign transparently

def test_the_host_client_signs_exactly_the_session_requests():
    maint = sorted(w for w, spec in protocol.COMMANDS.items() if spec[1] & protocol._MAINT)
    assert maint == ["CLEARLOG", "CLOCK", "DLABORT", "DLCOMMIT", "DLDATA", "DLPUT", "REPL"]
    for w in maint:
        assert _link.needs_session(w) and _link.needs_session(w.lower())
    assert _link.needs_session("SETTINGS", kw={"reference": "ncs"})
    assert _link.needs_session("SETTINGS", pos=("convulsive",))
    assert not _link.needs_session("SETTINGS") and not _link.needs_session("SETTINGS", kw={"reference": None})
    for w in protocol.COMMANDS:
        if w not in maint and w != "SETTINGS":
            assert not _link.needs_session(w), w


def test_the_host_client_keeps_its_counter_and_its_retries_resend_the_same_frame():
    import serial
    from test_host_link import LoseFirstReply

    live = LiveUnit(uart="pty").start()
    try:
        ser = serial.serial_for_url(live.port, timeout=0.2)
        c = _link.Client(ser, timeout=0.7, retries=3)
        sent = []
        c.trace = lambda d, line: sent.append(line) if d == ">" else None
        c.login(DEV_KEY)
        rid = c.prefix + ".99"
        c.ser = LoseFirstReply(ser, (rid + " OK").encode())  # the unit's first reply to the CLOCK is lost
        assert c.request("CLOCK", unix=1800000000, _id=rid).startswith("unix=1800000000")
        assert c.ser.lost == 1 and c.retried == 1
        c.request("DLABORT")
        signed = [x for x in sent if " mac=" in x and " LOGIN " not in x]
        assert len(signed) == 3 and signed[0] == signed[1]  # the retry is the same frame: same n, same mac
        assert [x.split(" n=")[1].split(" ")[0] for x in signed] == ["1", "1", "2"]
        assert len([e for e in live.unit.events if e["type"] == "maint" and e["action"] == "clock"]) == 1
        c.logout()
        with pytest.raises(_link.RemoteError) as e:
            c.request("DLABORT")
        assert e.value.code == "AUTH" and "log in first" in e.value.message
        c.close()
    finally:
        live.stop()


# ---------------------------------------------------------------- fuzz: hostile n= and mac= never crash the unit

_TEXT = st.text(alphabet=string.ascii_letters + string.digits + "-+._=\"\\ ", min_size=0, max_size=80)
_WORDS = ["CLOCK unix=1800000000", "DLABORT", "DLDATA off=0 data=AAAA", "REPL", "SETTINGS reference=ncs",
          "CLEARLOG confirm=yes", "DLCOMMIT tag=00", "PING", "SETTINGS"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(word=st.sampled_from(_WORDS), n=_TEXT, mac=_TEXT, order=st.booleans(), logged_in=st.booleans(),
       seed=st.integers(0, 2 ** 32 - 1))
def test_random_signature_fields_never_crash_the_unit_or_change_it(word, n, mac, order, logged_in, seed):
    h = Harness()
    if logged_in:
        h.login()
    cfg = dict(h.unit.config)
    rtc = h.emu.board.rtc_s()
    n_events = len(h.unit.events)
    fields = ["n=" + n, "mac=" + mac] if order else ["mac=" + mac, "n=" + n]
    if random.Random(seed).random() < 0.3:  # sometimes a right-looking MAC of the right length
        fields[-1] = "mac=" + auth.hexlify(random.Random(seed).randbytes(auth.MAC_BYTES))
    body = "z1 %s %s" % (word, " ".join(fields))
    h.send(frames.seal(body))
    lines = [x for x in h.lines() if not x.startswith("! ")]
    assert len(lines) == 1, lines  # exactly one reply, never a traceback
    rid, ok, code, text = frames.parse_reply(lines[0])
    assert code != frames.E_INTERNAL, text
    assert not ok, text  # nothing made up is accepted (bedside words take no n= or mac= at all)
    assert h.unit.config == cfg and not h.link.repl_active
    assert abs(h.emu.board.rtc_s() - rtc) <= 1
    assert [(e["type"], e["action"]) for e in h.unit.events[n_events:]] in ([], [("maint", "login_fail")])


def test_with_a_constant_rng_a_new_login_never_repeats_the_session_key():
    # the maintenance module is let go after LOGOUT and loaded again by the next CHALLENGE,
    # in the same second: without a counter that outlives it, a constant RNG would give the
    # same nonce again, so the same session key, and a captured request would be valid again
    h = Harness(rand=lambda n: bytes(n))
    assert h.login()[0] == "OK"
    first = h.skey
    h.ok("DLABORT", rid="r1")
    captured = h.sent[-1]
    h.ok("LOGOUT")
    assert h.link._maint is None or not h.link._maint.auth.session
    assert h.login()[0] == "OK"
    assert h.skey != first
    status, msg = _raw(h, captured)
    assert status == "ERR" and msg.startswith("AUTH bad mac"), msg


def test_a_settings_change_after_the_session_went_idle_lets_the_maintenance_code_go():
    h = _session()
    h.advance_s(auth.SESSION_IDLE_S + 5)
    assert h.err("SETTINGS reference=ncs").startswith("AUTH SETTINGS is a maintenance command: log in first")
    assert h.unit.config["reference"] != "ncs"
    assert h.link._maint is None  # nothing pending: the maintenance module is let go (a board's heap)
    assert _maint(h, "logout")[-1]["detail"].startswith("session idle")
