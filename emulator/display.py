"""The emulated 128x64 OLED: one renderer for the emulator's screen, its PNGs and the board's panel.

The core's Screen (firmware/core/screen.py) is display-independent: 8 rows of
16 characters as parts, one row pair may hold large (2x) digits, one row may be
highlighted.  The Pico's HAL (firmware/boards/rp2_pico/hal.py) draws it into
the SSD1306's frame buffer with MicroPython's framebuf and its built-in 8x8
font.  `framebuffer(screen)` does the same here, bit for bit: the same layout
(a row on each 8-pixel page, a part at 8 px per character, the panel's clip at
128 px, a highlighted row as dark text on a lit band, the big row's glyphs each
pixel a 2x2 block, centred, at most 8 characters) with a pure-Python copy of
framebuf's MONO_VLSB drawing and its font (emulator/font_petme128_8x8.py).
tests/test_display_pixels.py runs the board's HAL on MicroPython's real
framebuf (the unix port) and compares the bytes.

PNGs are those pixels scaled up (lit pixels white or blue on black, like the
panel), with the alarm light beside the screen as a coloured disc.
"""
from emulator.font_petme128_8x8 import FIRST, GLYPHS

WIDTH, HEIGHT = 128, 64
PAGES = HEIGHT // 8
CELL_W, CELL_H = 8, 8
BIG_CHARS = 8  # what fits of a big row at 2x

# lit OLED pixels; the light's colours by priority (firmware/core/hal.py LED_*), the off light dark
PIXEL_COLOURS = {"white": (235, 240, 255), "blue": (80, 170, 255)}
LIGHT_RGB = {"red": (230, 30, 30), "yellow": (240, 200, 0), "cyan": (0, 190, 220), "green": (0, 190, 60),
             "off": (45, 45, 45)}
LIGHT_LABEL = {"red": "HIGH", "yellow": "MED", "cyan": "LOW", "green": "RUN", "off": "OFF"}


class FrameBuffer:
    """MicroPython's framebuf.FrameBuffer in MONO_VLSB (the SSD1306's layout), the calls the HAL
    makes: byte (y // 8) * width + x holds column x of page y // 8, bit y % 8 the pixel."""

    def __init__(self, buf, width, height):
        self.buf = buf
        self.width = width
        self.height = height

    def pixel(self, x, y, c=None):
        if not (0 <= x < self.width and 0 <= y < self.height):
            return None  # framebuf ignores (and reads nothing from) a pixel off the buffer
        i = (y >> 3) * self.width + x
        bit = 1 << (y & 7)
        if c is None:
            return 1 if self.buf[i] & bit else 0
        if c:
            self.buf[i] |= bit
        else:
            self.buf[i] &= ~bit & 0xFF
        return None

    def fill(self, c):
        v = 0xFF if c else 0
        for i in range(len(self.buf)):
            self.buf[i] = v

    def fill_rect(self, x, y, w, h, c):
        # framebuf clips the rectangle to the buffer
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + w, self.width), min(y + h, self.height)
        for yy in range(y0, y1):
            for xx in range(x0, x1):
                self.pixel(xx, yy, c)

    def text(self, s, x, y, c=1):
        """framebuf's text(): the string's bytes (UTF-8) one glyph each, 8 px apart, a byte outside
        32..127 drawn as glyph 127; only the glyph's set pixels are drawn (in colour c); a NUL ends it."""
        for ch in s.encode("utf-8"):
            if ch == 0:
                break
            if ch < 32 or ch > 127:
                ch = 127
            glyph = GLYPHS[ch - FIRST]
            for j in range(8):
                x0 = x + j
                if 0 <= x0 < self.width:
                    line = glyph[j]
                    yy = y
                    while line:
                        if line & 1 and 0 <= yy < self.height:
                            self.pixel(x0, yy, c)
                        line >>= 1
                        yy += 1
            x += 8


def _scale2x(d, ch, x0, y):
    """One character at twice the size (the HAL's _scale2x: the glyph drawn into an 8x8 buffer,
    each set pixel a 2x2 block)."""
    g = FrameBuffer(bytearray(8), 8, 8)
    g.text(ch, 0, 0, 1)
    for py in range(8):
        for px in range(8):
            if g.pixel(px, py):
                d.fill_rect(x0 + 2 * px, y + 2 * py, 2, 2, 1)


