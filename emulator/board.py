"""The emulated board: a HAL for firmware/core on CPython, and the run loop.

    emu = EmulatedUnit(weight_kg=70, se_type="convulsive")    # boots firmware/core's Unit
    emu.press("ok")                     # the front panel
    emu.run_for(5 * 60_000)             # virtual time; jumps from deadline to deadline
    emu.unit.status(), emu.screen_text(), emu.board.tones

Time is virtual (emulator/clock.py).  In fast mode the loop jumps straight to
the core's next deadline (or the next scripted step, or the next EEG block),
so a 48-hour episode takes about a second; in real-time mode (the front panel)
it wakes every second like a board.
"""
import os
import tempfile
from array import array

from emulator.clock import VirtualClock
from emulator.display import framebuffer, render_text
from emulator.flash import FlashDir, FlashStorage
from emulator.uart import MemoryUart, PtyUart
from firmware.core import hal as _hal
from firmware.core.unit import Unit

TICKS_NEAR_WRAP = (1 << 30) - 10_000  # 10 s before the tick counter wraps
EEG_STEP_MS = 2000  # with EEG attached, fast mode still visits every 2 s to feed blocks

TONE_NAMES = {_hal.TONE_OFF: "off", _hal.TONE_LOW: "low", _hal.TONE_MEDIUM: "medium", _hal.TONE_HIGH: "high"}
LED_NAMES = {_hal.LED_OFF: "off", _hal.LED_GREEN: "green", _hal.LED_CYAN: "cyan", _hal.LED_YELLOW: "yellow",
             _hal.LED_RED: "red"}


