"""Maintenance security (issue 8, item 3): HMAC-SHA256 challenge-response sessions.

- maintenance commands need a session; bedside commands never do;
- the right key opens a session, a wrong one does not; nonces are fresh,
  single-use and expire; sessions time out when idle;
- 5 failures in a row lock the unit out, with a back-off that doubles, and
  the lock-out survives a reboot (it is rebuilt from the logged attempts);
- every attempt is logged as a `maint` event;
- a drug library update needs a valid tag for this unit's key and must verify.
"""
import json
import os

import pytest

from emulator.board import EmulatedUnit
from firmware.core import auth, druglib, events, frames, protocol
from protocol_harness import Harness

MAINT = ["CLOCK unix=1790000000", "DLPUT size=10 sha256=" + "0" * 64, "DLDATA off=0 data=AAAA", "DLCOMMIT tag=00",
         "DLABORT", "CLEARLOG confirm=yes", "REPL", "SETTINGS reference=ncs"]


def maint_events(h, action=None):
    return [e for e in h.unit.events if e["type"] == "maint" and (action is None or e["action"] == action)]


def test_hmac_sha256_matches_the_rfc_4231_vectors():
    # RFC 4231 test cases 1 and 2
    assert auth.hexlify(auth.hmac_sha256(b"\x0b" * 20, b"Hi There")) == \
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    assert auth.hexlify(auth.hmac_sha256(b"Jefe", b"what do ya want for nothing?")) == \
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    # case 6: a key longer than the block is hashed first
    assert auth.hexlify(auth.hmac_sha256(b"\xaa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First")) \
        == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"


@pytest.mark.parametrize("cmd", MAINT)
def test_maintenance_commands_need_a_session(cmd):
    h = Harness()
    n = len(h.unit.events)
    assert h.err(cmd).startswith("AUTH")
    assert len(h.unit.events) == n


def test_bedside_commands_need_no_login():
    h = Harness(weight_kg=70)
    for cmd in ("HELLO", "STATUS", "ONSET", "LOG", "DLGET", "SETTINGS", 'CHECK lorazepam iv dose="4 mg"'):
        assert h.request(cmd)[0] == "OK", cmd


def test_login_opens_a_session_and_it_is_logged():
    h = Harness()
    assert h.login() == ("OK", "session ttl=%d" % auth.SESSION_IDLE_S)
    assert h.ok("CLOCK unix=1790000000").startswith("unix=1790000000")
    assert [e["action"] for e in maint_events(h)] == ["login", "clock"]
    h.ok("LOGOUT")
    assert h.err("CLOCK unix=1790000000").startswith("AUTH")
    assert maint_events(h)[-1]["action"] == "logout"


def test_wrong_key_is_denied_and_logged():
    h = Harness()
    status, msg = h.login(key=b"\x00" * 32)
    assert status == "ERR" and msg.startswith("DENIED")
    assert maint_events(h, "login_fail") and not h.link.auth.session
    assert h.err("CLOCK unix=1790000000").startswith("AUTH")


def test_nonces_are_fresh_and_single_use():
    h = Harness(rand=os.urandom)
    nonces = {dict(t.split("=", 1) for t in h.ok("CHALLENGE").split())["nonce"] for _ in range(50)}
    assert len(nonces) == 50
    # a recorded good answer cannot be replayed against a later challenge
    data = dict(t.split("=", 1) for t in h.ok("CHALLENGE").split())
    mac = auth.hexlify(auth.login_mac(h.key, data["unit"], data["nonce"]))
    assert h.ok("LOGIN mac=" + mac)
    h.ok("LOGOUT")
    assert h.err("LOGIN mac=" + mac).startswith("DENIED")  # no challenge outstanding
    h.ok("CHALLENGE")
    assert h.err("LOGIN mac=" + mac).startswith("DENIED")  # a new nonce


def test_even_with_a_constant_rng_nonces_differ():
    h = Harness(rand=lambda n: bytes(n))
    a = h.ok("CHALLENGE")
    b = h.ok("CHALLENGE")
    assert a != b


def test_nonce_expires():
    h = Harness()
    data = dict(t.split("=", 1) for t in h.ok("CHALLENGE").split())
    h.advance_s(auth.NONCE_TTL_S + 5)
    mac = auth.hexlify(auth.login_mac(h.key, data["unit"], data["nonce"]))
    assert "expired" in h.err("LOGIN mac=" + mac)


def test_session_times_out_when_idle():
    h = Harness()
    h.login()
    h.advance_s(auth.SESSION_IDLE_S + 10)
    assert h.err("CLOCK unix=1790000000").startswith("AUTH")
    assert "idle" in maint_events(h, "logout")[-1]["detail"]


