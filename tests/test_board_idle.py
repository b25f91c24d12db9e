"""The idle loop on the emulated Pico allocates nothing (issue 12: 0 B per idle iteration).

Two proofs on the real firmware and the board's own heap:

- the bedside step and the Pico HAL's sleep/poll path (select.ipoll on the USB serial, the
  button flags, ticks) run whole loop iterations -- at READY and with the seizure timer
  running and redrawn every second -- under micropython.heap_lock(), where any allocation
  raises MemoryError.  The probe is the deployed main.py with its last line (main()) replaced
  by the probe: the same start(), the same PicoHal, the same modules from flash.
- the unit's own idle_alloc figure (gc.mem_alloc over 100 idle steps, STATUS) is 0 at READY,
  read after the first window that follows the moment the loop clears its crash counter on
  flash (main.HEALTHY_S after start): that flash write is work, not an idle step; it closes the
  window it falls in (it used to be counted in it: 64 B).
"""
import os
import re

import pytest

from emulator import pico
from host_tools.link import open_link

pytestmark = pytest.mark.skipif(pico.missing() is not None, reason=pico.missing() or "")
try:
    import littlefs  # noqa: F401
except ImportError:  # pragma: no cover - the test extra installs it
    pytestmark = pytest.mark.skip(reason="littlefs-python not installed (test extra)")

MAIN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "firmware", "boards", "rp2_pico",
                    "main.py")
STEPS = 15  # locked loop iterations per state (about 1 s emulated each)

PROBE = """
import micropython


def _locked(hal, u, label):
    n = 0
    micropython.heap_lock()
    try:
        try:
            bytearray(8)
            armed = 0  # the lock did not hold: the probe proves nothing
        except MemoryError:
            armed = 1
        while n < %d:
            hal.sleep_ms(u.step())
            n += 1
        why = "ok"
    except MemoryError:
        why = "MemoryError"
    finally:
        micropython.heap_unlock()
    print("HEAPLOCK %%s %%s steps=%%d armed=%%d" %% (label, why, n, armed))


def _probe():
    hal = PicoHal()
    u, gate = start(hal)
    hal.sleep_ms(u.step())  # the first render draws the whole page
    _locked(hal, u, "ready")
    u.onset()
    hal.sleep_ms(u.step())  # the onset's step redraws the page and drives the outputs
    _locked(hal, u, "running")
    print("HEAPLOCK-END")
    while True:
        hal.sleep_ms(u.step())


_probe()
""" % STEPS


@pytest.fixture(scope="module")
def provisioned():
    return pico.provisioned_flash()


def test_bedside_step_and_hal_sleep_allocate_nothing_under_heap_lock(provisioned, tmp_path):
    with open(MAIN) as f:
        main = f.read().rstrip()
    assert main.endswith("\nmain()")
    img = pico.board_copy(provisioned[0], str(tmp_path))
    with pico.FlashFS(img) as fs:
        fs.write("/main.py", (main[:-len("main()")] + PROBE).encode())
    with pico.PicoBoard(img, pace=0, max_resets=0, log=str(tmp_path / "board.log")) as b:
        b.wait_until(lambda b: "HEAPLOCK-END" in b.console(), 2 * (STEPS + 10) * 1000, step_ms=1000)
        out = b.console()
        assert b.resets == []
    found = dict((m.group(1), m.groups()[1:]) for m in re.finditer(r"HEAPLOCK (\w+) (\w+) steps=(\d+) armed=(\d)", out))
    assert found == {"ready": ("ok", str(STEPS), "1"), "running": ("ok", str(STEPS), "1")}, out[-1500:]


def test_ready_idle_alloc_is_zero_after_the_crash_counter_is_cleared(provisioned, tmp_path):
    img = pico.board_copy(provisioned[0], str(tmp_path))
    with pico.PicoBoard(img, pace=0, max_resets=0, log=str(tmp_path / "board.log")) as b:
        # boot, the crash counter cleared at HEALTHY_S (60 s), then a window of 100 idle steps at
        # READY (one a second) closed before the request
        b.run_for(170000)
        b.set_pace(1)
        with open_link(b.url, timeout=5) as c:
            st = c.status()
        assert b.screen().rows[0] == "STATIM   READY" and b.resets == []
    assert int(st["idle_alloc"]) == 0, st
