"""The emulated 128x64 OLED: renders a core screen model to text and to PNG.

The core's Screen (firmware/core/screen.py) is display-independent: 8 rows of
16 characters, one row pair may hold large (2x) digits, one row may be
highlighted.  A board draws it with framebuf; the emulator draws it here.
"""
from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 128, 64
CELL_W, CELL_H = 8, 8


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


def render_image(screen, scale=4, alarm_colour=None):
    """PIL image of the OLED (white on black), scaled up for people to read."""
    img = Image.new("1", (WIDTH, HEIGHT), 0)
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    row = 0
    while row < screen.ROWS:
        y = row * CELL_H
        text = screen.rows[row]
        if row == screen.big:
            small = Image.new("1", (WIDTH // 2, CELL_H * 2 // 2 + 2), 0)
            ImageDraw.Draw(small).text((0, -1), text[: screen.COLS // 2], fill=1, font=font)
            img.paste(small.resize((WIDTH, CELL_H * 2 + 4)), (0, y))
            row += 2
            continue
        if row == screen.invert:
            draw.rectangle((0, y, WIDTH - 1, y + CELL_H - 1), fill=1)
            draw.text((0, y - 2), text[: screen.COLS], fill=0, font=font)
        else:
            draw.text((0, y - 2), text[: screen.COLS], fill=1, font=font)
        row += 1
    out = img.convert("RGB").resize((WIDTH * scale, HEIGHT * scale), Image.NEAREST)
    if alarm_colour:
        frame = Image.new("RGB", (out.width + 16, out.height + 16), alarm_colour)
        frame.paste(out, (8, 8))
        out = frame
    return out


def render_png(screen, path, scale=4, alarm_colour=None):
    render_image(screen, scale, alarm_colour).save(path)
    return path