def test_lockout_after_five_failures_with_doubling_backoff():
    h = Harness()
    bad = b"\x01" * 32
    codes = [h.login(key=bad)[1].split()[0] for _ in range(5)]
    assert codes == ["DENIED"] * 4 + ["LOCKED"]
    # locked: even the right key is refused, and nothing reaches the MAC check
    assert h.err("CHALLENGE").startswith("LOCKED")
    assert h.err("LOGIN mac=" + "00" * 32).startswith("LOCKED")
    assert h.link.auth.locked_for() > 0
    h.advance_s(auth.LOCKOUT_BASE_S + 1)
    assert h.link.auth.locked_for() == 0
    assert h.login(key=bad)[1].startswith("LOCKED")  # 6th failure: locked again, for twice as long
    assert auth.backoff_s(6) == 2 * auth.LOCKOUT_BASE_S
    h.advance_s(auth.LOCKOUT_BASE_S + 1)
    assert h.link.auth.locked_for() > 0  # still locked: the back-off doubled
    h.advance_s(auth.LOCKOUT_BASE_S + 1)
    assert h.login() == ("OK", "session ttl=%d" % auth.SESSION_IDLE_S)
    assert h.link.auth.failures == 0
    fails = maint_events(h, "login_fail")
    assert len(fails) == 6
    assert maint_events(h, "locked")  # the refused attempts are recorded too
    print("\nlock-out: 6 failures logged, back-off %s s" % [auth.backoff_s(n) for n in range(5, 11)])


def test_backoff_is_capped():
    assert auth.backoff_s(4) == 0
    assert auth.backoff_s(5) == auth.LOCKOUT_BASE_S
    assert auth.backoff_s(50) == auth.LOCKOUT_MAX_S


def test_lockout_survives_a_reboot(tmp_path):
    from firmware.core import eventlog

    flash = str(tmp_path / "flash")
    emu = EmulatedUnit(flash_dir=flash)
    store = eventlog.EventLog(emu.board)
    emu2 = EmulatedUnit(flash_dir=flash, store=store)
    link = protocol.Link(emu2.unit, emu2.board, key=b"k" * 32)
    for _ in range(5):
        link.auth.challenge()
        with pytest.raises(auth.AuthError):
            link.auth.login("00" * 32)
    assert link.auth.locked_for() > 0
    # power cycle: a new unit replays the stored log, and the link rebuilds the count
    emu3 = EmulatedUnit(flash_dir=flash, store=eventlog.EventLog(emu2.board))
    link3 = protocol.Link(emu3.unit, emu3.board, key=b"k" * 32)
    assert link3.auth.failures == 5
    with pytest.raises(auth.AuthError) as e:
        link3.auth.challenge()
    assert e.value.code == "LOCKED"


def test_no_key_provisioned_means_no_maintenance():
    h = Harness(key=None)
    assert h.err("CHALLENGE").startswith("NOKEY")
    assert h.err("LOGIN mac=00").startswith("NOKEY")
    assert json.loads(h.ok("STATUS"))  # bedside still works


def _library_doc(version):
    doc = json.loads(open(druglib.default_path(), encoding="utf-8").read())
    doc["version"] = version
    doc["sha256"] = druglib.compute_hash(doc)
    return doc


def _library_variant(version):
    """A resealed library in the device form, as `statim druglib push` sends it."""
    return druglib.device_bytes(_library_doc(version))


def _push(h, data, tag):
    r = h.ok("DLPUT size=%d sha256=%s" % (len(data), auth.hexlify(auth.sha256(data))))
    chunk = int(r.split("=")[1])
    import binascii

    for off in range(0, len(data), chunk):
        h.ok("DLDATA off=%d data=%s" % (off, binascii.b2a_base64(data[off:off + chunk], newline=False).decode()))
    return h.request("DLCOMMIT tag=%s" % tag)


def test_druglib_update_needs_a_valid_tag_for_this_units_key(tmp_path):
    h = Harness(flash_dir=str(tmp_path))
    h.login()
    data = _library_variant("9.9.9-test")
    # tag made with another key: refused, logged, nothing installed
    st, msg = _push(h, data, auth.hexlify(auth.druglib_tag(b"\x02" * 32, data)))
    assert st == "ERR" and msg.startswith("TAG")
    assert h.unit.library.version != "9.9.9-test"
    assert maint_events(h, "druglib_refused")
    assert not os.path.exists(tmp_path / protocol.FLASH_LIBRARY)
    # the right tag: installed, persisted, logged, announced by HELLO
    st, msg = _push(h, data, auth.hexlify(auth.druglib_tag(h.key, data)))
    assert st == "OK", msg
    assert h.unit.library.version == "9.9.9-test"
    assert (tmp_path / protocol.FLASH_LIBRARY).read_bytes() == data
    assert "9.9.9-test" in maint_events(h, "druglib")[-1]["detail"]
    assert "druglib=9.9.9-test" in h.ok("HELLO")


