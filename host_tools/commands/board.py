"""statim board: the real firmware on an emulated Raspberry Pi Pico, without a board.

MicroPython v1.28 RPI_PICO (the referee UF2) runs in rp2040js (emulator/rp2040).
The first run provisions a blank chip the README's way (mpremote: key and SSD1306
driver; statim deploy) into FLASH; later runs boot FLASH as it was left (the
unit's log and settings persist like on a board).  The USB serial is printed as
a socket:// URL: `statim status URL`, `statim connect URL`, mpremote all work.
The display is shown as it changes (text decoded from the SSD1306's pixels) and
written as PNGs with --png DIR.  Ctrl-C stops it (a power cut: flash is kept).
"""
import os
import shutil
import sys
import time

DEFAULT_FLASH = os.path.join("build", "rp2040", "board-flash.img")


def run(args):
    from emulator import pico

    parent = os.path.dirname(os.path.abspath(args.flash))
    if os.path.exists(parent) and not os.path.isdir(parent):
        from host_tools.cliutil import UsageError

        raise UsageError("--flash %s: %s is a file, not a folder" % (args.flash, parent))
    why = pico.missing()
    if why:
        print("statim board: cannot run the emulated Pico: %s" % why, file=sys.stderr)
        return 1
    flash = os.path.abspath(args.flash)
    key = args.key_file or os.path.splitext(flash)[0] + ".key"
    if args.fresh or not os.path.exists(flash):
        os.makedirs(os.path.dirname(flash) or ".", exist_ok=True)
        print("provisioning a blank board (mpremote + statim deploy; about a minute)...", file=sys.stderr)
        img, cached_key = pico.provisioned_flash(log=(lambda s: print(s, file=sys.stderr)) if args.verbose else
                                                 (lambda s: None))
        shutil.copyfile(img, flash)
        if not args.key_file:
            shutil.copyfile(cached_key, key)
    if args.png:
        os.makedirs(args.png, exist_ok=True)
    board = pico.PicoBoard(flash, pace=args.pace, max_resets=args.max_resets, eeg=args.eeg,
                           log=flash + ".log")
    print("board running: %s" % board.url)
    print("  flash %s, maintenance key %s, driver log %s.log" % (flash, key, flash))
    print("  e.g. .venv/bin/statim status %s" % board.url)
    sys.stdout.flush()
    last, n, seen_resets = None, 0, 0
    written = set()
    try:
        end = time.monotonic() + args.seconds if args.seconds else None
        while end is None or time.monotonic() < end:
            time.sleep(args.interval)
            s = board.screen()
            resets = board.resets
            for r in resets[seen_resets:]:
                print("** chip reset (%s) at %.3f s emulated" % (r["reason"], r["t_s"]))
            seen_resets = len(resets)
            if (s.gddram, s.on) != last:
                last = (s.gddram, s.on)
                n += 1
                print("t=%8.3f s (emulated)%s" % (s.t_s, "" if s.on else "  [display off]"))
                print(s)
                if args.png:
                    s.png(png_path(args.png, s, written))
                sys.stdout.flush()
    except KeyboardInterrupt:
        pass
    except pico.BoardGone as e:
        print("statim board: %s" % e, file=sys.stderr)
        return 1
    finally:
        if board.alive:
            st = board.stats()
            print("stopped at %.3f s emulated (%.1f s wall), %d chip resets" % (
                st["emulated_s"], st["wall_s"], st["resets"]))
            board.stop()
    return 0


def elapsed_on_screen(s):
    """Seconds since onset as the panel shows them -- the big timer on the home page (mm:ss or
    h:mm:ss), else the time at the start of a page's top row -- or None (READY, service)."""
    import re

    rows = s.rows
    for text in ((rows[1] if s.big == 1 else ""), rows[0][:8]):
        m = re.match(r"^(?:(\d+):)?(\d\d):(\d\d)", text.strip())
        if m:
            h, mm, ss = m.groups()
            return int(h or 0) * 3600 + int(mm) * 60 + int(ss)
    return None


def png_path(folder, s, written):
    """DIR/t+00h05m00s.png by time since onset (the emulator's names, emulator/display.py);
    a second frame in the same second gets _2, _3, ..."""
    from emulator.display import onset_name

    base = onset_name(elapsed_on_screen(s))
    name, k = base, 1
    while name in written:
        k += 1
        name = "%s_%d" % (base, k)
    written.add(name)
    return os.path.join(folder, name + ".png")


def register(sub):
    p = sub.add_parser("board", help="run the real firmware on an emulated Raspberry Pi Pico (socket:// serial)")
    p.add_argument("--flash", default=DEFAULT_FLASH, help="flash image file (default %s); provisioned if absent"
                   % DEFAULT_FLASH)
    p.add_argument("--fresh", action="store_true", help="start from a newly provisioned blank board")
    p.add_argument("--png", metavar="DIR", help="write each new screen as a PNG into DIR")
    p.add_argument("--key-file", help="maintenance key (default: FLASH with .key, made when provisioning)")
    p.add_argument("--pace", type=float, default=1.0,
                   help="emulated seconds per wall second at most (default 1: like a board; 0: unlimited)")
    p.add_argument("--seconds", type=float, default=0, help="stop after this many wall seconds (default: Ctrl-C)")
    p.add_argument("--interval", type=float, default=0.25, help="wall seconds between display checks")
    p.add_argument("--max-resets", type=int, default=20, help="halt the chip after this many resets")
    p.add_argument("--eeg", metavar="FILE", help="EEG samples for the ADS1299 front end, if the harness has it")
    p.add_argument("-v", "--verbose", action="store_true", help="show the provisioning commands' output")
    p.set_defaults(func=run)
