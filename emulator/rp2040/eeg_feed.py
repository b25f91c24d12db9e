"""EEG feeds for the emulated ADS1299 (emulator/rp2040/ads1299.mjs): write its samples file.

The file format (the emulated chip's ``samplesFile``): headerless little-endian float32, one
channel, µV, one value per conversion at the front end's data rate (250 SPS: the firmware runs the
ADS1299 at DR=110).  No header, so ``numpy.fromfile(path, "<f4")`` reads it; the rate is a
convention between this writer and the firmware's settings, which is why every writer here takes
``fs`` and defaults to FS.

Sources:
- a recording: the Bonn segments (``../shared/data/bonn``, 173.61 Hz text; never copied into
  this repository) or any text / EDF file host_tools.eeg reads, resampled to ``fs``;
- the patient simulator (emulator.patient) following a script of steps::

      eeg 20s; onset; eeg 60s; infusion propofol 200 mcg/kg/min; give propofol 2 mg/kg;
      skip 15m; eeg 120s

  ``eeg D`` writes D of EEG; ``skip D`` runs the model for D without writing EEG (so a feed can
  show the hours a drug takes in minutes of emulated time: the file is continuous, the patient's
  clock jumps); ``onset``; ``give DRUG DOSE mg/kg|mg [ROUTE]``; ``infusion DRUG RATE UNIT``;
  ``stop DRUG``.

Command line::

    python -m emulator.rp2040.eeg_feed patient --preset se-then-bs -o feed.f32
    python -m emulator.rp2040.eeg_feed patient --script "eeg 5m; onset; eeg 15m" --seed 3 -o se.f32
    python -m emulator.rp2040.eeg_feed bonn Z001 S001 -o bonn.f32
    python -m emulator.rp2040.eeg_feed file rec.edf -o rec.f32      (text needs --in-fs)
"""
import argparse
import os
import struct
import sys
from array import array

FS = 250.0  # the ADS1299's rate as the Pico firmware sets it (firmware/boards/rp2_pico/ads1299.py)
BONN_FS = 173.61
BONN_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))), "shared", "data", "bonn")

# Presets: (description, script, patient params overrides, seed)
PRESETS = {
    "se-then-bs": (
        "20 s baseline, convulsive SE (a loud patient: 300 µV discharges, so the detector's population "
        "prior suffices without minutes of baseline), then propofol: burst suppression 15 min later. "
        "The board test's feed: seizure_on about 36 s in, bs_on about 141 s in (200 s in all).",
        "eeg 20s; onset; eeg 60s; infusion propofol 200 mcg/kg/min; give propofol 2 mg/kg; skip 15m; eeg 120s",
        {"eeg": {"sz_amp_uV": 300.0}}, 1),
    "se-untreated": (
        "5 min baseline (the detector learns this patient), then untreated convulsive SE for 15 min.",
        "eeg 5m; onset; eeg 15m", None, 1),
    "propofol-bs": (
        "5 min baseline, SE for 10 min, then propofol 150 mcg/kg/min: 3 h later, 10 min of burst suppression.",
        "eeg 5m; onset; eeg 10m; infusion propofol 150 mcg/kg/min; give propofol 2 mg/kg; skip 3h; eeg 10m",
        None, 1),
}


# ---------------------------------------------------------------- the file
def write_samples(path, samples):
    """Write µV samples as little-endian float32; returns the count."""
    a = array("f", samples)
    if sys.byteorder != "little":
        a.byteswap()
    with open(path, "wb") as f:
        a.tofile(f)
    return len(a)


