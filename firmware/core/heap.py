# The unit's heap: what it has left, and giving code back.
#
# On a Pico the GC heap is 245,888 B and every imported module's bytecode
# lives in it (the stock firmware has no ROM filesystem to run code from
# flash), so code that the bedside loop does not need is imported when a task
# needs it and forgotten afterwards (forget), and the loop reports its own
# figures (heap_free, heap_largest, heap_min_free) in HELLO and STATUS.
#
# heap_min_free is the lowest free heap seen right after a collection: what
# the live data left, not what garbage happened to be lying around.  Every
# SAMPLE_S of episode time the loop collects at a quiet point and samples
# (one collection: tens of ms on a Pico, well under 1 % of its time); the
# allocator collects by itself in between, when it runs out.
#
# Cost matters here: gc.mem_free() and gc.mem_alloc() walk the whole
# allocation table (about 4 ms each on a Pico), so nothing in this module
# calls them every loop step.  The idle figure (idle_alloc, bytes allocated
# over IDLE_WINDOW consecutive idle steps, 0 by design) reads the allocated
# total once when a window opens and once when it closes.
import sys

from .clock import ticks_diff

try:
    import gc

    _mem_free = gc.mem_free  # type: ignore[attr-defined]
    _mem_alloc = gc.mem_alloc  # type: ignore[attr-defined]
except (ImportError, AttributeError):  # CPython: no heap to watch
    _mem_free = None  # type: ignore[assignment]
    _mem_alloc = None  # type: ignore[assignment]

try:
    from micropython import heap_lock as _heap_lock  # type: ignore[attr-defined]
    from micropython import heap_unlock as _heap_unlock  # type: ignore[attr-defined]
except ImportError:  # CPython
    _heap_lock = None  # type: ignore[assignment]
    _heap_unlock = None  # type: ignore[assignment]

MICROPYTHON = sys.implementation.name == "micropython"
IDLE_WINDOW = 100  # consecutive idle steps per idle_alloc figure
FIGURES_MS = 2000  # figures() answers from its last measurement for this long
SAMPLE_S = 10  # episode seconds between the loop's own collect-and-sample
_PKG = __name__[: __name__.rfind(".")]  # "core" on a board, "firmware.core" on a host


class Watch:
    """Free-heap figures for the unit (all -1 where the runtime has no GC heap)."""

    def __init__(self):
        self.min_free = -1
        self.last_free = -1  # free heap at the last sample (after a collection)
        self.collections = 0
        self.idle_alloc = -1
        self._idle_a0 = 0
        self._idle_n = -1  # idle steps in the open window; -1: no window open
        self._sampled_t = -SAMPLE_S
        self._fig = None  # the last figures() and when (ms)
        self._fig_ms = 0

    def collect(self):
        if _mem_free is None:
            return
        gc.collect()
        self.collections += 1
        free = _mem_free()
        self.last_free = free
        if self.min_free < 0 or free < self.min_free:
            self.min_free = free

    def quiet_point(self, t):
        """Called once per main-loop step with the episode time (s): collect and
        sample every SAMPLE_S, except inside a window of idle steps (they allocate
        nothing, so there is nothing new to see, and a collection there would
        blur idle_alloc).  Allocation-free."""
        if _mem_free is not None and self._idle_n < 0 and t - self._sampled_t >= SAMPLE_S:
            self._sampled_t = t
            self.collect()

    def step_done(self, idle):
        """After each main-loop step: idle (nothing came in, nothing was logged)
        extends the open window of idle steps, anything else closes it."""
        if _mem_alloc is None:
            return
        if not idle:
            self._idle_n = -1
            return
        if self._idle_n < 0:
            # the window opens after this step, on a clean heap: garbage left by
            # the busy steps before it must not be collected inside the window
            self.collect()
            self._idle_a0 = _mem_alloc()
            self._idle_n = 0
            return
        self._idle_n += 1
        if self._idle_n >= IDLE_WINDOW:
            self.idle_alloc = _mem_alloc() - self._idle_a0  # a collection in between shows as non-zero too
            self._idle_n = -1

    def figures(self, now_ms=None):
        """(heap_free, heap_largest, heap_min_free) after a collection.  Finding
        the largest free block takes trial allocations and collections: this
        is for a status request, not the loop, and a figure younger than
        FIGURES_MS (the caller's tick count, ms) is given again."""
        if _mem_free is None:
            return -1, -1, -1
        if now_ms is not None and self._fig is not None and 0 <= ticks_diff(now_ms, self._fig_ms) < FIGURES_MS:
            return self._fig
        self.collect()
        self._fig = (_mem_free(), largest_block(), self.min_free)
        self._fig_ms = now_ms if now_ms is not None else 0
        return self._fig


