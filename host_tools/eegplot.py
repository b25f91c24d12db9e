"""The EEG over hours as a picture: BSR and seizure burden, seizure runs, SE onset, doses.

    trace = load(path, fs=None)       # a unit's log export, `statim detect --json`, or an EEG file
    fig = figure(trace); fig.savefig("eeg.png")

Sources, each read into one Trace (times in seconds from its origin):

- the unit's event log, `statim log export` as JSON (statim-log/1) or CSV: the EEG states the
  unit logged (seizure, no_seizure, burst_suppression, ...), its doses and infusions, the time
  since the first onset.  The unit logs state changes only, not the BSR figures (those stay in
  its 60-minute status trend), so from a log the BSR panel shows the burst-suppression runs,
  and the burden is worked out from the logged seizure runs over the detector's own window.
- `statim detect --json` output, or an EEG recording (EDF/BDF, or text with --fs) run through
  the detector here: its BSR and burden series, seizure and burst-suppression runs, and its
  electrographic SE onsets; time from the recording's start.

Electrographic SE (ACNS 2021, the detector's rule, firmware/core/detect_ref.py): a seizure
lasting se_cont_s (10 min) without a break, or seizures adding up to se_burden_pct (20 %) of the
burden window (60 min).  From a log the onset is worked out by that rule from the seizure runs.
"""
import csv
import io
import json
import os

from firmware.core import detect_ref as _ref

BURDEN_WINDOW_S = _ref.DEFAULTS["burden_window_s"]
SE_CONT_S = _ref.DEFAULTS["se_cont_s"]
SE_BURDEN_PCT = _ref.DEFAULTS["se_burden_pct"]
GRID_S = 60.0  # a burden worked out from a log: one point a minute (the detector's trend period)
BS_STATES = ("burst_suppression", "suppression")


class SourceError(ValueError):
    """The file is none of the sources this reads (or is damaged)."""


class Trace:
    def __init__(self, source, origin):
        self.source = source  # "log" or "detect"
        self.origin = origin  # what time 0 is: "onset", "first event", "recording start"
        self.end_s = 0.0
        self.bsr = []  # [(t_s, percent)]
        self.burden = []  # [(t_s, percent)]
        self.seizures = []  # [(start_s, end_s)]
        self.bs = []  # [(start_s, end_s)] burst suppression
        self.se_on = []  # [t_s] electrographic SE onsets
        self.doses = []  # [(t_s, label)]
        self.name = ""


# --- reading -----------------------------------------------------------------------------------
def load(path, fs=None):
    """A Trace from a log export (JSON/CSV), `statim detect --json` output, or an EEG recording."""
    from host_tools import eeg

    if eeg.is_edf(path):
        return _from_detect(_detect(path, fs), path)
    with open(path, "rb") as f:
        head = f.read(1 << 16)
    text = head.decode("utf-8", "replace").lstrip("\ufeff").lstrip()
    if text.startswith(("{", "[")):
        with open(path, encoding="utf-8") as f:
            try:
                doc = json.load(f)
            except ValueError as e:
                raise SourceError("%s: not valid JSON (%s)" % (path, e))
        if isinstance(doc, dict) and doc.get("format") == "statim-log/1":
            return _from_log([e for e in doc.get("events", []) if isinstance(e, dict)], path)
        if isinstance(doc, list) and doc and isinstance(doc[0], dict) and "bsr_percent" in doc[0]:
            return _from_detect(doc[0], path)
        if isinstance(doc, dict) and "bsr_percent" in doc:
            return _from_detect(doc, path)
        raise SourceError("%s: JSON, but neither a log export (statim-log/1) nor statim detect --json output" % path)
    if text.startswith("seq,utc,"):
        with open(path, encoding="utf-8", newline="") as f:
            return _from_log(_csv_events(f.read()), path)
    if fs is None:
        raise SourceError("%s: not a log export (JSON or CSV) nor detect output; an EEG text file needs --fs" % path)
    return _from_detect(_detect(path, fs), path)


def _detect(path, fs):
    from host_tools.commands import detect

    return detect.analyze_file(path, fs)