def test_druglib_with_a_valid_tag_but_a_broken_seal_is_refused():
    h = Harness()
    h.login()
    doc = _library_doc("9.9.8")
    doc["drugs"]["lorazepam"]["routes"]["iv"]["mode"] = "tampered"  # changed after sealing
    data = druglib.device_bytes(doc)
    st, msg = _push(h, data, auth.hexlify(auth.druglib_tag(h.key, data)))
    assert st == "ERR" and msg.startswith("REFUSED") and "integrity" in msg
    assert h.unit.library.version != "9.9.8"


def test_druglib_transfer_state_is_checked():
    h = Harness()
    h.login()
    assert h.err("DLDATA off=0 data=AAAA").startswith("STATE")
    assert h.err("DLCOMMIT tag=00").startswith("STATE")
    h.ok("DLPUT size=6 sha256=" + "0" * 64)
    assert h.err("DLDATA off=3 data=AAAA").startswith("STATE")
    assert h.err("DLDATA off=0 data=!!!!").startswith("ARGS")
    assert h.err("DLPUT size=999999999 sha256=" + "0" * 64).startswith("ARGS")


def test_maint_event_is_a_valid_recorded_only_event():
    ev = events.maint(5, "login", "session opened")
    assert events.validate(ev) is ev
    with pytest.raises(ValueError):
        events.validate({"type": "maint", "t": 5, "action": "format_disk"})


# ---------------------------------------------------------------- red-team findings: the maintenance session
# Each test below replays an attack of the independent red team against the maintenance port
# (security issue, items 1-6); ATTACKS counts the distinct attacks the suite runs.

from emulator.live import DEV_KEY, LiveUnit  # noqa: E402
from emulator.repl import MaintenanceRepl  # noqa: E402
from host_tools import link as _link  # noqa: E402

KG = 70  # the patient of the attack: 70 kg, lorazepam 0.1 mg/kg max 4 mg (AES 2016, clinical.md)
OVERDOSE = '28 mg'  # 7x the 4 mg single-dose maximum


def _attack_library():
    """A sealed library with lorazepam raised to 0.4 mg/kg, max 28 mg: what the red team wrote."""
    doc = json.loads(open(druglib.default_path(), encoding="utf-8").read())
    for ref in ("aes", "ncs"):
        d = doc["drugs"]["lorazepam"]["routes"]["iv"]["dose"]["by_reference"][ref]
        d["ug_per_kg"] = 400
        d["max_ug"] = 28000
    doc["version"] = "9.0.0-attack"
    doc["sha256"] = druglib.compute_hash(doc)
    return druglib.device_bytes(doc)


def test_the_attack_library_would_approve_the_overdose():
    # the attack is real: sealed and well formed, and under it 28 mg at 70 kg is "adequate"
    lib = druglib.loads(_attack_library())
    assert lib.verified, lib.reason
    emu = EmulatedUnit(weight_kg=KG)
    emu.unit.library = lib
    v = emu.unit.check("lorazepam", "iv", dose=OVERDOSE)
    assert v["verdict"] == "adequate", v
    emu.unit.library = druglib.get()
    assert emu.unit.check("lorazepam", "iv", dose=OVERDOSE)["verdict"] == "hard"


def _maint_actions(live):
    return [(e["action"], e.get("detail", "")) for e in live.unit.events if e["type"] == "maint"]


@pytest.mark.parametrize("uart", ["pty", "tcp"])
def test_hijack_chain_a_closed_connection_leaves_no_session(tmp_path, uart):
    """The whole chain on an emulated unit, rebooted twice: a maintainer logs in and closes
    the port without LOGOUT; the next process to open it gets no session, so no REPL, no
    library push; after each reboot the unit runs its own library and refuses 28 mg."""
    flash = str(tmp_path / "flash")
    live = LiveUnit(uart=uart, flash_dir=flash, weight_kg=KG).start()
    try:
        with _link.open_link(live.port) as c:
            c.login(DEV_KEY)
            assert "session" not in c.hello()
        # the port is closed without LOGOUT; the attacker opens it next
        with _link.open_link(live.port) as c:
            hello = c.hello()
            assert "session" not in hello  # session state is shown to no one
            assert "session" not in c.status()
            for word, kw in (("REPL", {}), ("DLPUT", {"size": 10, "sha256": "0" * 64}), ("CLOCK", {"unix": 1790000000})):
                with pytest.raises(_link.RemoteError) as e:
                    c.request(word, **kw)
                assert e.value.code == "AUTH", (word, e.value)
        assert not live.link.repl_active
        acts = _maint_actions(live)
        assert [a for a, _ in acts] == ["login", "logout"], acts
        assert "connection" in acts[1][1]
    finally:
        live.stop()
    for boot in (2, 3):  # reboot, twice: the record and the library in use as they were
        live = LiveUnit(uart=uart, flash_dir=flash).start()
        try:
            with _link.open_link(live.port) as c:
                hello = c.hello()
                assert hello["druglib_ok"] == "1" and hello["druglib"] == druglib.get().version, (boot, hello)
                with pytest.raises(_link.RemoteError) as e:
                    c.dose("lorazepam", "iv", dose=OVERDOSE)
                assert e.value.code == "HARD", (boot, e.value)
            assert not [e for e in live.unit.events if e["type"] == "dose"]
        finally:
            live.stop()


