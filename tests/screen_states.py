# Home-screen states for the row-part Screen test (tests/test_screen_parts.py):
# each builds a unit on the scripted HAL (tests/guest_hal.py) and returns it at
# a moment worth looking at -- before an episode, a running timer, a due
# countdown, an audible / acknowledged alarm, hours on the timer, the EEG row,
# a message on row 7.  tests/screen_reference.json holds the screens the
# string-building ui.py (commit 3209cfa) drew for exactly these states.
from core import unit as _unit
from guest_hal import ScriptHal

MINUTE = 60000


class NoRtcHal(ScriptHal):
    def rtc_s(self):
        return None  # an RTC that was never set: the unit runs on "CLOCK NOT SET"


def _unit_at(weight_g=70000, se_type="convulsive", hal=None):
    hal = hal or ScriptHal()
    u = _unit.Unit(hal, {"se_type": se_type})
    if weight_g:
        u.set_weight(weight_g)
    u.step()
    return hal, u


def run_to(hal, u, ms):
    """Main loop to virtual time ms: step, then sleep to the engine's next
    deadline or the next minute (as unixport_guest.Timeline does), ending with
    a step at ms."""
    while True:
        u.step()
        if hal.ms >= ms:
            return
        nxt = min(ms, (hal.ms // MINUTE + 1) * MINUTE)
        d = u.engine.next_deadline
        if d >= 0:
            dl = hal.ms + (d - u.now()) * 1000
            if hal.ms < dl < nxt:
                nxt = dl
        hal.sleep_ms(nxt - hal.ms)


def _episode(minutes, seconds=0, drugs=(), ack=False, hal_u=None):
    hal, u = hal_u or _unit_at()
    u.onset()
    for at_min, drug, route, kw in drugs:
        run_to(hal, u, at_min * MINUTE)
        u.give(drug, route, **kw)
    run_to(hal, u, minutes * MINUTE + seconds * 1000)
    if ack:
        u.ack_alarm()
        run_to(hal, u, hal.ms + 1000)
    return hal, u


LZP = (5, "lorazepam", "iv", {"dose": "4 mg"})
LEV = (15, "levetiracetam", "iv", {"dose": "4200 mg", "over": 600})
MDZ = (60, "midazolam", "infusion", {"rate": "0.2 mg/kg/h"})


def ready():
    return _unit_at()


def ready_no_weight():
    return _unit_at(weight_g=None)


def ready_heavy():
    return _unit_at(weight_g=123400)


def ready_light():
    return _unit_at(weight_g=4600)


def ready_focal():
    hal, u = _unit_at()
    u.ui.button("down")  # SE type convulsive -> focal impaired
    run_to(hal, u, hal.ms + 1000)
    return hal, u


def seizure_7s():
    return _episode(0, 7)


def first_line_audible():
    return _episode(6, 3)


def first_line_acked():
    return _episode(6, 3, ack=True)


def bzd_waiting():
    return _episode(7, 12, drugs=(LZP,))


def second_line_due():
    return _episode(12, 59, drugs=(LZP,))


def refractory_70min():
    return _episode(70, 0, drugs=(LZP, LEV, MDZ), ack=True)


def hours_on_timer():
    return _episode(105, 30, drugs=(LZP, LEV, MDZ), ack=True)


def eeg_row():
    hal, u = _episode(8, 0, drugs=(LZP,))
    u.eeg["attached"] = True  # the row as the detector leaves it (unit._poll_eeg)
    u.eeg["seizure"] = True
    u.eeg["bsr_percent"] = 7
    u.ui._rendered_t = -1  # new figures come with samples: that step is not idle, the page is redrawn
    run_to(hal, u, hal.ms + 1000)
    return hal, u


def eeg_row_ok():
    hal, u = _episode(8, 0, drugs=(LZP,))
    u.eeg["attached"] = True
    u.eeg["seizure"] = False
    u.eeg["bsr_percent"] = 100
    u.ui._rendered_t = -1  # as above
    run_to(hal, u, hal.ms + 2000)
    return hal, u


def second_line_countdown():
    return _episode(8, 20, drugs=(LZP, (6, "lorazepam", "iv", {"dose": "4 mg"})))


def third_line_countdown():
    return _episode(30, 15, drugs=(LZP, LEV))


def wean_window():
    # propofol from 2 h, seizures stop at 3 h: weaning allowed from 27 h (clinical.md §14 case 6)
    hal, u = _episode(120, 0, drugs=(LZP, LEV))
    u.give("propofol", "infusion", rate="50 mcg/kg/min")
    run_to(hal, u, 180 * MINUTE)
    u.seizure_stop()
    run_to(hal, u, 181 * MINUTE + 1000)
    return hal, u


def days_on_timer():
    hal, u = wean_window()
    run_to(hal, u, 26 * 60 * MINUTE + 5 * MINUTE + 9000)
    return hal, u


def clock_not_set():
    hal, u = _episode(0, 30, hal_u=_unit_at(hal=NoRtcHal()))
    u.ack_alarm("clock_unset")
    run_to(hal, u, hal.ms + 1000)
    return hal, u


def message_row():
    hal, u = _episode(6, 3)
    u.ui.button("alarm")  # pauses audio: "audio paused 2m" on row 7
    run_to(hal, u, hal.ms + 1000)
    return hal, u


STATES = [ready, ready_no_weight, ready_heavy, ready_light, ready_focal, seizure_7s, first_line_audible,
          first_line_acked, bzd_waiting, second_line_due, refractory_70min, hours_on_timer, eeg_row,
          eeg_row_ok, second_line_countdown, third_line_countdown, wean_window, days_on_timer, clock_not_set,
          message_row]


def screens():
    """{state name: [rows..., big, invert, page]} for every state."""
    out = {}
    for fn in STATES:
        hal, u = fn()
        s = u.ui.render(u.now())
        out[fn.__name__] = list(s.rows) + [s.big, s.invert, s.name]
    return out


if __name__ == "__main__":
    import json
    import sys

    json.dump(screens(), sys.stdout, indent=1)
    sys.stdout.write("\n")
