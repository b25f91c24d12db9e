# Statim on a Raspberry Pi Pico: boot the unit, attach the serial link, run.
#
# Bedside mode: Ctrl-C is disabled (micropython.kbd_intr(-1)), so bytes from
# the USB serial go to the Statim protocol only and the REPL cannot be
# entered from the wire.  An authenticated maintenance session can send REPL:
# the loop then ends, Ctrl-C is re-enabled, a timer keeps the watchdog fed,
# the display says MAINTENANCE, and MicroPython's REPL takes the UART --
# mpremote works (fs, exec, deploy).  A reset returns to bedside mode.
import micropython

micropython.alloc_emergency_exception_buf(100)

import gc

from core import druglib as _druglib
from core import protocol as _protocol
from core import unit as _unit
from hal import PicoHal


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


def load_library(hal):
    """A library installed by DLCOMMIT (data/druglib.lib) if it verifies, else the built-in one.

    Verified by hashing the stored file in 512-byte reads and read per drug
    from it afterwards: a few KB of heap, never the whole library."""
    if hal.fs_size(_protocol.FLASH_LIBRARY) > 0:
        lib = _druglib.open_device(hal.fs_open, _protocol.FLASH_LIBRARY)
        if lib.verified:
            return lib
    return None


def load_store(hal):
    try:
        from core import eventlog
    except ImportError:
        return None
    return eventlog.EventLog(hal)


def main():
    hal = PicoHal()
    unit = _unit.Unit(hal, None, load_store(hal), library=load_library(hal))
    gate = ReplGate()
    unit.link = _protocol.Link(unit, hal, key=hal.read_key(), rand=hal.random_bytes, repl=gate)
    gc.collect()
    micropython.kbd_intr(-1)
    try:
        while not gate.requested:
            hal.sleep_ms(unit.step())
    finally:
        micropython.kbd_intr(3)
    # maintenance mode: fall through to the REPL
    hal.keep_fed()
    hal.set_tone(0)
    hal.show_maintenance()


main()
