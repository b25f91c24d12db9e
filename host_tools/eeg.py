"""EEG files in, detector summaries out (host side, CPython).

Readers: one sample per line text (µV; '#' comments and blank lines skipped)
and EDF/EDF+/BDF through pyedflib (physical values, converted to µV from the
channel's physical dimension).  ``analyze`` runs one Detector per channel and
turns its events into intervals and series.
"""
import os
from array import array

from firmware.core import detect

_UNIT_TO_UV = {"uv": 1.0, "µv": 1.0, "μv": 1.0, "mv": 1000.0, "v": 1e6, "nv": 1e-3}


def read_text(path):
    """One number per line -> array('d')."""
    out = array("d")
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            s = line.split("#", 1)[0].strip()
            if not s:
                continue
            try:
                out.append(float(s.split()[0]))
            except ValueError:
                raise ValueError("%s:%d: not a number: %r" % (path, lineno, s)) from None
    return out


def read_edf(path, channels=None):
    """EDF(+)/BDF(+) -> [(label, fs, samples in µV as float64 numpy array)]."""
    try:
        import pyedflib
    except ImportError as exc:  # pragma: no cover - declared dependency
        raise RuntimeError("reading EDF needs pyedflib (pip install pyedflib)") from exc
    out = []
    with pyedflib.EdfReader(path) as r:
        labels = r.getSignalLabels()
        for i, label in enumerate(labels):
            if channels is not None and label not in channels and i not in channels:
                continue
            fs = r.getSampleFrequency(i)
            x = r.readSignal(i)
            scale = _UNIT_TO_UV.get(r.getPhysicalDimension(i).strip().lower(), 1.0)
            if scale != 1.0:
                x = x * scale
            out.append((label, float(fs), x))
    return out


def is_edf(path):
    if os.path.splitext(path)[1].lower() in (".edf", ".bdf", ".rec"):
        return True
    with open(path, "rb") as f:
        head = f.read(8)
    return head[:1] in (b"0", b"\xff") and head[1:8].strip(b" \x00") in (b"", b"BIOSEMI")


def intervals(events, on, off, end_ms):
    """[(start_s, end_s)] from paired on/off events; an open one ends at end_ms."""
    out, start = [], None
    for e in events:
        if e["state"] == on and start is None:
            start = e["t_ms"]
        elif e["state"] == off and start is not None:
            out.append((start / 1000.0, e["t_ms"] / 1000.0))
            start = None
    if start is not None:
        out.append((start / 1000.0, end_ms / 1000.0))
    return out


def analyze(samples, fs, channel=0, backend=None, series_every_s=10.0, **overrides):
    """Run one channel through the detector; returns a JSON-ready summary."""
    det = detect.Detector(fs, channel=channel, backend=backend, keep_epochs=True, **overrides)
    events = det.process(samples)
    end_ms = int(len(samples) * 1000.0 / fs)
    epoch_s = det.raw.epoch_len / det.fs
    every = max(1, int(round(series_every_s / epoch_s)))
    bsr_series, burden_series = [], []
    burden_max = 0.0
    for i, ep in enumerate(det.epochs):
        burden = 100.0 * ep[8] / det.raw.burden_epochs
        burden_max = max(burden_max, burden)
        if (i + 1) % every == 0:
            t = round((i + 1) * epoch_s, 3)
            bsr_series.append([t, round(ep[6], 2)])
            burden_series.append([t, round(burden, 2)])
    seizures = intervals(events, "seizure_on", "seizure_off", end_ms)
    return {
        "channel": channel,
        "fs": fs,
        "duration_s": len(samples) / fs,
        "backend": det.backend,
        "seizure": bool(seizures),
        "events": [[round(a, 3), round(b, 3)] for a, b in seizures],
        "se": any(e["state"] == "se_on" for e in events),
        "burst_suppression": [[round(a, 3), round(b, 3)] for a, b in intervals(events, "bs_on", "bs_off", end_ms)],
        "bsr_percent": {"final": round(det.bsr_percent, 2), "series": bsr_series},
        "bursts_per_min": round(det.bursts_per_min, 2),
        "burden_percent": {"final": round(det.burden_percent, 2), "max": round(burden_max, 2),
                           "series": burden_series},
        "event_log": events,
    }