def _csv_events(text):
    """The events of a `statim log export --format csv` file, with the fields the plot uses."""
    out = []
    for row in csv.DictReader(io.StringIO(text)):
        try:
            ev = {"type": row["type"].lstrip("'"), "t": int(row["t"]),
                  "entered_in_error": row.get("entered_in_error") == "1"}
        except (KeyError, ValueError, AttributeError):
            raise SourceError("a CSV row without a type or a whole-second t: %r" % (row,))
        if ev["type"] == "eeg":
            ev["state"] = row.get("value", "")
        elif ev["type"] in ("dose", "infusion"):
            ev["drug"] = row.get("drug", "")
            ev["amount"] = row.get("amount", "")
            ev["rate"] = row.get("rate", "")
            try:
                detail = json.loads(row.get("detail") or "{}")
            except ValueError:
                detail = {}
            ev["action"] = row.get("value") or detail.get("action", "")
        out.append(ev)
    return out


def _dose_label(ev):
    from host_tools import export

    drug = ev.get("drug") or "?"
    if ev["type"] == "dose":
        amount = ev.get("amount") if "amount" in ev else export._amount(ev)
        return ("%s %s" % (drug, amount)).strip()
    rate = ev.get("rate") if "rate" in ev else export._rate(ev)
    return ("%s %s %s" % (drug, ev.get("action", ""), rate)).strip()


def _runs(changes, inside, end):
    """[(start, end)] of the stretches where the state is in `inside`, from [(t, state)] changes."""
    out, start = [], None
    for t, state in changes:
        if state in inside and start is None:
            start = t
        elif state not in inside and start is not None:
            if t > start:
                out.append((start, t))
            start = None
    if start is not None and end > start:
        out.append((start, end))
    return out


def burden_at(seizures, t, window=BURDEN_WINDOW_S):
    """Percent of the window before t spent in seizure."""
    lo = t - window
    inside = sum(max(0.0, min(b, t) - max(a, lo)) for a, b in seizures)
    return 100.0 * inside / window


def se_onset(seizures, window=BURDEN_WINDOW_S, cont_s=SE_CONT_S, burden_pct=SE_BURDEN_PCT):
    """When the seizure runs first meet the SE rule (one run lasting cont_s, or burden_pct of the
    window in seizure), to the second, or None.  The burden rises only during a run, and a run
    meets the continuous rule cont_s after it starts, so each run is searched over at most cont_s."""
    for a, b in seizures:
        t = a
        while t <= b:
            if t - a >= cont_s or burden_at(seizures, t, window) >= burden_pct - 1e-9:
                return t
            t += 1.0
    return None


def _from_log(events, path):
    events = [e for e in events if not e.get("entered_in_error")]
    if not events:
        raise SourceError("%s: a log export with no events" % path)
    t0 = None
    for e in events:
        if e.get("type") == "onset":
            t0 = e["t"]
            break
    tr = Trace("log", "onset" if t0 is not None else "first event")
    if t0 is None:
        t0 = events[0]["t"]
    tr.name = os.path.basename(path)
    changes = [(e["t"] - t0, e.get("state")) for e in events if e.get("type") == "eeg"]
    tr.end_s = float(max(e["t"] for e in events) - t0)
    tr.seizures = _runs(changes, ("seizure",), tr.end_s)
    tr.bs = _runs(changes, BS_STATES, tr.end_s)
    tr.doses = [(e["t"] - t0, _dose_label(e)) for e in events if e.get("type") in ("dose", "infusion")]
    start = min([0.0] + [t for t, _ in changes])
    t = start
    while t <= tr.end_s:
        tr.burden.append((t, burden_at(tr.seizures, t)))
        t += GRID_S
    se = se_onset(tr.seizures)
    tr.se_on = [se] if se is not None else []
    return tr


def _from_detect(r, path):
    tr = Trace("detect", "recording start")
    tr.name = os.path.basename(path)
    try:
        tr.end_s = float(r["duration_s"])
        tr.bsr = [(float(t), float(v)) for t, v in r["bsr_percent"]["series"]]
        chans = r.get("channels") or []
        series = [c["burden_percent"]["series"] for c in chans
                  if isinstance(c.get("burden_percent"), dict) and "series" in c["burden_percent"]]
        if series:  # the channels' maximum, as detect reports BSR and burden
            tr.burden = [(float(series[0][k][0]), max(float(s[k][1]) for s in series)) for k in range(len(series[0]))]
        elif "series" in r.get("burden_percent", {}):
            tr.burden = [(float(t), float(v)) for t, v in r["burden_percent"]["series"]]
        tr.seizures = [(float(a), float(b)) for a, b in r["events"]]
        tr.bs = [(float(a), float(b)) for a, b in r.get("burst_suppression", [])]
        se = set()
        for c in chans:
            for e in c.get("event_log", []):
                if e.get("state") == "se_on":
                    se.add(round(e.get("at_ms", e.get("t_ms")) / 1000.0, 3))
        tr.se_on = sorted(se)
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise SourceError("%s: statim detect output without its series (%s)" % (path, e))
    return tr


