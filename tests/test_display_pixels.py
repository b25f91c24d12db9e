"""One renderer for the panel (issue 15, item 8): the emulator's pixels are the board's pixels.

The Pico's HAL draws the core's Screen into the SSD1306 with MicroPython's framebuf and its
built-in 8x8 font; the emulator (its screen, its PNGs, `statim run --png`) draws it with
emulator/display.py.  Here the board's own HAL code runs in the MicroPython unix port on the
real framebuf (tests/display_guest.py), screen after screen as a UI redraws them (so its
partial redraws run), and both its frame buffer and the panel memory rebuilt from what it put
on the I2C bus must equal, byte for byte, what the host renderer makes of the same screen.

The screens: every page a nurse reaches in an episode driven by button presses on the
emulated unit (whatever text the UI puts on them), and screens made to hit the edges of the
drawing (text past 16 columns, bytes outside the font, a NUL, a big row with more than 8
characters or none, the highlight on the last row, the big row moving).
"""
import json
import os
import random

import pytest

import unixport as up
from emulator import display, pico
from emulator.board import EmulatedUnit
from firmware.core.screen import Screen

GUEST = os.path.join(up.TESTS, "display_guest.py")


def snapshot(name, scr):
    # "page" is the screen's own name: the guest draws consecutive screens of one page as the UI
    # does, so only their changed rows, from the first changed part, are redrawn
    return {"name": name, "page": scr.name, "rows": [list(p) for p in scr.parts], "big": scr.big,
            "invert": scr.invert}


def screen_of(state):
    scr = Screen()
    scr.clear(state["name"])
    for r, parts in enumerate(state["rows"]):
        scr.set_parts(r, *(list(parts) + [""] * (8 - len(parts))))
    scr.mark(state["big"], state["invert"])
    return scr


def episode_screens():
    """The UI's screens along an episode driven by presses, plus a seeded walk over the buttons."""
    emu = EmulatedUnit(weight_kg=70)
    out = []

    def snap(label):
        out.append(snapshot("%d %s" % (len(out), label), emu.unit.ui.render(emu.unit.now())))

    snap("ready")
    for key, ms in (("ok", 1000), (None, 59_000), (None, 4 * 60_000), (None, 6 * 60_000), ("alarm", 1000),
                    ("ok", 500), ("down", 500), ("ok", 500), ("down", 500), ("down", 500), ("ok", 500),
                    ("ok", 500), ("back", 500), ("back", 500), ("back", 500), ("back", 500)):
        if key:
            emu.press(key)
        emu.run_for(ms)
        snap("%s +%d ms" % (key or "wait", ms))
    rnd = random.Random(15)
    for _ in range(60):
        emu.press(rnd.choice(("up", "down", "ok", "ok", "back", "alarm")))
        emu.run_for(rnd.choice((300, 1000, 7000, 61_000)))
        snap("walk")
    emu.close()
    return out