def read_samples(path):
    """The samples of a feed file as array('f') (µV)."""
    size = os.path.getsize(path)
    if size % 4:
        raise ValueError("%s: %d bytes is not a whole number of float32 samples" % (path, size))
    a = array("f")
    with open(path, "rb") as f:
        a.fromfile(f, size // 4)
    if sys.byteorder != "little":
        a.byteswap()
    return a


def to_codes(samples, gain=24, vref=4.5):
    """What the emulated chip sends for these samples: 24-bit codes (the writer's round trip)."""
    k = gain * 8388608.0 / vref / 1e6
    out = []
    for x in samples:
        c = int(round(x * k))
        out.append(max(-0x800000, min(0x7FFFFF, c)))
    return out


# ---------------------------------------------------------------- recordings
def resample(x, fs_in, fs_out):
    """Linear interpolation onto the fs_out grid (the Bonn data are band-limited to 40 Hz, far
    below both rates, so interpolation error is small next to the 12-bit quantisation)."""
    import numpy as np

    x = np.asarray(x, dtype=float)
    if fs_in == fs_out or len(x) == 0:
        return array("f", x)
    n_out = int(np.floor((len(x) - 1) * fs_out / fs_in)) + 1
    t = np.arange(n_out) / fs_out
    return array("f", np.interp(t, np.arange(len(x)) / fs_in, x).astype(np.float32).tobytes())


def bonn_feed(names, data_dir=BONN_DIR, fs=FS):
    """Bonn segments (e.g. 'Z001', 'S001' or file paths) one after another, resampled to fs."""
    from host_tools.eeg import read_text

    out = array("f")
    for name in names:
        path = name if os.path.exists(name) else os.path.join(data_dir, name[:1].upper(), name.upper() + ".txt")
        if not os.path.exists(path):
            raise FileNotFoundError("Bonn segment %s not found (looked for %s)" % (name, path))
        out.extend(resample(read_text(path), BONN_FS, fs))
    return out


def file_feed(path, fs=FS, in_fs=None, channel=0):
    """A text (one sample per line, give in_fs) or EDF/BDF recording, resampled to fs."""
    from host_tools.eeg import is_edf, read_edf, read_text

    if is_edf(path):
        _label, f0, x = read_edf(path)[channel]
        return resample(x, f0, fs)
    if in_fs is None:
        raise ValueError("%s is plain text: give its sampling rate (in_fs)" % path)
    return resample(read_text(path), float(in_fs), fs)


# ---------------------------------------------------------------- the patient simulator
def _seconds(text):
    from emulator.scenario import parse_duration

    return parse_duration(text) / 1000.0


def parse_script(script):
    """'eeg 20s; onset; ...' -> [(verb, args...)] (checked, nothing run)."""
    steps = []
    for raw in script.replace("\n", ";").split(";"):
        words = raw.split()
        if not words:
            continue
        verb, args = words[0].lower(), words[1:]
        if verb in ("eeg", "skip") and len(args) == 1:
            steps.append((verb, _seconds(args[0])))
        elif verb == "onset" and not args:
            steps.append(("onset",))
        elif verb == "give" and len(args) in (3, 4) and args[2] in ("mg/kg", "mg"):
            steps.append(("give", args[0], float(args[1]), args[2], args[3] if len(args) == 4 else "iv"))
        elif verb == "infusion" and len(args) == 3:
            steps.append(("infusion", args[0], float(args[1]), args[2]))
        elif verb == "stop" and len(args) == 1:
            steps.append(("stop", args[0]))
        else:
            raise ValueError("feed script: cannot read step %r" % raw.strip())
    return steps


def patient_feed(script, fs=FS, seed=1, weight_kg=70.0, params=None, backend=None):
    """Run the patient simulator through a script; returns (samples array('f'), marks).

    marks: [(feed_s, patient_s, step text)]: where in the file each step happened."""
    from emulator.patient import Patient

    pt = Patient(params=params, seed=seed, fs=fs, weight_kg=weight_kg, backend=backend)
    out = array("f")
    marks = []
    for step in parse_script(script):
        verb = step[0]
        marks.append((len(out) / fs, pt.t, " ".join(str(s) for s in step)))
        if verb == "eeg":
            out.extend(pt.advance_by(step[1]))
        elif verb == "skip":
            pt.fast_forward(pt.t + step[1])
        elif verb == "onset":
            pt.onset()
        elif verb == "give":
            _, drug, dose, unit, route = step
            if unit == "mg":
                pt.give(drug, mg=dose, route=route)
            else:
                pt.give(drug, dose, route=route)
        elif verb == "infusion":
            pt.start_infusion(step[1], step[2], unit=step[3])
        elif verb == "stop":
            pt.stop_infusion(step[1])
    return out, marks


def preset_feed(name, fs=FS, backend=None):
    _desc, script, params, seed = PRESETS[name]
    return patient_feed(script, fs=fs, seed=seed, weight_kg=40.0, params=params, backend=backend)


def _set_param(d, dotted, value):
    keys = dotted.split(".")
    for k in keys[:-1]:
        d = d.setdefault(k, {})
    d[keys[-1]] = float(value)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m emulator.rp2040.eeg_feed", description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--out", required=True, help="samples file to write (float32 LE µV)")
    ap.add_argument("--fs", type=float, default=FS, help="front-end data rate (default %(default)s SPS)")
    sub = ap.add_subparsers(dest="source", required=True)
    p = sub.add_parser("patient", help="the patient simulator following a script or a preset")
    p.add_argument("--preset", choices=sorted(PRESETS))
    p.add_argument("--script")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--weight-kg", type=float, default=40.0)
    p.add_argument("--param", action="append", default=[], metavar="SECTION.NAME=VALUE",
                   help="override a patient parameter, e.g. eeg.sz_amp_uV=300")
    b = sub.add_parser("bonn", help="Bonn segments in order (Z001 S001 ...)")
    b.add_argument("names", nargs="+")
    b.add_argument("--data-dir", default=BONN_DIR)
    f = sub.add_parser("file", help="a text or EDF recording")
    f.add_argument("path")
    f.add_argument("--in-fs", type=float)
    f.add_argument("--channel", type=int, default=0)
    a = ap.parse_args(argv)
    marks = []
    if a.source == "patient":
        if (a.preset is None) == (a.script is None):
            ap.error("give exactly one of --preset or --script")
        if a.preset:
            _desc, script, params, seed = PRESETS[a.preset]
        else:
            script, params, seed = a.script, None, 1
        params = dict(params or {})
        for kv in a.param:
            k, _, v = kv.partition("=")
            _set_param(params, k, v)
        x, marks = patient_feed(script, fs=a.fs, seed=seed if a.seed is None else a.seed, weight_kg=a.weight_kg,
                                params=params or None)
    elif a.source == "bonn":
        x = bonn_feed(a.names, a.data_dir, a.fs)
    else:
        x = file_feed(a.path, a.fs, a.in_fs, a.channel)
    n = write_samples(a.out, x)
    print("%s: %d samples, %.1f s at %g SPS" % (a.out, n, n / a.fs, a.fs))
    for feed_s, pt_s, what in marks:
        print("  feed %7.1f s  patient %8.1f s  %s" % (feed_s, pt_s, what))
    return 0


if __name__ == "__main__":
    sys.exit(main())
