# The display-independent screen model: 8 rows of 16 characters (a 128x64
# OLED with an 8x8 font).  One row pair may hold large digits (the time since
# onset), one row may be highlighted (the selection).  The HAL draws it.
#
# A row is a few parts (strings) whose concatenation, cut to 16 characters,
# is its text: "weight ", "7", "0", " kg".  The home screen builds every row
# from strings made once (labels, single digits) so that redrawing it every second
# allocates nothing; a HAL draws a row part by part (x advances 8 px per
# character, the panel clips at 128 px, which is the same cut).
#
# A page fills the parts freely (clear() empties them), then finish()
# compares each row with what was there at the previous finish() -- by
# identity first, so an unchanged row costs a pointer compare; only its first
# 16 columns count (a countdown cut off at column 16 does not redraw) -- and bumps
# `version` and sets the row's bit in `dirty` only for rows that really
# changed.  A HAL redraws and resends only the dirty rows and clears `dirty`.
# `rows` and text() join the parts (they allocate): tests, scenarios and the
# emulator read them; a board never does.

COLS = 16
ROWS = 8
PARTS = 8  # the most a row needs: a label and a time, a digit a part: "1", "0", "0", "h", "0", "5"
ALL_ROWS = 0xFF


class Screen:
    COLS = COLS
    ROWS = ROWS
    PARTS = PARTS

    def __init__(self):
        self.name = ""
        self.parts = [[""] * PARTS for _ in range(ROWS)]
        self._shown = [[""] * PARTS for _ in range(ROWS)]  # the parts at the last finish()
        self.big = -1  # row index where 2x text starts (it takes two rows), -1 none
        self.invert = -1  # highlighted row, -1 none
        self._shown_name = ""  # name, big, invert at the last finish()
        self._shown_big = -1
        self._shown_invert = -1
        self.version = 0  # bumped by finish() when anything changed, so a HAL redraws only when needed
        self.dirty = ALL_ROWS  # bit per row changed since the HAL last drew (the HAL clears it)
        # per row, for a HAL that redraws a row from its first changed part on (a timer tick: one
        # digit): that part's index and column, PARTS when none changed since the HAL drew the row
        # (the HAL sets it back), and the row's text length at the last finish (a big row is centred)
        self.first = bytearray(ROWS)
        self.first_col = bytearray(ROWS)
        self.width = bytearray(ROWS)
        self._touched = ALL_ROWS  # rows written since the last finish(): only these are compared

    def clear(self, name):
        """Start a page: every row empty, no big row, no highlight."""
        self.name = name
        for row in range(ROWS):
            p = self.parts[row]
            for k in range(PARTS):
                p[k] = ""
        self.big = -1
        self.invert = -1
        self._touched = ALL_ROWS

    def mark(self, big=-1, invert=-1):
        self.big = big
        self.invert = invert

    def set(self, row, text):
        self.set_parts(row, text)

    def set_parts(self, row, a, b="", c="", d="", e="", f="", g="", h=""):
        """Row text = a + b + ... (cut to COLS); stores the given strings, joins nothing."""
        self._touched |= 1 << row
        p = self.parts[row]
        p[0] = a
        p[1] = b
        p[2] = c
        p[3] = d
        p[4] = e
        p[5] = f
        p[6] = g
        p[7] = h

    def finish(self):
        """End a page: mark what changed since the last finish() (allocation-free)."""
        changed = 0
        first = self.first
        if self._shown_name != self.name or self._shown_big != self.big or self._shown_invert != self.invert:
            self._shown_name = self.name
            self._shown_big = self.big
            self._shown_invert = self.invert
            changed = ALL_ROWS
            for row in range(ROWS):
                first[row] = 0  # another page: every row from its start
                self.first_col[row] = 0
        touched = self._touched
        self._touched = 0
        row = 0
        while touched:
            if touched & 1:  # written since the last finish(); the others are as they were
                p = self.parts[row]
                q = self._shown[row]
                col = 0  # where part k starts: beyond COLS a difference is cut off, not shown
                for k in range(PARTS):
                    x = p[k]
                    if q[k] is not x:
                        if col < COLS and q[k] != x:
                            changed |= 1 << row
                            if k < first[row]:
                                first[row] = k
                                self.first_col[row] = col
                        q[k] = x  # same text, other object: keep the new one for the next `is`
                    col += len(x)
                self.width[row] = col if col < 255 else 255
            touched >>= 1
            row += 1
        if changed:
            self.dirty |= changed
            self.version += 1
        return changed

    def row_text(self, row):
        """One row's text (allocates)."""
        return "".join(self.parts[row])[:COLS]

    @property
    def rows(self):
        """Every row's text (allocates): for tests, scenarios and the emulator."""
        return [self.row_text(row) for row in range(ROWS)]

    def text(self):
        """All rows joined by newlines: what a test or scenario searches in."""
        return "\n".join(self.rows)


def wrap(text, width=COLS):
    """Lines of at most width columns, broken at spaces; a word longer than a line is split.
    (The panel's messages and the service screen's reason: allocates, for pages, not the idle step.)"""
    out = []
    line = ""
    for word in str(text).split():
        while len(word) > width:
            if line:
                out.append(line)
                line = ""
            out.append(word[:width])
            word = word[width:]
        if not line:
            line = word
        elif len(line) + 1 + len(word) <= width:
            line += " " + word
        else:
            out.append(line)
            line = word
    if line:
        out.append(line)
    return out