def test_a_second_tcp_client_ends_the_session():
    import socket

    live = LiveUnit(uart="tcp").start()
    try:
        with _link.open_link(live.port) as c:
            c.login(DEV_KEY)
            assert c.request("CLOCK", unix=1790000000).startswith("unix=")
            with _link.open_link(live.port) as intruder:  # connects while the maintainer is on
                with pytest.raises(_link.RemoteError) as e:
                    intruder.request("REPL")
                assert e.value.code == "AUTH"
            # the maintainer's connection was replaced: it is closed by the unit
            with pytest.raises((_link.LinkError, OSError, socket.error)):
                c.retries = 0
                c.timeout = 0.5
                c.request("CLOCK", unix=1790000000)
        assert [a for a, _ in _maint_actions(live)] == ["login", "clock", "logout"]
    finally:
        live.stop()


def test_named_emulated_unit_reopened_has_no_session():
    from host_tools import protocol_emu

    try:
        with _link.open_link("emu://hijack-test") as c:
            c.login(DEV_KEY)
        with _link.open_link("emu://hijack-test") as c:
            with pytest.raises(_link.RemoteError) as e:
                c.request("REPL")
            assert e.value.code == "AUTH"
    finally:
        protocol_emu.shutdown("hijack-test")


def test_a_connection_change_ends_session_challenge_and_transfer(tmp_path):
    h = Harness(flash_dir=str(tmp_path))
    h.login()
    h.ok("DLPUT size=6 sha256=" + "0" * 64)
    assert os.path.exists(tmp_path / protocol.FLASH_LIBRARY_TMP)
    h.uart.reconnect()
    assert h.err("CLOCK unix=1790000000").startswith("AUTH")
    assert maint_events(h, "logout")[-1]["detail"] == "connection closed or changed"
    assert not os.path.exists(tmp_path / protocol.FLASH_LIBRARY_TMP)
    # a challenge issued before the change cannot be answered after it
    data = dict(t.split("=", 1) for t in h.ok("CHALLENGE").split())
    h.uart.reconnect()
    mac = auth.hexlify(auth.login_mac(h.key, data["unit"], data["nonce"]))
    assert "no challenge" in h.err("LOGIN mac=" + mac)
    # a new login does not resurrect the old transfer
    h.login()
    assert h.err("DLDATA off=0 data=AAAA").startswith("STATE")
    # a half line from the old connection is not glued to the new one's
    h.send(b"t99 CLO")
    h.uart.reconnect()
    replies, _ = h.exchange("t100 PING")
    assert len(replies) == 1 and replies[0].startswith("t100 OK")


def test_repl_needs_a_login_within_the_last_minute(tmp_path):
    h = Harness(repl=MaintenanceRepl(str(tmp_path)))
    h.login()
    h.advance_s(auth.REPL_LOGIN_S + 5)
    h.ok("CLOCK unix=1790000000")  # the session itself is still open ...
    assert h.err("REPL").startswith("AUTH")  # ... but too old for the REPL
    assert not h.link.repl_active
    h.login()
    h.send(frames.seal(h.signed("REPL", "r1")))  # signed with the session key, as the host tools do
    assert b"\n" + frames.seal("r1 OK repl") in h.uart.host_read()
    assert h.link.repl_active


def service_unit(reason="flash full"):
    """(board, service-mode unit, ask): ask(body) sends one request and returns the reply line."""
    from emulator.board import EmulatedBoard
    from firmware.core import service

    board = EmulatedBoard()
    svc = service.Service(board, reason, key=DEV_KEY)

    def ask(body):
        board.uart.host_write(frames.seal(body))
        svc.poll()
        out = board.uart.host_read().split(b"\n")[0]
        return frames.unseal(out, len(out))

    return board, svc, ask


