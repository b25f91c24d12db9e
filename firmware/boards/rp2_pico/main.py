# Statim on a Raspberry Pi Pico: boot the unit, attach the serial link, run.
#
# Bedside mode: Ctrl-C is disabled (micropython.kbd_intr(-1)), so bytes from
# the USB serial go to the Statim protocol only and the REPL cannot be
# entered from the wire.  An authenticated maintenance session can send REPL:
# the loop then ends, Ctrl-C is re-enabled, a timer keeps the watchdog fed,
# the display says MAINTENANCE, and MicroPython's REPL takes the UART --
# mpremote works (fs, exec, deploy).  A reset returns to bedside mode.
#
# Never a boot loop: a boot that fails (out of memory, flash full or broken)
# goes to service mode (core/service.py: a screen with the reason, the link
# answering, the watchdog fed by that loop), and so does a unit whose main
# loop crashed MAX_CRASHES times in a row: each start writes data/crash
# ("<starts> <last reason>"), which is cleared once the unit has run for
# HEALTHY_S.  A crash in the loop records its reason and resets the chip at
# once (an exception must not leave an open REPL on the USB port); a hang is
# the watchdog's, and a watchdog reset counts as a crash too.  Power-on and
# the soft reset after a deploy start afresh.
import micropython

micropython.alloc_emergency_exception_buf(100)

import gc

from hal import PicoHal

FIRMWARE_VERSION = "0.1.0"  # as core.unit says; kept here for service mode, which runs without it
CRASH_FILE = "crash"
MAX_CRASHES = 3
HEALTHY_S = 60


class ReplGate:
    """The link's REPL hook on a board: asks the main loop to hand over the UART."""

    def __init__(self):
        self.active = False
        self.requested = False

    def start(self, write):
        self.requested = True
        self.active = True

    def feed(self, data):
        pass  # never called: the loop ends before the next poll


def read_crashes(hal):
    try:
        f = hal.fs_open(CRASH_FILE, "r")
        try:
            text = f.read(160)
        finally:
            f.close()
        n, _, why = text.partition(" ")
        return int(n), why
    except (OSError, ValueError):
        return 0, ""


def write_crashes(hal, n, why):
    try:
        if n <= 0:
            hal.fs_remove(CRASH_FILE)
            return
        f = hal.fs_open(CRASH_FILE, "w")
        try:
            f.write("%d %s" % (n, why[:120]))
        finally:
            f.close()
    except OSError:
        pass  # a full flash must not stop the unit from starting


def load_library(hal, key):
    """(a library installed by DLCOMMIT (data/druglib.lib) if it verifies by its seal
    AND this unit's tag, else None: the built-in one; why it was refused, or None).

    Verified by hashing the stored file in 512-byte reads and read per drug
    from it afterwards: a few KB of heap, never the whole library."""
    from core import libtag, protocol

    return libtag.installed(hal.fs_open, hal.fs_size, protocol.FLASH_LIBRARY, protocol.FLASH_LIBRARY_TAG, key)


# What the bedside loop keeps resident, imported one at a time with a
# collection after each: an import's temporaries (file buffers, the loader's
# tables) are freed before the next module's code is placed, so the code
# packs into the bottom of the heap and the top stays one free block.
BEDSIDE = ("hal", "clock", "canon", "rules", "events", "staging", "phases", "alarms", "episode", "engine",
           "eventlog", "logwindow", "health", "heap", "screen", "druglib", "ui", "frames", "protocol", "unit")


# What every episode loads for a while (a weight, a dose, a request over the link, the EEG
# detector's glue), loaded once here and let go: the names in their code become qstrs now, which
# the runtime never frees, so they sit at the bottom of the heap with the resident code instead
# of as islands left between whatever a later load and release leave behind.
WARM = ("units", "libcheck", "dosecheck", "unit_doses", "link_requests", "detect_params")


