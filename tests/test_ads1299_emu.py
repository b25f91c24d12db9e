"""The emulated ADS1299 (emulator/rp2040/ads1299.mjs) on its own: a fake SPI port, pins and clock.

Fast and without the firmware: what the chip model answers byte by byte, and when DRDY falls.
The board test (tests/test_board_eeg.py) runs it against the real firmware's driver."""
import json
import os
import shutil
import struct
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULE = os.path.join(REPO, "emulator", "rp2040", "ads1299.mjs")
pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node (Node.js) not on PATH")

SCRIPT = r"""
import { attachADS1299 } from %(module)s;
const out = {};
let now = 0; const alarms = new Set();
const clock = { get nanos() { return now; }, createAlarm(cb) {
  const a = { at: 0, schedule(dt) { a.at = now + dt; alarms.add(a); }, cancel() { alarms.delete(a); } , cb };
  return a; } };
function advance(ns) { const end = now + ns; for (;;) { let next = null;
  for (const a of alarms) if (a.at <= end && (!next || a.at < next.at)) next = a;
  if (!next) break; alarms.delete(next); now = next.at; next.cb(); } now = end; }
const pins = []; for (let i = 0; i < 30; i++) { const p = { value: 3, input: true, listeners: new Set(), falls: [],
  setInputValue(v) { if (p.input && !v) p.falls.push(now); p.input = v; },
  addListener(fn) { p.listeners.add(fn); }, drive(v) { const old = p.value; p.value = v; for (const f of p.listeners) f(v, old); } };
  pins.push(p); }
let reply = null;
const spi = { onTransmit: null, completeTransmit(v) { reply = v; } };
const mcu = { spi: [spi], gpio: pins };
const fe = attachADS1299(mcu, clock, { samplesFile: %(file)s, spiIndex: 0, csPin: 1, drdyPin: 21, resetPin: 22 });
const cs = pins[1], drdy = pins[21], rst = pins[22];
const xfer = (bytes) => { cs.drive(0); const r = bytes.map((b) => { spi.onTransmit(b); return reply; }); cs.drive(1); return r; };
rst.drive(1);
out.deselected = (() => { spi.onTransmit(0x20); return reply; })();
out.rreg_in_rdatac = xfer([0x20, 0x00, 0x00]);
xfer([0x11]);                                   // SDATAC
out.id = xfer([0x20, 0x00, 0x00])[2];
out.defaults = xfer([0x21, 0x02, 0, 0, 0]).slice(2);  // CONFIG1..3
xfer([0x45, 0x00, 0x60]);                       // CH1SET: gain 24, normal input
xfer([0x40, 0x00, 0x00]);                       // ID is read-only
out.ch1 = xfer([0x25, 0x00, 0x00])[2];
out.id_after = xfer([0x20, 0x00, 0x00])[2];
xfer([0x10]); xfer([0x08]);                     // RDATAC, START
advance(10e6);                                  // 10 ms: conversions at 4 and 8 ms
out.falls = drdy.falls.slice();
out.frame = xfer(new Array(27).fill(0));
out.drdy_high_after_read = drdy.input;
advance(4e6);
out.frame2 = xfer(new Array(27).fill(0)).slice(0, 6);
xfer([0x11]); xfer([0x0a]);                     // SDATAC, STOP
const n = drdy.falls.length; advance(20e6); out.falls_after_stop = drdy.falls.length - n;
rst.drive(0); rst.drive(1);                     // RESET/PWDN pulse: registers back to defaults
xfer([0x11]);
out.ch1_after_reset = xfer([0x25, 0x00, 0x00])[2];
out.stats = fe.stats;
console.log(JSON.stringify(out));
"""


def _run(tmp_path, samples):
    feed = tmp_path / "feed.f32"
    feed.write_bytes(struct.pack("<%df" % len(samples), *samples))
    script = tmp_path / "t.mjs"
    script.write_text(SCRIPT % {"module": json.dumps("file://" + MODULE), "file": json.dumps(str(feed))})
    proc = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _code(b):
    v = b[0] << 16 | b[1] << 8 | b[2]
    return v - (1 << 24) if v & 0x800000 else v


def test_registers_opcodes_and_frames(tmp_path):
    out = _run(tmp_path, [100.0, -50.0, 7.0])
    assert out["deselected"] == 0  # CS high: the chip does not drive DOUT
    assert out["rreg_in_rdatac"] == [0, 0, 0]  # powers up in RDATAC: register reads are ignored
    assert out["id"] == 0x3E  # ADS1299, 8 channels
    assert out["defaults"] == [0x96, 0xC0, 0x60]
    assert out["ch1"] == 0x60 and out["id_after"] == 0x3E
    assert out["falls"] == [4e6, 8e6]  # 250 SPS on the emulated clock
    f = out["frame"]
    assert f[:3] == [0xC0, 0, 0] and len(f) == 27
    # the latest conversion (the second sample: the first one was not read, as on the chip)
    assert _code(f[3:6]) == round(-50.0e-6 * 24 * 2 ** 23 / 4.5)
    assert all(b == 0 for b in f[6:])  # other channels: shorted / powered down
    assert out["drdy_high_after_read"] is True
    assert _code(out["frame2"][3:6]) == round(7.0e-6 * 24 * 2 ** 23 / 4.5)
    assert out["falls_after_stop"] == 0
    assert out["ch1_after_reset"] == 0x61
    st = out["stats"]
    assert st["frames"] == 3 and st["missed"] == 1 and st["fs"] == 250 and st["resets"] == 1


def test_samples_run_out_as_zero(tmp_path):
    out = _run(tmp_path, [100.0])
    assert _code(out["frame"][3:6]) == 0 and out["stats"]["exhausted"] is True
