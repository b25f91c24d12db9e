"""The tone and the light follow the alarms at the next loop step, whichever way the change came in.

Unit.step skips driving the outputs on an idle step (nothing came in, no deadline crossed), so an
event logged between two steps -- by a scenario, a host tool in-process, the emulator -- must
count as a change: an audio pause silences the buzzer at the next step, and the alarm sounds
again when the pause (rules.audio_pause_s, 120 s) runs out.
"""
from firmware.core import hal as _hal
from firmware.core import unit as _unit


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


def run(hal, u, ms):
    end = hal.ms + ms
    while hal.ms < end:
        hal.sleep_ms(max(1, min(u.step(), end - hal.ms)))


def test_a_pause_logged_between_steps_silences_and_the_alarm_sounds_again():
    hal = Hal()
    u = _unit.Unit(hal)
    u.onset()
    run(hal, u, 301000)  # 5:01, no first-line drug: high priority
    assert hal.tone == _hal.TONE_HIGH and hal.led == _hal.LED_RED
    u.pause_audio()
    u.step()
    assert hal.tone == _hal.TONE_OFF
    run(hal, u, 119000)
    assert hal.tone == _hal.TONE_OFF
    run(hal, u, 2000)  # the 120 s pause is over and the condition persists
    assert hal.tone == _hal.TONE_HIGH
