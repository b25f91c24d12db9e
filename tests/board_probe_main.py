# A tiny main.py for the emulated Pico's own tests (tests/test_board_harness.py): it exercises what the
# harness models -- SSD1306 text, 2x text and a highlighted row, a button, USB serial, littlefs writes,
# the watchdog and machine.reset_cause() -- independently of the Statim firmware.
import framebuf
import machine
import select
import sys
from machine import I2C, Pin

import ssd1306

d = ssd1306.SSD1306_I2C(128, 64, I2C(0, scl=Pin(5), sda=Pin(4), freq=400000))
ok = Pin(12, Pin.IN, Pin.PULL_UP)
wdt = machine.WDT(timeout=8000)
g = framebuf.FrameBuffer(bytearray(8), 8, 8, framebuf.MONO_VLSB)
try:
    boots = int(open("/boots.txt").read()) + 1
except (OSError, ValueError):
    boots = 1
with open("/boots.txt", "w") as f:  # a littlefs write on every boot
    f.write(str(boots))
poll = select.poll()
poll.register(sys.stdin, select.POLLIN)
CAUSE = {machine.PWRON_RESET: "PWRON", machine.WDT_RESET: "WDT"}


def big(text, y):
    x0 = max(0, (128 - 16 * len(text)) // 2)
    for ch in text:
        g.fill(0)
        g.text(ch, 0, 0, 1)
        for py in range(8):
            for px in range(8):
                if g.pixel(px, py):
                    d.fill_rect(x0 + 2 * px, y + 2 * py, 2, 2, 1)
        x0 += 16


while True:
    d.fill(0)
    d.text("PROBE boot %d" % boots, 0, 0, 1)
    big("12:34", 8)
    d.text("ok=%d" % ok.value(), 0, 24, 1)
    d.fill_rect(0, 32, 128, 8, 1)
    d.text("cause " + CAUSE.get(machine.reset_cause(), "?"), 0, 32, 0)
    d.show()
    wdt.feed()
    if poll.poll(100):
        c = sys.stdin.read(1)
        if c == "w":  # a bigger littlefs write, for power cuts in the middle of one
            with open("/blob.bin", "w") as f:
                f.write(str(boots) * 3000)
        sys.stdout.write(c.upper())
