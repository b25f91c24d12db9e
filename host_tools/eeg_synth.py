"""Seeded synthetic continuous EEG with labelled seizures and burst suppression.

For the detector's event-wise evaluation (tests/test_detect_scoring.py) and the
benchmarks.  Not a physiological model: it is built to hold the things a
bedside detector must get right and wrong, with known answers.

- background: 1/f ("pink") noise plus a waxing and waning alpha rhythm, scalp
  amplitudes (RMS 12-35 µV, a per-recording draw), slowly varying gain;
- seizures: rhythmic sharp discharges evolving from ~7 Hz to ~3 Hz while the
  amplitude grows (4-10x the background's ictal-band amplitude), 2 s ramps,
  durations drawn from the list given (the label is the whole discharge);
- burst suppression: near-flat stretches (Gaussian, SD 1.2 µV) broken by
  1-3 s bursts of large broadband activity every 3-15 s (the label is the
  stretch);
- distractors that must not count as seizures: eye blinks (large 0.5-1.5 Hz
  bumps), muscle bursts (20-70 Hz), short drowsy theta bursts (3-6 s, below
  the 10-s rule), electrode pops.
"""
import math

import numpy as np


def pink(n, rng):
    """Unit-RMS 1/f noise."""
    white = rng.standard_normal(n)
    spec = np.fft.rfft(white)
    f = np.arange(len(spec), dtype=float)
    f[0] = 1.0
    spec /= np.sqrt(f)
    spec[0] = 0.0
    x = np.fft.irfft(spec, n)
    return x / (x.std() or 1.0)


def band_noise(n, fs, lo, hi, rng):
    """Unit-RMS noise limited to [lo, hi] Hz."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / fs)
    spec[(f < lo) | (f > hi)] = 0.0
    x = np.fft.irfft(spec, n)
    return x / (x.std() or 1.0)


def background(n, fs, rng, rms_uv):
    t = np.arange(n) / fs
    x = pink(n, rng) * 0.8
    alpha_f = rng.uniform(8.5, 11.5)
    env = 0.5 + 0.5 * np.sin(2 * math.pi * t / rng.uniform(4.0, 12.0) + rng.uniform(0, 6.3))
    x += 0.8 * env * np.sin(2 * math.pi * alpha_f * t + 0.3 * np.cumsum(rng.standard_normal(n)) / fs)
    x /= x.std()
    gain = 1.0 + 0.25 * np.sin(2 * math.pi * t / rng.uniform(900.0, 2400.0) + rng.uniform(0, 6.3))
    return x * rms_uv * gain


def seizure_wave(n, fs, rng, amp_uv):
    """Rhythmic sharp discharges, frequency falling 7 -> 3 Hz, amplitude rising."""
    u = np.linspace(0.0, 1.0, n)
    f0, f1 = rng.uniform(5.5, 8.0), rng.uniform(2.8, 3.8)
    freq = f0 + (f1 - f0) * u
    phase = 2 * math.pi * np.cumsum(freq) / fs + rng.uniform(0, 6.3)
    wave = np.sin(phase) + 0.5 * np.sin(2 * phase + 0.5) + 0.25 * np.sin(3 * phase + 1.0)
    wave /= np.sqrt(0.5 * (1 + 0.25 + 0.0625))
    amp = amp_uv * (0.7 + 0.6 * u)
    ramp = np.minimum(1.0, np.minimum(np.arange(n), np.arange(n)[::-1]) / (2.0 * fs))
    return wave * amp * ramp + 0.15 * amp_uv * rng.standard_normal(n) * ramp


def burst_suppression(n, fs, rng):
    x = rng.normal(0.0, 1.2, n)
    i = int(rng.uniform(2.0, 8.0) * fs)
    while i < n:
        blen = int(rng.uniform(1.0, 3.0) * fs)
        seg = min(blen, n - i)
        w = np.hanning(seg) if seg > 2 else np.ones(seg)
        x[i:i + seg] = band_noise(seg, fs, 1.0, 15.0, rng) * rng.uniform(40.0, 120.0) * w
        i += blen + int(rng.uniform(3.0, 15.0) * fs)
    return x


def _free_slot(busy, lo, hi, dur, rng, gap):
    for _ in range(1000):
        s = rng.uniform(lo, hi - dur)
        if all(s + dur + gap <= a or s >= b + gap for a, b in busy):
            return s
    raise RuntimeError("recording too full")


def recording(seed, hours=2.0, fs=256.0, n_seizures=6, seizure_s=(15.0, 240.0), n_bs=1, bs_s=(300.0, 900.0),
              n_blinks=300, n_muscle=40, n_theta=30, n_pops=10, seizure_gain=(4.0, 10.0)):
    """Returns (x in µV as float64, seizures [(start_s, end_s)], bs stretches [(start_s, end_s)]).

    seizure_gain: range of the discharge amplitude in units of the background
    RMS x 0.6 (about the background's 2.5-9 Hz amplitude).
    """
    rng = np.random.default_rng(seed)
    n = int(round(hours * 3600.0 * fs))
    dur_s = n / fs
    rms = rng.uniform(12.0, 35.0)
    x = background(n, fs, rng, rms)
    busy = []
    seizures, stretches = [], []
    # the first 5 minutes stay clean: the baseline meets the patient
    for _ in range(n_bs):
        d = rng.uniform(*bs_s)
        s = _free_slot(busy, 300.0, dur_s - 60.0, d, rng, 180.0)
        busy.append((s, s + d))
        stretches.append((s, s + d))
    for _ in range(n_seizures):
        d = rng.uniform(*seizure_s) if not isinstance(seizure_s, list) else seizure_s.pop(0)
        s = _free_slot(busy, 300.0, dur_s - 60.0, d, rng, 120.0)
        busy.append((s, s + d))
        seizures.append((s, s + d))
    for s, e in stretches:
        a, b = int(s * fs), int(e * fs)
        x[a:b] = burst_suppression(b - a, fs, rng)
    for s, e in seizures:
        a, b = int(s * fs), int(e * fs)
        x[a:b] += seizure_wave(b - a, fs, rng, rms * rng.uniform(*seizure_gain) * 0.6)

    def clean_spot(d):
        return _free_slot(busy, 0.0, dur_s, d, rng, 5.0)

    for _ in range(n_blinks):
        s = clean_spot(0.6)
        a = int(s * fs)
        m = int(rng.uniform(0.25, 0.6) * fs)
        x[a:a + m] += rng.uniform(80.0, 200.0) * np.hanning(m)
    for _ in range(n_muscle):
        d = rng.uniform(2.0, 8.0)
        s = clean_spot(d)
        a, m = int(s * fs), int(d * fs)
        x[a:a + m] += band_noise(m, fs, 20.0, min(70.0, 0.45 * fs), rng) * rng.uniform(15.0, 40.0) * np.hanning(m)
    for _ in range(n_theta):
        d = rng.uniform(3.0, 6.0)
        s = clean_spot(d)
        a, m = int(s * fs), int(d * fs)
        t = np.arange(m) / fs
        x[a:a + m] += rms * rng.uniform(2.0, 4.0) * np.sin(2 * math.pi * rng.uniform(4.0, 7.0) * t) * np.hanning(m)
    for _ in range(n_pops):
        s = clean_spot(2.0)
        a, m = int(s * fs), int(2.0 * fs)
        x[a:a + m] += rng.choice([-1, 1]) * rng.uniform(100.0, 300.0) * np.exp(-np.arange(m) / (0.2 * fs))
    return x, sorted(seizures), sorted(stretches)
