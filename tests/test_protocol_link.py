"""The device side of the serial link (firmware/core/protocol.py) over an in-memory UART.

Every command once; exactly one reply per request; record-changing requests
idempotent by id (a retried dose is logged once); unsolicited event and stage
lines; paging of the log; the drug library downloaded intact.
"""
import binascii
import json

from firmware.core import druglib, frames, protocol
from protocol_harness import Harness


def kv(text):
    return dict(t.split("=", 1) for t in text.split())


def test_hello_is_versioned():
    h = Harness()
    r = kv(h.ok("HELLO proto=1"))
    lib = druglib.get()
    assert r["proto"] == "1" and r["unit"] == "STATIM-0001" and r["fw"]
    assert r["druglib"] == lib.version and r["druglib_sha256"] == lib.sha256 and r["druglib_ok"] == "1"
    assert int(r["maxline"]) == frames.MAX_LINE
    assert h.err("HELLO proto=2").startswith("PROTO")


def test_bedside_episode_over_the_wire():
    h = Harness()
    assert h.err('DOSE lorazepam iv dose="4 mg"').startswith("INVALID error, not logged: no weight")
    r = kv(h.ok("ONSET type=convulsive"))
    assert h.unit.events[int(r["seq"])]["type"] == "onset"
    assert any(x.startswith("! STAGE seizure") for x in h.unsolicited)
    assert kv(h.ok('WEIGHT "70 kg"'))["grams"] == "70000"
    v = json.loads(h.ok('CHECK lorazepam iv dose="4 mg"'))
    assert v["verdict"] == "adequate" and "seq" not in v
    n = len(h.unit.events)
    v = json.loads(h.ok('DOSE lorazepam iv dose="4 mg"'))
    assert v["verdict"] == "adequate" and v["seq"] == n
    assert h.unit.events[n]["type"] == "dose" and h.unit.events[n]["amount_ug"] == 4000
    st = json.loads(h.ok("STATUS"))
    assert st["stage"] == "seizure" and st["seizure_active"] and st["weight_g"] == 70000
    h.advance_s(10 * 60)  # the unit's own clock moves: alarms are raised
    st = json.loads(h.ok("STATUS"))
    assert st["alarms"], st
    seqs = h.ok("ACK")
    acked = [h.unit.events[int(s)] for s in kv(seqs)["seq"].split(",")]
    assert all(e["type"] == "alarm" and e["action"] == "ack" for e in acked)
    assert h.err("ACK alarm=nonexistent").startswith("REFUSED")
    h.ok("PAUSE")
    h.ok('NOTE text="family informed"')
    h.ok("FLAG norse 1")
    h.ok("STOP")
    h.ok("RECUR")
    assert h.err("RECUR").startswith("REFUSED")  # already running


def test_dose_verdicts_map_to_errors_and_are_not_logged():
    h = Harness(weight_kg=70)
    h.ok("ONSET")
    n = len(h.unit.events)
    assert h.err('DOSE lorazepam iv dose="40 mg"').startswith("HARD")
    assert h.err('DOSE lorazepam iv dose="4 kg"').startswith("INVALID")
    assert h.err('DOSE aspirin iv dose="4 mg"').startswith("INVALID")
    assert h.err("DOSE lorazepam iv").startswith("ARGS")
    assert len(h.unit.events) == n


def test_soft_limit_needs_an_override_reason():
    h = Harness(weight_kg=70)
    h.ok("ONSET")
    # the same benzodiazepine again at once: inside the label's 10-15 min repeat interval
    # (clinical.md fact-check 5), so soft -- the repeat check must hold for this test to mean anything
    h.ok('DOSE lorazepam iv dose="4 mg"')
    v = json.loads(h.ok('CHECK lorazepam iv dose="4 mg"'))
    assert v["verdict"] == "soft", v
    assert any("since the last Lorazepam dose" in m for m in v["messages"]), v["messages"]
    n = len(h.unit.events)
    assert h.err('DOSE lorazepam iv dose="4 mg"').startswith("SOFT")
    assert len(h.unit.events) == n
    v = json.loads(h.ok('DOSE lorazepam iv dose="4 mg" override="physician order"'))
    assert v["verdict"] == "soft"
    assert h.unit.events[-1]["type"] == "dose"
    assert any(e["type"] == "note" and "override" in e["text"] for e in h.unit.events[n:])