def start(hal):
    """The bedside unit with its link, or an exception saying why not."""
    from core import heap as _heap

    if hal.eeg_fs():
        # The EEG detector's code first, on a clean heap: the native module's code is one block
        # of ~17 KB, which, loaded later (at the first samples), lands in the middle of the
        # free heap and splits it.  At the bottom it is packed with the rest of the code.
        try:
            _heap.load("detect")
        except (ImportError, MemoryError):
            pass  # no detector in this build, or no room: the loop says why (Unit._feed_eeg)
        gc.collect()
    for name in BEDSIDE:
        __import__("core." + name)
        gc.collect()

    for name in WARM:
        try:
            _heap.load(name)
        except ImportError:
            pass  # not deployed on this board (a module the unit can run without)
        hal.wdt_feed()
    for name in WARM:
        _heap.forget(name)
    gc.collect()
    from core import eventlog, heap, protocol, unit as _unit

    hal.wdt_feed()
    key = hal.read_key()
    lib, refused = load_library(hal, key)
    u = _unit.Unit(hal, None, eventlog.EventLog(hal), library=lib)
    if refused:
        u.refuse_installed(refused)
    hal.wdt_feed()
    heap.forget("libcheck")  # the library's shape and tag checks ran at its verification
    heap.forget("libtag")
    heap.forget("auth")
    gate = ReplGate()
    u.link = protocol.Link(u, hal, key=key, rand=hal.random_bytes, repl=gate)
    gc.collect()
    return u, gate


def bedside(hal, u, gate, starts):
    healthy_at = u.now() + HEALTHY_S
    micropython.kbd_intr(-1)
    try:
        while not gate.requested:
            hal.sleep_ms(u.step())
            if starts and u.now() >= healthy_at:
                starts = 0
                write_crashes(hal, 0, "")
                u.heap.step_done(False)  # a flash write is work, not an idle step: it closes the idle window
    finally:
        micropython.kbd_intr(3)


def service(hal, reason):
    """Service mode: the reason on the screen, the link answering, until a REPL hand-over."""
    gc.collect()
    from core import screen, service as _service

    svc = _service.Service(hal, reason, key=hal.read_key(), fw=FIRMWARE_VERSION)
    hal.set_tone(0)
    svc.show(screen.Screen())
    micropython.kbd_intr(-1)
    try:
        while not svc.repl_requested:
            svc.poll()
            hal.wdt_feed()
            hal.sleep_ms(100)
    finally:
        micropython.kbd_intr(3)


# what service mode needs of the core; a failed start lets go of everything else first
SERVICE_KEEPS = ("core.clock", "core.frames", "core.screen", "core.service")


def release_core():
    """Drop the core modules a failed start left behind (all but service mode's)."""
    import sys

    pkg = sys.modules.get("core")
    for name in list(sys.modules):
        if name.startswith("core.") and name not in SERVICE_KEEPS:
            del sys.modules[name]
            if pkg is not None and hasattr(pkg, name[5:]):
                delattr(pkg, name[5:])
    gc.collect()


def fail_safe(hal, reason):
    """Service mode; if even that cannot start, the reason on the screen and the
    watchdog fed, so the unit never resets into the same failure."""
    release_core()
    try:
        service(hal, reason)
    except Exception:
        gc.collect()
        hal.show_lines(("SERVICE MODE", "cannot start:", reason[:16], reason[16:32], reason[32:48], "",
                        "no serial link", "power-cycle"))
        while True:
            hal.wdt_feed()
            hal.sleep_ms(500)


def maintenance(hal):
    # the REPL takes the UART; a timer keeps the watchdog fed; a reset resumes bedside mode
    hal.keep_fed()
    hal.set_tone(0)
    hal.show_maintenance()


def main():
    hal = PicoHal()
    starts, last = read_crashes(hal)
    if hal.reset_cause() != "watchdog":
        starts = 0  # power-on, or the soft reset after a deploy: a fresh start
    if starts >= MAX_CRASHES:
        write_crashes(hal, 0, "")  # the next power-on tries again
        fail_safe(hal, "restarted %d times: %s" % (starts, last or "watchdog"))
        maintenance(hal)
        return
    write_crashes(hal, starts + 1, last)
    try:
        u, gate = start(hal)
    except Exception as e:
        u = gate = None
        release_core()
        try:
            from core import service as _service

            reason = _service.describe(e)
        except Exception:
            reason = "%s while starting" % type(e).__name__
        del e  # the exception and what it holds go before service mode needs the heap
        write_crashes(hal, 0, "")  # service mode is where it stops: no reset follows
        fail_safe(hal, reason)
        maintenance(hal)
        return
    try:
        bedside(hal, u, gate, starts + 1)
    except Exception as e:
        write_crashes(hal, starts + 1, "%s: %s" % (type(e).__name__, e))
        import machine

        machine.reset()
    maintenance(hal)


main()
