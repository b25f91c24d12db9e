"""The front panel in a terminal: the unit's screen, its lights and buzzer, keys for buttons.

Keys: arrows or w/s = UP/DOWN, Enter or space = OK, Backspace or b = BACK,
a = ALARM (audio pause), f = jump 1 minute ahead, F = 10 minutes, q = quit.
Time runs at real speed (or --speed times faster) on the virtual clock.

The alarm light is drawn in its colour beside the screen (red high, yellow
medium, cyan low priority, green running; blinking when it flashes) where the
terminal has colours; with NO_COLOR set (no-color.org) only its words show.
"""
import curses
import os
import time

from emulator.board import EmulatedUnit

KEYS = {
    curses.KEY_UP: "up", ord("w"): "up", ord("k"): "up",
    curses.KEY_DOWN: "down", ord("s"): "down", ord("j"): "down",
    10: "ok", 13: "ok", curses.KEY_ENTER: "ok", ord(" "): "ok",
    curses.KEY_BACKSPACE: "back", 127: "back", 8: "back", ord("b"): "back",
    ord("a"): "alarm",
}
LIGHT_COLOURS = (("red", curses.COLOR_RED), ("yellow", curses.COLOR_YELLOW), ("cyan", curses.COLOR_CYAN),
                 ("green", curses.COLOR_GREEN))
LIGHT_WORDS = {"red": "HIGH", "yellow": "MEDIUM", "cyan": "LOW", "green": "running", "off": "off"}
LAMP_X = 38  # the light's column, right of the screen's box
HELP = "arrows/ws: up/down  Enter: OK  Backspace/b: BACK  a: ALARM  f/F: +1/+10 min  q: quit"


def wants_colour(env=None):
    """Colour unless NO_COLOR is set to anything but the empty string (no-color.org)."""
    env = os.environ if env is None else env
    return not env.get("NO_COLOR")


def init_colours():
    """Curses colour pairs for the light: {colour: (word pair, lamp pair)}, or {} without colour."""
    if not (wants_colour() and curses.has_colors()):
        return {}
    curses.start_color()
    try:
        curses.use_default_colors()
        bg = -1
    except curses.error:
        bg = curses.COLOR_BLACK
    pairs = {}
    for i, (name, c) in enumerate(LIGHT_COLOURS):
        curses.init_pair(1 + 2 * i, c, bg)
        curses.init_pair(2 + 2 * i, curses.COLOR_BLACK, c)
        pairs[name] = (curses.color_pair(1 + 2 * i) | curses.A_BOLD, curses.color_pair(2 + 2 * i))
    return pairs


def draw(win, emu, speed, pty_path, colours=None):
    scr = emu.unit.ui.render(emu.unit.now())
    win.erase()
    h, w = win.getmaxyx()

    def put(y, x, text, attr=0):
        if 0 <= y < h:
            try:
                win.addstr(y, x, text[: max(0, w - x - 1)], attr)
            except curses.error:
                pass

    put(0, 0, "STATIM emulated bedside unit   x%g   virtual %s" % (speed, _hms(emu.now_ms)), curses.A_BOLD)
    put(1, 0, "+" + "-" * 34 + "+")
    row = 0
    y = 2
    while row < scr.ROWS:
        text = scr.rows[row]
        if row == scr.big:
            put(y, 0, "|" + " " * 34 + "|")
            put(y, 1, ("  ".join(text[:8])).center(34), curses.A_BOLD)
            put(y + 1, 0, "|" + " " * 34 + "|")
            y += 2
            row += 2
            continue
        attr = curses.A_REVERSE if row == scr.invert else 0
        put(y, 0, "|  " + " " * 32 + "|")
        put(y, 3, text.ljust(16), attr)
        y += 1
        row += 1
    put(y, 0, "+" + "-" * 34 + "+")
    led = emu.board.led
    flashing = bool(emu.board.leds and emu.board.leds[-1][2])
    put(y + 1, 0, "light: %-7s  buzzer: %-6s" % (led, emu.board.tone))
    pair = (colours or {}).get(led)
    if pair:
        blink = curses.A_BLINK if flashing else 0
        put(y + 1, 7, led, pair[0] | blink)  # the word in its colour
        for dy, lamp in ((3, "  ####  "), (4, "########"), (5, "########"), (6, "  ####  ")):
            # a round-ish lamp of the colour beside the screen, its priority under it
            for dx, ch in enumerate(lamp):
                if ch == "#":
                    put(dy, LAMP_X + dx, " ", pair[1] | blink)
        put(7, LAMP_X, LIGHT_WORDS[led].center(8), pair[0] | blink)
    else:
        put(4, LAMP_X, "light:")
        put(5, LAMP_X, LIGHT_WORDS.get(led, led) + (" flashing" if flashing else ""))
    if pty_path:
        put(y + 2, 0, "UART: %s" % pty_path)
    put(y + 4, 0, HELP)
    win.refresh()


def _hms(ms):
    s = ms // 1000
    return "%d:%02d:%02d" % (s // 3600, (s % 3600) // 60, s % 60)


def run(speed=1.0, weight_kg=None, se_type="convulsive", flash_dir=None):
    """The front panel in a terminal; weight_kg None: the unit starts without a weight and asks
    for it at the first dose, as a real one does."""
    emu = EmulatedUnit(weight_kg=weight_kg, se_type=se_type, flash_dir=flash_dir, uart="pty")
    emu.attach_link()  # host tools connect to the printed pty: statim status /dev/pts/N
    pty_path = emu.board.uart.slave_path

    def main(win):
        colours = init_colours()
        curses.curs_set(0)
        win.nodelay(True)
        win.keypad(True)
        last = time.monotonic()
        while True:
            ch = win.getch()
            while ch != -1:
                if ch in (ord("q"), ord("Q")):
                    return
                if ch == ord("f"):
                    emu.run_for(60_000)
                elif ch == ord("F"):
                    emu.run_for(600_000)
                elif ch in KEYS:
                    emu.press(KEYS[ch])
                ch = win.getch()
            now = time.monotonic()
            emu.run_for(int((now - last) * 1000 * speed))
            last = now
            draw(win, emu, speed, pty_path, colours)
            time.sleep(0.05)

    try:
        curses.wrapper(main)
    finally:
        emu.close()
    return emu
