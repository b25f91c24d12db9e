"""Framing of the serial link (firmware/core/frames.py): CRC, seal/unseal, tokens.

Property tests (hypothesis) for the parser: whatever bytes arrive, parsing
either succeeds or raises FrameError -- nothing else; quote/tokens round-trip
every printable value; a single flipped byte is always caught by the CRC.
The same frames give the same CRC and parse in real MicroPython.
"""
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.core import frames as f

PRINTABLE = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)


def test_crc16_ccitt_false_check_value():
    # The catalogue check value of CRC-16/CCITT-FALSE (a.k.a. CRC-16/IBM-3740).
    assert f.crc16(b"123456789") == 0x29B1
    assert f.crc16("123456789") == 0x29B1
    assert f.crc16(b"") == 0xFFFF


def test_seal_unseal_worked_example():
    frame = f.seal("7 ONSET type=convulsive")
    assert frame.endswith(b"\n") and frame[-7:-5] == b" *"
    line = frame[:-1]
    assert f.unseal(line, len(line)) == "7 ONSET type=convulsive"


@pytest.mark.parametrize("line, code", [
    (b"7 PING", f.E_FRAME),  # no CRC trailer
    (b"7 PING *12G4", f.E_FRAME),
    (b"7 PING *0000", f.E_CRC),
    (b"7 P\xffNG *0000", f.E_BINARY),
    (b"*0000", f.E_FRAME),
])
def test_unseal_rejects(line, code):
    with pytest.raises(f.FrameError) as e:
        f.unseal(line, len(line))
    assert e.value.code == code


def test_parse_request():
    rid, word, args, pos = f.parse_request('a.1 dose lorazepam iv dose="4 mg" override="physician \\"ok\\""')
    assert (rid, word, pos) == ("a.1", "DOSE", ["lorazepam", "iv"])
    assert args == {"dose": "4 mg", "override": 'physician "ok"'}


@pytest.mark.parametrize("body", ["", " PING", "bad!id PING", "x" * 17 + " PING", "1", "1 ", '1 NOTE text="open',
                                  '1 NOTE text="a"b', "1 X a=1 a=2", "1 X =v", '1 X a="\\x"', "1 X " + "a " * 13])
def test_parse_request_rejects(body):
    with pytest.raises(f.FrameError):
        f.parse_request(body)


@given(PRINTABLE)
def test_quote_round_trips(value):
    tok = f.tokens("k=" + f.quote(value))
    assert tok == [("k", value)]


@given(st.lists(st.tuples(st.from_regex(r"[a-z]{1,8}", fullmatch=True), PRINTABLE), max_size=f.MAX_ARGS,
                unique_by=lambda kv: kv[0]))
def test_kv_round_trips(pairs):
    assert f.tokens(f.kv(pairs)) == pairs


@settings(max_examples=400)
@given(st.binary(max_size=200))
def test_unseal_and_parse_never_raise_anything_else(data):
    try:
        body = f.unseal(data, len(data))
        f.parse_request(body)
    except f.FrameError:
        pass


@settings(max_examples=400)
@given(PRINTABLE.filter(lambda s: s.strip()), st.data())
def test_any_single_byte_corruption_is_caught(body, data):
    frame = bytearray(f.seal("1 NOTE text=" + f.quote(body))[:-1])
    i = data.draw(st.integers(0, len(frame) - 1))
    new = data.draw(st.integers(0x20, 0x7E).filter(lambda b: b != frame[i]))
    frame[i] = new
    with pytest.raises(f.FrameError):
        f.unseal(frame, len(frame))


def test_ascii_json():
    s = json.dumps({"text": "Zoë 😀"}, ensure_ascii=False)
    a = f.ascii_json(s)
    assert all(0x20 <= ord(c) <= 0x7E for c in a)
    assert json.loads(a) == {"text": "Zoë 😀"}


GUEST = """
from core import frames as f
import json
for body in json.loads(%r):
    fr = f.seal(body)
    line = fr[:-1]
    try:
        rid, word, args, pos = f.parse_request(f.unseal(line, len(line)))
        print(json.dumps([f.hex4(f.crc16(body)), rid, word, sorted(args.items()), pos]))
    except f.FrameError as e:
        print(json.dumps(["ERR", e.code]))
"""

BODIES = ["1 HELLO proto=1", 'a.2 DOSE lorazepam iv dose="4 mg"', "3 NOTE text=\"say \\\"hi\\\"\"", "x ONSET",
          "bad!id PING", '4 NOTE text="open']


def test_frames_in_real_micropython_match_cpython():
    vm = pytest.importorskip("micropython_vm")
    out = [json.loads(x) for x in vm.run(GUEST % json.dumps(BODIES)).splitlines()]
    want = []
    for body in BODIES:
        try:
            rid, word, args, pos = f.parse_request(body)
            want.append([f.hex4(f.crc16(body)), rid, word, [list(kv) for kv in sorted(args.items())], pos])
        except f.FrameError as e:
            want.append(["ERR", e.code])
    assert out == want


# ---- checks that a weakened frame check cannot survive (security issue, item 6)

def _bodies(n, seed):
    import random

    rng = random.Random(seed)
    out = ["", "7 PING", "123456789"]
    while len(out) < n:
        out.append("".join(chr(rng.randint(0x20, 0x7E)) for _ in range(rng.randint(1, 200))))
    return out


def test_crc_agrees_with_an_independent_implementation():
    # binascii.crc_hqx(data, 0xFFFF) is CRC-16/CCITT-FALSE computed by CPython's C code
    import binascii
    import random

    rng = random.Random(7)
    for body in _bodies(2000, 1):
        want = binascii.crc_hqx(body.encode(), 0xFFFF)
        assert f.crc16(body) == f.crc16(body.encode()) == want
        assert f.seal(body) == (body + " *%04X\n" % want).encode()
    for _ in range(500):
        data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 300)))
        assert f.crc16(data) == binascii.crc_hqx(data, 0xFFFF)


def test_unseal_checks_all_sixteen_bits_of_the_crc():
    # every wrong trailer is refused, in particular those that differ in the high byte only
    # (random corruption rarely lands on a trailer digit: this test puts it there)
    import binascii

    tried = 0
    for body in _bodies(151, 2)[1:]:  # a frame has a body: not the empty one
        crc = binascii.crc_hqx(body.encode(), 0xFFFF)
        good = (body + " *%04X" % crc).encode()
        assert f.unseal(good, len(good)) == body
        for digit in range(4):
            shift = 12 - 4 * digit
            for v in range(16):
                wrong = (crc & ~(15 << shift)) | (v << shift)
                if wrong == crc:
                    continue
                line = (body + " *%04X" % wrong).encode()
                with pytest.raises(f.FrameError) as e:
                    f.unseal(line, len(line))
                assert e.value.code == f.E_CRC
                tried += 1
    assert tried == 150 * 4 * 15