def edge_screens():
    e = [[] for _ in range(8)]

    def st(name, rows, big=-1, invert=-1, page=None):
        rows = [list(r) for r in rows] + [[] for _ in range(8 - len(rows))]
        return {"name": name, "page": page or name, "rows": rows, "big": big, "invert": invert}

    return [
        # one page, drawn over itself: the rows that change are redrawn from their first changed part
        st("timer", [["SEIZURE 00:00"], ["1", "2", ":", "3", "4"], [], ["next: 1st line"]], big=1, page="home"),
        st("timer tick", [["SEIZURE 00:00"], ["1", "2", ":", "3", "5"], [], ["next: 1st line"]], big=1, page="home"),
        st("countdown tick", [["SEIZURE 00:00"], ["1", "2", ":", "3", "5"], [], ["2nd line ", "0", "4", ":", "5", "9"]],
           big=1, page="home"),
        st("countdown tick 2", [["SEIZURE 00:00"], ["1", "2", ":", "3", "6"], [], ["2nd line ", "0", "4", ":", "5", "8"]],
           big=1, page="home"),
        st("countdown shorter", [["SEIZURE 00:00"], ["1", "2", ":", "3", "6"], [], ["2nd line ", "4", ":", "5"]],
           big=1, page="home"),
        st("timer hours", [["SEIZURE 00:00"], ["1", "h", "0", "5"], [], ["next: 1st line"]], big=1, page="home"),
        st("big letters", [["x"], ["WEIGHT 82 kg"], [], ["y"]], big=1, page="home"),  # > 8 characters, not cached
        st("big spaced", [[], ["7 0 kg"]], big=1, page="home"),
        st("big gone", [["x"], [""], [], ["y"]], big=1, page="home"),  # the big row left empty
        st("big moves", [["a"], ["b"], ["1", "2", ":", "0", "0"], [], ["c"]], big=2, invert=0),
        st("long", [["0123456789abcdefXYZ"], ["levetiracetam ", "iv 4500 mg"], ["a", "", "b", "c" * 30]]),
        st("outside the font", [["caf\u00e9 5 \u00b5g/kg"], ["\x01\x1f\x7f~"], ["A\x00B"], ["\u2192 next"]]),
        st("inverted last", [["MENU"], ["Give dose"], [], [], [], [], [], [">lorazepam iv 4mg"]], invert=7),
        st("inverted first", [["!!! HIGH alarm !!"], ["x"]], invert=0),
        st("empty", e),
    ]


@pytest.fixture(scope="module")
def states():
    return episode_screens() + edge_screens()


@pytest.mark.skipif(up.MICROPYTHON is None, reason=up.SKIP_REASON)
def test_host_renderer_equals_the_boards_framebuf_and_panel(states, tmp_path):
    path = tmp_path / "states.json"
    path.write_text(json.dumps(states))
    run = up.run_micropython(GUEST, [str(path)], timeout_s=600)
    assert run.ok, run.stderr[-3000:]
    got = run.json_lines()
    assert [g["name"] for g in got] == [s["name"] for s in states]
    assert len({tuple(map(tuple, s["rows"])) for s in states}) > 20  # many different screens were drawn
    for state, board in zip(states, got):
        host = display.framebuffer(screen_of(state)).hex()
        assert board["buf"] == host, "frame buffer differs on %r: %r" % (state["name"], state["rows"])
        assert board["ram"] == host, "panel memory differs on %r: %r" % (state["name"], state["rows"])


def test_the_harness_reads_the_host_pixels_back_as_the_screen(states):
    # The emulated board's display decoder (emulator/pico.py) reads text back from the pixels:
    # the host renderer's pixels read as the rows the screen holds, the big row where it is.
    checked = 0
    for state in states:
        scr = screen_of(state)
        text = "".join("".join(p) for p in state["rows"])
        if any(not 32 <= ord(c) < 127 for c in text):
            continue
        big_len = len(scr.row_text(scr.big)) if scr.big >= 0 else 0
        if scr.big >= 0 and (big_len == 0 or big_len > 8 or " " in scr.row_text(scr.big)):
            continue  # what the decoder does not claim to read (an empty, cut or spaced big row)
        rows, big, inverted = pico.decode(bytes(display.framebuffer(scr)))
        want = [r.rstrip() for r in scr.rows]
        if scr.big >= 0:
            want[scr.big + 1] = ""
        assert rows == want, state["name"]
        assert big == scr.big
        assert inverted == ({scr.invert} if 0 <= scr.invert != scr.big else set())
        checked += 1
    assert checked > 20


def test_glyphs_are_the_8x8_font_on_the_8_pixel_grid():
    # 'A' at column 0 of row 2: the font's bytes (extmod/font_petme128_8x8.h) at page 2.
    scr = Screen()
    scr.clear("t")
    scr.set_parts(2, "A")
    buf = display.framebuffer(scr)
    assert bytes(buf[2 * 128:2 * 128 + 8]) == bytes((0x00, 0x7C, 0x7E, 0x0B, 0x0B, 0x7E, 0x7C, 0x00))
    assert sum(buf) == sum(buf[2 * 128:2 * 128 + 8])  # nothing else lit
