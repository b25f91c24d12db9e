"""Scenario files: load, validate against scenario.schema.json, normalise.

A scenario reads like a clinical timeline (Wokwi's shape: name, version: 1,
steps, one command per step).  Durations carry units and combine: "90s",
"1h30m", "250ms", "2d".
"""
import json
import os
import re

import jsonschema
import yaml

SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scenario.schema.json")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*")


class ScenarioError(ValueError):
    """A scenario file that cannot be run; the message names the file and the step."""


def parse_duration(text):
    """'1h30m' -> 5_400_000 ms.  Units are required: a bare number is an error."""
    if not isinstance(text, str):
        raise ValueError("duration %r must be a string with units (ms, s, m, h, d)" % (text,))
    pos, total = 0, 0.0
    while pos < len(text):
        m = _PART.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError("duration %r: expected <number><unit> with unit ms, s, m, h or d" % text)
        total += float(m.group(1)) * _UNIT_MS[m.group(2)]
        pos = m.end()
    if pos == 0:
        raise ValueError("duration %r is empty" % text)
    return int(round(total))


def format_duration(ms):
    """Virtual time for messages: 1h05m03.250s style."""
    sign = "-" if ms < 0 else ""
    ms = abs(int(ms))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, milli = divmod(rest, 1000)
    text = "%dh%02dm%02d" % (h, m, s) if h else "%dm%02d" % (m, s)
    return sign + text + (".%03ds" % milli if milli else "s")


def _schema():
    with open(SCHEMA_PATH) as f:
        return json.load(f)


def _where(error):
    path = list(error.absolute_path)
    if len(path) >= 2 and path[0] == "steps":
        return "step %d" % (path[1] + 1)
    return "/".join(str(p) for p in path) or "top level"


class Step:
    __slots__ = ("number", "command", "value", "note")

    def __init__(self, number, command, value, note):
        self.number = number  # 1-based, as a person counts the steps in the file
        self.command = command
        self.value = value
        self.note = note

    def __repr__(self):
        return "Step(%d, %s=%r)" % (self.number, self.command, self.value)


class Scenario:
    def __init__(self, data, source):
        self.source = source  # the file
        self.reference = data.get("source", "")  # where the timeline comes from (clinical.md section)
        self.name = data["name"]
        self.patient = data["patient"]
        self.options = data.get("options", {})
        self.timeout_ms = parse_duration(data["timeout"]) if "timeout" in data else None
        self.steps = []
        for i, raw in enumerate(data["steps"]):
            (command,) = [k for k in raw if k != "note"]
            value = raw[command]
            if command in ("at", "delay"):
                value = parse_duration(value)
            self.steps.append(Step(i + 1, command, value, raw.get("note")))


def validate(data, source="<scenario>"):
    """Check against the schema and the one-command-per-step rule; return a Scenario."""
    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:  # every problem at once, not only the first
        raise ScenarioError("%s: %s" % (source, "; ".join("%s: %s" % (_where(e), e.message) for e in errors)))
    for i, step in enumerate(data["steps"]):
        commands = [k for k in step if k != "note"]
        if len(commands) != 1:
            raise ScenarioError(
                "%s: step %d: exactly one command per step, got %s" % (source, i + 1, ", ".join(commands) or "none")
            )
    return Scenario(data, source)


def load(path):
    try:
        with open(path) as f:
            data = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError("%s: cannot read scenario: %s" % (path, exc)) from exc
    if not isinstance(data, dict):
        raise ScenarioError("%s: a scenario must be a mapping with name, version, patient, steps" % path)
    return validate(data, path)
