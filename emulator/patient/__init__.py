"""Patient simulator: a mechanistic patient in status epilepticus that produces EEG.

The emulator's patient (host side, CPython).  A seeded, deterministic model
links the seed's mechanisms to the EEG the unit watches, so closed-loop
scenarios show why an early benzodiazepine works and a late one does not.

Public API::

    from emulator.patient import Patient
    pt = Patient(params=None, seed=0, fs=256.0, channels=1, weight_kg=70.0, backend=None)
    pt.onset(t_s=0)                                  # precipitant starts, a seizure begins
    pt.give("lorazepam", 0.1, route="iv", t_s=300)   # bolus, mg/kg (or mg=4.0); fosphenytoin in mg PE/kg
    pt.start_infusion("propofol", 150, unit="mcg/kg/min", t_s=3600)   # also "mg/kg/h", "mg/kg/min"
    pt.stop_infusion("propofol", t_s=90000)
    x = pt.advance(600.0)        # array('f'): EEG up to t = 600 s, frames x channels interleaved, uV
    x = pt.advance_by(10.0)      # the next 10 s
    pt.fast_forward(7200.0)      # model only, no EEG (jump the clock)
    pt.state                     # dict: seizing, cl_in, e_gaba, gaba_receptor_fraction, nmda_drive,
                                 #   ketamine_occupancy, anesthetic_depth, bs_fraction, drugs, ...
    pt.log                       # [(t_s, "dose"|"infusion"|"onset", details)]

Actions take effect at the first sample at or after t_s (t_s=None: now); a
time in the past is refused.  ``params`` overrides params.json, e.g.
``{"insult_level": 1.5}`` or ``{"drugs": {"ketamine": {"ec50_mg_per_l": 0.5}}}``.

Backends: ``"c"`` (emulator/patient_c, cffi) when built, else ``"python"``
(model.py + eeg.py, the twin).  Both produce the same samples from the same
seed; BACKEND names the default.

Mechanisms (model.py; parameters and sources in params.json):
- chloride loading: KCC2 is lost during seizures, [Cl]i rises; E_GABA from the
  firmware's E_GABA kernel (weighted form, r = 0.2, HCO3 15/25 mM: -73 mV at
  [Cl]i 5, -42 mV at 20); GABA-A inhibition scales with (V_thr - E_GABA);
- GABA-A (gamma2, synaptic) receptor internalisation: benzodiazepines lose
  their target; barbiturates/propofol act on every GABA-A receptor;
- NMDA receptor surface up-regulation and Mg2+ unblock (Jahr & Stevens) at the
  active membrane potential (GHK resting potential with K+o, conductance
  balance): late SE is NMDA-driven, and ketamine blocks it;
- inflammation and a slower epileptogenic (BBB/astroglial) state: more drive,
  and P-glycoprotein efflux lowering brain levels of substrate drugs;
- pharmacokinetics: depot, three compartments and an effect site per drug;
- anaesthetic depth -> burst suppression (fraction d^3/(1+d^3)).
EEG (eeg.py): background resonators, evolving spike-and-wave discharges,
post-ictal attenuation, burst suppression; microvolts; any fs >= 32 Hz and
1..256 channels.
"""
from .eeg import bsr
from .params import load_params, param_sources
from .patient import AVAILABLE_BACKENDS, BACKEND, Patient

__all__ = ["Patient", "BACKEND", "AVAILABLE_BACKENDS", "load_params", "param_sources", "bsr"]
