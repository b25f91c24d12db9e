"""Exports of a unit's event log: CSV, JSON and a FHIR R4 Bundle.

    rows = [(seq, event), ...]            # host_tools.link.Client.log()
    to_json(rows, hello) / to_csv(rows) / to_fhir(rows, hello)

Event times `t` are on the unit's timer clock (firmware/core/clock.py), which
a wall-clock correction never moves; exports add UTC ISO-8601 times from each
event's wall label: its `t` plus the corrections logged before it (`clock`
events, a `power_up` delta), as the fold keeps them (episode.State.wall_offset).
Export from seq 0 for exact labels.  After a power-up without a set clock
(`power_up` rtc false) the times are marked uncertain until the clock is set,
never silently passed off as exact.

An entry a `void` mark names stays in every export, marked: CSV/JSON column
`entered_in_error`, FHIR status `entered-in-error` with the reason in a note;
the mark itself is an Observation whose `focus` is that entry.

FHIR: a `collection` Bundle; each `dose` and `infusion` event becomes a
MedicationAdministration (R4 shape: medicationCodeableConcept,
effectiveDateTime/Period, dosage.route/dose/rateQuantity in UCUM), every
other event an Observation (weight with LOINC 29463-7 in kg; the rest coded
in the local system STATIM_EVENT_SYSTEM).  Resource ids are UUIDv5 of unit
id + sequence number, so exporting twice gives the same Bundle.
"""
import csv
import datetime
import io
import json
import uuid

from firmware.core import clock as _clock

STATIM_EVENT_SYSTEM = "urn:statim:event"
STATIM_DRUG_SYSTEM = "urn:statim:druglib"
UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"
_NS = uuid.UUID("6f1d8c52-3c1e-4e0a-9a57-7a1e5c1f0b11")


