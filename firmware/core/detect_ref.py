# Per-channel EEG detector: the pure-Python twin of statim_det_* in
# firmware/core_c/detect.c (same expressions, same order, same integers), used
# on MicroPython and wherever the C core is not built.  The public API is
# firmware/core/detect.py; this module speaks in raw tuples:
#   event = (kind, t_step, at_step, v1, v2)
#   epoch = (ll, rms, amp, fdom, amp_base, ll_base, bsr, bpm, burden, flags)
#
# What it does, per channel, streaming (samples in µV at fs Hz):
# - every step (0.5 s): Rampil suppression and the BSR of the trailing 63 s,
#   bursts/min; burst suppression reached (BSR >= 50 %) / lost (< 40 %);
#   a BSR trend event every 60 s;
# - every epoch (two steps, 1 s): line length, RMS, ictal-band amplitude
#   (2.5-9 Hz), dominant frequency; an epoch is ictal when the band amplitude
#   is >= k_amp x the patient's baseline, the line length >= k_ll x its
#   baseline, the rhythm within [f_min, f_max] (ACNS: > 2.5 Hz) and no
#   suppression touched it; a seizure needs >= 10 s of ictal epochs (gaps up
#   to bridge_s bridged); burden = seizure time in the trailing 60 min;
#   electrographic SE when a seizure lasts >= 10 min, or >= 5 min with a
#   bilateral tonic-clonic seizure flagged (ACNS 2021), or the burden reaches
#   20 % of 60 min.
# - the baselines start at population priors (scalp EEG) and follow the
#   patient's own quiet, clean, non-seizure epochs (rising with time constant
#   base_tau_s, falling with base_fall_tau_s, each update clipped at base_clip
#   x baseline, never below the floors).
import math

from . import kernels as _k

from .detect_params import (  # noqa: F401  (the twin speaks the same codes)
    CLAMP_UV, MAX_EVENTS_PER_STEP, BURDEN_MAX_EPOCHS, EV_SEIZURE_ON, EV_SEIZURE_OFF, EV_SE_ON,
    EV_SE_OFF, EV_BS_ON, EV_BS_OFF, EV_BSR_TREND, SE_CONTINUOUS, SE_BURDEN, SE_CONVULSIVE,
    EPF_ICTAL, EPF_CANDIDATE, EPF_SEIZURE, EPF_SE, EPF_BS, EPF_SUPPRESSED, EPF_BAD, PARAM_NAMES,
    DEFAULTS, params,
)


def _fp(v):
    return v > 0.0 and v < _k._INF


def _fnn(v):
    return v >= 0.0 and v < _k._INF


def permille(pct):
    return int(math.floor(pct * 10.0 + 0.5))