def test_service_mode_login_belongs_to_its_connection():
    board, svc, ask = service_unit()
    nonce = dict(t.split("=", 1) for t in ask("1 CHALLENGE").split(" ", 2)[2].split())
    mac = auth.hexlify(auth.login_mac(DEV_KEY, nonce["unit"], nonce["nonce"]))
    assert ask("2 LOGIN mac=" + mac).startswith("2 OK session")
    board.uart.reconnect()  # the maintainer's port closed; someone else opened it
    assert ask("3 REPL").startswith("3 ERR AUTH")
    assert not svc.repl_requested


# ---------------------------------------------------------------- the installed library at every boot (item 2)

def _boot(flash, key=DEV_KEY):
    return LiveUnit(uart="pty", flash_dir=flash, key=key, weight_kg=None).start()


def _write_flash(flash, name, data):
    os.makedirs(flash, exist_ok=True)
    with open(os.path.join(flash, name), "wb") as f:
        f.write(data)


def _assert_refused_at_boot(live, boots_logged):
    with _link.open_link(live.port) as c:
        hello = c.hello()
        assert hello["druglib"] == druglib.get().version and hello["druglib_ok"] == "1", hello
        assert hello["druglib_refused"] == "1"
        st = c.status()
        assert "refused" in st["library_refused"]
        c.request("WEIGHT", value="70 kg")
        with pytest.raises(_link.RemoteError) as e:
            c.dose("lorazepam", "iv", dose=OVERDOSE)
        assert e.value.code == "HARD"
    refusals = [e for e in live.unit.events if e["type"] == "maint" and e["action"] == "druglib_refused"]
    assert len(refusals) == boots_logged, refusals
    assert "built-in" in refusals[-1]["detail"]
    assert "!!lib fail" in live.emu.screen_text()  # its alarm (medium priority), on the ready screen


def test_a_sealed_untagged_library_written_to_flash_is_refused_at_every_boot(tmp_path):
    # whatever wrote it (a REPL, a flash programmer): sealed and well formed, but no tag
    flash = str(tmp_path / "flash")
    _write_flash(flash, protocol.FLASH_LIBRARY, _attack_library())
    for boot in (1, 2):
        live = _boot(flash)
        try:
            _assert_refused_at_boot(live, boot)
        finally:
            live.stop()


def test_a_library_tagged_with_another_key_or_swapped_after_install_is_refused(tmp_path):
    flash = str(tmp_path / "flash")
    data = _attack_library()
    _write_flash(flash, protocol.FLASH_LIBRARY, data)
    _write_flash(flash, protocol.FLASH_LIBRARY_TAG, auth.hexlify(auth.druglib_tag(b"\x07" * 32, data)).encode())
    live = _boot(flash)
    try:
        _assert_refused_at_boot(live, 1)
        # a properly installed library (DLCOMMIT with this unit's tag) ...
        good = _library_variant("9.9.9-test")
        with _link.open_link(live.port) as c:
            c.login(DEV_KEY)
            assert c.push_druglib(good, DEV_KEY)["version"] == "9.9.9-test"
    finally:
        live.stop()
    live = _boot(flash)  # ... is the one in use after a reboot, and nothing is refused
    try:
        with _link.open_link(live.port) as c:
            hello = c.hello()
        assert hello["druglib"] == "9.9.9-test" and hello["druglib_refused"] == "0"
    finally:
        live.stop()
    # the file swapped behind the unit's back, the good tag left beside it
    _write_flash(flash, protocol.FLASH_LIBRARY, data)
    live = _boot(flash)
    try:
        _assert_refused_at_boot(live, 2)
    finally:
        live.stop()


def test_no_key_no_installed_library(tmp_path):
    flash = str(tmp_path / "flash")
    data = _library_variant("9.9.9-test")
    _write_flash(flash, protocol.FLASH_LIBRARY, data)
    _write_flash(flash, protocol.FLASH_LIBRARY_TAG, auth.hexlify(auth.druglib_tag(DEV_KEY, data)).encode())
    live = LiveUnit(uart="pipe", flash_dir=flash, key=None)  # reads flash/unit.key: none there
    assert live.unit.library.version == druglib.get().version
    assert "no key" in live.unit.library_refused


