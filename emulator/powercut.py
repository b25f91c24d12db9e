"""Power cuts for the emulated flash.

The model is harsher than littlefs (which commits a file only on close):
every byte handed to write() lands on flash at once, and a cut stops the
world in the middle of a write.  What the cut leaves of the interrupted
write is chosen by `tear`:

  "prefix"   the bytes before the cut point, nothing after (the common case)
  "ff"       ... then the rest of that write as 0xFF (erased NOR flash)
  "garbage"  ... then the rest of that write as pseudo-random bytes

rename() and remove() are atomic (littlefs guarantees it; on FAT the A/B
settings files cover it) and each counts as one cut point: the cut happens
before the operation.  So a run with W bytes written and M metadata
operations has W + M + 1 cut points, 0 .. W + M (the last = no cut).

Pieces
- MemFlash: an in-memory flash with FlashDir's interface (open, rename,
  remove, size, listdir) plus files()/from_files() snapshots.
- FsHal(flash): the HAL's storage methods over any flash (fs_open, ...).
- CuttingFlash(flash, budget, tear): a live flash that raises PowerCut when
  its budget of cut points is used up; `run_cut(scenario, k)` runs a scenario
  with it.
- RecordingFlash(flash): records the trace (ops + the scenario's marks);
  every_cut(trace) then yields the flash contents at every cut point without
  re-running the scenario (equivalent for a deterministic scenario:
  tests/test_persist_powercut.py cross-checks it against live cuts).
"""

from emulator.flash import FileProxy as _FileProxy, FlashStorage


class PowerCut(Exception):
    """Power failed: nothing after this happens."""


# ------------------------------------------------------------------ memory --

class _MemFile:
    def __init__(self, fs, name, mode):
        self.fs = fs
        self.name = name
        self.mode = mode
        self.closed = False
        if mode == "rb":
            if name not in fs.data:
                raise OSError(2, "no such file: %s" % name)
            self.pos = 0
        elif mode == "wb":
            fs.data[name] = bytearray()
            self.pos = 0
        elif mode == "ab":
            fs.data.setdefault(name, bytearray())
            self.pos = len(fs.data[name])
        elif mode == "r+b":
            if name not in fs.data:
                raise OSError(2, "no such file: %s" % name)
            self.pos = 0
        else:
            raise ValueError("flash open mode %r not supported" % (mode,))

    def _buf(self):
        if self.closed:
            raise ValueError("I/O operation on closed file")
        b = self.fs.data.get(self.name)
        if b is None:
            raise OSError(2, "file removed: %s" % self.name)
        return b

    def read(self, n=-1):
        b = self._buf()
        end = len(b) if n is None or n < 0 else min(len(b), self.pos + n)
        out = bytes(b[self.pos:end])
        self.pos = max(self.pos, end)
        return out

    def readinto(self, buf):
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)

    def write(self, data):
        if self.mode == "rb":
            raise OSError(9, "file not open for writing")
        b = self._buf()
        data = bytes(data)
        if self.mode == "ab":
            self.pos = len(b)
        if self.pos > len(b):
            b.extend(b"\0" * (self.pos - len(b)))
        b[self.pos:self.pos + len(data)] = data
        self.pos += len(data)
        return len(data)

    def seek(self, pos, whence=0):
        b = self._buf()
        self.pos = pos if whence == 0 else (self.pos + pos if whence == 1 else len(b) + pos)
        if self.pos < 0:
            self.pos = 0
        return self.pos

    def tell(self):
        return self.pos

    def flush(self):
        pass

    def close(self):
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


class MemFlash:
    """In-memory flash: same interface as emulator.flash.FlashDir."""

    def __init__(self, files=None):
        self.data = {}
        for k, v in (files or {}).items():
            self.data[k] = bytearray(v)

    def _check(self, name):
        if not name or "/" in name or "\\" in name or name in (".", "..") or "\0" in name:
            raise ValueError("flash file name %r is not a plain file name" % (name,))

    def open(self, name, mode):
        self._check(name)
        return _MemFile(self, name, mode)

    def rename(self, old, new):
        self._check(old)
        self._check(new)
        if old not in self.data:
            raise OSError(2, "no such file: %s" % old)
        self.data[new] = self.data.pop(old)

    def remove(self, name):
        self.data.pop(name, None)

    def size(self, name):
        b = self.data.get(name)
        return -1 if b is None else len(b)

    def listdir(self):
        return sorted(self.data)

    def files(self):
        """Snapshot: {name: bytes}."""
        return {k: bytes(v) for k, v in self.data.items()}

    @classmethod
    def from_files(cls, files):
        return cls(files)


