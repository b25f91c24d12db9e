# Runs under the MicroPython unix port (firmware/ and tests/ on the module path): the Pico's
# HAL (firmware/boards/rp2_pico/hal.py) draws screens with MicroPython's real framebuf, as on
# the board, and sends them over a recorded I2C bus to a model of the SSD1306's display RAM.
#
#   display_guest.py STATES.json   one JSON line per state: {"buf": hex, "ram": hex}
#
# STATES.json: a list of {"name", "rows": [[part, ...] x 8], "big", "invert"}, drawn in order
# on one Screen (as a UI redraws its pages), so the HAL's partial redraws (only the rows and
# parts that changed) run as on the board: equal parts are given as the same string objects.
# "buf" is the driver's frame buffer after show(), "ram" the panel's memory built from the
# bytes the HAL put on the bus.  Hardware the HAL touches besides the panel (pins, PWM, timer,
# RTC, watchdog, the EEG front end) is stubbed; the drawing code is the board's own.
import json
import sys

import framebuf

sys.path.insert(0, "boards/rp2_pico")  # the guest runs in firmware/

WIDTH = 128
PAGES = 8
_ARGS = {0x20: 1, 0x21: 2, 0x22: 2, 0x81: 1, 0xA8: 1, 0xD3: 1, 0xDA: 1, 0xD5: 1, 0xD9: 1, 0xDB: 1,
         0x8D: 1, 0xAD: 1}  # SSD1306 commands and how many argument bytes follow each


class Panel:
    """The SSD1306 as the bus sees it: commands set the column and page windows (horizontal
    addressing), data bytes land at the pointer, which runs on across the window."""

    def __init__(self):
        self.ram = bytearray(WIDTH * PAGES)
        self.c0, self.c1, self.p0, self.p1 = 0, WIDTH - 1, 0, PAGES - 1
        self.col, self.page = 0, 0
        self.cmd = []

    def command(self, b):
        self.cmd.append(b)
        if len(self.cmd) <= _ARGS.get(self.cmd[0], 0):
            return
        c = self.cmd
        self.cmd = []
        if c[0] == 0x21:
            self.c0, self.c1 = c[1], c[2]
            self.col = c[1]
        elif c[0] == 0x22:
            self.p0, self.p1 = c[1], c[2]
            self.page = c[1]

    def data(self, b):
        self.ram[self.page * WIDTH + self.col] = b
        self.col += 1
        if self.col > self.c1:
            self.col = self.c0
            self.page += 1
            if self.page > self.p1:
                self.page = self.p0

    def writeto(self, addr, buf):
        buf = bytes(buf)
        i = 0
        n = len(buf)
        while i < n:
            ctrl = buf[i]
            i += 1
            one = ctrl & 0x80  # Co=1: one byte, then another control byte
            put = self.data if ctrl & 0x40 else self.command
            if one:
                if i < n:
                    put(buf[i])
                i += 1
            else:
                while i < n:
                    put(buf[i])
                    i += 1


class _Any:
    """A stub for hardware: any attribute is a callable that does nothing."""

    def __init__(self, *a, **k):
        pass

    def __getattr__(self, name):
        return lambda *a, **k: None


class _Pin(_Any):
    IN = 0
    OUT = 1
    PULL_UP = 1
    IRQ_FALLING = 4


class _Timer(_Any):
    PERIODIC = 1


class _Machine:
    Pin = _Pin
    PWM = _Any
    RTC = _Any
    WDT = _Any
    Timer = _Timer
    PWRON_RESET = 1
    WDT_RESET = 3

    @staticmethod
    def I2C(*a, **k):
        return Panel()

    @staticmethod
    def reset_cause():
        return 1


class _Ssd1306:
    class SSD1306_I2C(framebuf.FrameBuffer):
        def __init__(self, width, height, i2c):
            self.buffer = bytearray(width * height // 8)
            super().__init__(self.buffer, width, height, framebuf.MONO_VLSB)


class _NoFrontEnd:
    class Ads1299:
        def start(self):
            return "no EEG front end (display test)"


sys.modules["machine"] = _Machine
sys.modules["ssd1306"] = _Ssd1306
sys.modules["ads1299"] = _NoFrontEnd

import hal as board_hal  # noqa: E402  (after the stubs: the board's HAL module)
from core.screen import Screen  # noqa: E402


def hexs(b):
    return "".join("%02x" % x for x in b)


def main(path):
    board_hal.DATA_DIR = "/tmp/statim-display-guest/"  # not the host's /data
    h = board_hal.PicoHal(wdt=False)
    panel = h._i2c
    scr = Screen()
    interned = {}

    def same(s):
        t = interned.get(s)
        if t is None:
            interned[s] = s
            t = s
        return t

    with open(path) as f:
        states = json.load(f)
    for st in states:
        scr.clear(st["page"])
        rows = st["rows"]
        for r in range(8):
            parts = [same(p) for p in rows[r]] + [""] * (8 - len(rows[r]))
            scr.set_parts(r, *parts)
        scr.mark(st["big"], st["invert"])
        scr.finish()
        h.show(scr)
        print(json.dumps({"name": st["name"], "buf": hexs(h._buf), "ram": hexs(panel.ram)}))


main(sys.argv[1])