def largest_block():
    """A lower bound, within 1/16 of the largest single allocation that would
    succeed now.  Trial bytearrays grow geometrically and then bisect: every
    failed trial costs the allocator a full collection (tens of ms on a
    Pico), so the search keeps failures to about five."""
    if _mem_free is None:
        return -1
    lo = 0
    hi = _mem_free()
    size = 2048
    while size < hi:
        try:
            bytearray(size)  # freed by the next collection
            lo = size
            size *= 2
        except MemoryError:
            hi = size
            break
    step = 0
    while step < 4 and hi - lo > 256:
        mid = (lo + hi) // 2
        try:
            bytearray(mid)
            lo = mid
        except MemoryError:
            hi = mid
        step += 1
    return lo


# MicroPython's WASI build (the 32-bit referee the host tests run the core in) cannot see the
# WebAssembly stack when it collects: a collection from inside a call frees objects still in use.
# The board and the unix port scan their C stacks; there a collection is safe anywhere.
_COLLECT_MID_CALL = MICROPYTHON and getattr(sys.implementation, "_build", "") != "wasi"


def free_now():
    """Free heap bytes now (-1 where there is no heap to watch: CPython)."""
    return _mem_free() if _mem_free is not None else -1


def collect():
    """A full collection now, where the runtime has a collector that may run mid-call."""
    if _COLLECT_MID_CALL:
        gc.collect()


def forget(short_name):
    """Drop <package>.<short_name> from the import cache (and from its package)
    so the collector can free its code; the next import loads it afresh.  Only
    on MicroPython: CPython has no heap to give back, and host tools share
    these modules (and their exception classes) with the firmware."""
    if not MICROPYTHON:
        return
    name = _PKG + "." + short_name
    if name in sys.modules:
        del sys.modules[name]
    parent = sys.modules.get(_PKG)
    if parent is not None and hasattr(parent, short_name):
        delattr(parent, short_name)


def load(short_name):
    """<package>.<short_name>, imported now (code a task needs, let go after with forget).
    When the heap cannot take it, MicroPython keeps the half-made module in sys.modules:
    it is forgotten here, so the collector gets it back, and the MemoryError raised again."""
    try:
        __import__(_PKG + "." + short_name)
    except MemoryError:
        forget(short_name)
        raise
    return sys.modules[_PKG + "." + short_name]


def quiet(fn, a):
    """fn(a) -- work that allocates nothing -- with the heap locked where the runtime
    has a lock (MicroPython); True when it ran through, False when it needed the heap
    after all (MemoryError: the caller redoes the work unlocked).

    Why: MicroPython gives a Python function whose locals and stack take more than 11
    words a frame on the heap for the call (freed on return), and on the C stack only
    when that allocation fails.  On a unit that has run a while the allocator searches
    a fragmented heap for the free run, up to ~0.5 ms a call on a Pico: 15 such calls
    made 6-7 ms of a 12 ms idle step.  With the heap locked the search is skipped."""
    if _heap_lock is None:
        fn(a)
        return True
    # one level of handler, not try/finally: two would make this function's own frame
    # too big for the C stack, and it is called unlocked every loop step
    _heap_lock()
    try:
        fn(a)
    except MemoryError:
        _heap_unlock()
        return False
    except:  # noqa: E722  (any other exception: the heap unlocked, and on its way; no `as`: a second handler)
        _heap_unlock()
        raise
    _heap_unlock()
    return True
