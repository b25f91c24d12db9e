"""`statim board --png DIR` names its frames as the emulator does: by the time since onset the
panel shows (t+00h05m07s.png), so a folder of frames sorts in time order."""
from host_tools.commands import board


class Shown:
    def __init__(self, rows, big=-1):
        self.rows = rows + [""] * (8 - len(rows))
        self.big = big


def test_frames_are_named_by_the_time_since_onset_on_the_panel(tmp_path):
    written = set()
    home = Shown(["SEIZURE *SZ", "05:07"], big=1)  # the big timer
    page = Shown(["06:03!!!1st late", "ALARMS (OK=ack)"])  # any other page: its top row
    hours = Shown(["REFRACT SE", "1:02:03"], big=1)
    ready = Shown(["STATIM   READY", "--:--"], big=1)
    names = [board.png_path(str(tmp_path), s, written) for s in (ready, home, home, page, hours, ready)]
    assert [n[len(str(tmp_path)) + 1:] for n in names] == [
        "t-ready.png", "t+00h05m07s.png", "t+00h05m07s_2.png", "t+00h06m03s.png", "t+01h02m03s.png",
        "t-ready_2.png"]
