"""EEG generator: the pure-Python twin of patient_process() in patient_c/patient.c.

Per frame: every ``step_samples`` frames the model steps (model.model_step);
then the global generator advances (discharge envelope, background gain,
burst/suppression Markov state, spike-and-wave phase) and each channel draws
one Gaussian sample that drives its background resonators.

- Background: four AR(2) resonators (delta, theta, alpha, beta) driven by one
  white stream per channel, scaled to ``bg_amp`` uV rms, attenuated after a
  seizure (post-ictal suppression) and by anaesthetic depth.
- Seizure: a spike-and-wave phase oscillator whose frequency evolves from
  ``sz_f0`` to ``sz_f_late`` within a seizure, amplitude building up over a few
  seconds and falling in prolonged SE; cycle-to-cycle jitter from the seed.
- Burst suppression: a two-state Markov chain (mean burst ``burst_mean_s``,
  mean suppression chosen so the suppressed fraction equals the model's
  ``bs_fraction``); in suppression the signal is ``supp_level`` of the
  background plus the amplifier noise floor (well within +/-5 uV).

The PRNG is xorshift32 (Marsaglia 2003, shifts 13/17/5); a Gaussian is the sum
of four uniforms (Irwin-Hall, bounded at +/-3.46 sd), so no libm call is
needed per sample and C and Python produce bit-identical float32 samples.
"""
from . import model as _model
from .params import N_BANDS

MASK32 = 0xFFFFFFFF
_U24 = 1.0 / 16777216.0
SQRT3 = 1.7320508075688772


def xorshift32(x):
    x ^= (x << 13) & MASK32
    x ^= x >> 17
    x ^= (x << 5) & MASK32
    return x


def seed_stream(seed, stream):
    """Non-zero 32-bit PRNG state for (seed, stream): splitmix32-style hash (patient.h docs)."""
    z = (seed * 0x9E3779B9 + (stream + 1) * 0x85EBCA6B) & MASK32
    z = ((z ^ (z >> 16)) * 0x7FEB352D) & MASK32
    z = ((z ^ (z >> 15)) * 0x846CA68B) & MASK32
    z ^= z >> 16
    return z or 0x6D2B79F5


class Channel:
    """Python twin of patient_channel."""

    __slots__ = ("rng", "gain", "y1", "y2")

    def __init__(self, rng=1, gain=1.0):
        self.rng = rng
        self.gain = gain
        self.y1 = [0.0] * N_BANDS
        self.y2 = [0.0] * N_BANDS


def process(p, s, chans, out, nframes, offset=0):
    """Write nframes * len(chans) interleaved float samples (uV) into out[offset:]."""
    nch = len(chans)
    a1 = p.band_a1
    a2 = p.band_a2
    bb = p.band_b
    a10, a11, a12, a13 = a1[0], a1[1], a1[2], a1[3]
    a20, a21, a22, a23 = a2[0], a2[1], a2[2], a2[3]
    b0, b1, b2, b3 = bb[0], bb[1], bb[2], bb[3]
    noise = p.noise_floor
    step_samples = p.step_samples
    model_step = _model.model_step
    k = offset
    for _ in range(nframes):
        if s.countdown == 0:
            model_step(p, s)
            s.countdown = step_samples
        s.countdown -= 1

        s.sz_env = s.sz_env + p.env_alpha * (s.sz_target - s.sz_env)
        s.bg_gain = s.bg_gain + p.bg_alpha * (s.bg_target - s.bg_gain)
        if s.p_burst_end > 0.0:
            x = xorshift32(s.rng)
            s.rng = x
            u = (x >> 8) * _U24
            if s.in_burst:
                if u < s.p_burst_end:
                    s.in_burst = 0
            elif u < s.p_supp_end:
                s.in_burst = 1
            target = p.burst_gain if s.in_burst else p.supp_level
        else:
            s.in_burst = 1
            target = 1.0
        s.bs_gain = s.bs_gain + p.bs_alpha * (target - s.bs_gain)

        wave = 0.0
        if s.sz_env > p.env_floor:
            ph = s.phase + s.sz_freq * s.cycle_jit * p.inv_fs
            if ph >= 1.0:
                ph = ph - 1.0
                x = xorshift32(s.rng)
                u1 = (x >> 8) * _U24
                x = xorshift32(x)
                u2 = (x >> 8) * _U24
                s.rng = x
                s.cycle_amp = 1.0 + p.amp_jitter * (2.0 * u1 - 1.0)
                s.cycle_jit = 1.0 + p.freq_jitter * (2.0 * u2 - 1.0)
            s.phase = ph
            d = ph - p.spike_center
            if d < 0.0:
                d = -d
            spike = 0.0
            if d < p.spike_width:
                q = 1.0 - d / p.spike_width
                spike = q * q
            slow = 0.0
            if ph > p.slow_start:
                v = (ph - p.slow_start) * p.slow_scale
                slow = 4.0 * v * (1.0 - v)
            wave = s.sz_env * s.cycle_amp * (p.slow_ratio * slow - spike - p.wave_mean)

        g = s.bs_gain
        bgg = s.bg_gain
        for c in chans:
            x = xorshift32(c.rng)
            e = (x >> 8) * _U24
            x = xorshift32(x)
            e = e + (x >> 8) * _U24
            x = xorshift32(x)
            e = e + (x >> 8) * _U24
            x = xorshift32(x)
            e = e + (x >> 8) * _U24
            c.rng = x
            e = (e - 2.0) * SQRT3
            y1 = c.y1
            y2 = c.y2
            v0 = a10 * y1[0] + a20 * y2[0] + b0 * e
            v1 = a11 * y1[1] + a21 * y2[1] + b1 * e
            v2 = a12 * y1[2] + a22 * y2[2] + b2 * e
            v3 = a13 * y1[3] + a23 * y2[3] + b3 * e
            y2[0] = y1[0]
            y2[1] = y1[1]
            y2[2] = y1[2]
            y2[3] = y1[3]
            y1[0] = v0
            y1[1] = v1
            y1[2] = v2
            y1[3] = v3
            bg = v0 + v1 + v2 + v3
            out[k] = c.gain * (g * (bgg * bg + wave)) + noise * e
            k += 1
    return k - offset


def bsr(samples, fs, window_s=63.0, threshold_uv=5.0, min_s=0.5):
    """Burst-suppression ratio of the last ``window_s`` of one channel (0..1).

    Fraction of the window spent in runs where |x| <= threshold_uv lasting at
    least min_s (clinical.md section 7: +/-5 uV for > 0.5 s over 63 s).  A
    simple reference for tests and reports; the unit's own BSR lives in
    firmware/core (detection).
    """
    n = int(round(window_s * fs))
    x = samples[-n:] if n <= len(samples) else samples
    need = int(round(min_s * fs))
    run = 0
    total = 0
    for v in x:
        if -threshold_uv <= v <= threshold_uv:
            run += 1
        else:
            if run >= need:
                total += run
            run = 0
    if run >= need:
        total += run
    return total / float(len(x)) if len(x) else 0.0