def test_retried_request_is_answered_from_cache_and_logged_once():
    h = Harness(weight_kg=70)
    h.ok("ONSET")
    body = 'r-17 DOSE lorazepam iv dose="4 mg"'
    first, _ = h.exchange(body)
    n = len([e for e in h.unit.events if e["type"] == "dose"])
    for _ in range(3):  # the host lost the reply and resends the same frame
        again, events = h.exchange(body)
        assert again == first and events == []
    assert len([e for e in h.unit.events if e["type"] == "dose"]) == n == 1
    assert h.link.stats["retries"] == 3
    # the same id with a different request is refused, not executed
    assert h.err('DOSE lorazepam iv dose="2 mg"', rid="r-17").startswith("DUPID")
    assert len([e for e in h.unit.events if e["type"] == "dose"]) == 1


def test_read_only_requests_are_not_cached():
    h = Harness()
    a = h.ok("STATUS", rid="s1")
    h.advance_s(5)
    b = h.ok("STATUS", rid="s1")
    assert json.loads(a)["t"] < json.loads(b)["t"]


def test_exactly_one_reply_per_request_in_a_burst():
    h = Harness(weight_kg=70)
    bodies = ["b%d PING" % i for i in range(20)] + ["b20 ONSET", "b21 STATUS", "b22 NOPE", "b23 LOG"]
    h.send(b"".join(frames.seal(b) for b in bodies), steps=6)
    replies = [x for x in h.lines() if not x.startswith("! ")]
    ids = [frames.parse_reply(r)[0] for r in replies]
    assert ids == ["b%d" % i for i in range(24)]
    assert frames.parse_reply(replies[22])[2] == "UNKNOWN"


def test_poll_is_bounded_per_call():
    h = Harness()
    h.uart.host_write(b"".join(frames.seal("p%d PING" % i) for i in range(50)))
    assert h.link.poll() == protocol.MAX_LINES_PER_POLL


def test_log_pages_cover_every_event_in_order():
    h = Harness(weight_kg=70)
    h.ok("ONSET")
    for i in range(60):
        h.ok('NOTE text="note number %d with some words to make it longer"' % i)
    total = len(h.unit.events)
    seq = 0
    pages = 0
    got = []
    while seq < total:
        page = json.loads(h.ok("LOG from=%d" % seq))
        assert page["from"] == seq and page["total"] == total and page["events"]
        got += page["events"]
        seq = page["next"]
        pages += 1
    assert got == h.unit.events and pages > 1
    assert json.loads(h.ok("LOG from=%d" % total))["events"] == []
    assert len(json.loads(h.ok("LOG from=0 max=3"))["events"]) == 3


def test_druglib_download_is_the_library_in_use():
    h = Harness()
    blob = b""
    off = 0
    while True:
        r = kv(h.ok("DLGET off=%d" % off))
        part = binascii.a2b_base64(r["data"])
        blob += part
        off += len(part)
        if off >= int(r["size"]):
            break
    lib = druglib.loads(blob.decode())
    assert lib.verified and lib.sha256 == h.unit.library.sha256


def test_event_lines_carry_sequence_numbers():
    h = Harness()
    h.ok("ONSET")
    evt = [x for x in h.unsolicited if x.startswith("! EVT ")]
    seq, payload = evt[0][6:].split(" ", 1)
    assert h.unit.events[int(seq)] == json.loads(payload)


def test_settings_read_is_bedside_change_is_maintenance():
    h = Harness()
    assert json.loads(h.ok("SETTINGS"))["unit_id"] == "STATIM-0001"
    assert h.err("SETTINGS reference=ncs").startswith("AUTH")
    assert h.login()[0] == "OK"
    assert json.loads(h.ok("SETTINGS reference=ncs"))["reference"] == "ncs"
    assert h.unit.config["reference"] == "ncs"
    assert h.err("SETTINGS reference=xyz").startswith("ARGS")
