"""statim deploy ships the EEG detector as a native module for a Pico (host_tools/natmod.py),
and when it cannot be built here says why and ships none (the board then runs the twin)."""
import shutil

import pytest

from host_tools import natmod
from host_tools.commands import deploy


@pytest.mark.skipif(natmod.missing("armv6m") is not None, reason=natmod.missing("armv6m") or "")
def test_deploy_builds_the_native_detector_for_a_pico():
    said = []
    data = deploy.native_detector("armv6m", said.append)
    assert said == []
    # a native .mpy for MicroPython v1.28's loader: version 6, Cortex-M0 (armv6m = 4) code, sub-version 3
    assert data[:3] == b"M\x06" + bytes([(4 << 2) | 3])
    assert 8000 < len(data) < 20000  # the detector only (STATIM_DETECTOR_ONLY): its code lives in the heap


def test_without_a_cross_compiler_deploy_says_why_and_ships_none(monkeypatch):
    real = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name: None if name == "arm-none-eabi-gcc" else real(name))
    said = []
    assert deploy.native_detector("armv6m", said.append) is None
    assert len(said) == 1 and "arm-none-eabi-gcc" in said[0] and "Python twin" in said[0]


def test_a_board_of_another_architecture_gets_no_native_detector():
    said = []
    assert deploy.native_detector("xtensawin", said.append) is None
    assert "no native detector for the xtensawin architecture" in said[0]
