"""The emulated Pico itself (emulator/rp2040 + emulator/pico.py), with a probe main.py.

Real MicroPython v1.28 (the referee UF2) in rp2040js: the display read back from the SSD1306's I2C
traffic, a button on its GPIO, USB serial as socket://, littlefs on a flash file that survives a power
cut in the middle of a write, the watchdog as a chip reset.  The unit's own tests are in
test_board_unit.py; these hold the harness honest without depending on the firmware.
"""
import os
import subprocess
import sys
import time

import pytest

from emulator import pico

pytestmark = pytest.mark.skipif(pico.missing() is not None, reason=pico.missing() or "")
PROBE = os.path.join(os.path.dirname(__file__), "board_probe_main.py")


@pytest.fixture(scope="module")
def probe_flash(tmp_path_factory):
    """A blank chip with micropython-lib's ssd1306 and the probe as main.py, copied by mpremote."""
    d = tmp_path_factory.mktemp("probe")
    img = str(d / "flash.img")
    with pico.PicoBoard(img, fresh=True, pace=0, log=str(d / "board.log")) as b:
        b.run_for(300)
        subprocess.run([sys.executable, "-m", "mpremote", "connect", b.url, "fs", "mkdir", ":lib", "+",
                        "fs", "cp", os.path.join(pico.REFEREE, "lib", "ssd1306.py"), ":lib/ssd1306.py", "+",
                        "fs", "cp", PROBE, ":main.py"], check=True, capture_output=True, timeout=300)
        b.stop()
    return img


@pytest.fixture
def probe(probe_flash, tmp_path):
    img = pico.board_copy(probe_flash, str(tmp_path))
    b = pico.PicoBoard(img, pace=1, log=str(tmp_path / "board.log"))
    yield b
    b.power_cut()


def test_text_big_text_and_highlight_decode_from_the_pixels(probe, tmp_path):
    s = probe.wait_until(lambda b: (lambda s: s if s.rows[0].startswith("PROBE") else None)(b.screen()), 5000)
    assert s.on and s.rows[0] == "PROBE boot 1"
    assert s.big == 1 and s.rows[1] == "12:34"
    assert s.rows[3] == "ok=1" and s.rows[4] == "cause PWRON" and s.inverted == {4}
    assert s.lit() > 200
    path = s.png(str(tmp_path / "probe.png"))
    assert os.path.getsize(path) > 100


def test_a_button_is_held_low_for_its_emulated_time(probe):
    probe.wait_until(lambda b: b.screen().rows[3] == "ok=1", 5000)
    probe.press("OK", ms=1000)
    probe.run_for(400)
    assert probe.screen().rows[3] == "ok=0"
    probe.run_for(1000)
    assert probe.screen().rows[3] == "ok=1"


def test_usb_serial_is_a_socket_url(probe):
    import serial

    probe.wait_until(lambda b: b.screen().rows[0].startswith("PROBE"), 5000)
    ser = serial.serial_for_url(probe.url, timeout=0.2)
    try:
        ser.write(b"hello")
        got = b""
        end = time.monotonic() + 30
        while len(got) < 5 and time.monotonic() < end:
            got += ser.read(5)
        assert got == b"HELLO"
    finally:
        ser.close()


def test_a_locked_up_core_is_reset_by_the_watchdog(probe):
    probe.wait_until(lambda b: b.screen().rows[0] == "PROBE boot 1", 5000)
    probe.lockup()
    probe.run_for(9000)  # the probe's watchdog is 8 s
    assert [r["reason"] for r in probe.resets] == ["watchdog"]
    s = probe.wait_until(lambda b: (lambda s: s if s.rows[0] == "PROBE boot 2" else None)(b.screen()), 5000)
    assert s.rows[4] == "cause WDT"  # machine.reset_cause() after the reset


def test_littlefs_survives_a_power_cut_in_the_middle_of_a_write(probe):
    import serial

    probe.wait_until(lambda b: b.screen().rows[0] == "PROBE boot 1", 5000)
    probe.cut_during_write(n=2, partial=100)  # the second flash program of the next write, 100 bytes in
    ser = serial.serial_for_url(probe.url, timeout=0.2)
    ser.write(b"w")
    end = time.monotonic() + 60
    while probe.alive and time.monotonic() < end:
        time.sleep(0.1)
    ser.close()
    assert not probe.alive  # the power went during the write
    probe.restart()
    # littlefs mounted (a corrupt one would be reformatted: no main.py, no boot count) and counted on
    s = probe.wait_until(lambda b: (lambda s: s if s.rows[0].startswith("PROBE") else None)(b.screen()), 10000)
    assert s.rows[0] == "PROBE boot 2" and s.rows[4] == "cause PWRON"
    assert probe.resets == []
