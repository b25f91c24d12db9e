"""The tone and the light follow the alarms at the next loop step, whichever way the change came in.

Unit.step skips driving the outputs on an idle step (nothing came in, no deadline crossed), so an
event logged between two steps -- by a scenario, a host tool in-process, the emulator -- must
count as a change: an audio pause silences the buzzer at the next step, and the alarm sounds
again when the pause (rules.audio_pause_s, 120 s) runs out.
"""
from firmware.core import hal as _hal
from firmware.core import unit as _unit
from step_hal import Hal  # tests/ is on sys.path (conftest.py)


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
