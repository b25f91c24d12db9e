"""A HAL on a virtual clock for loop-step tests: no display, no buttons, the tone and the light kept."""
from firmware.core import hal as _hal


class Hal(_hal.Hal):
    def __init__(self):
        self.ms = 0
        self.tone = _hal.TONE_OFF
        self.led = _hal.LED_OFF

    def ticks_ms(self):
        return self.ms & 0x3FFFFFFF

    def rtc_s(self):
        return 1790000000 + self.ms // 1000

    def sleep_ms(self, ms):
        self.ms += ms

    def show(self, screen):
        pass

    def poll_buttons(self):
        return 0

    def set_tone(self, pattern):
        self.tone = pattern

    def set_led(self, colour, flashing):
        self.led = colour

    def eeg_fs(self):
        return 0

    def wdt_feed(self):
        pass
