# The display-independent screen model: 8 rows of 16 characters (a 128x64
# OLED with an 8x8 font).  One row pair may hold large digits (the time since
# onset), one row may be highlighted (the selection).  The HAL draws it.
#
# A Screen is allocated once and refilled in place; rows are replaced only
# when their text changes, so an unchanged screen costs no allocation.

COLS = 16
ROWS = 8


class Screen:
    COLS = COLS
    ROWS = ROWS

    def __init__(self):
        self.name = ""
        self.rows = [""] * ROWS
        self.big = -1  # row index where 2x text starts (it takes two rows), -1 none
        self.invert = -1  # highlighted row, -1 none
        self.version = 0  # bumped on every change, so a HAL redraws only when needed

    def clear(self, name):
        if self.name != name or self.big != -1 or self.invert != -1:
            self.version += 1
        self.name = name
        for i in range(ROWS):
            if self.rows[i]:
                self.rows[i] = ""
                self.version += 1
        self.big = -1
        self.invert = -1

    def mark(self, big=-1, invert=-1):
        if self.big != big or self.invert != invert:
            self.big = big
            self.invert = invert
            self.version += 1

    def set(self, row, text):
        if len(text) > COLS:
            text = text[:COLS]
        if self.rows[row] != text:
            self.rows[row] = text
            self.version += 1

    def text(self):
        """All rows joined by newlines: what a test or scenario searches in."""
        return "\n".join(self.rows)