def test_a_downgrade_needs_to_be_asked_for(tmp_path):
    h = Harness(flash_dir=str(tmp_path))
    h.login()
    newer = _library_variant("9.9.9")
    older = _library_variant("9.9.8")
    assert _push(h, newer, auth.hexlify(auth.druglib_tag(h.key, newer)))[0] == "OK"
    st, msg = _push(h, older, auth.hexlify(auth.druglib_tag(h.key, older)))
    assert st == "ERR" and msg.startswith("REFUSED") and "downgrade" in msg
    assert h.unit.library.version == "9.9.9"
    assert "not newer" in maint_events(h, "druglib_refused")[-1]["detail"]
    r = h.ok("DLPUT size=%d sha256=%s" % (len(older), auth.hexlify(auth.sha256(older))))
    import binascii

    chunk = int(r.split("=")[1])
    for off in range(0, len(older), chunk):
        h.ok("DLDATA off=%d data=%s" % (off, binascii.b2a_base64(older[off:off + chunk], newline=False).decode()))
    assert h.ok("DLCOMMIT tag=%s downgrade=1" % auth.hexlify(auth.druglib_tag(h.key, older))).startswith("version=9.9.8")
    assert h.unit.library.version == "9.9.8"
    assert "downgrade, asked for" in maint_events(h, "druglib")[-1]["detail"]


def test_version_order_for_downgrades():
    from firmware.core import libtag

    assert libtag.is_downgrade("0.1.0", "0.1.1") and libtag.is_downgrade("0.9.9", "0.10.0")
    assert not libtag.is_downgrade("0.10.0", "0.9.9") and not libtag.is_downgrade("0.1.1", "0.1.1")
    assert libtag.is_downgrade("nonsense", "0.1.1")  # not comparable: must be asked for
    assert not libtag.is_downgrade("0.1.0", None)


# ---------------------------------------------------------------- idempotency (item 3)

def _crc_twin(body):
    """A different request with the same id whose CRC-16 over the request (after the id)
    equals body's: two free printable characters in a note make any CRC reachable."""
    from firmware.core import frames as F

    rid = body.split(" ", 1)[0]
    want = F.crc16(body, len(rid))
    base = rid + ' NOTE text="x'
    for a in range(0x21, 0x7F):
        for b in range(0x21, 0x7F):
            for c in range(0x21, 0x7F):
                if chr(a) in '"\\' or chr(b) in '"\\' or chr(c) in '"\\':
                    continue
                cand = base + chr(a) + chr(b) + chr(c) + '"'
                if F.crc16(cand, len(rid)) == want:
                    return cand
    raise AssertionError("no twin found")


def test_a_different_request_with_a_colliding_crc_is_refused_not_swallowed():
    h = Harness(weight_kg=70)
    h.ok("ONSET")
    first = 'd1 DOSE lorazepam iv dose="4 mg"'
    twin = _crc_twin(first)
    assert frames.crc16(twin, 2) == frames.crc16(first, 2) and twin != first
    replies, _ = h.exchange(first)
    assert replies[0].startswith("d1 OK")
    n = len(h.unit.events)
    replies, _ = h.exchange(twin)
    assert len(replies) == 1 and replies[0].startswith("d1 ERR DUPID"), replies
    assert len(h.unit.events) == n


def test_ids_are_remembered_beyond_sixteen_requests():
    h = Harness(weight_kg=70)
    h.ok("ONSET")
    first = 'keep DOSE lorazepam iv dose="4 mg"'
    reply, _ = h.exchange(first)
    for i in range(protocol.IDEM_SLOTS - 2):
        h.ok('NOTE text="n%d"' % i)
    doses = [e for e in h.unit.events if e["type"] == "dose"]
    again, _ = h.exchange(first)  # its full reply is no longer held: the record it made is named
    assert len(again) == 1 and again[0].startswith("keep OK"), again
    data = json.loads(frames.parse_reply(again[0])[3])
    assert data["retry"] is True and h.unit.events[data["seq"]] is doses[0]
    assert json.loads(frames.parse_reply(reply[0])[3])["seq"] == data["seq"]
    assert [e for e in h.unit.events if e["type"] == "dose"] == doses and len(doses) == 1
    assert h.err('NOTE text="x"', rid="keep").startswith("DUPID")


def test_a_dose_retried_after_a_restart_is_logged_once(tmp_path):
    flash = str(tmp_path / "flash")
    body = 'r9 DOSE lorazepam iv dose="4 mg"'
    for boot in (1, 2, 3):  # the reply is lost, the unit restarts, the host resends: twice
        h = Harness(flash_dir=flash, weight_kg=70 if boot == 1 else None)
        if boot == 1:
            h.ok("ONSET")
        replies, _ = h.exchange(body)
        assert len(replies) == 1 and replies[0].startswith("r9 OK"), (boot, replies)
        doses = [e for e in h.unit.events if e["type"] == "dose"]
        assert len(doses) == 1, (boot, doses)
        if boot > 1:
            data = json.loads(frames.parse_reply(replies[0])[3])
            assert data["retry"] is True and h.unit.events[data["seq"]] is doses[0]
        # a different request under the same id is still refused after the restart
        assert h.err('NOTE text="other"', rid="r9").startswith("DUPID")
        h.emu.close()