# --- drawing -----------------------------------------------------------------------------------
def hmm(t_s, _pos=None):
    """Axis label: h:mm since the origin (negative before it)."""
    sign = "-" if t_s < 0 else ""
    m = int(round(abs(t_s) / 60.0))
    return "%s%d:%02d" % (sign, m // 60, m % 60)


def _tick_step(span_s):
    for step in (300, 600, 900, 1800, 3600, 7200, 10800, 21600):
        if span_s / step <= 10:
            return step
    return 43200


def figure(tr):
    """A matplotlib Figure: BSR over burden, time since the origin in h:mm, events marked."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    fig = Figure(figsize=(11, 6), dpi=100)
    ax_bsr, ax_bur = fig.subplots(2, 1, sharex=True)
    start = min([0.0] + [t for t, _ in tr.burden] + [t for t, _ in tr.bsr])
    end = max(tr.end_s, start + 60.0)
    seizure_colour, bs_colour, dose_colour, se_colour = "#d62728", "#7f7f7f", "#1f77b4", "#8b0000"
    for ax in (ax_bsr, ax_bur):
        for k, (a, b) in enumerate(tr.seizures):
            ax.axvspan(a, b, color=seizure_colour, alpha=0.25, lw=0, label="seizure" if k == 0 else None)
        for t in tr.se_on:
            ax.axvline(t, color=se_colour, lw=1.8, label="EEG SE onset")
        for k, (t, _label) in enumerate(tr.doses):
            ax.axvline(t, color=dose_colour, lw=1, ls="--", label="dose" if k == 0 else None)
        ax.set_ylim(0, 100)
        ax.grid(True, alpha=0.3)
    for k, (a, b) in enumerate(tr.bs):
        ax_bsr.axvspan(a, b, color=bs_colour, alpha=0.3, lw=0, label="burst suppression" if k == 0 else None)
    if tr.bsr:
        ax_bsr.plot([t for t, _ in tr.bsr], [v for _, v in tr.bsr], color="black", lw=1, label="BSR")
    else:
        ax_bsr.text(0.5, 0.5, "BSR figures are not in the unit's log: burst suppression shown as logged",
                    transform=ax_bsr.transAxes, ha="center", va="center", fontsize=9, color="#555555")
    if tr.burden:
        ax_bur.plot([t for t, _ in tr.burden], [v for _, v in tr.burden], color=seizure_colour, lw=1.2,
                    label="seizure burden")
    ax_bur.axhline(SE_BURDEN_PCT, color=se_colour, lw=0.8, ls=":",
                   label="SE: %d %% of %d min" % (SE_BURDEN_PCT, BURDEN_WINDOW_S // 60))
    for t in tr.se_on:
        ax_bur.annotate("EEG SE %s" % hmm(t), (t, 95), xytext=(3, 0), textcoords="offset points",
                        color=se_colour, fontsize=8, va="top")
    for t, label in tr.doses:
        ax_bsr.annotate(label, (t, 98), xytext=(2, 0), textcoords="offset points", rotation=90,
                        color=dose_colour, fontsize=7, va="top")
    ax_bsr.set_ylabel("BSR %")
    ax_bur.set_ylabel("seizure burden %")
    ax_bur.set_xlabel("time since %s (h:mm)" % tr.origin)
    ax_bur.set_xlim(start, end)
    ax_bur.xaxis.set_major_formatter(FuncFormatter(hmm))
    ax_bur.xaxis.set_major_locator(MultipleLocator(_tick_step(end - start)))
    ax_bsr.legend(loc="upper right", fontsize=7)
    ax_bur.legend(loc="upper right", fontsize=7)
    what = "unit log" if tr.source == "log" else "detector"
    fig.suptitle("EEG: burst suppression and seizure burden (%s, %s)" % (what, tr.name), fontsize=11)
    fig.tight_layout()
    return fig


def save_png(tr, path):
    figure(tr).savefig(path, format="png")
    return path