class FsHal(FlashStorage):
    """The HAL's storage methods over a flash object (FlashDir, MemFlash, ...)."""

    def __init__(self, flash):
        self.flash = flash


# ------------------------------------------------------------- live cuts --

def _fill(tear, n, seed):
    if tear == "prefix" or n <= 0:
        return b""
    if tear == "ff":
        return b"\xff" * n
    if tear == "garbage":
        out = bytearray(n)
        x = (seed * 2654435761 + 12345) & 0xFFFFFFFF or 1
        for i in range(n):  # xorshift32: deterministic per cut point
            x ^= (x << 13) & 0xFFFFFFFF
            x ^= x >> 17
            x ^= (x << 5) & 0xFFFFFFFF
            out[i] = x & 0xFF
        return bytes(out)
    raise ValueError("tear must be prefix, ff or garbage, not %r" % (tear,))


class _CutFile(_FileProxy):
    def __init__(self, owner, f):
        self.owner = owner
        self.f = f

    def write(self, data):
        data = bytes(data)
        room = self.owner.take(len(data))
        if room < len(data):
            self.f.write(data[:room] + _fill(self.owner.tear, len(data) - room, self.owner.budget0))
            self.f.close()
            raise PowerCut("power cut after %d of %d bytes of a write" % (room, len(data)))
        return self.f.write(data)



class CuttingFlash:
    """A flash whose power fails after `budget` cut points (bytes written +
    rename/remove operations).  budget=None: never (counts only)."""

    def __init__(self, flash, budget=None, tear="prefix"):
        self.flash = flash
        self.budget0 = budget if budget is not None else 0
        self.left = budget
        self.tear = tear
        self.used = 0
        self.dead = False

    def take(self, n):
        if self.dead:
            raise PowerCut("flash used after the power cut")
        if self.left is None:
            self.used += n
            return n
        room = min(n, self.left)
        self.left -= room
        self.used += room
        if room < n:
            self.dead = True
        return room

    def _op(self):
        if self.take(1) < 1:
            raise PowerCut("power cut before a rename/remove")

    def open(self, name, mode):
        if self.dead:
            raise PowerCut("flash used after the power cut")
        return _CutFile(self, self.flash.open(name, mode))

    def rename(self, old, new):
        self._op()
        self.flash.rename(old, new)

    def remove(self, name):
        self._op()
        self.flash.remove(name)

    def size(self, name):
        if self.dead:
            raise PowerCut("flash used after the power cut")
        return self.flash.size(name)

    def listdir(self):
        return self.flash.listdir()


def count_cut_points(scenario, flash=None):
    """Run scenario(fs_hal) uncut; return how many cut points it has."""
    cf = CuttingFlash(flash if flash is not None else MemFlash())
    scenario(FsHal(cf))
    return cf.used


def run_cut(scenario, k, tear="prefix", flash=None):
    """Run scenario(fs_hal) with power failing at cut point k.
    Returns (flash, cut): the flash as the cut left it, cut True if it happened."""
    base = flash if flash is not None else MemFlash()
    cf = CuttingFlash(base, k, tear)
    try:
        scenario(FsHal(cf))
    except PowerCut:
        return base, True
    return base, False


# -------------------------------------------------------- recorded traces --

class _RecFile(_FileProxy):
    def __init__(self, owner, fid, f):
        self.owner = owner
        self.fid = fid
        self.f = f

    def write(self, data):
        data = bytes(data)
        self.owner.trace.append(("write", self.fid, data))
        return self.f.write(data)



