"""Time for the episode engine: tick arithmetic, timer seconds and wall labels.

Two kinds of time, used for different jobs (MICROPYTHON.md section 6):

* Ticks (milliseconds from the HAL, `time.ticks_ms()` on a board) wrap every
  2**30 ms (about 12.4 days) and `ticks_diff` is only valid for spans below
  2**29 ms (about 6.2 days).  They are used only for short intervals: the Clock
  below reads them every tick (about once a second) and turns the small
  differences into a running seconds count.
* Episode time: integer seconds on the timer clock.  Every event's `t` is in
  these seconds, and every seizure timer (time since onset, t1/t2, phases, the
  ESETT and RSE windows, the SRSE 24 h) is a difference of them.  A new log
  starts counting at the RTC's reading in Statim seconds, seconds since
  2020-01-01T00:00:00Z (`EPOCH_UNIX`), or at 0 without an RTC.  Why not Unix
  seconds: Unix time is already above 2**30, and on 32-bit MicroPython an int
  above 2**30 - 1 is a heap object, so every comparison in the steady-state
  tick would allocate.  Statim seconds stay small ints until 2054.

Timers are monotonic; the RTC only labels (clinical.md, review round 2, rule 1)
------------------------------------------------------------------------------
`now()` counts ticks and nothing else moves it: a wall-clock correction (a
maintenance CLOCK set, RTC drift caught by `sync()`) cannot move a timer,
forward or backward.  The wall clock is a label: `wall() = now() + offset`
(Statim seconds).  `sync()` reads the RTC and, when it disagrees with the
label by SLACK_S or more (or the clock was not set), moves `offset` and
returns True; `delta` is the correction.  The engine logs it as a `clock`
event (events.py), so the log carries every correction: an event's wall label
is its `t` plus the corrections logged before it (the fold keeps that sum as
`State.wall_offset`).  The log stays ordered by `t` whatever the RTC does.

Across a power loss nothing counted ticks; the battery-backed RTC is the one
clock that kept running.  `Clock(ticks, rtc, start_s, offset, label)` resumes
a log whose last event was at `start_s` with wall label `label`: the RTC's
reading minus `label` is the gap (`gap`), added to the timers and flagged by
the engine in the `power_up` event.  An RTC behind `label` gives no gap (the
timers never go back): the labels are corrected instead (`delta` < 0).

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
# The RTC counts whole seconds and the tick count has a phase within the
# second: a disagreement below this is not a correction (nothing is logged).
SLACK_S = 2

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
    """Timer seconds from ticks; a wall label from the RTC.

    `ticks_ms`: callable returning HAL ticks (wrapping at 2**30).
    `rtc`: callable returning Unix seconds, or None when there is no RTC.
    `start_s`: None for a new log (count from the RTC, or 0 without one);
    else the `t` of the last logged event, with `offset` (its wall label minus
    its t) and `label` (its wall label, -1 when it had none: the gap cannot
    be measured then).
    `now()` must be called at least once every 6 days (the tick loop calls it
    every second); it allocates nothing.
    """

    def __init__(self, ticks_ms=None, rtc=None, start_s=None, offset=0, label=-1):
        if ticks_ms is None:
            try:
                ticks_ms = time.ticks_ms  # type: ignore
            except AttributeError:
                ticks_ms = _default_ticks_ms
        self._ticks = ticks_ms
        self._rtc = rtc
        self._last = ticks_ms()
        self._ms = 0  # milliseconds counted but not yet a whole second
        self.offset = offset  # wall label = now() + offset
        self.delta = 0  # the last correction of the label (seconds)
        # Seconds the RTC says passed since `label`; -1: the RTC is set but
        # the gap cannot be measured (no label, or the RTC is behind it);
        # -2: nothing to report (a new log, or no RTC).
        self.gap = -2
        r = self._read()
        self.clock_unset = r < 0
        if start_s is None:
            self._s = r if r >= 0 else 0
            self.offset = 0
        else:
            self._s = start_s
            if r >= 0:
                self.gap = -1
                g = r - label
                if label >= 0 and g >= 0:
                    self._s = start_s + g
                    self.gap = g
                else:  # RTC behind the log, or no label to measure from
                    self.delta = r - start_s - offset
                    self.offset = r - start_s

    def _read(self):
        """The RTC in Statim seconds, -1 when absent or never set (allocates)."""
        if self._rtc is None:
            return -1
        u = self._rtc()
        if u is None or u < EPOCH_UNIX:
            # An RTC that was never set reports its own epoch (1970 or 2000).
            return -1
        return u - EPOCH_UNIX

    def sync(self):
        """Read the RTC and take it as the wall label.  Never moves now().
        True when the label was corrected (by `delta` seconds) or the clock
        became set: the caller logs it.  Allocates: not per tick."""
        r = self._read()
        if r < 0:
            self.clock_unset = True
            return False
        d = r - self.now() - self.offset
        if self.clock_unset or d >= SLACK_S or d <= -SLACK_S:
            self.offset += d
            self.delta = d
            self.clock_unset = False
            return True
        return False

    def wall(self):
        """The wall label of now, in Statim seconds (meaningless while clock_unset)."""
        return self.now() + self.offset

    def ms_to_next_second(self):
        """Milliseconds until the count reaches its next whole second (allocates nothing):
        a loop that sleeps this long redraws a seconds display as the second turns."""
        self.now()
        return 1000 - self._ms

    def now(self):
        """Current timer seconds (int, small on MicroPython until 2054)."""
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
