"""atheris harness for the serial-link parser and the Link (firmware/core/frames.py, protocol.py).

Run (longer than the hypothesis tests in tests/test_protocol_fuzz.py):

    .venv/bin/python fuzz/protocol_fuzz.py -atheris_runs=200000 -max_len=4096 fuzz/corpus/protocol

(the corpus folder is optional; libFuzzer creates/extends it).  Checked per
input: the framing functions raise only FrameError; Link.poll() never
raises; every byte the unit writes is a whole CRC-valid line; and input
without a valid request frame leaves the event log untouched.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import atheris  # noqa: E402

with atheris.instrument_imports():
    from firmware.core import frames, protocol

from emulator.board import EmulatedUnit  # noqa: E402

_emu = EmulatedUnit()
_emu.unit.set_weight(70000)
_emu.unit.onset()
_link = protocol.Link(_emu.unit, _emu.board, key=b"k" * 32, rand=os.urandom)
_emu.unit.link = _link


def _has_request(data):
    for line in data.split(b"\n"):
        line = line.replace(b"\r", b"")
        for c in range(0x20):
            if c != 0x0D and bytes([c]) in line:
                line = line[line.rindex(bytes([c])) + 1:]
        try:
            frames.parse_request(frames.unseal(line, len(line)))
            return True
        except frames.FrameError:
            pass
    return False


def TestOneInput(data):
    try:
        frames.parse_request(frames.unseal(data, len(data)))
    except frames.FrameError:
        pass
    try:
        frames.tokens(data.decode("ascii"))
    except (frames.FrameError, UnicodeDecodeError):
        pass
    n = len(_emu.unit.events)
    uart = _emu.board.uart
    uart.host_write(data + b"\n")
    for _ in range(len(data) // 64 + 3):
        _link.poll()
    out = uart.host_read()
    for line in out.split(b"\n")[:-1]:
        frames.unseal(line, len(line))  # raises if the unit wrote a broken frame
    if not _has_request(data):
        assert len(_emu.unit.events) == n, "a rejected frame changed the log"


def main():
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
