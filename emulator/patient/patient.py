"""Patient: scheduling, dosing and the backend (C loop or Python twin)."""
import heapq
import math
from array import array

from . import eeg as _eeg
from . import model as _model
from .params import (
    MAX_DRUGS, N_BANDS, PARAM_BANDS, PARAM_DRUG_ARRAYS, PARAM_DRUG_INTS, PARAM_INTS, PARAM_SCALARS,
    check_fields, derive, load_params,
)

try:
    from emulator.patient_c._patient import ffi as _ffi, lib as _lib  # type: ignore
except ImportError:  # installed without a C compiler: the Python twin runs
    _ffi = _lib = None

AVAILABLE_BACKENDS = ("c", "python") if _lib is not None else ("python",)
BACKEND = AVAILABLE_BACKENDS[0]

RATE_UNITS = {  # -> mg/kg/h
    "mg/kg/h": 1.0,
    "mcg/kg/min": 0.06,
    "mg/kg/min": 60.0,
}


class _Record:
    """Attribute bag for the Python twin's parameter record."""


def _fill_c_params(d):
    p = _ffi.new("patient_params *")
    for k in PARAM_SCALARS:
        setattr(p, k, d[k])
    for k in PARAM_INTS:
        setattr(p, k, d[k])
    for k in PARAM_BANDS + PARAM_DRUG_ARRAYS + PARAM_DRUG_INTS:
        arr = getattr(p, k)
        for i, v in enumerate(d[k]):
            arr[i] = v
    return p


def _py_params(d):
    p = _Record()
    for k, v in d.items():
        setattr(p, k, list(v) if isinstance(v, list) else v)
    return p