class DetectorRef:
    """The detector state (caller-owned; init in the constructor)."""

    def __init__(self, p):
        self.init(p)

    def init(self, p):
        bad = _k._bad
        fs = p["fs"]
        if not _fp(fs):
            bad("fs", fs)
        if not _fp(p["step_s"]):
            bad("step_s", p["step_s"])
        sp = _k.new_state()
        _k.supp_init(sp, fs, p["supp_uv"], p["supp_min_s"], p["step_s"], p["bsr_window_s"],
                     p["burst_min_s"], p["burst_window_s"])
        if sp.step_len > 32767:
            bad("step_s", p["step_s"])
        self.supp = sp
        c = _k.bandpass_coeffs(fs, p["band_lo_hz"], p["band_hi_hz"])
        checks = (
            ("hyst_frac", _fnn(p["hyst_frac"])), ("hyst_min_uv", _fp(p["hyst_min_uv"])),
            ("amp_prior_uv", _fp(p["amp_prior_uv"])), ("amp_floor_uv", _fp(p["amp_floor_uv"])),
            ("ll_prior_uvps", _fp(p["ll_prior_uvps"])), ("ll_floor_uvps", _fp(p["ll_floor_uvps"])),
            ("base_tau_s", _fp(p["base_tau_s"])), ("base_fall_tau_s", _fp(p["base_fall_tau_s"])), ("base_clip", p["base_clip"] >= 1.0 and p["base_clip"] < _k._INF),
            ("k_amp_on", _fp(p["k_amp_on"])), ("k_amp_off", _fp(p["k_amp_off"])),
            ("k_ll_on", _fnn(p["k_ll_on"])), ("k_ll_off", _fnn(p["k_ll_off"])),
            ("f_min_hz", _fnn(p["f_min_hz"])), ("f_max_hz", p["f_max_hz"] >= p["f_min_hz"]),
            ("bridge_s", _fnn(p["bridge_s"])), ("se_cont_s", _fp(p["se_cont_s"])),
            ("se_convulsive_s", _fp(p["se_convulsive_s"])),
            ("se_burden_pct", p["se_burden_pct"] > 0.0 and p["se_burden_pct"] <= 100.0),
            ("bs_on_pct", _fnn(p["bs_on_pct"])),
            ("bs_off_pct", p["bs_off_pct"] >= 0.0 and p["bs_off_pct"] <= p["bs_on_pct"]),
            ("bs_min_s", _fnn(p["bs_min_s"])), ("trend_s", _fnn(p["trend_s"])),
        )
        for name, ok in checks:
            if not ok:
                bad(name, p[name])

        self.fs = float(fs)
        self.step_len = sp.step_len
        self.epoch_len = 2 * sp.step_len
        step_s = self.step_len / fs
        epoch_s = self.epoch_len / fs
        self.alpha = epoch_s / p["base_tau_s"]
        if self.alpha > 1.0:
            self.alpha = 1.0
        self.alpha_fall = epoch_s / p["base_fall_tau_s"]
        if self.alpha_fall > 1.0:
            self.alpha_fall = 1.0
        self.amp_floor = float(p["amp_floor_uv"])
        self.ll_floor = float(p["ll_floor_uvps"])
        self.amp_clip = float(p["base_clip"])
        self.k_amp_on = float(p["k_amp_on"])
        self.k_amp_off = float(p["k_amp_off"])
        self.k_ll_on = float(p["k_ll_on"])
        self.k_ll_off = float(p["k_ll_off"])
        self.f_min = float(p["f_min_hz"])
        self.f_max = float(p["f_max_hz"])
        self.bs_on = float(p["bs_on_pct"])
        self.bs_off = float(p["bs_off_pct"])
        self.min_epochs = _k.len_ceil(p["seizure_min_s"] / epoch_s, 1, 0x7FFFFFFF)
        self.bridge_epochs = _k.len_round(p["bridge_s"] / epoch_s, 0, 1000)
        self.burden_epochs = _k.len_round(p["burden_window_s"] / epoch_s, 1, BURDEN_MAX_EPOCHS)
        if not self.min_epochs:
            bad("seizure_min_s", p["seizure_min_s"])
        if not self.burden_epochs or self.min_epochs + self.bridge_epochs >= self.burden_epochs:
            bad("burden_window_s", p["burden_window_s"])
        if p["bridge_s"] / epoch_s > 1000.5:
            bad("bridge_s", p["bridge_s"])
        self.burden_thresh = _k.len_ceil(p["se_burden_pct"] / 100.0 * self.burden_epochs, 1, self.burden_epochs)
        self.se_cont_epochs = _k.len_ceil(p["se_cont_s"] / epoch_s, 1, 0x7FFFFFFF)
        self.se_conv_epochs = _k.len_ceil(p["se_convulsive_s"] / epoch_s, 1, 0x7FFFFFFF)
        self.bs_min_steps = _k.len_ceil(p["bs_min_s"] / step_s, 1, 0x7FFFFFFF)
        self.trend_steps = _k.len_round(p["trend_s"] / step_s, 1, 0x7FFFFFFF) if p["trend_s"] > 0.0 else 0
        for name, v in (("se_burden_pct", self.burden_thresh), ("se_cont_s", self.se_cont_epochs),
                        ("se_convulsive_s", self.se_conv_epochs), ("bs_min_s", self.bs_min_steps)):
            if not v:
                bad(name, p[name])
        if p["trend_s"] > 0.0 and not self.trend_steps:
            bad("trend_s", p["trend_s"])
        self.convulsive = 1 if p["convulsive"] else 0

        self.prev = 0.0
        self.ll = 0.0
        self.s1 = 0.0
        self.s2 = 0.0
        self.bp = 0.0
        self.b0, self.b2, self.a1, self.a2 = c
        self.z1 = 0.0
        self.z2 = 0.0
        self.hyst_frac = float(p["hyst_frac"])
        self.hyst_min = float(p["hyst_min_uv"])
        self.lo = -self.hyst_min
        self.hi = self.hyst_min
        self.zc = 0
        self.q = 0
        self.bad = 0
        self.sgn = 0
        self.have_prev = 0

        self.step = 0
        self.epoch = 0
        self.bsr = 0.0
        self.bpm = 0.0
        self.amp_base = p["amp_prior_uv"] if p["amp_prior_uv"] > p["amp_floor_uv"] else p["amp_floor_uv"]
        self.amp_base = float(self.amp_base)
        self.ll_base = p["ll_prior_uvps"] if p["ll_prior_uvps"] > p["ll_floor_uvps"] else p["ll_floor_uvps"]
        self.ll_base = float(self.ll_base)
        self.phase = 0
        self.run_start = 0
        self.last_ictal = 0
        self.se = 0
        self.bs = 0
        self.burden_count = 0
        self.burden_bits = bytearray(BURDEN_MAX_EPOCHS // 8)

    def set_convulsive(self, flag):
        self.convulsive = 1 if flag else 0

    def _mark(self, j, e):
        if e - j >= self.burden_epochs:
            return
        pos = j % self.burden_epochs
        bit = 1 << (pos & 7)
        bits = self.burden_bits
        if not (bits[pos >> 3] & bit):
            bits[pos >> 3] |= bit
            self.burden_count += 1

    def _step(self, cur, curb, events):
        self.bsr, self.bpm = _k.supp_step(self.supp, cur, curb)
        self.step += 1
        at = self.step
        if self.supp.filled >= self.bs_min_steps:
            if not self.bs and self.bsr >= self.bs_on:
                self.bs = 1
                events.append((EV_BS_ON, at, at, permille(self.bsr), 0))
            elif self.bs and self.bsr < self.bs_off:
                self.bs = 0
                events.append((EV_BS_OFF, at, at, permille(self.bsr), 0))
        if self.trend_steps and at % self.trend_steps == 0:
            events.append((EV_BSR_TREND, at, at, permille(self.bsr), int(math.floor(self.bpm * 10.0 + 0.5))))

    def _epoch(self, events, epochs):
        L = self.epoch_len
        e = self.epoch
        at = self.step
        ll = self.ll * self.fs / L
        rms = _k.rms_of(self.s1, self.s2, L)
        amp = math.sqrt(self.bp / L)
        fdom = self.zc * self.fs / (2.0 * L)
        active = self.phase == 2  # hysteresis only once a seizure is established

        self.lo, self.hi = _k.rhythm_levels(self.s1, self.s2, L, self.hyst_frac, self.hyst_min)

        ictal = (self.q == 0
                 and amp >= (self.k_amp_off if active else self.k_amp_on) * self.amp_base
                 and ll >= (self.k_ll_off if active else self.k_ll_on) * self.ll_base
                 and fdom >= self.f_min and fdom <= self.f_max)

        bits = self.burden_bits
        pos = e % self.burden_epochs
        bit = 1 << (pos & 7)
        if bits[pos >> 3] & bit:
            bits[pos >> 3] &= ~bit & 0xFF
            self.burden_count -= 1

        if self.phase == 0:
            if ictal:
                self.phase = 1
                self.run_start = e
                self.last_ictal = e
        elif ictal:
            if self.phase == 2:
                for j in range(self.last_ictal + 1, e + 1):
                    self._mark(j, e)
            self.last_ictal = e
        elif e - self.last_ictal > self.bridge_epochs:
            if self.phase == 2:
                events.append((EV_SEIZURE_OFF, 2 * (self.last_ictal + 1), at,
                               self.last_ictal - self.run_start + 1, 0))
            self.phase = 0
        if self.phase == 1 and ictal and e - self.run_start + 1 >= self.min_epochs:
            self.phase = 2
            events.append((EV_SEIZURE_ON, 2 * self.run_start, at, 0, 0))
            for j in range(self.run_start, e + 1):
                self._mark(j, e)

        cont = self.last_ictal - self.run_start + 1 if self.phase == 2 else 0
        reason = 0
        if self.convulsive and cont >= self.se_conv_epochs:
            reason = SE_CONVULSIVE
        elif cont >= self.se_cont_epochs:
            reason = SE_CONTINUOUS
        elif self.burden_count >= self.burden_thresh:
            reason = SE_BURDEN
        if not self.se and reason:
            self.se = 1
            events.append((EV_SE_ON, at, at, reason, self.burden_count))
        elif self.se and self.phase != 2 and self.burden_count < self.burden_thresh:
            self.se = 0
            events.append((EV_SE_OFF, at, at, 0, self.burden_count))

        # bursts of a burst-suppression pattern are not this patient's background either
        if self.phase == 0 and not ictal and self.q == 0 and self.bad == 0 and not self.bs:
            a = amp
            cap = self.amp_clip * self.amp_base
            if a > cap:
                a = cap
            self.amp_base += (self.alpha_fall if a < self.amp_base else self.alpha) * (a - self.amp_base)
            if self.amp_base < self.amp_floor:
                self.amp_base = self.amp_floor
            a = ll
            cap = self.amp_clip * self.ll_base
            if a > cap:
                a = cap
            self.ll_base += (self.alpha_fall if a < self.ll_base else self.alpha) * (a - self.ll_base)
            if self.ll_base < self.ll_floor:
                self.ll_base = self.ll_floor

        if epochs is not None:
            flags = EPF_ICTAL if ictal else 0
            if self.phase == 1:
                flags |= EPF_CANDIDATE
            if self.phase == 2:
                flags |= EPF_SEIZURE
            if self.se:
                flags |= EPF_SE
            if self.bs:
                flags |= EPF_BS
            if self.q:
                flags |= EPF_SUPPRESSED
            if self.bad:
                flags |= EPF_BAD
            epochs.append((ll, rms, amp, fdom, self.amp_base, self.ll_base, self.bsr, self.bpm,
                           self.burden_count, flags))

        self.epoch = e + 1
        self.ll = 0.0
        self.s1 = 0.0
        self.s2 = 0.0
        self.bp = 0.0
        self.zc = 0
        self.q = 0
        self.bad = 0

    def process(self, src, n, events, epochs=None):
        """Feed src[0:n]; append raw event tuples to events (and epochs)."""
        # The per-sample work of kernels.py (line length, RMS, band power,
        # zero crossings, suppression runs) is fused into one loop here, as in
        # statim_det_process_f64: one pass per sample instead of five calls.
        # tests/test_detect_twins.py holds the fused loop equal to the kernels.
        cl = CLAMP_UV
        sp = self.supp
        thr = sp.thr
        min_len = sp.min_len
        burst_gap = sp.burst_min + min_len - 1
        b0 = self.b0
        b2 = self.b2
        a1 = self.a1
        a2 = self.a2
        i = 0
        while i < n:
            m = sp.step_len - sp.pos
            if m > n - i:
                m = n - i
            if not self.have_prev:
                x0 = src[i]
                if -cl <= x0 <= cl:
                    self.prev = x0
                else:
                    self.prev = cl if x0 > cl else (-cl if x0 < -cl else 0.0)
                self.have_prev = 1
            prev = self.prev
            ll = self.ll
            s1 = self.s1
            s2 = self.s2
            bp = self.bp
            z1 = self.z1
            z2 = self.z2
            zc = self.zc
            sgn = self.sgn
            q = self.q
            bad = self.bad
            lo = self.lo
            hi = self.hi
            run = sp.run
            since = sp.since
            cur = sp.cur
            curb = sp.cur_bursts
            pos = sp.pos
            for k in range(i, i + m):
                x = src[k]
                if not (-cl <= x <= cl):
                    x = cl if x > cl else (-cl if x < -cl else prev)
                    bad += 1
                ll += abs(x - prev)
                prev = x
                s1 += x
                s2 += x * x
                y = b0 * x + z1
                z1 = z2 - a1 * y
                z2 = b2 * x - a2 * y
                bp += y * y
                if x > hi:
                    if sgn < 0:
                        zc += 1
                    sgn = 1
                elif x < lo:
                    if sgn > 0:
                        zc += 1
                    sgn = -1
                if abs(x) <= thr:
                    run += 1
                    if run >= min_len:
                        if run == min_len:
                            if sp.armed and since >= burst_gap:
                                curb += 1
                            sp.armed = 1
                            cur += _k.supp_confirm(sp, pos + k - i)
                        else:
                            cur += 1
                        since = 0
                        q += 1
                    elif since < 0x7FFFFFFF:
                        since += 1
                else:
                    run = 0
                    if since < 0x7FFFFFFF:
                        since += 1
            self.prev = prev
            self.ll = ll
            self.s1 = s1
            self.s2 = s2
            self.bp = bp
            self.z1 = z1
            self.z2 = z2
            self.zc = zc
            self.sgn = sgn
            self.q = q
            self.bad = bad
            sp.run = run
            sp.since = since
            sp.cur = cur
            sp.cur_bursts = curb
            sp.pos = pos + m
            i += m
            if sp.pos == sp.step_len:
                closes_epoch = (self.step & 1) == 1
                self._step(cur, curb, events)
                if closes_epoch:
                    self._epoch(events, epochs)
        return n