def test_the_logged_record_carries_the_request_id():
    h = Harness(weight_kg=70)
    h.ok("ONSET", rid="on-1")
    ev = [e for e in h.unit.events if e["type"] == "onset"][0]
    assert ev["req"].startswith("on-1:") and len(ev["req"]) == len("on-1:") + 32
    assert events.validate(ev) is ev
    with pytest.raises(ValueError):
        events.validate(dict(ev, req=""))


# ---------------------------------------------------------------- every field of every request (item 4)

def test_onset_time_must_be_plausible_within_the_episode():
    h = Harness(weight_kg=70)
    now = int(h.ok("PING").split("=")[1])
    n = len(h.unit.events)
    for at in (0, 1, now + 60, now - protocol.ONSET_BACK_MAX_S - 1):
        assert h.err("ONSET at=%d" % at).startswith("ARGS"), at  # 0: the clock would start in 2020
    assert len(h.unit.events) == n and not h.unit.state.started
    assert h.ok("ONSET at=%d" % (now - 600)).startswith("seq=")  # ten minutes ago: plausible
    assert [e for e in h.unit.events if e["type"] == "onset"][0]["at"] == now - 600


def test_an_empty_alarm_name_acknowledges_nothing():
    h = Harness(weight_kg=70)
    h.ok("ONSET")
    h.advance_s(6 * 60)  # first line overdue (clinical.md: first line by 5 min)
    assert h.unit.status()["alarms"]
    n = len(h.unit.events)
    for cmd in ("ACK alarm=", 'ACK alarm=""', 'ACK ""'):
        assert h.err(cmd).startswith("ARGS"), cmd
    assert h.err("ACK alarm=no_such_alarm").split()[0] in ("ARGS", "REFUSED")
    assert len(h.unit.events) == n
    assert h.ok("ACK").startswith("seq=")  # no name at all: every active alarm, as documented


@pytest.mark.parametrize("cmd", ['NOTE text=""', "WEIGHT value=", 'FLAG name="" value=1', "WEAN action=",
                                 "INFUSION action= drug=propofol", "SETTINGS reference=", "LOG from="])
def test_empty_values_are_errors(cmd):
    h = Harness(weight_kg=70)
    n = len(h.unit.events)
    assert h.err(cmd).startswith("ARGS"), cmd
    assert len(h.unit.events) == n


def test_infusion_rates_are_checked_like_doses():
    # propofol: 30-200 mcg/kg/min usual, 200 mcg/kg/min hard (the library's label-sourced limits)
    h = Harness(weight_kg=70)
    h.ok("ONSET")
    n = len(h.unit.events)
    assert h.err("INFUSION start propofol rate=1000000").startswith("HARD")  # 1 g/kg/h
    assert h.err("INFUSION start lorazepam rate=100").split()[0] in ("INVALID", "ARGS")  # a bolus drug
    assert h.err("INFUSION start propofol").startswith("ARGS")  # a start needs its rate
    assert len(h.unit.events) == n
    data = json.loads(h.ok("INFUSION start propofol rate=3000"))  # 50 mcg/kg/min
    assert data["verdict"] == "adequate"
    ev = h.unit.events[data["seq"]]
    assert ev["type"] == "infusion" and ev["action"] == "start" and ev["rate_ug_kg_h"] == 3000
    assert h.err("INFUSION change propofol rate=20000").startswith("HARD")  # 333 mcg/kg/min
    assert h.err("INFUSION start propofol rate=3000").startswith("REFUSED")  # already running: a change
    assert h.err("INFUSION change midazolam rate=100").startswith("REFUSED")  # none running: a start
    assert h.ok("INFUSION stop propofol").startswith("seq=")
    assert h.err("INFUSION stop propofol").startswith("REFUSED")  # nothing running


def test_downgrade_flag_takes_only_yes_or_no():
    h = Harness()
    h.login()
    h.ok("DLPUT size=6 sha256=" + "0" * 64)
    assert h.err("DLCOMMIT tag=00 downgrade=maybe").startswith("ARGS")
    assert h.link._maint._dl_in is not None  # the transfer is not spent on a typo


# ---------------------------------------------------------------- a host that never reads (item 5)

def _flood_without_reading(write, n=400):
    body = b"".join(frames.seal("f%d LOG from=0" % i) for i in range(n))  # ~1 KB reply each
    for i in range(0, len(body), 4096):
        write(body[i:i + 4096])