class Patient:
    """A simulated patient in status epilepticus producing EEG (see package docstring)."""

    def __init__(self, params=None, seed=0, fs=256.0, channels=1, weight_kg=70.0, backend=None):
        if backend is None:
            backend = BACKEND
        if backend not in AVAILABLE_BACKENDS:
            raise ValueError("backend %r not available (have %s)" % (backend, ", ".join(AVAILABLE_BACKENDS)))
        if not (isinstance(channels, int) and 1 <= channels <= 256):
            raise ValueError("channels must be an int in 1..256")
        if not (weight_kg > 0.0 and weight_kg < 500.0):
            raise ValueError("weight_kg must be within (0, 500)")
        self.backend = backend
        self.fs = float(fs)
        self.channels = channels
        self.weight_kg = float(weight_kg)
        self.seed = int(seed) & 0xFFFFFFFF
        self.params = params if isinstance(params, dict) and "drugs" in params and "model" in params else load_params(params)
        d, self.drugs = derive(self.params, self.fs)
        check_fields(d)
        self._derived = d
        self._drug_index = {name: i for i, name in enumerate(self.drugs)}
        self._n = 0  # frames generated so far
        self._queue = []
        self._seq = 0
        self.log = []  # (t_s, what, details): what was done to the patient
        gains = []
        for c in range(channels):
            u = _eeg.seed_stream(self.seed, 1000 + c) / 4294967296.0
            gains.append(1.0 + self.params["eeg"]["channel_gain_spread"] * (2.0 * u - 1.0))
        if backend == "c":
            self._p = _fill_c_params(d)
            self._s = _ffi.new("patient_state *")
            self._ch = _ffi.new("patient_channel[]", channels)
            for c in range(channels):
                self._ch[c].rng = _eeg.seed_stream(self.seed, c + 1)
                self._ch[c].gain = gains[c]
        else:
            self._p = _py_params(d)
            self._s = _model.State()
            self._ch = [_eeg.Channel(_eeg.seed_stream(self.seed, c + 1), gains[c]) for c in range(channels)]
        _model.init_state(self._p, self._s, _eeg.seed_stream(self.seed, 0))

    # ---- time -----------------------------------------------------------
    @property
    def t(self):
        """Current simulated time (s) = frames generated / fs."""
        return self._n / self.fs

    def _frame_at(self, t_s):
        if t_s is None:
            return self._n
        if not (t_s == t_s) or t_s < 0:
            raise ValueError("t_s must be a time >= 0 s")
        n = int(math.ceil(t_s * self.fs - 1e-9))
        if n < self._n:
            raise ValueError("t_s %.3f s is in the past (now %.3f s)" % (t_s, self.t))
        return n

    def _schedule(self, t_s, fn, what, details):
        n = self._frame_at(t_s)
        self._seq += 1
        heapq.heappush(self._queue, (n, self._seq, fn, what, details))

    def _run(self, n_target, out, offset):
        """Generate frames up to n_target, applying due events; returns frames written."""
        written = 0
        while True:
            while self._queue and self._queue[0][0] <= self._n:
                n, _, fn, what, details = heapq.heappop(self._queue)
                fn()
                self.log.append((n / self.fs, what, details))
            if self._n >= n_target:
                return written
            stop = n_target
            if self._queue and self._queue[0][0] < stop:
                stop = self._queue[0][0]
            m = stop - self._n
            if out is None:
                self._skip(m)
            else:
                self._generate(out, offset + written * self.channels, m)
            self._n = stop
            written += m

    def _generate(self, out, offset, m):
        if self.backend == "c":
            buf = _ffi.from_buffer("float[]", out, require_writable=True)
            st = _lib.patient_process(self._p, self._s, self._ch, self.channels, buf + offset, m)
            if st:
                raise RuntimeError("patient_process failed (%d)" % st)
        else:
            _eeg.process(self._p, self._s, self._ch, out, m, offset)

    def _skip(self, m):
        if self.backend == "c":
            _lib.patient_skip(self._p, self._s, m)
        else:
            _model.skip(self._p, self._s, m)

    def advance(self, t_s):
        """Generate EEG up to time t_s (s); returns array('f') of frames x channels, interleaved, in uV."""
        n_target = self._frame_at(t_s)
        out = array("f", bytes(4 * (n_target - self._n) * self.channels))
        self._run(n_target, out, 0)
        return out

    def advance_by(self, dt_s):
        """advance(t + dt_s)."""
        return self.advance(self.t + dt_s)

    def fast_forward(self, t_s):
        """Run the model to t_s without generating EEG (the generator's filters pause)."""
        self._run(self._frame_at(t_s), None, 0)

    # ---- what is done to the patient -------------------------------------
    def onset(self, t_s=None, insult=None, etiology=None):
        """Seizure onset: the precipitant starts and a seizure begins."""
        m = self.params["model"]
        u = m["insult_level"] if insult is None else float(insult)
        e = m["etiology_level"] if etiology is None else float(etiology)

        def act():
            s = self._s
            s.insult = u
            s.etiology = e
            if not s.seizing:
                s.seizing = 1
                s.seizure_age = 0.0
                s.n_seizures += 1

        self._schedule(t_s, act, "onset", {"insult": u, "etiology": e})

    def _drug(self, drug):
        try:
            return self._drug_index[drug], self.params["drugs"][drug]
        except KeyError:
            raise ValueError("unknown drug %r (have %s)" % (drug, ", ".join(self.drugs))) from None

    def give(self, drug, dose_mg_per_kg=None, route="iv", t_s=None, mg=None):
        """A bolus: dose in mg/kg (mg PE/kg for fosphenytoin), or total ``mg`` for this patient's weight."""
        i, g = self._drug(drug)
        if (dose_mg_per_kg is None) == (mg is None):
            raise ValueError("give exactly one of dose_mg_per_kg or mg")
        dose = float(dose_mg_per_kg) if mg is None else float(mg) / self.weight_kg
        if not (dose > 0.0 and dose < 1000.0):
            raise ValueError("dose must be > 0 mg/kg")
        routes = g["routes"]
        if route not in routes:
            raise ValueError("%s cannot be given %s (routes: %s)" % (drug, route, ", ".join(sorted(routes))))
        amount = dose * routes[route]
        to_depot = route != "iv" or g["prodrug"]

        def act():
            if to_depot:
                self._s.depot[i] += amount
            else:
                self._s.central[i] += amount

        self._schedule(t_s, act, "dose", {"drug": drug, "mg_per_kg": dose, "route": route})

    def start_infusion(self, drug, rate, unit="mg/kg/h", t_s=None):
        """Start or change a continuous IV infusion (mg/kg/h, mcg/kg/min or mg/kg/min)."""
        i, _ = self._drug(drug)
        if unit not in RATE_UNITS:
            raise ValueError("unit must be one of %s" % ", ".join(RATE_UNITS))
        mg_kg_h = float(rate) * RATE_UNITS[unit]
        if not (mg_kg_h >= 0.0 and mg_kg_h < 1000.0):
            raise ValueError("rate must be >= 0")
        per_s = mg_kg_h / 3600.0

        def act():
            self._s.infusion[i] = per_s

        self._schedule(t_s, act, "infusion", {"drug": drug, "mg_per_kg_per_h": mg_kg_h})

    set_infusion = start_infusion

    def stop_infusion(self, drug, t_s=None):
        self.start_infusion(drug, 0.0, t_s=t_s)

    # ---- what the patient is ----------------------------------------------
    @property
    def state(self):
        """A snapshot of the mechanistic state (plain dict)."""
        s = self._s
        d = self._derived
        conc = {}
        for name, i in self._drug_index.items():
            if s.central[i] > 0.0 or s.depot[i] > 0.0 or s.effect[i] > 0.0 or s.infusion[i] > 0.0:
                conc[name] = {
                    "plasma_mg_per_l": s.central[i] / d["v1"][i],
                    "effect_mg_per_l": s.effect[i],
                    "infusion_mg_per_kg_per_h": s.infusion[i] * 3600.0,
                }
        return {
            "t_s": self.t,
            "seizing": bool(s.seizing),
            "n_seizures": int(s.n_seizures),
            "seizure_age_s": s.seizure_age,
            "seizure_total_s": s.seizure_total,
            "cl_in": s.cl_in,
            "e_gaba": s.e_gaba,
            "kcc2": s.kcc2,
            "gaba_receptor_fraction": s.gaba_surface,
            "nmda_receptor_fraction": s.nmda_surface,
            "mg_unblock": s.unblock,
            "nmda_drive": s.nmda_drive,
            "k_o": s.k_o,
            "v_rest": s.v_rest,
            "v_active": s.v_act,
            "inflammation": s.inflammation,
            "epileptogenic": s.epi,
            "insult": s.insult,
            "etiology": s.etiology,
            "inhibition": s.inhibition,
            "drive": s.drive,
            "threshold": d["theta_on"],
            "bz_effect": s.bz_effect,
            "gaba_modulation": s.gaba_direct,
            "asm_effect": s.asm_effect,
            "ketamine_occupancy": 1.0 - s.nmda_free,
            "anesthetic_depth": s.depth,
            "bs_fraction": s.bs_fraction,
            "in_burst": bool(s.in_burst),
            "postictal": s.postictal,
            "drugs": conc,
        }

    def snapshot(self):
        """Raw twin-comparable state: {field: value} for every patient_state field."""
        from .params import STATE_DRUG_ARRAYS, STATE_INTS, STATE_SCALARS
        s = self._s
        out = {k: getattr(s, k) for k in STATE_INTS + STATE_SCALARS}
        for k in STATE_DRUG_ARRAYS:
            out[k] = [getattr(s, k)[i] for i in range(MAX_DRUGS)]
        out["rng"] = int(s.rng)
        out["channels"] = [(int(c.rng), c.gain, [c.y1[j] for j in range(N_BANDS)], [c.y2[j] for j in range(N_BANDS)])
                           for c in (self._ch[i] for i in range(self.channels))]
        return out