class EmulatedBoard(FlashStorage, _hal.Hal):
    """Every HAL method, backed by host objects; outputs are recorded for tests."""

    def __init__(self, flash_dir=None, tick_start=0, rtc=True, uart="memory"):
        self.clock = VirtualClock(tick_start=tick_start, rtc_start_s=None)
        if rtc:
            from emulator.clock import DEFAULT_RTC_START

            self.clock.set_rtc(DEFAULT_RTC_START)
        if flash_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="statim-flash-")
            flash_dir = self._tmp.name
        self.flash = FlashDir(flash_dir)
        self.uart = PtyUart() if uart == "pty" else MemoryUart()
        self._buttons = 0
        self.screen = None
        self.screen_version = -1
        self.frames = 0  # how many times the display was redrawn
        self.tones = []  # [(elapsed_ms, "high"|...)] every change
        self.leds = []  # [(elapsed_ms, colour, flashing)]
        self.wdt_last_feed_ms = 0
        self.wdt_feeds = 0
        self.cause = "power_on"
        self.eeg_source = None  # callable(t_s) -> samples up to t_s; see attach_eeg
        self._eeg_fs = 0.0
        self._eeg_pending = array("f")
        self._eeg_pos = 0

    # clock
    def ticks_ms(self):
        return self.clock.ticks_ms()

    def rtc_s(self):
        return self.clock.rtc_s()

    def set_rtc(self, seconds):
        self.clock.set_rtc(seconds)

    def sleep_ms(self, ms):
        self.clock.advance(ms)

    # display
    def show(self, screen):
        if screen.version != self.screen_version:
            self.screen_version = screen.version
            self.screen = screen
            self.frames += 1

    def framebuffer(self):
        """The panel's pixels as the board's SSD1306 holds them for the last screen shown
        (emulator/display.py draws it as the Pico's HAL does): 1024 bytes, MONO_VLSB."""
        if self.screen is None:
            return bytearray(128 * 64 // 8)
        return framebuffer(self.screen)

    # buttons, buzzer, lights
    def push_button(self, name):
        for n, bit in _hal.BUTTON_NAMES:
            if n == name:
                self._buttons |= bit
                return
        raise ValueError("no button %r (buttons: up, down, ok, back, alarm)" % (name,))

    def poll_buttons(self):
        b, self._buttons = self._buttons, 0
        return b

    def set_tone(self, pattern):
        self.tones.append((self.clock.elapsed_ms, TONE_NAMES[pattern]))

    def set_led(self, colour, flashing):
        self.leds.append((self.clock.elapsed_ms, LED_NAMES[colour], bool(flashing)))

    @property
    def tone(self):
        return self.tones[-1][1] if self.tones else "off"

    @property
    def led(self):
        return self.leds[-1][1] if self.leds else "off"

    # UART
    def uart_readinto(self, buf):
        return self.uart.readinto(buf)

    def uart_write(self, data):
        return self.uart.write(data)

    def link_id(self):
        f = getattr(self.uart, "link_id", None)
        return f() if f is not None else 0

    # EEG
    def attach_eeg(self, source, fs):
        """source(t_s) returns the samples (µV) from the last call up to t_s."""
        self.eeg_source = source
        self._eeg_fs = float(fs)
        self._eeg_t0_ms = self.clock.elapsed_ms
        self._eeg_pending = array("f")
        self._eeg_pos = 0

    def detach_eeg(self):
        self.eeg_source = None
        self._eeg_fs = 0.0

    def eeg_fs(self):
        return self._eeg_fs

    def eeg_readinto(self, buf):
        if self.eeg_source is None:
            return 0
        if self._eeg_pos >= len(self._eeg_pending):
            t_s = (self.clock.elapsed_ms - self._eeg_t0_ms) / 1000.0
            self._eeg_pending = self.eeg_source(t_s)
            self._eeg_pos = 0
        n = min(len(buf), len(self._eeg_pending) - self._eeg_pos)
        for i in range(n):
            buf[i] = self._eeg_pending[self._eeg_pos + i]
        self._eeg_pos += n
        return n

    # watchdog
    def wdt_feed(self):
        self.wdt_last_feed_ms = self.clock.elapsed_ms
        self.wdt_feeds += 1

    def reset_cause(self):
        return self.cause


class EmulatedUnit:
    """firmware/core's Unit running on an EmulatedBoard, with a patient if wanted."""

    def __init__(self, weight_kg=None, se_type="convulsive", flash_dir=None, tick_start=0, rtc=True,
                 uart="memory", config=None, store=None, patient=None):
        self.board = EmulatedBoard(flash_dir, tick_start, rtc, uart)
        cfg = {"se_type": se_type}
        if config:
            cfg.update(config)
        if store is None:
            from firmware.core.eventlog import EventLog

            store = EventLog(self.board)  # the record survives a reboot of the emulated unit
        self.unit = Unit(self.board, cfg, store=store)
        self.patient = patient
        if weight_kg is not None and self.unit.weight_g is None:
            self.unit.set_weight(int(round(weight_kg * 1000)))
        self.unit.step()

    def attach_link(self, key=None, repl=True):
        """The serial protocol on the board's UART (maintenance key: the emulator's public
        development key unless given; never a patient unit's key)."""
        import os as _os

        from emulator.live import DEV_KEY
        from firmware.core import protocol

        maint = None
        if repl:
            from emulator.repl import MaintenanceRepl

            maint = MaintenanceRepl(self.board.flash.root)
        self.unit.link = protocol.Link(self.unit, self.board, key=key or DEV_KEY, rand=_os.urandom, repl=maint)
        return self.unit.link

    @property
    def now_ms(self):
        return self.board.clock.elapsed_ms

    def press(self, name):
        self.board.push_button(name)
        self.unit.step()

    def step_fast(self, limit_ms):
        """One loop iteration, then jump to the next thing that can happen (<= limit_ms ahead)."""
        self.unit.step()
        eng = self.unit.engine
        t = eng.now()
        jump = limit_ms
        d = eng.next_deadline
        if d >= 0:
            # deadlines are whole episode seconds: land on the first ms of that second
            ms_into_second = eng.clock._ms
            to_deadline = (d - t) * 1000 - ms_into_second
            jump = min(jump, max(to_deadline, 0))
        if self.board.eeg_source is not None:
            jump = min(jump, EEG_STEP_MS)
        if jump <= 0:
            jump = min(limit_ms, 1) if limit_ms > 0 else 0
        self.board.clock.advance(jump)
        return jump

    def run_until(self, elapsed_ms):
        """Run in fast mode until the board has been up elapsed_ms."""
        while self.now_ms < elapsed_ms:
            self.step_fast(elapsed_ms - self.now_ms)
        self.unit.step()

    def run_for(self, ms):
        self.run_until(self.now_ms + ms)

    def screen_text(self):
        scr = self.unit.ui.render(self.unit.now())
        return render_text(scr)

    def close(self):
        self.board.uart.close()
