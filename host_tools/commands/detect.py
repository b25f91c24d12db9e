"""statim detect FILE... --fs HZ [--json]: seizure, burden and BSR of EEG files.

Text files hold one sample (µV) per line and need --fs; EDF/BDF files carry
their own rates (--fs, if given, must match) and every signal is a channel.
A file's ``seizure`` is true when any channel has one; its ``events`` are the
union of the channels' seizure intervals; BSR and burden are the channel
maxima of the final values, with the per-channel detail under ``channels``.
"""
import json
import sys


def _merge(intervals):
    out = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return out


def analyze_file(path, fs=None, overrides=None, backend=None):
    from host_tools import eeg

    overrides = overrides or {}
    if eeg.is_edf(path):
        signals = eeg.read_edf(path)
        if fs is not None:
            for label, sfs, _ in signals:
                if abs(sfs - fs) > 1e-6 * fs:
                    raise ValueError("%s: channel %s is sampled at %g Hz, not --fs %g" % (path, label, sfs, fs))
    else:
        if fs is None:
            raise ValueError("%s: a text file needs --fs" % path)
        signals = [("ch0", fs, eeg.read_text(path))]
    if not signals:
        raise ValueError("%s: no signals" % path)
    channels = []
    for i, (label, sfs, x) in enumerate(signals):
        r = eeg.analyze(x, sfs, channel=i, backend=backend, **overrides)
        r["label"] = label
        channels.append(r)
    first = channels[0]
    return {
        "file": path,
        "fs": first["fs"],
        "duration_s": round(first["duration_s"], 3),
        "seizure": any(c["seizure"] for c in channels),
        "events": _merge([e for c in channels for e in c["events"]]),
        "se": any(c["se"] for c in channels),
        "bsr_percent": {
            "final": max(c["bsr_percent"]["final"] for c in channels),
            "series": first["bsr_percent"]["series"] if len(channels) == 1 else
            [[t, max(c["bsr_percent"]["series"][k][1] for c in channels)]
             for k, (t, _) in enumerate(first["bsr_percent"]["series"])],
        },
        "burden_percent": {
            "final": max(c["burden_percent"]["final"] for c in channels),
            "max": max(c["burden_percent"]["max"] for c in channels),
        },
        "burst_suppression": _merge([e for c in channels for e in c["burst_suppression"]]),
        "channels": [{k: c[k] for k in ("label", "channel", "seizure", "events", "se", "burst_suppression",
                                        "bursts_per_min", "burden_percent", "event_log")}
                     for c in channels],
        "backend": first["backend"],
    }


def _param(text):
    from host_tools.cliutil import UsageError

    name, _, value = text.partition("=")
    if not _:
        raise UsageError("--set wants NAME=VALUE, got %r" % text)
    try:
        return name.strip(), float(value)
    except ValueError:
        raise UsageError("--set %s: %r is not a number" % (name.strip(), value))


def run(args):
    overrides = dict(_param(s) for s in (args.set or []))
    results, status = [], 0
    for path in args.files:
        try:
            results.append(analyze_file(path, args.fs, overrides))
        except (OSError, ValueError) as exc:
            sys.stderr.write("statim detect: %s\n" % exc)
            status = 1
    if args.json:
        print(json.dumps(results, indent=None if args.compact else 2))
        return status
    for r in results:
        print("%s: %s, %.1f s at %g Hz" % (r["file"], "SEIZURE" if r["seizure"] else "no seizure",
                                           r["duration_s"], r["fs"]))
        for a, b in r["events"]:
            print("  seizure %9.1f - %9.1f s  (%.1f s)" % (a, b, b - a))
        for a, b in r["burst_suppression"]:
            print("  burst suppression %9.1f - %9.1f s" % (a, b))
        print("  BSR %.1f %%  burden %.1f %% (max %.1f %%)%s" % (
            r["bsr_percent"]["final"], r["burden_percent"]["final"], r["burden_percent"]["max"],
            "  ELECTROGRAPHIC SE" if r["se"] else ""))
    return status


def register(sub):
    p = sub.add_parser("detect", help="seizures, burden and burst suppression of EEG files (text or EDF)")
    p.add_argument("files", nargs="+", metavar="FILE", help="one sample per line (µV), or EDF/BDF")
    p.add_argument("--fs", type=float, help="sampling rate in Hz (required for text files)")
    p.add_argument("--json", action="store_true", help="print a JSON array, one object per file")
    p.add_argument("--compact", action="store_true", help="with --json: no indentation")
    p.add_argument("--set", action="append", metavar="NAME=VALUE",
                   help="override a detector parameter (see firmware/core/detect_ref.py DEFAULTS)")
    p.set_defaults(func=run)