class RecordingFlash:
    """Records what a scenario does to the flash.  trace entries:
    ("open", fid, name, mode), ("write", fid, bytes), ("rename", old, new),
    ("remove", name), ("mark", obj) — marks come from the scenario
    (e.g. "record seq 12 committed") and cost no cut point."""

    def __init__(self, flash=None):
        self.flash = flash if flash is not None else MemFlash()
        self.trace = []
        self._fid = 0

    def open(self, name, mode):
        f = self.flash.open(name, mode)
        self._fid += 1
        self.trace.append(("open", self._fid, name, mode))
        return _RecFile(self, self._fid, f)

    def rename(self, old, new):
        self.trace.append(("rename", old, new))
        self.flash.rename(old, new)

    def remove(self, name):
        self.trace.append(("remove", name))
        self.flash.remove(name)

    def size(self, name):
        return self.flash.size(name)

    def listdir(self):
        return self.flash.listdir()

    def mark(self, obj):
        self.trace.append(("mark", obj))

    def cut_points(self):
        n = 0
        for op in self.trace:
            if op[0] == "write":
                n += len(op[2])
            elif op[0] in ("rename", "remove"):
                n += 1
        return n


class Cut:
    """The flash after a power cut at cut point k.

    files: {name: bytes}; marks: the scenario's marks made before the cut;
    op: the trace entry being executed (None when the run completed)."""

    __slots__ = ("k", "files", "marks", "op", "within")

    def __init__(self, k, files, marks, op, within):
        self.k = k
        self.files = files
        self.marks = marks
        self.op = op
        self.within = within  # bytes of the interrupted write that landed


def every_cut(trace, tear="prefix", start=None, stride=1, initial=None):
    """Yield a Cut for cut points 0, stride, 2*stride, ... and the final
    state (no cut).  Equivalent to run_cut() at each k for a deterministic
    scenario, without re-running it.

    Opening a file with "wb" truncates it at once (the FAT/host behaviour,
    harsher than littlefs).  initial: {name: bytes} on the flash before the
    trace started (default: empty)."""
    fs = {}  # name -> bytearray
    for name, b in (initial or {}).items():
        fs[name] = bytearray(b)
    fids = {}  # fid -> (name, mode)
    marks = []
    k = 0
    nxt = 0 if start is None else start

    def snap(extra_name=None, extra=None):
        out = {}
        for name, b in fs.items():
            out[name] = bytes(b)
        if extra_name is not None:
            out[extra_name] = extra
        return out

    for op in trace:
        kind = op[0]
        if kind == "mark":
            marks.append(op[1])
        elif kind == "open":
            fid, name, mode = op[1], op[2], op[3]
            fids[fid] = name
            if mode == "wb":
                fs[name] = bytearray()
            elif mode == "ab":
                fs.setdefault(name, bytearray())
        elif kind == "write":
            fid, data = op[1], op[2]
            name = fids[fid]
            base = fs[name]
            n = len(data)
            while nxt < k + n:
                j = nxt - k
                landed = bytes(base) + data[:j] + _fill(tear, n - j, nxt)
                yield Cut(nxt, snap(name, landed), list(marks), op, j)
                nxt += stride
            base.extend(data)
            k += n
        elif kind in ("rename", "remove"):
            if nxt == k:
                yield Cut(k, snap(), list(marks), op, 0)
                nxt += stride
            if kind == "rename":
                fs[op[2]] = fs.pop(op[1])
            else:
                fs.pop(op[1], None)
            k += 1
    yield Cut(k, snap(), list(marks), None, 0)


# ------------------------------------------------- reboots and the watchdog --

class Stall(Exception):
    """Injected: the main loop is stuck (it never reaches the watchdog feed)."""


WDT_TIMEOUT_MS = 8000  # rp2040's maximum is about 8388 ms


def reboot(emu, cause="power_on", off_ms=0, lose_rtc=False, store=None, health=None):
    """Reset an emulator.board.EmulatedUnit: RAM is gone; flash stays; the RTC
    keeps time while off unless lose_rtc (flat RTC battery).  The tick counter
    restarts at 0.  The new Unit replays the log through `store` (default: a
    fresh EventLog on the board's flash) and logs power_up.  Returns the unit."""
    from firmware.core.eventlog import EventLog
    from firmware.core.unit import Unit

    board = emu.board
    clk = board.clock
    old = emu.unit
    clk.advance(off_ms)
    if lose_rtc:
        clk.lose_rtc()
    clk.tick_start = (-clk.elapsed_ms) % (1 << 30)  # ticks_ms() == 0 at reset
    board.cause = cause
    board.wdt_last_feed_ms = clk.elapsed_ms
    board._buttons = 0
    if store is None:
        store = EventLog(board)
    unit = Unit(board, dict(old.config) if old is not None else None, store=store,
                library=old.library if old is not None else None)
    if health is not None:
        unit.health = health
    emu.unit = unit
    return unit


