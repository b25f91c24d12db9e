"""Time for the episode engine: tick arithmetic and episode seconds.

Two kinds of time, used for different jobs (MICROPYTHON.md section 6):

* Ticks (milliseconds from the HAL, `time.ticks_ms()` on a board) wrap every
  2**30 ms (about 12.4 days) and `ticks_diff` is only valid for spans below
  2**29 ms (about 6.2 days).  They are used only for short intervals: the Clock
  below reads them every tick (about once a second) and turns the small
  differences into a running seconds count.
* Episode time: integer seconds since the Statim epoch, 2020-01-01T00:00:00Z
  (`EPOCH_UNIX`).  Every event's `t` is in these seconds.  Why not Unix
  seconds: Unix time is already above 2**30, and on 32-bit MicroPython an int
  above 2**30 - 1 is a heap object, so every comparison in the steady-state
  tick would allocate.  Statim seconds stay small ints until 2054.

Wall clock and the RTC
----------------------
On a board or in the emulator: `Clock(hal.ticks_ms, hal.rtc_s, start_s)`
(engine.boot does this).  With an RTC (`rtc` returning Unix seconds, None
when not set), the Clock reads it at
start and at every `sync()`, and counts seconds with ticks in between.  It
never steps backwards: if the RTC is behind the count, the count is kept (the
log must stay ordered by time).

Without an RTC (`rtc=None`, or an RTC reporting a year before 2020, i.e. never
set), the Clock counts uptime seconds from `start_s`.  The engine passes the
time of the last logged event, so time continues from where the log ended.
Consequence, which the unit must show: the time the unit was powered off is
missing, so every timer (seizure duration, SE clock, due actions) is SHORT by
the length of the outage.  `clock_unset` is True; the engine logs it in the
`power_up` event, the state carries the `clock_unset` flag and a low-priority
alarm, and the screen must say "CLOCK NOT SET".
"""

import time

TICKS_MAX = 0x3FFFFFFF  # 2**30 - 1, as on 32-bit MicroPython ports
_MASK = 0x3FFFFFFF
_HALF = 0x20000000  # 2**29
# 2**30 is above MicroPython's small-int range, so it is only used on CPython
# (tests and the emulator); the arithmetic below avoids it.
TICKS_PERIOD = TICKS_MAX + 1

EPOCH_UNIX = 1577836800  # 2020-01-01T00:00:00Z in Unix seconds

# Use the port's own ticks functions when they have the same period as ours;
# the unix port of MicroPython uses 2**62 and CPython has none.
try:
    _native = time.ticks_add(0, -1) == TICKS_MAX  # type: ignore
except AttributeError:
    _native = False


def _ticks_add_py(ticks, delta):
    return (ticks + delta) & _MASK


def _ticks_diff_py(end, start):
    # Signed difference in [-2**29, 2**29 - 1], the MicroPython definition.
    # Written without 2**30 so no intermediate leaves the small-int range.
    d = (end - start) & _MASK
    if d >= _HALF:
        d = d - _HALF - _HALF
    return d


if _native:
    ticks_add = time.ticks_add  # type: ignore
    ticks_diff = time.ticks_diff  # type: ignore
else:
    ticks_add = _ticks_add_py
    ticks_diff = _ticks_diff_py


def _default_ticks_ms():
    # CPython fallback (emulator without its own virtual clock).
    return int(time.monotonic() * 1000) & _MASK  # type: ignore


def unix_to_statim(unix_s):
    return int(unix_s) - EPOCH_UNIX


def statim_to_unix(t):
    return t + EPOCH_UNIX


class Clock:
    """Episode seconds from ticks, optionally anchored to an RTC.

    `ticks_ms`: callable returning HAL ticks (wrapping at 2**30).
    `rtc`: callable returning Unix seconds, or None when there is no RTC.
    `start_s`: episode seconds to count from when there is no RTC.
    `now()` must be called at least once every 6 days (the tick loop calls it
    every second); it allocates nothing.
    """

    def __init__(self, ticks_ms=None, rtc=None, start_s=0):
        if ticks_ms is None:
            try:
                ticks_ms = time.ticks_ms  # type: ignore
            except AttributeError:
                ticks_ms = _default_ticks_ms
        self._ticks = ticks_ms
        self._rtc = rtc
        self._last = ticks_ms()
        self._ms = 0  # milliseconds counted but not yet a whole second
        self._s = start_s
        self.clock_unset = True
        self.sync()

    def sync(self):
        """Read the RTC (allocates: call at start and occasionally, not per tick)."""
        if self._rtc is None:
            self.clock_unset = True
            return
        u = self._rtc()
        if u is None or u < EPOCH_UNIX:
            # An RTC that was never set reports its own epoch (1970 or 2000).
            self.clock_unset = True
            return
        s = unix_to_statim(u)
        self.now()
        if s > self._s:  # never step backwards
            self._s = s
            self._ms = 0
        self.clock_unset = False

    def now(self):
        """Current episode seconds (int, small on MicroPython until 2054)."""
        t = self._ticks()
        d = ticks_diff(t, self._last)
        if d > 0:
            self._last = t
            ms = self._ms + d
            if ms >= 1000:
                self._s += ms // 1000
                ms = ms % 1000
            self._ms = ms
        return self._s
