"""The Pico's main.py keeps a copy of the firmware version for service mode (which must run
without importing the unit); it must say what core.unit says."""
import os
import re

from firmware.core import unit

MAIN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "firmware", "boards", "rp2_pico",
                    "main.py")


def test_main_py_states_the_unit_firmware_version():
    with open(MAIN) as f:
        m = re.search(r'^FIRMWARE_VERSION = "([^"]+)"', f.read(), re.M)
    assert m is not None
    assert m.group(1) == unit.FIRMWARE_VERSION