def stall_next_step(emu):
    """Make the unit's next loop step hang for ever (raises Stall): it never
    returns to the loop, so only the watchdog gets the unit out."""
    unit = emu.unit
    real = unit.step

    def stuck():
        unit.step = real
        raise Stall("main loop stuck")

    unit.step = stuck


class Watchdog:
    """Runs an EmulatedUnit's loop with the board watchdog enforced.

    A step that feeds the watchdog may sleep until the next deadline (on a
    board the loop wakes every second and feeds again while healthy).  A step
    whose health checks fail does not feed: the loop goes on waking every
    second, and when timeout_ms pass without a feed the watchdog resets the
    unit.  A stalled step (Stall) never returns: the watchdog resets the unit
    timeout_ms after the last feed.  Each reset reboots through reboot()
    with cause "watchdog" and a fresh health monitor from make_health()."""

    def __init__(self, emu, timeout_ms=WDT_TIMEOUT_MS, make_health=None, make_store=None):
        self.emu = emu
        self.timeout_ms = timeout_ms
        self.make_health = make_health
        self.make_store = make_store
        self.resets = []  # [(elapsed_ms, reason, unfed_since_ms)]
        self.unfed_steps = 0
        self.unfed_since = -1  # first step since the last feed that did not feed
        if make_health is not None and emu.unit.health is None:
            emu.unit.health = make_health()

    def _bite(self, reason):
        board = self.emu.board
        clk = board.clock
        fire = board.wdt_last_feed_ms + self.timeout_ms
        if clk.elapsed_ms < fire:
            clk.advance(fire - clk.elapsed_ms)
        self.resets.append((clk.elapsed_ms, reason, self.unfed_since))
        self.unfed_since = -1
        reboot(self.emu, "watchdog", store=self.make_store() if self.make_store else None,
               health=self.make_health() if self.make_health else None)

    def _jump(self, limit_ms):
        # emulator.board.EmulatedUnit.step_fast's jump: to the next deadline
        # (or EEG block), at most limit_ms ahead
        emu = self.emu
        eng = emu.unit.engine
        jump = limit_ms
        d = eng.next_deadline
        if d >= 0:
            to_deadline = (d - eng.now()) * 1000 - eng.clock._ms
            jump = min(jump, max(to_deadline, 0))
        if emu.board.eeg_source is not None:
            jump = min(jump, 2000)
        if jump <= 0:
            jump = min(limit_ms, 1) if limit_ms > 0 else 0
        return jump

    def step(self, limit_ms):
        """One loop iteration, then sleep: to the next deadline when the step
        fed the watchdog, else one second (a board wakes every second)."""
        emu = self.emu
        board = emu.board
        feeds = board.wdt_feeds
        try:
            emu.unit.step()
        except Stall as e:
            self.unfed_since = board.clock.elapsed_ms
            self._bite(str(e))
            return
        fed = board.wdt_feeds > feeds
        board.clock.advance(self._jump(limit_ms if fed else min(limit_ms, 1000)))
        if fed:
            board.wdt_last_feed_ms = board.clock.elapsed_ms  # fed at every wake-up while asleep
            self.unfed_since = -1
        else:
            self.unfed_steps += 1
            if self.unfed_since < 0:
                self.unfed_since = board.clock.elapsed_ms
            if board.clock.elapsed_ms - board.wdt_last_feed_ms >= self.timeout_ms:
                h = emu.unit.health
                self._bite(getattr(h, "last_reason", None) or "watchdog not fed")

    def run_until(self, elapsed_ms):
        emu = self.emu
        while emu.now_ms < elapsed_ms:
            self.step(elapsed_ms - emu.now_ms)