@pytest.mark.parametrize("uart", ["pty", "tcp"])
def test_a_host_that_never_reads_does_not_stall_the_loop(uart):
    import socket
    import time

    live = LiveUnit(uart=uart, weight_kg=KG).start()
    live.call(lambda u: [u.note("padding %d %s" % (i, "x" * 150)) for i in range(40)])  # big LOG pages
    try:
        if uart == "pty":
            fd = os.open(live.port, os.O_RDWR | os.O_NOCTTY)
            write = lambda b: os.write(fd, b)  # noqa: E731
            close = lambda: os.close(fd)  # noqa: E731
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: a small window
            s.connect(("127.0.0.1", live.uart.port))
            write = s.sendall
            close = s.close
        _flood_without_reading(write)
        time.sleep(0.5)
        feeds = live.board.wdt_feeds
        steps_at = live.board.clock.elapsed_ms
        time.sleep(1.0)
        # the loop kept stepping and feeding the watchdog while the host read nothing
        assert live.board.wdt_feeds > feeds, "watchdog unfed: the loop is stuck writing"
        assert live.board.clock.elapsed_ms > steps_at
        with live.lock:
            dropped = live.link.stats["tx_dropped"]
            st = json.loads(live.link._cmd_status({}))
        assert dropped > 0 and st["tx_dropped"] == dropped
        close()
    finally:
        live.stop()
    assert live.error is None


def test_transmit_buffer_is_bounded_and_overflow_is_counted():
    h = Harness(weight_kg=70)
    h.ok("LOG")
    assert len(h.link._tx) == 0  # a host that reads costs no transmit buffer
    taken = []
    h.emu.board.uart_write = lambda data: 0  # a link that takes nothing
    for i in range(400):  # ~ 9 KB of replies: more than the buffer holds
        h.send(frames.seal("p%d PING" % i))
    assert h.link.stats["tx_dropped"] > 0
    assert h.link.tx_pending() <= protocol.TX_BUF
    # the link takes bytes again: what was buffered goes out whole, frame by frame
    h.emu.board.uart_write = lambda data: (taken.append(bytes(data)), len(data))[1]
    h.send(frames.seal("z PING"))
    out = b"".join(taken)
    lines = out.split(b"\n")
    assert lines[-1] == b""
    for ln in lines[:-1]:
        frames.unseal(ln, len(ln))  # every line complete and intact
    assert lines[-2].startswith(b"z OK")


# ---------------------------------------------------------------- tests that a weakened check cannot survive (item 6)

def _challenge_mac(h):
    data = dict(t.split("=", 1) for t in h.ok("CHALLENGE").split())
    return auth.hexlify(auth.login_mac(h.key, data["unit"], data["nonce"]))


@pytest.mark.parametrize("change", ["first 31 bytes", "first 16 bytes", "first byte", "one byte more",
                                    "twice over", "last byte changed"])
def test_a_mac_of_the_wrong_length_or_value_is_denied(change):
    h = Harness()
    mac = _challenge_mac(h)
    bad = {"first 31 bytes": mac[:62], "first 16 bytes": mac[:32], "first byte": mac[:2],
           "one byte more": mac + "00", "twice over": mac + mac,
           "last byte changed": mac[:-2] + ("00" if mac[-2:] != "00" else "01")}[change]
    st, msg = h.request("LOGIN mac=" + bad)
    assert st == "ERR" and msg.startswith("DENIED"), msg
    assert h.err("CLOCK unix=1790000000").startswith("AUTH")
    # and the right one still opens a session (the refusal above was about the MAC)
    assert h.request("LOGIN mac=" + _challenge_mac(h))[0] == "OK"


def test_constant_time_compare_checks_length_both_ways():
    a = auth.sha256(b"x")
    assert auth.equal(a, bytes(a))
    for other in (a[:31], a[:1], b"", a + b"\x00", a + a):
        assert not auth.equal(other, a) and not auth.equal(a, other)


@pytest.mark.parametrize("cut", [2, 32, 62])
def test_a_shortened_library_tag_is_refused_at_commit_and_at_boot(tmp_path, cut):
    data = _library_variant("9.9.9-test")
    tag = auth.hexlify(auth.druglib_tag(DEV_KEY, data))
    h = Harness(flash_dir=str(tmp_path / "a"))
    h.login()
    st, msg = _push(h, data, tag[:cut])
    assert st == "ERR" and msg.startswith("TAG"), msg
    st, msg = _push(h, data, tag + "00")
    assert st == "ERR" and msg.startswith("TAG"), msg
    flash = str(tmp_path / "b")
    _write_flash(flash, protocol.FLASH_LIBRARY, data)
    _write_flash(flash, protocol.FLASH_LIBRARY_TAG, tag[:cut].encode())
    live = LiveUnit(uart="pipe", flash_dir=flash)
    assert live.unit.library_refused and live.unit.library.version == druglib.get().version
