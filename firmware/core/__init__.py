# Statim device logic.  MicroPython-compatible: modules import each other
# relatively, so the package can be installed under any name on a board.
