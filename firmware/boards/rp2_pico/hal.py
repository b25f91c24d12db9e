# HAL for a Raspberry Pi Pico (RP2040) Statim unit.  See README.md for wiring.
#
# - display: SSD1306 128x64 OLED on I2C0 (micropython-lib driver `ssd1306`,
#   installed with `mpremote mip install ssd1306`)
# - five buttons to GND (internal pull-ups), debounced in the pin IRQ
# - buzzer on PWM, alarm light on an RGB LED (common cathode), both sequenced
#   by one 50 ms timer so patterns keep time while the main loop sleeps
# - machine.WDT (8 s), fed only by Unit.step() after its health checks pass
# - storage: the board's littlefs, files under /data (flat names)
# - host link: USB CDC serial through sys.stdin / sys.stdout, polled with
#   select.poll; Ctrl-C is disabled in bedside mode (main.py) so the REPL
#   cannot be entered from the wire
#
# Steady state allocates nothing: the IRQ and timer callbacks are bound once
# and touch only preallocated buffers.
import os
import select
import sys
import time

import framebuf
import machine
from machine import I2C, PWM, Pin
from micropython import const

from core import hal as _hal

# wiring (GPIO numbers)
PIN_SDA = const(4)
PIN_SCL = const(5)
PIN_BUZZER = const(15)
PIN_LED_R = const(18)
PIN_LED_G = const(19)
PIN_LED_B = const(20)
BUTTON_PINS = ((10, _hal.BTN_UP), (11, _hal.BTN_DOWN), (12, _hal.BTN_OK), (13, _hal.BTN_BACK),
               (14, _hal.BTN_ALARM))

DEBOUNCE_MS = const(40)
SLOT_MS = const(50)  # buzzer / light sequencer step
LINK_GAP_MS = const(30000)  # host link: silence after which the next byte is a new connection
TX_CHUNK = const(1088)  # host link: bytes per write, a whole frame
TX_BACKOFF_MS = const(1000)  # host link: a host that does not read gets nothing written this long
WDT_MS = const(8000)  # rp2040 maximum is about 8.3 s
BUZZER_HZ = const(2000)
DATA_DIR = "/data/"
RTC_VALID_FROM = const(1577836800)  # 2020-01-01: earlier means the RTC was never set
_WIDTH = const(128)
_HALF = const(64)
_HEIGHT = const(64)
_ALL_PAGES = const(0xFF)
_ADDR = const(0x3C)  # the SSD1306's I2C address (the driver's default)
_BIG_CHARS = "0123456789:h-kg"  # what a 2x row shows: the timer ("12:34", "1h05", "--:--") and a weight

# IEC 60601-1-8 style burst patterns in 50 ms slots (1 = tone on).
_HIGH = bytearray(b"\x01\x00\x01\x00\x01\x00\x00\x00\x01\x00\x01\x00" + bytes(8) +
                  b"\x01\x00\x01\x00\x01\x00\x00\x00\x01\x00\x01\x00" + bytes(40))
_MEDIUM = bytearray(b"\x01\x01\x00\x00\x01\x01\x00\x00\x01\x01" + bytes(90))
_LOW = bytearray(b"\x01\x01\x00\x00\x01\x01" + bytes(154))
_OFF = bytearray(1)
_PATTERNS = (_OFF, _LOW, _MEDIUM, _HIGH)  # index = hal.TONE_*
# light colour -> (r, g, b)
_RGB = ((0, 0, 0), (0, 1, 0), (0, 1, 1), (1, 1, 0), (1, 0, 0))  # index = hal.LED_*


