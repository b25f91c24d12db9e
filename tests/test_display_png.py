"""The panel's pictures (issue 15, item 8): OLED pixels scaled up, the alarm light beside them,
frames named by time since onset; the terminal panel's light in colour unless NO_COLOR.

What the pixels are is proved against the board in tests/test_display_pixels.py; here, that a
picture shows exactly those pixels and the light the board has lit.
"""
import os
import re

from emulator import display, panel
from emulator.board import EmulatedUnit
from host_tools import cli

SCALE = 4


def overdue_unit():
    """The timer started and left 10 minutes with no benzodiazepine: the first-line alarm
    (clinical.md: first-line treatment due by 5 min, overdue later) lights the light."""
    emu = EmulatedUnit(weight_kg=70)
    emu.press("ok")
    emu.run_for(10 * 60_000 + 5000)
    return emu


def test_the_picture_is_the_panels_pixels_and_the_light_beside_them():
    emu = overdue_unit()
    assert emu.board.led == "red"  # a high-priority alarm is active
    scr = emu.unit.ui.render(emu.unit.now())
    buf = emu.board.framebuffer()
    assert buf == display.framebuffer(scr)
    img = display.render_image(scr, SCALE, light=emu.board.led)
    margin = 4 * SCALE
    lit = display.PIXEL_COLOURS["white"]
    n_lit = 0
    for y in range(64):
        for x in range(128):
            # the middle of each scaled pixel is the OLED pixel: lit in the panel's colour, or black
            got = img.getpixel((margin + x * SCALE + SCALE // 2, margin + y * SCALE + SCALE // 2))
            on = display.pixel(buf, x, y)
            assert got == (lit if on else (0, 0, 0)), (x, y)
            n_lit += on
    assert n_lit > 200  # the screen has text on it
    # the light: a disc in the board's colour right of the screen
    cx = margin + 128 * SCALE + 16 * SCALE + margin // 2
    cy = margin + 20 * SCALE
    assert img.getpixel((cx, cy)) == display.LIGHT_RGB["red"]
    assert img.getpixel((cx + 12 * SCALE, cy)) != display.LIGHT_RGB["red"]  # a disc, not a band
    emu.close()


def test_each_priority_has_its_own_colour_and_off_is_dark():
    scr = EmulatedUnit(weight_kg=70).unit.ui.render(0)
    cx = 4 * SCALE + 128 * SCALE + 16 * SCALE + 2 * SCALE
    cy = 4 * SCALE + 20 * SCALE
    seen = {}
    for light in ("red", "yellow", "cyan", "green", "off"):
        seen[light] = display.render_image(scr, SCALE, light=light).getpixel((cx, cy))
    assert len(set(seen.values())) == 5
    assert max(seen["off"]) < 80
    assert seen["red"][0] > 200 and seen["red"][1] < 80
    assert seen["yellow"][0] > 200 and seen["yellow"][1] > 150 and seen["yellow"][2] < 80


def test_frames_are_named_by_time_since_onset():
    assert display.onset_name(-1) == "t-ready"
    assert display.onset_name(0) == "t+00h00m00s"
    assert display.onset_name(5 * 60) == "t+00h05m00s"
    assert display.onset_name(3 * 3600 + 62) == "t+03h01m02s"
    names = [display.onset_name(s) for s in (0, 59, 60, 599, 3599, 3600, 36000)]
    assert names == sorted(names)  # file order is time order


def test_demo_pngs_are_named_by_time_since_onset(tmp_path, capsys):
    rc = cli.main(["run", "--demo", "--png", str(tmp_path)])
    assert rc == 0
    out = capsys.readouterr().out
    names = sorted(os.listdir(tmp_path))
    assert names and all(re.fullmatch(r"t(-ready|\+\d\dh\d\dm\d\ds)(_\d+)?\.png", n) for n in names), names
    # one picture per screen the demo printed, none overwritten
    assert len(names) == out.count("light ")
    assert any(n.startswith("t+00h") for n in names) and any(not n.startswith("t+00h00m") for n in names)


def test_terminal_light_colour_follows_no_color():
    assert panel.wants_colour({})
    assert panel.wants_colour({"NO_COLOR": ""})  # an empty NO_COLOR does not count (no-color.org)
    assert not panel.wants_colour({"NO_COLOR": "1"})
