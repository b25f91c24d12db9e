"""Never a boot loop: each way a unit can fail to start, forced on the emulated Pico.

The real firmware boots a provisioned flash that a test has damaged first (on the host, through
the image's littlefs: emulator.pico.FlashFS) or that it faults while running.  A unit that cannot
start must show SERVICE MODE with the reason, answer on its serial link (HELLO says service=1 and
why), keep its watchdog fed while it does, and never reset again.  A unit that can start on a
damaged library starts, and says the library is refused.
"""
import pytest

from emulator import pico
from host_tools.link import load_key, open_link

pytestmark = pytest.mark.skipif(pico.missing() is not None, reason=pico.missing() or "")
try:
    import littlefs  # noqa: F401
except ImportError:  # pragma: no cover - the test extra installs it
    pytestmark = pytest.mark.skip(reason="littlefs-python not installed (test extra)")

QUIET_MS = 20000  # longer than two watchdog periods (8 s): a loop would have reset by then


@pytest.fixture(scope="module")
def provisioned():
    return pico.provisioned_flash()


def boot(provisioned, tmp_path, damage=None, max_resets=6):
    img = pico.board_copy(provisioned[0], str(tmp_path))
    if damage is not None:
        with pico.FlashFS(img) as fs:
            damage(fs)
    b = pico.PicoBoard(img, pace=1, max_resets=max_resets, log=str(tmp_path / "board.log"))
    b.key = load_key(provisioned[1])
    return b


def service_screen(b, timeout_ms=30000):
    try:
        return b.wait_until(lambda b: b.screen() if b.screen().rows[0].startswith("SERVICE MODE") else None,
                            timeout_ms, step_ms=500)
    except TimeoutError:
        raise AssertionError("no service screen; resets %s; screen:\n%s\nconsole:\n%s" % (
            b.resets, b.screen(), b.console()[-1500:]))


def hello(b):
    with open_link(b.url, timeout=20.0, retries=1) as c:
        return c.hello()


def assert_stays_in_service(b, reason_part):
    s = service_screen(b)
    shown = " ".join(s.rows[2:6])
    assert reason_part in shown, s
    resets = len(b.resets)
    b.run_for(QUIET_MS)
    assert len(b.resets) == resets, "the unit reset while in service mode: %s" % b.resets
    assert b.screen().rows[0].startswith("SERVICE MODE")
    h = hello(b)
    assert h["service"] == "1" and reason_part in h["reason"], h
    return h


def fill_with_notes(b, size):
    """Log notes of about `size` bytes until the unit refuses one with ERR FULL (its flash is full);
    how many fitted."""
    from host_tools.link import RemoteError

    with open_link(b.url, timeout=20.0, retries=0) as c:
        for i in range(80):
            try:
                c.request("NOTE", text=("n%02d " % i + "x" * size)[:size])
            except RemoteError as e:  # the record could not be stored: nothing was logged
                assert e.code == "FULL", e
                return i
    raise AssertionError("80 notes of %d bytes fitted in a full flash" % size)


def test_a_flash_that_fills_up_refuses_records_and_keeps_monitoring(provisioned, tmp_path):
    # The host fills the littlefs to its last block; the unit still starts.  Notes then fill what is
    # left; a record that cannot be stored is refused (ERR FULL) and never counted, and the unit
    # keeps running (write first, then apply: RAM and the record never disagree, so the health check
    # has nothing to reset for): no restart, "log full" on the panel (its alarm, docs/panel-glossary.md).  Powered on again with the
    # flash still full, it comes back to the bedside screen, not to service mode.
    img = pico.board_copy(provisioned[0], str(tmp_path))
    assert pico.fill_flash(img) > 0
    with pico.FlashFS(img) as fs:
        assert fs.free_blocks() == 0
    b = pico.PicoBoard(img, pace=1, max_resets=2, log=str(tmp_path / "board.log"))
    try:
        b.wait_until(lambda b: b.screen().rows[0].startswith("STATIM"), 30000, step_ms=500)
        fill_with_notes(b, 190)
        b.run_for(QUIET_MS)
        assert b.resets == [], "the unit reset after a refused record: %s" % b.resets
        assert b.screen().rows[0].startswith("STATIM")
        assert "!!log full" in " ".join(b.screen().rows), b.screen()  # the storage_full alarm (medium)
        for _ in range(2):
            b.restart()
            b.wait_until(lambda b: b.screen().rows[0].startswith(("STATIM", "SERVICE")), 30000, step_ms=500)
            b.run_for(QUIET_MS)
            assert b.screen().rows[0].startswith("STATIM"), b.screen()
            fill_with_notes(b, 8)  # small records may still fit in littlefs metadata; then ERR FULL
    finally:
        b.power_cut()


def test_out_of_memory_at_boot_gives_a_service_screen(provisioned, tmp_path):
    # boot.py runs before main.py and keeps what it allocates: a heap too small for the unit
    hog = b"hog = bytearray(150 * 1024)\n"
    b = boot(provisioned, tmp_path, damage=lambda fs: fs.write("/boot.py", hog))
    try:
        assert_stays_in_service(b, "out of memory")
    finally:
        b.power_cut()


def test_a_unit_that_keeps_crashing_stops_in_service_mode(provisioned, tmp_path):
    b = boot(provisioned, tmp_path)
    try:
        for n in range(3):  # a fault that comes back at every start: the CPU locks up after boot
            # the panel keeps its pixels through a chip reset: wait for this boot's loop (about
            # 2 s emulated), whose watchdog is what must catch the lock-up
            b.run_for(6000)
            assert b.screen().rows[0].startswith("STATIM"), b.screen()
            b.lockup("injected fault %d" % n)
            b.wait_until(lambda b, n=n: len(b.resets) > n, 20000, step_ms=500)
        h = assert_stays_in_service(b, "restarted 3 times")
        assert len(b.resets) == 3
    finally:
        b.power_cut()


def test_a_damaged_library_is_refused_and_the_unit_still_times_the_seizure(provisioned, tmp_path):
    def corrupt(fs):
        data = bytearray(fs.read("/core/druglib.lib"))
        i = data.index(b'"lorazepam"') + 40
        data[i] ^= 0x01  # one bit, inside the sealed body
        fs.write("/core/druglib.lib", bytes(data))

    b = boot(provisioned, tmp_path, damage=corrupt)
    try:
        b.wait_until(lambda b: b.screen().rows[0].startswith("STATIM"), 30000, step_ms=500)
        h = hello(b)
        assert h["druglib_ok"] == "0", h
        b.click("OK", ms=80)
        b.run_for(3000)
        assert b.screen().rows[1] not in ("--:--", ""), b.screen()  # the timer runs without a library
        assert b.resets == []
    finally:
        b.power_cut()