def utc_iso(t):
    unix = _clock.statim_to_unix(t)
    return datetime.datetime.fromtimestamp(unix, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _uncertain_flags(rows):
    """seq -> True where the clock was unset (since the last power_up rtc=false, until a clock set)."""
    out = {}
    unset = False
    for seq, ev in rows:
        if ev.get("type") == "power_up":
            unset = not ev.get("rtc", True)
        elif ev.get("type") == "clock":
            unset = False
        out[seq] = unset
    return out


def voided_seqs(rows):
    """{seq: reason} of the entries a `void` mark says were entered in error."""
    out = {}
    for _, ev in rows:
        if ev.get("type") == "void" and isinstance(ev.get("ref"), int):
            out[ev["ref"]] = ev.get("reason", "")
    return out


def wall_offsets(rows):
    """seq -> the wall label's offset from t (Statim seconds) for each event."""
    out = {}
    off = 0
    for seq, ev in rows:
        kind = ev.get("type")
        if kind == "clock" or kind == "power_up":
            d = ev.get("delta", 0)
            if isinstance(d, int) and not isinstance(d, bool):
                off += d
        out[seq] = off
    return out


def _labelled(rows):
    """rows with every time field (t, end_t) turned into its wall label."""
    offs = wall_offsets(rows)
    out = []
    for seq, ev in rows:
        d = offs[seq]
        if d:
            ev = dict(ev)
            ev["_wall"] = ev["t"] + d
            if "end_t" in ev:
                ev["_wall_end"] = ev["end_t"] + d
        out.append((seq, ev))
    return out


def _wall(ev, key="t"):
    return ev.get("_wall_end" if key == "end_t" else "_wall", ev[key])


def to_json(rows, hello=None):
    flags = _uncertain_flags(rows)
    offs = wall_offsets(rows)
    evs = []
    voided = voided_seqs(rows)
    for seq, ev in rows:
        d = {"seq": seq, "utc": utc_iso(ev["t"] + offs[seq]), "time_uncertain": flags[seq],
             "entered_in_error": seq in voided}
        d.update(ev)
        evs.append(d)
    doc = {"format": "statim-log/1", "unit": (hello or {}).get("unit"), "firmware": (hello or {}).get("fw"),
           "druglib": (hello or {}).get("druglib"), "events": evs}
    return json.dumps(doc, indent=1) + "\n"


# The CSV schema (docs/log-csv.md): the same columns, in this order, whatever the
# events in the log; amounts and rates carry their units.  Change it only with
# the document, and never reuse a column name for something else.
CSV_COLUMNS = ("seq", "utc", "time_uncertain", "entered_in_error", "t", "since_onset_s", "type", "drug", "route",
               "amount", "rate", "end_utc", "line", "verdict", "value", "detail")
_CSV_OWN = {"type", "t", "drug", "route", "amount_ug", "rate_ug_kg_h", "end_t", "line", "verdict"}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # OWASP CSV injection


def csv_cell(v):
    """A text cell a spreadsheet must not run as a formula is written with a leading ' (OWASP)."""
    if isinstance(v, str) and v.startswith(FORMULA_START):
        return "'" + v
    return v


def _number(x):
    return ("%.3f" % x).rstrip("0").rstrip(".")


def _amount(ev):
    """'4 mg', '1400 mg PE' (fosphenytoin is dosed in phenytoin equivalents), '' without an amount."""
    ug = ev.get("amount_ug")
    if not isinstance(ug, int) or isinstance(ug, bool):
        return ""
    unit = "mg PE" if ev.get("drug") == "fosphenytoin" else "mg"
    return "%s %s" % (_number(ug / 1000.0), unit)


def _rate(ev):
    r = ev.get("rate_ug_kg_h")
    if not isinstance(r, int) or isinstance(r, bool):
        return ""
    return "%s mg/kg/h" % _number(r / 1000.0)


def _value(ev):
    """The event's main value in words (the FHIR export's valueString/valueQuantity)."""
    kind = ev.get("type")
    if kind == "weight" and isinstance(ev.get("grams"), int):
        return "%s kg" % _number(ev["grams"] / 1000.0)
    if kind == "onset":
        return ev.get("se_type", "")
    if kind == "flag":
        return "%s=%d" % (ev.get("name"), 1 if ev.get("value") else 0)
    if kind == "alarm":
        return ("%s %s" % (ev.get("action"), ev.get("cond", ""))).strip()
    if kind == "power_up":
        return "rtc set" if ev.get("rtc") else "rtc not set"
    for key in ("text", "state", "action", "reason"):
        if key in ev:
            return str(ev[key])
    return ""


def _detail(ev, value_key):
    rest = {k: v for k, v in ev.items() if k not in _CSV_OWN and k != value_key}
    return json.dumps(rest, sort_keys=True, separators=(",", ":")) if rest else ""


def _value_key(ev):
    kind = ev.get("type")
    if kind == "weight":
        return "grams"
    if kind == "onset":
        return "se_type"
    if kind == "power_up":
        return "rtc"
    for key in ("text", "state", "action", "reason"):
        if key in ev:
            return key
    return None


def to_csv(rows):
    """The log as CSV with the documented columns (CSV_COLUMNS, docs/log-csv.md)."""
    flags = _uncertain_flags(rows)
    offs = wall_offsets(rows)
    voided = voided_seqs(rows)
    onset = None
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")  # RFC 4180; a CR or LF inside a cell is then quoted
    w.writerow(CSV_COLUMNS)
    for seq, ev in rows:
        t = ev["t"]
        if ev.get("type") == "onset" and onset is None:
            onset = t
        key = _value_key(ev)
        detail = _detail(ev, key)
        if ev.get("type") in ("flag", "alarm"):  # their value column holds every field
            detail = _detail({k: v for k, v in ev.items() if k not in ("name", "value", "cond")}, key)
        end_t = ev.get("end_t")
        w.writerow([seq, utc_iso(t + offs[seq]), int(flags[seq]), int(seq in voided), t,
                    t - onset if onset is not None else "", csv_cell(ev["type"]),
                    csv_cell(ev.get("drug", "")), csv_cell(ev.get("route", "")), _amount(ev), _rate(ev),
                    utc_iso(end_t + offs[seq]) if isinstance(end_t, int) else "", ev.get("line", ""),
                    csv_cell(ev.get("verdict") or ""), csv_cell(_value(ev)), csv_cell(detail)])
    return buf.getvalue()


def _qty(value, unit, code=None):
    return {"value": value, "unit": unit, "system": UCUM, "code": code or unit}


def _mg(amount_ug):
    mg = amount_ug / 1000.0
    return int(mg) if mg == int(mg) else round(mg, 3)


def _id(unit_id, seq):
    return str(uuid.uuid5(_NS, "%s/%d" % (unit_id, seq)))


def _notes(ev, uncertain):
    notes = []
    if uncertain:
        notes.append({"text": "unit clock was not set at power-up: the time may be wrong"})
    return notes


def _med_admin(unit_id, seq, ev, subject, uncertain):
    r = {"resourceType": "MedicationAdministration", "id": _id(unit_id, seq),
         "identifier": [{"system": "urn:statim:unit:%s:seq" % unit_id, "value": str(seq)}],
         "subject": subject,
         "medicationCodeableConcept": {"coding": [{"system": STATIM_DRUG_SYSTEM, "code": ev["drug"]}],
                                       "text": ev["drug"]}}
    notes = _notes(ev, uncertain)
    if ev["type"] == "dose":
        r["status"] = "completed"
        if "end_t" in ev and ev["end_t"] > ev["t"]:
            r["effectivePeriod"] = {"start": utc_iso(_wall(ev)), "end": utc_iso(_wall(ev, "end_t"))}
        else:
            r["effectiveDateTime"] = utc_iso(_wall(ev))
        r["dosage"] = {"route": {"text": ev["route"]}, "dose": _qty(_mg(ev["amount_ug"]), "mg")}
        detail = "line %s; checker verdict %s" % (ev.get("line"), ev.get("verdict") or "-")
        if ev.get("library_version"):
            detail += "; drug library %s" % ev["library_version"]
        notes.append({"text": detail})
    else:  # infusion start / change / stop
        r["status"] = "stopped" if ev["action"] == "stop" else "in-progress"
        r["effectivePeriod"] = {"start": utc_iso(_wall(ev))}
        if ev["action"] == "stop":
            r["effectivePeriod"]["end"] = utc_iso(_wall(ev))
        dosage = {"text": "continuous infusion %s" % ev["action"]}
        if "rate_ug_kg_h" in ev:
            dosage["rateQuantity"] = _qty(ev["rate_ug_kg_h"], "ug/kg/h")
        r["dosage"] = dosage
    if notes:
        r["note"] = notes
    return r


_OBS_TEXT = {"onset": "Seizure onset", "stop": "Clinical seizure stopped", "recur": "Seizure recurred",
             "recovered": "Back to baseline", "eeg": "EEG state", "alarm": "Alarm", "note": "Staff note",
             "flag": "Clinical flag", "power_up": "Unit power-up", "end": "Episode closed", "wean": "Weaning",
             "maint": "Maintenance / security record", "clock": "Wall clock corrected (timers unchanged)",
             "void": "Entry marked entered in error",
             "invalid": "Invalid stored record (kept on the unit, not replayed)"}


def _observation(unit_id, seq, ev, subject, uncertain):
    kind = ev["type"]
    r = {"resourceType": "Observation", "id": _id(unit_id, seq), "status": "final",
         "identifier": [{"system": "urn:statim:unit:%s:seq" % unit_id, "value": str(seq)}],
         "subject": subject, "effectiveDateTime": utc_iso(_wall(ev))}
    if kind == "weight":
        r["code"] = {"coding": [{"system": LOINC, "code": "29463-7", "display": "Body weight"}], "text": "Body weight"}
        r["valueQuantity"] = _qty(ev["grams"] / 1000.0, "kg")
    else:
        code = kind
        value = None
        if kind == "onset":
            value = ev["se_type"]
        elif kind == "eeg":
            value = ev["state"]
        elif kind == "alarm":
            code = "alarm-" + ev["action"]
            value = ev.get("cond", "all audio")
        elif kind in ("note",):
            value = ev["text"]
        elif kind == "wean":
            value = ev["action"]
        elif kind == "maint":
            code = "maint-" + ev["action"]
            value = ev.get("detail", ev["action"])
        elif kind == "invalid":  # quarantined at replay: the unit refused to apply it
            r["status"] = "entered-in-error"
            rec = ev.get("record")
            value = "%s; stored record: %s" % (ev.get("reason", ""),
                                               rec if isinstance(rec, str) else json.dumps(rec, sort_keys=True))
        elif kind == "clock":
            value = "%+d s (%s)" % (ev["delta"], ev["source"])
        elif kind == "void":
            value = "seq %s (%s) entered in error: %s" % (ev["ref"], ev["ref_type"], ev["reason"])
        r["code"] = {"coding": [{"system": STATIM_EVENT_SYSTEM, "code": code}],
                     "text": _OBS_TEXT.get(kind, kind)}
        if kind == "flag":
            r["code"]["coding"][0]["code"] = "flag-" + ev["name"]
            r["valueBoolean"] = ev["value"]
        elif kind == "power_up":
            r["valueBoolean"] = ev["rtc"]
        elif value is not None:
            r["valueString"] = str(value)
    notes = _notes(ev, uncertain)
    if kind == "power_up" and "gap" in ev:
        notes.append({"text": "time since the last record, measured by the RTC and included in the timers: %s"
                      % ("%d s" % ev["gap"] if ev["gap"] >= 0 else "not measurable")})
    if notes:
        r["note"] = notes
    return r


def to_fhir(rows, hello=None, now=None):
    """A FHIR R4 Bundle (dict) of MedicationAdministration and Observation."""
    unit_id = (hello or {}).get("unit") or "unknown"
    flags = _uncertain_flags(rows)
    subject = {"display": "patient at Statim unit %s" % unit_id}
    voided = voided_seqs(rows)
    entries = []
    for seq, ev in _labelled(rows):
        if ev["type"] in ("dose", "infusion"):
            res = _med_admin(unit_id, seq, ev, subject, flags[seq])
        else:
            res = _observation(unit_id, seq, ev, subject, flags[seq])
        if seq in voided:  # kept, marked: FHIR R4 status entered-in-error (both resource types have it)
            res["status"] = "entered-in-error"
            res.setdefault("note", []).append({"text": "entered in error: %s" % voided[seq]})
        if ev["type"] == "void":
            res["focus"] = [{"reference": "urn:uuid:" + _id(unit_id, ev["ref"])}]
        entries.append({"fullUrl": "urn:uuid:" + res["id"], "resource": res})
    stamp = now or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"resourceType": "Bundle", "id": _id(unit_id, -1), "type": "collection", "timestamp": stamp,
            "identifier": {"system": "urn:statim:export", "value": "%s/%d" % (unit_id, len(rows))},
            "entry": entries}
