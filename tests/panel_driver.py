"""The front panel as a nurse drives it: button presses in, the screen read back.

Panel wraps an emulated unit (emulator/board.py); every frame the unit draws
is kept, as the full text of each row *before* the screen's 16-column cut
(Screen.parts joined), so a test can tell a row that fits from one that the
display would cut.  tour() visits every page reachable from the current state,
every line of every list and every verdict's messages, by presses only.
"""
from emulator.board import EmulatedUnit

COLS = 16
ROWS = 8


class Panel:
    def __init__(self, weight_kg=70, se_type="convulsive", record=True):
        self.emu = EmulatedUnit(weight_kg=weight_kg, se_type=se_type)
        self.unit = self.emu.unit
        self.ui = self.unit.ui
        self.frames = []  # (page, [full row text x 8]) of every frame drawn
        self.presses = 0
        if record:
            board = self.emu.board
            shown = board.show

            def show(screen):
                self.frames.append((screen.name, ["".join(p) for p in screen.parts]))
                shown(screen)

            board.show = show

    # ---------------------------------------------------------- input
    def press(self, *names):
        for name in names:
            self.presses += 1
            self.emu.press(name)
        return self

    def hold(self, name, ms):
        """Hold a button for ms (the board's button is down for that long)."""
        self.presses += 1
        self.emu.hold(name, ms)
        return self

    def wait(self, ms):
        self.emu.run_for(ms)
        return self

    def at(self, minutes, seconds=0):
        self.emu.run_until(int((minutes * 60 + seconds) * 1000))
        return self

    # ---------------------------------------------------------- output
    @property
    def page(self):
        return self.ui.page

    @property
    def rows(self):
        self.ui._rendered_t = -1
        return list(self.ui.render(self.unit.now()).rows)

    @property
    def text(self):
        return "\n".join(self.rows)

    def full_rows(self):
        self.ui._rendered_t = -1
        s = self.ui.render(self.unit.now())
        return ["".join(p) for p in s.parts]

    def too_long(self):
        """Every (page, row text) drawn so far that is longer than the display."""
        out = []
        for page, rows in self.frames:
            for r in rows:
                if len(r) > COLS and (page, r) not in out:
                    out.append((page, r))
        return out

    # ---------------------------------------------------------- tours
    def home(self):
        for _ in range(8):
            if self.page == "home":
                return self
            self.press("back")
        raise AssertionError("BACK does not lead home from %s" % self.page)

    def scroll_all(self, limit=40):
        """DOWN through a list or a message until it comes round again."""
        start = self.rows
        for _ in range(limit):
            self.press("down")
            if self.rows == start:
                break

    def tour(self, doses=True):
        """Every page from home and back, without changing the clinical record."""
        self.home()
        if not self.unit.state.started:
            return self  # READY: UP / DOWN choose the SE type, OK starts the timer
        self.press("up")  # log
        for _ in range(3):  # each filter: all, doses, alarms
            self.scroll_all_log()
            while self.ui.sel >= 0:
                self.press("down")  # back to the newest, then the filter row
            self.press("ok")
        self.home()
        self.press("down")  # EEG
        self.home()
        self.press("ok")  # menu
        self.scroll_all()
        self.home()
        if True:
            self.open_menu_item("Alarms")
            self.scroll_all()
            self.home()
            self.open_menu_item("Weight")
            self.tour_weight()
            self.home()
            if doses:
                self.tour_doses()
                self.home()

    def scroll_all_log(self):
        for _ in range(len(self.unit.events) + 2):
            self.press("up")

    def open_menu_item(self, label):
        self.home()
        self.press("ok")
        for _ in range(len(self.ui._menu)):
            if self.ui._menu[self.ui.sel][0] == label:
                self.press("ok")
                return
            self.press("down")
        raise AssertionError("no menu item %r" % label)

    def tour_weight(self):
        if self.page != "weight":
            return
        self.enter_weight(140)  # double the weight: a confirmation page
        self.scroll_all()
        if self.page == "weight_verdict" and self.ui.verdict.get("verdict") == "soft":
            self.press("ok")  # why
            self.scroll_all()
            self.press("back")
        self.press("back")
        self.home()

    def enter_weight(self, kg):
        """Key a weight on the weight page, digit by digit (the shorter way round each digit), and OK."""
        ui = self.ui
        keys = []
        for pos, place in enumerate((100, 10, 1)):
            if pos < ui.wpos:
                continue
            have, want = ui.weight_kg // place % 10, kg // place % 10
            up = (want - have) % 10
            keys += ["up"] * up if up <= 5 else ["down"] * (10 - up)
            keys.append("ok")
        self.press(*keys)

    def tour_doses(self):
        self.open_menu_item("Give dose")
        if self.page != "dose_drug":
            return
        n = len(self.ui.entries)
        for i in range(n):
            while self.ui.dsel != i:
                self.press("down")
            self.press("ok")  # amount page
            for moves in ((), ("down",) * 4, ("up",) * 6, ("up",) * 30):
                self.press(*moves)
                self.press("ok")  # verdict
                self.scroll_all()
                if self.ui.verdict.get("verdict") == "soft":
                    self.press("ok")  # the override page
                    self.scroll_all()
                    self.press("ok")  # its confirmation page
                    self.press("up")  # armed
                    self.press("back", "back")
                self.press("back")  # amount
            self.press("back")  # drug list

    def give(self, drug, route, ups=0, downs=0):
        """Log a dose from the panel: menu, Give dose, the drug, the offered amount
        moved by ups / downs, check, give.  Returns the verdict."""
        self.open_menu_item("Give dose")
        if self.page == "weight":
            raise AssertionError("the unit asks for the weight first")
        for _ in range(len(self.ui.entries)):
            if tuple(self.ui.entries[self.ui.dsel][:2]) == (drug, route):
                break
            self.press("down")
        else:
            raise AssertionError("%s %s not in the drug list" % (drug, route))
        self.press("ok")
        self.press(*(("up",) * ups + ("down",) * downs))
        self.press("ok")  # the verdict
        v = self.ui.verdict
        self.press("ok")  # give
        return v
