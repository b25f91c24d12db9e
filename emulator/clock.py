"""Virtual time for the emulated board.

Time moves only when the emulator says so (the "infinitely fast CPU" model of
Zephyr native_sim): the unit's main loop asks to sleep until its next deadline
and the clock jumps there, so a 48-hour episode runs in about a second.
The tick counter wraps at 2**30 ms like MicroPython on a 32-bit board and may
start anywhere (tests start it just before the wrap).
"""

TICKS_PERIOD = 1 << 30
DEFAULT_RTC_START = 1_790_000_000  # 2026-09-21 UTC: any fixed, plausible wall-clock start


class VirtualClock:
    def __init__(self, tick_start=0, rtc_start_s=DEFAULT_RTC_START):
        self.elapsed_ms = 0  # since power-up of the emulated board; never wraps
        self.tick_start = tick_start % TICKS_PERIOD
        self._rtc_base = rtc_start_s  # None: the board has no (set) RTC

    def ticks_ms(self):
        return (self.tick_start + self.elapsed_ms) % TICKS_PERIOD

    def rtc_s(self):
        if self._rtc_base is None:
            return None
        return self._rtc_base + self.elapsed_ms // 1000

    def set_rtc(self, seconds):
        self._rtc_base = int(seconds) - self.elapsed_ms // 1000

    def lose_rtc(self):
        """Power cut with a flat RTC battery: the wall clock is gone."""
        self._rtc_base = None

    def advance(self, ms):
        if ms < 0:
            raise ValueError("virtual time cannot go backwards (advance %d ms)" % ms)
        self.elapsed_ms += int(ms)