class PicoHal(_hal.Hal):
    # The RP2040's RTC and its tick counter both run off the 12 MHz crystal,
    # so they cannot drift apart: the unit reads the RTC at boot and when it
    # is set, not every minute (reading it allocates a big integer here).
    RTC_DRIFTS = False

    def __init__(self, wdt=True):
        self._pressed = 0
        self._last = [time.ticks_ms()] * len(BUTTON_PINS)
        self._buttons = []
        for i in range(len(BUTTON_PINS)):
            gpio, bit = BUTTON_PINS[i]
            p = Pin(gpio, Pin.IN, Pin.PULL_UP)
            p.irq(trigger=Pin.IRQ_FALLING, handler=self._make_irq(i, bit))
            self._buttons.append(p)
        self._buzzer = PWM(Pin(PIN_BUZZER))
        self._buzzer.freq(BUZZER_HZ)
        self._buzzer.duty_u16(0)
        self._r = Pin(PIN_LED_R, Pin.OUT, value=0)
        self._g = Pin(PIN_LED_G, Pin.OUT, value=0)
        self._b = Pin(PIN_LED_B, Pin.OUT, value=0)
        self._pattern = _OFF
        self._slot = 0
        self._tone_on = False
        self._colour = _hal.LED_OFF
        self._flash = False
        self._flash_on = True
        self._ticks = 0
        self._display = None
        self._big = framebuf.FrameBuffer(bytearray(8), 8, 8, framebuf.MONO_VLSB)  # one glyph, for 2x text
        # 2x glyphs of what a big row shows (timer, weight), made once: a redraw blits them (in C,
        # framebuf's own copy: no native emitter, so the module compiles for any MicroPython)
        self._glyphs2x = {}
        for ch in _BIG_CHARS:
            g = framebuf.FrameBuffer(bytearray(32), 16, 16, framebuf.MONO_VLSB)
            self._scale2x(g, ch, 0, 0)
            self._glyphs2x[ch] = g
        self._i2c = None  # machine.I2C of the panel
        self._buf = bytearray(0)  # the driver's frame buffer: page p, column c at p * 128 + c
        self._pages = ()  # type: tuple
        self._halves = ()  # type: tuple
        # the SSD1306's address windows, each command byte after a Co=1 control byte (one
        # transaction per window, the bytes of one write_cmd per command): mutated, never rebuilt
        self._colwin = bytearray(b"\x80\x21\x80\x00\x80\x7f")
        self._pagewin = bytearray(b"\x80\x22\x80\x00\x80\x07")
        self._px0 = bytearray(b"\xc0\x00")  # Co=1, D/C#=1: one data byte (page 0, column 0)
        self._left = 0  # bit per page redrawn left of column _HALF (the whole page is sent)
        # each row's big/inverted look and text length as drawn: a row in the same look (and a big
        # row of the same length, which is centred) is redrawn from the first part the screen says
        # changed (Screen.first: a timer tick is a digit)
        self._drawn_look = bytearray(8)
        self._drawn_w = bytearray(8)
        try:
            import ssd1306

            i2c = I2C(0, scl=Pin(PIN_SCL), sda=Pin(PIN_SDA), freq=400000)
            self._display = ssd1306.SSD1306_I2C(_WIDTH, _HEIGHT, i2c)
            self._i2c = i2c
            self._buf = self._display.buffer
            # Pixels go out with i2c.writeto from views of the frame buffer made once here, each
            # starting one byte early: that byte is set to the data control byte (0x40) for the
            # transfer and put back after it.  (The driver's write_data uses writevto, which
            # allocates and frees a joined copy on every call: ~2.5 ms per send on a fragmented
            # heap, where the allocator searches for the free run, and never under heap_lock.)
            mv = memoryview(self._buf)
            # page p from column 0 (page 0: from column 1, column 0 goes first on its own)
            self._pages = tuple(mv[(p * _WIDTH - 1 if p else 0):(p + 1) * _WIDTH] for p in range(_HEIGHT // 8))
            # and each page's right half: a timer's seconds and a countdown's end sit there
            self._halves = tuple(mv[p * _WIDTH + _HALF - 1:(p + 1) * _WIDTH] for p in range(_HEIGHT // 8))
        except (ImportError, OSError):
            self._display = None  # no driver or no panel: run headless (the link still works)
        self._screen_version = -1
        self._redraw_all = True  # the panel holds something else (boot, maintenance): draw every row
        self._rtc = machine.RTC()
        self._poll = select.poll()
        self._poll.register(sys.stdin, select.POLLIN)
        self._wpoll = select.poll()
        self._wpoll.register(sys.stdout, select.POLLOUT)
        self._tx_hold = time.ticks_ms()
        self._one = bytearray(1)
        self._link = 0  # link_id(): bumped by a new connection (see uart_readinto)
        self._rx_last = time.ticks_ms()
        self._stdin = sys.stdin.buffer
        self._stdout = sys.stdout.buffer
        try:
            os.mkdir(DATA_DIR[:-1])
        except OSError:
            pass  # exists
        self._eeg_open()  # before the watchdog: the front end's bring-up sleeps up to ~0.2 s
        self._timer = machine.Timer(-1)
        self._timer.init(period=SLOT_MS, mode=machine.Timer.PERIODIC, callback=self._sequence)
        self._wdt = machine.WDT(timeout=WDT_MS) if wdt else None
        self._cause = machine.reset_cause()
        self._maintenance_feed = None

    # --- IRQ / timer callbacks (no allocation) ----------------------------
    def _make_irq(self, i, bit):
        def irq(pin):
            now = time.ticks_ms()
            if time.ticks_diff(now, self._last[i]) > DEBOUNCE_MS:
                self._pressed |= bit
            self._last[i] = now

        return irq

    def _sequence(self, timer):
        pat = self._pattern
        self._slot += 1
        if self._slot >= len(pat):
            self._slot = 0
        on = pat[self._slot] == 1
        if on != self._tone_on:
            self._tone_on = on
            self._buzzer.duty_u16(32768 if on else 0)
        self._ticks = (self._ticks + 1) & 0xFFFF
        if self._flash and self._ticks % 5 == 0:  # 2 Hz flashing (high priority)
            self._flash_on = not self._flash_on
            self._apply_led()

    def _apply_led(self):
        r, g, b = _RGB[self._colour] if (self._flash_on or not self._flash) else _RGB[0]
        self._r.value(r)
        self._g.value(g)
        self._b.value(b)

    # --- clock ---------------------------------------------------------------
    def ticks_ms(self):
        return time.ticks_ms()

    def rtc_s(self):
        t = time.time()  # rp2: seconds since 1970 from the RTC
        return t if t >= RTC_VALID_FROM else None

    def set_rtc(self, seconds):
        tm = time.gmtime(seconds)
        # RTC.datetime: (year, month, day, weekday, hours, minutes, seconds, subseconds)
        self._rtc.datetime((tm[0], tm[1], tm[2], tm[6], tm[3], tm[4], tm[5], 0))

    def sleep_ms(self, ms):
        """Sleep up to ms; wake early on a button press or a byte from the host."""
        deadline = time.ticks_add(time.ticks_ms(), ms)
        while not self._pressed:
            left = time.ticks_diff(deadline, time.ticks_ms())
            if left <= 0:
                return
            if self._readable(left if left < 20 else 20):
                return

    def _readable(self, ms):
        # ipoll, not poll: poll() returns a new list on every call, ipoll()
        # iterates over the poll object itself with one reused tuple
        for _ in self._poll.ipoll(ms):
            return True
        return False

    # --- display ---------------------------------------------------------------
    def show(self, screen):
        """Redraw only the rows that changed and send only their 8-pixel pages
        (a timer tick: the big row's 2 pages and maybe a countdown's 1, not 8).
        A redraw that stops part-way (an exception: a bus error, MemoryError in
        heap.quiet) leaves the panel unknown: the next one draws every row."""
        d = self._display
        if d is None:
            return
        try:
            self._show(d, screen)
        except BaseException:
            self._redraw_all = True
            raise

    def _show(self, d, screen):
        screen.finish()  # a writer that did not (service screen): find what changed
        if screen.version == self._screen_version and not self._redraw_all:
            return
        self._screen_version = screen.version
        dirty = screen.dirty
        screen.dirty = 0
        if self._redraw_all:
            dirty = _ALL_PAGES
            self._redraw_all = False
            for i in range(8):
                self._drawn_look[i] = 255  # the panel shows something else: every row from its start
        big = screen.big
        if big >= 0 and dirty & (3 << big):
            dirty |= 3 << big  # the big row is drawn as a whole
        row = 0
        while row < 8:
            if not dirty & (1 << row):
                row += 1
                continue
            y = row * 8
            parts = screen.parts[row]
            look = 2 if row == big else (1 if row == screen.invert else 0)
            # from which part on this row differs from what the panel shows (the parts before
            # it are the same text, so they sit at the same columns)
            k = screen.first[row]
            col = screen.first_col[row]
            screen.first[row] = 8  # drawn: nothing pending
            w = screen.width[row]
            if self._drawn_look[row] != look or k >= 8 or (look == 2 and w != self._drawn_w[row]):
                k = 0
                col = 0
            self._drawn_look[row] = look
            self._drawn_w[row] = w
            if look == 2:
                if self._text2x(d, parts, y, k, col) < _HALF:
                    self._left |= 3 << row
                self._drawn_look[row + 1] = 3  # covered by the big row
                row += 2
                continue
            inv = look == 1
            x = 8 * col
            if x < _HALF:
                self._left |= 1 << row
            if x < _WIDTH:
                d.fill_rect(x, y, _WIDTH - x, 8, 1 if inv else 0)
            while k < 8:
                part = parts[k]
                if part:
                    if x < _WIDTH:
                        d.text(part, x, y, 0 if inv else 1)  # the panel clips at 128 px: the 16-column cut
                    x += 8 * len(part)
                k += 1
            row += 1
        self._send(d, dirty)

    def _send(self, d, dirty):
        """Send the pages in `dirty` to the SSD1306: one address window per run of
        consecutive pages, then each page from its preallocated view (only the right
        half of a page drawn there alone).  Allocation-free."""
        left = self._left
        self._left = 0
        i2c = self._i2c
        if i2c is None:
            return
        if dirty != _ALL_PAGES and not dirty & left:  # every change right of the middle: half the bytes
            cw = self._colwin
            cw[3] = _HALF
            i2c.writeto(_ADDR, cw)
            halves = self._halves
            pw = self._pagewin
            p = 0
            while p < 8:
                if dirty & (1 << p):
                    pw[3] = p
                    pw[5] = p
                    i2c.writeto(_ADDR, pw)
                    self._data(i2c, halves[p], p * _WIDTH + _HALF - 1)
                p += 1
            return
        pages = self._pages
        p = 0
        while p < 8:
            if not dirty & (1 << p):
                p += 1
                continue
            q = p
            while q + 1 < 8 and dirty & (1 << (q + 1)):
                q += 1
            cw = self._colwin
            cw[3] = 0
            i2c.writeto(_ADDR, cw)
            pw = self._pagewin
            pw[3] = p
            pw[5] = q
            i2c.writeto(_ADDR, pw)
            while p <= q:  # horizontal addressing: the panel's pointer runs on into the next page
                if p == 0:
                    px = self._px0
                    px[1] = self._buf[0]
                    i2c.writeto(_ADDR, px)  # column 0 alone: no byte before it to lend
                self._data(i2c, pages[p], p * _WIDTH - 1 if p else 0)
                p += 1

    def _data(self, i2c, view, k):
        """One data transfer: view starts at buffer byte k, which is lent for the control byte."""
        buf = self._buf
        v = buf[k]
        buf[k] = 0x40  # Co=0, D/C#=1: the rest of the transfer is pixels
        try:
            i2c.writeto(_ADDR, view)
        finally:
            buf[k] = v

    def _scale2x(self, d, ch, x0, y):
        # ch at twice the size, pixel by pixel (2x glyphs at init; any other character)
        g = self._big
        g.fill(0)
        g.text(ch, 0, 0, 1)
        for py in range(8):
            for px in range(8):
                if g.pixel(px, py):
                    d.fill_rect(x0 + 2 * px, y + 2 * py, 2, 2, 1)

    def _text2x(self, d, parts, y, k=0, col=0):
        """The big row, centred, from part k (at character col) on; the earlier parts are on
        the panel already, at the same place."""
        n = 0
        for part in parts:
            n += len(part)
        if n > 8:
            n = 8  # 8 characters fit at 2x
        x0 = (_WIDTH - 16 * n) // 2
        if x0 < 0:
            x0 = 0
        if col >= n:
            if n == 0:  # the big row emptied: clear what it showed
                d.fill_rect(0, y, _WIDTH, 16, 0)
                return 0
            return _WIDTH
        x0 += 16 * col
        first = x0 if col else 0
        d.fill_rect(first, y, _WIDTH - first, 16, 0)
        drawn = col
        while k < 8:
            part = parts[k]
            if len(part) == 1:  # a timer's digit: the part is the character (iterating a str looks each one up)
                if drawn == 8:
                    return first
                x0 = self._char2x(d, part, x0, y)
                drawn += 1
            else:
                for ch in part:
                    if drawn == 8:
                        return first
                    x0 = self._char2x(d, ch, x0, y)
                    drawn += 1
            k += 1
        return first

    def _char2x(self, d, ch, x0, y):
        g = self._glyphs2x.get(ch)
        if g is not None:
            d.blit(g, x0, y)
        elif ch != " ":  # a space: the band is already clear
            self._scale2x(d, ch, x0, y)
        return x0 + 16

    def show_maintenance(self):
        self.show_lines(("MAINTENANCE", "", "REPL unlocked", "", "not monitoring", "", "reset to resume"))

    def show_lines(self, lines):
        """Plain text rows, straight to the panel: for the screens shown when the
        unit itself is not running (maintenance, a failed start)."""
        d = self._display
        if d is not None:
            d.fill(0)
            y = 0
            for text in lines:
                d.text(text, 0, y, 1)
                y += 8
            d.show()
            self._redraw_all = True

    # --- buttons, buzzer, lights -------------------------------------------
    def poll_buttons(self):
        b = self._pressed
        self._pressed = 0
        return b

    def set_tone(self, pattern):
        self._pattern = _PATTERNS[pattern]
        self._slot = 0

    def set_led(self, colour, flashing):
        self._colour = colour
        self._flash = bool(flashing)
        self._flash_on = True
        self._apply_led()

    # --- storage ---------------------------------------------------------------
    def fs_open(self, name, mode):
        return open(DATA_DIR + name, mode)

    def fs_rename(self, old, new):
        os.rename(DATA_DIR + old, DATA_DIR + new)  # littlefs: atomic replace

    def fs_remove(self, name):
        try:
            os.remove(DATA_DIR + name)
        except OSError:
            pass

    def fs_size(self, name):
        try:
            return os.stat(DATA_DIR + name)[6]
        except OSError:
            return -1

    def read_key(self):
        """The maintenance key (data/unit.key: hex), or None if not provisioned."""
        try:
            with open(DATA_DIR + "unit.key", "rb") as f:
                text = f.read().strip()
        except OSError:
            return None
        import binascii

        try:
            key = binascii.unhexlify(text)
        except ValueError:
            return None
        return key if len(key) >= 16 else None

    def random_bytes(self, n):
        return os.urandom(n)  # rp2: ring-oscillator entropy

    # --- UART (USB CDC) -------------------------------------------------------
    def uart_readinto(self, buf):
        n = 0
        one = self._one
        while n < len(buf) and self._readable(0):
            if not self._stdin.readinto(one):
                break
            buf[n] = one[0]
            n += 1
        if n:
            now = time.ticks_ms()
            if time.ticks_diff(now, self._rx_last) > LINK_GAP_MS:
                self._link += 1  # bytes after a long silence: a new connection (see link_id)
            self._rx_last = now
        return n

    def link_id(self):
        """The USB CDC connection as the core sees it.  MicroPython's built-in CDC
        driver does not tell Python when DTR drops (the port is closed), so a
        first byte after LINK_GAP_MS of silence counts as a new connection: a
        maintenance session does not outlive a pause that long (docs/security.md)."""
        return self._link

    def uart_write(self, data):
        """Non-blocking as the core needs it (hal.Hal.uart_write): at most
        TX_CHUNK bytes, and only when the CDC reports room.  A host that reads
        drains that in about a millisecond; MicroPython's CDC write waits (up to
        its TX timeout) when a connected host does not read, and a write that
        took that long means the host is not reading: nothing more is written
        for TX_BACKOFF_MS, the link keeps or drops the rest."""
        if time.ticks_diff(time.ticks_ms(), self._tx_hold) < 0:
            return 0
        ready = False
        for _ in self._wpoll.ipoll(0):
            ready = True
        if not ready:
            return 0
        n = len(data)
        if n > TX_CHUNK:
            n = TX_CHUNK
            data = data[:TX_CHUNK]
        t0 = time.ticks_ms()
        self._stdout.write(data)
        if time.ticks_diff(time.ticks_ms(), t0) > 20:
            self._tx_hold = time.ticks_add(time.ticks_ms(), TX_BACKOFF_MS)
        return n

    # --- EEG: ADS1299 front end on SPI0 + DRDY (ads1299.py, README wiring) ----
    def _eeg_open(self):
        """Start the front end; without one (absent, another chip, a wiring fault) no EEG, and why."""
        self._eeg = None
        self.eeg_reason = None  # why there is no EEG (for a status or service screen), else None
        try:
            import ads1299

            fe = ads1299.Ads1299()
            self.eeg_reason = fe.start()
            if self.eeg_reason is None:
                self._eeg = fe
        except Exception as e:  # a driver fault must never stop the unit booting
            self.eeg_reason = "EEG front end: %r" % (e,)
        if self._eeg is None and "ads1299" in sys.modules:
            del sys.modules["ads1299"]  # no front end: its driver's code leaves the heap

    def eeg_fs(self):
        fe = self._eeg
        return fe.fs if fe is not None else 0

    def eeg_readinto(self, buf):
        fe = self._eeg
        return fe.readinto(buf) if fe is not None else 0

    # --- watchdog ------------------------------------------------------------
    def wdt_feed(self):
        if self._wdt is not None:
            self._wdt.feed()

    def keep_fed(self):
        """Maintenance mode: the WDT cannot be stopped, so a timer feeds it."""
        wdt = self._wdt
        if wdt is not None:
            self._maintenance_feed = machine.Timer(-1)
            self._maintenance_feed.init(period=1000, mode=machine.Timer.PERIODIC, callback=lambda t: wdt.feed())

    def reset_cause(self):
        c = self._cause
        if c == machine.PWRON_RESET:
            return "power_on"
        if c == machine.WDT_RESET:
            return "watchdog"
        return "soft"
