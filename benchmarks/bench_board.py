"""On-device figures of the real firmware on the emulated Pico (emulator/rp2040), from one run.

Times are emulated: cycles at 125 MHz as rp2040js counts them (no flash wait states, so a real
board is somewhat slower).  CPU % is busy cycles (instructions executed) over all cycles, the rest
being WFI/WFE sleep that the harness skips.  Heap figures are what the unit reports in HELLO/STATUS.
Printed, never asserted: budgets (issue 12) are read against them by people.
"""
import array
import math
import os
import statistics

import pytest

from emulator import pico
from host_tools.link import open_link

pytestmark = pytest.mark.skipif(pico.missing() is not None, reason=pico.missing() or "")
HEAP_KEYS = ("heap_free", "heap_largest", "heap_min_free", "loop_ms", "loop_ms_median", "alloc_per_loop")


def _at_home(b):
    s = b.screen()
    return s if s.on and s.big == 1 and s.rows[1] else None


def _unit_report(url):
    with open_link(url, timeout=5) as c:
        hello, status = c.hello(), c.status()
    out = {}
    for src in (hello, status):
        for k, v in src.items():
            if k.startswith("heap") or "loop" in k or "alloc" in k:
                out[k] = v
    return out


def _idle_window(b, ms, step_ms):
    """CPU % and busy ms per step over ms of emulated idle at the home screen."""
    per_step = []
    first = b.stats()
    prev = first
    for _ in range(int(ms // step_ms)):
        cur = b.run_for(step_ms)
        per_step.append((cur["busy_cycles"] - prev["busy_cycles"]) / 125e3)  # ms of CPU
        prev = cur
    load = (prev["busy_cycles"] - first["busy_cycles"]) / max(1, prev["total_cycles"] - first["total_cycles"])
    return 100 * load, statistics.median(per_step)


def _eeg_file(path, seconds, fs=250):
    """10 Hz, 50 uV: an alpha-like channel, headerless float32 (the ADS1299 model's feed format)."""
    a = array.array("f", (50 * math.sin(2 * math.pi * 10 * i / fs) for i in range(seconds * fs)))
    with open(path, "wb") as f:
        a.tofile(f)
    return path


def test_board_on_device_figures(benchmark, quick, tmp_path, capsys):
    img, _key = pico.provisioned_flash()
    window = 5000 if quick else 30000
    fig = {}

    def run():
        flash = pico.board_copy(img, str(tmp_path))
        with pico.PicoBoard(flash, pace=0, log=str(tmp_path / "board.log")) as b:
            try:
                b.wait_until(_at_home, 30000, step_ms=50)
            except TimeoutError as e:
                pytest.fail("the unit did not reach its home screen (%s); resets %s; console:\n%s"
                            % (e, b.resets, b.console()[-1200:]))
            st = b.stats()
            fig["boot_s"] = st["emulated_s"]
            fig["wall_per_emulated"] = st["wall_s"] / st["emulated_s"]
            b.run_for(2000)
            fig["idle_cpu_pct"], fig["busy_ms_per_100ms"] = _idle_window(b, window, 100)
            fig["report"] = _unit_report(b.url)
            fig["resets"] = len(b.resets)
            b.stop()
        eeg_mod = os.path.join(pico.HARNESS, "ads1299.mjs")
        if os.path.exists(eeg_mod):
            flash = pico.board_copy(img, str(tmp_path), "eeg.img")
            feed = _eeg_file(str(tmp_path / "eeg.f32"), window // 1000 + 40)
            with pico.PicoBoard(flash, pace=0, eeg=feed, log=str(tmp_path / "eeg.log")) as b:
                b.wait_until(_at_home, 30000, step_ms=50)
                b.run_for(3000)
                fig["eeg_cpu_pct"], _ = _idle_window(b, window, 100)
                b.stop()

    benchmark.pedantic(run, rounds=1, iterations=1)
    with capsys.disabled():
        print("\n  Statim on the emulated Pico (MicroPython v1.28, rp2040js, 125 MHz emulated)")
        print("    boot to home screen        %8.3f s emulated   (budget <= 3 s)" % fig["boot_s"])
        print("    idle CPU                   %8.2f %%           busy %.2f ms per 100 ms" % (
            fig["idle_cpu_pct"], fig["busy_ms_per_100ms"]))
        print("    EEG on (ADS1299) CPU       %s" % ("%8.2f %%  (budget <= 10 %%)" % fig["eeg_cpu_pct"]
                                                    if "eeg_cpu_pct" in fig else "absent (no ads1299.mjs)"))
        rep = fig["report"]
        for k in HEAP_KEYS:
            print("    %-26s %s" % (k, rep.get(k, "not reported by this firmware")))
        for k in sorted(set(rep) - set(HEAP_KEYS)):
            print("    %-26s %s" % (k, rep[k]))
        print("    chip resets during the run %d" % fig["resets"])
        print("    wall s per emulated s      %8.2f (this host, boot)" % fig["wall_per_emulated"])