def _text2x(d, parts, y):
    """The big row on the pages at y and y + 8: centred, at most 8 characters (hal._text2x)."""
    n = sum(len(p) for p in parts)
    n = min(n, BIG_CHARS)
    x0 = max((WIDTH - 16 * n) // 2, 0)
    if n == 0:
        return
    d.fill_rect(0, y, WIDTH, 16, 0)
    drawn = 0
    for part in parts:
        for ch in part:
            if drawn == BIG_CHARS:
                return
            if ch != " ":
                _scale2x(d, ch, x0, y)
            x0 += 16
            drawn += 1


def draw(d, screen):
    """The whole screen into framebuffer d, as the board's HAL draws every row of it."""
    big = screen.big
    row = 0
    while row < screen.ROWS:
        y = row * CELL_H
        parts = screen.parts[row]
        if row == big:
            _text2x(d, parts, y)
            row += 2
            continue
        inv = row == screen.invert
        d.fill_rect(0, y, WIDTH, CELL_H, 1 if inv else 0)
        x = 0
        for part in parts:
            if part:
                if x < WIDTH:
                    d.text(part, x, y, 0 if inv else 1)  # clipped at 128 px: the 16-column cut
                x += CELL_W * len(part)
        row += 1


def framebuffer(screen):
    """The screen's 128x64 pixels as the SSD1306 holds them: 1024 bytes, MONO_VLSB."""
    buf = bytearray(WIDTH * PAGES)
    draw(FrameBuffer(buf, WIDTH, HEIGHT), screen)
    return buf


def pixel(buf, x, y):
    return (buf[(y >> 3) * WIDTH + x] >> (y & 7)) & 1


# --- text --------------------------------------------------------------------------------------
def render_text(screen):
    """A boxed text picture of the screen; the large row pair is spaced out."""
    cols = screen.COLS
    lines = ["+" + "-" * (cols + 2) + "+"]
    row = 0
    while row < screen.ROWS:
        text = screen.rows[row]
        if row == screen.big:
            lines.append("| " + " ".join(text[: cols // 2]).center(cols) + " |")
            lines.append("| " + " " * cols + " |")
            row += 2
            continue
        cell = text[:cols].ljust(cols)
        if row == screen.invert:
            lines.append("|>" + cell + "<|")
        else:
            lines.append("| " + cell + " |")
        row += 1
    lines.append("+" + "-" * (cols + 2) + "+")
    return "\n".join(lines)


# --- pictures ----------------------------------------------------------------------------------
def image_from_buffer(buf, scale=4, pixel_colour="white"):
    """PIL RGB image of 1024 MONO_VLSB bytes: lit pixels in the panel's colour on black, scaled up
    (each pixel a scale x scale block; from scale 4 a dark seam between pixels, as on the glass)."""
    from PIL import Image

    on = PIXEL_COLOURS.get(pixel_colour, pixel_colour)
    small = Image.new("1", (WIDTH, HEIGHT), 0)
    px = small.load()
    for y in range(HEIGHT):
        for x in range(WIDTH):
            if pixel(buf, x, y):
                px[x, y] = 1
    img = Image.new("RGB", (WIDTH, HEIGHT), (0, 0, 0))
    img.paste(on, mask=small)
    img = img.resize((WIDTH * scale, HEIGHT * scale), Image.NEAREST)
    if scale >= 4:
        from PIL import ImageDraw

        draw_ = ImageDraw.Draw(img)
        for x in range(0, WIDTH * scale, scale):
            draw_.line((x, 0, x, HEIGHT * scale - 1), fill=(0, 0, 0))
        for y in range(0, HEIGHT * scale, scale):
            draw_.line((0, y, WIDTH * scale - 1, y), fill=(0, 0, 0))
    return img


def _label(text, scale, colour):
    """A word in the board's 8x8 font, each pixel scale // 2 wide (for the light's caption)."""
    from PIL import Image

    n = len(text)
    buf = bytearray(n * 8)
    FrameBuffer(buf, n * 8, 8).text(text, 0, 0, 1)
    k = max(scale // 2, 1)
    img = Image.new("RGBA", (n * 8 * k, 8 * k), (0, 0, 0, 0))
    px = img.load()
    for x in range(n * 8):
        for y in range(8):
            if (buf[x] >> y) & 1:
                for dx in range(k):
                    for dy in range(k):
                        px[x * k + dx, y * k + dy] = colour + (255,)
    return img


def render_image(screen, scale=4, light="off", flashing=False, pixel_colour="white"):
    """The panel as a picture: the OLED's pixels and, beside them, the alarm light as a disc in
    its colour (red high, yellow medium, cyan low priority, green running, grey off) with its
    priority written under it; a flashing light has a ring around it."""
    from PIL import Image, ImageDraw

    oled = image_from_buffer(framebuffer(screen), scale, pixel_colour)
    margin = 4 * scale
    side = 32 * scale
    out = Image.new("RGB", (oled.width + side + 2 * margin, oled.height + 2 * margin), (20, 20, 24))
    out.paste(oled, (margin, margin))
    d = ImageDraw.Draw(out)
    d.rectangle((margin - 1, margin - 1, margin + oled.width, margin + oled.height), outline=(70, 70, 80))
    colour = LIGHT_RGB.get(light, LIGHT_RGB["off"])
    cx = margin + oled.width + side // 2 + margin // 2
    cy = margin + 20 * scale
    r = 10 * scale
    d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour, outline=(200, 200, 200))
    if flashing:
        rr = r + 3 * scale
        d.ellipse((cx - rr, cy - rr, cx + rr, cy + rr), outline=colour, width=max(scale // 2, 1))
    word = LIGHT_LABEL.get(light, light.upper()[:4])
    lab = _label(word, scale, colour if light != "off" else (160, 160, 160))
    out.paste(lab, (cx - lab.width // 2, cy + r + 6 * scale), lab)
    return out


def render_png(screen, path, scale=4, light="off", flashing=False, pixel_colour="white"):
    render_image(screen, scale, light, flashing, pixel_colour).save(path)
    return path


def onset_name(elapsed_s):
    """A frame's file name by time since onset: t+00h05m00s (sorts in time order); before the
    timer starts, t-ready."""
    if elapsed_s is None or elapsed_s < 0:
        return "t-ready"
    s = int(elapsed_s)
    return "t+%02dh%02dm%02ds" % (s // 3600, (s % 3600) // 60, s % 60)
