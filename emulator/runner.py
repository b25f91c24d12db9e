"""Run scenario files against the emulated unit.

Exit codes, one rule (the first that applies): 2 when a file is not a valid
scenario (or cannot be read), 1 when an expectation failed, 42 (Wokwi's) when
the only problem is a timeout (wait-serial, or the scenario's own timeout), 0
when every expectation held.  A failure names the file, the step and the
virtual time.
"""
import json
import os
import re
import time
from xml.sax.saxutils import escape, quoteattr

from emulator import scenario as _scenario
from emulator.board import TICKS_NEAR_WRAP, EmulatedUnit
from firmware.core import alarms as _alarms
from firmware.core import phases as _phases

PASSED, FAILED, INVALID, TIMEOUT = 0, 1, 2, 42
_SEALED = re.compile(r" \*[0-9A-F]{4}$")
DEFAULT_WAIT_MS = 10_000


class StepFailed(Exception):
    pass


class StepTimeout(Exception):
    pass


class Result:
    def __init__(self, path, name):
        self.path = path
        self.name = name
        self.code = PASSED
        self.message = ""
        self.step = None
        self.virtual_ms = 0
        self.wall_s = 0.0
        self.steps_run = 0
        self.events = []

    @property
    def passed(self):
        return self.code == PASSED

    def summary(self):
        if self.passed:
            return "PASS %s (%d steps, %s virtual, %.3f s)" % (
                self.path, self.steps_run, _scenario.format_duration(self.virtual_ms), self.wall_s)
        if self.code == INVALID:
            return "INVALID %s: %s" % (self.path, self.message)
        kind = "TIMEOUT" if self.code == TIMEOUT else "FAIL"
        return "%s %s: step %s at %s: %s" % (
            kind, self.path, self.step if self.step is not None else "-",
            _scenario.format_duration(self.virtual_ms), self.message)

    def as_dict(self):
        return {"file": self.path, "name": self.name, "passed": self.passed, "code": self.code,
                "step": self.step, "virtual_time": _scenario.format_duration(self.virtual_ms),
                "virtual_ms": self.virtual_ms, "wall_s": round(self.wall_s, 4), "message": self.message,
                "steps_run": self.steps_run}


class Runner:
    def __init__(self, sc, flash_dir=None):
        self.sc = sc
        opts = sc.options
        pt = sc.patient
        cfg = {}
        if "reference" in opts:
            cfg["reference"] = opts["reference"]
        rules = None
        if "absence_t1_min" in opts:
            from firmware.core import rules as _rules

            rules = _rules.build({"absence_t1_s": opts["absence_t1_min"] * 60})
        self.emu = EmulatedUnit(
            weight_kg=pt.get("weight_kg"), se_type=pt["se_type"], flash_dir=flash_dir,
            tick_start=TICKS_NEAR_WRAP if opts.get("tick_start") == "near_wrap" else 0,
            rtc=opts.get("rtc", True), config=cfg,
        )
        if rules is not None:
            self._swap_rules(rules)
        self.emu.attach_link()
        self.unit = self.emu.unit
        self.patient = None
        self.serial_seen = ""
        self.start_ms = self.emu.now_ms

    def _swap_rules(self, rules):
        # Rebuild the engine from the (short) boot log under the chosen rule set.
        from firmware.core import engine as _engine

        unit = self.emu.unit
        old = unit.engine
        eng = _engine.Engine(rules, unit._assess, unit._sink, old.clock, unit._store)
        eng.load(old.events)
        unit.engine = eng

    # -------------------------------------------------------------- time
    def t_ms(self):
        return self.emu.now_ms - self.start_ms

    def run_to(self, target_ms):
        limit = self.sc.timeout_ms
        if limit is not None and target_ms > limit:
            self.emu.run_until(self.start_ms + limit)
            raise StepTimeout("scenario timeout %s reached" % _scenario.format_duration(limit))
        self.emu.run_until(self.start_ms + target_ms)

    # -------------------------------------------------------------- patient
    def _patient(self):
        if self.patient is None:
            from emulator.patient import Patient

            pt = self.sc.patient
            # the simulated body needs a weight even where the unit was given none
            self.patient = Patient(seed=pt.get("seed", 0), fs=256.0, weight_kg=pt.get("weight_kg", 70))
            self._patient_t0_ms = self.t_ms()
        return self.patient

    def _patient_t(self):
        return (self.t_ms() - self._patient_t0_ms) / 1000.0

    # -------------------------------------------------------------- steps
    def run(self):
        res = Result(self.sc.source, self.sc.name)
        t0 = time.perf_counter()
        try:
            for step in self.sc.steps:
                res.step = step.number
                getattr(self, "do_" + step.command.replace("-", "_"))(step.value)
                res.steps_run += 1
            res.step = None
        except StepTimeout as e:
            res.code, res.message = TIMEOUT, str(e)
        except (StepFailed, ValueError) as e:
            res.code, res.message = FAILED, str(e)
        except Exception as e:  # a bug in the unit or the runner still names the step
            res.code, res.message = FAILED, "internal error: %s: %s" % (type(e).__name__, e)
        res.virtual_ms = self.t_ms()
        res.wall_s = time.perf_counter() - t0
        res.events = list(self.unit.events)
        return res

    def do_at(self, ms):
        if ms < self.t_ms():
            raise StepFailed("at %s is earlier than the current time %s" % (
                _scenario.format_duration(ms), _scenario.format_duration(self.t_ms())))
        self.run_to(ms)

    def do_delay(self, ms):
        self.run_to(self.t_ms() + ms)

    def do_press(self, names):
        for name in names if isinstance(names, list) else [names]:
            self.emu.press(name)

    def do_weight(self, w):
        # "70 kg", or {value, age, expect, override} like a dose step
        if isinstance(w, str):
            w = {"value": w}
        v = self.unit.enter_weight(w["value"], w.get("override"), w.get("age"))
        want = w.get("expect")
        if want is not None and v["verdict"] != want:
            raise StepFailed("weight %s: expected verdict %s, got %s (%s)" % (
                w["value"], want, v["verdict"], "; ".join(v["messages"])))
        if want is None and not v["logged"]:
            raise StepFailed("weight %s not logged: %s: %s" % (w["value"], v["verdict"], "; ".join(v["messages"])))
        self.emu.unit.step()

    @staticmethod
    def _shift_s(text):
        text = text.strip()
        sign = -1 if text[0] == "-" else 1
        return sign * (_scenario.parse_duration(text[1:]) // 1000)

    def do_set_clock(self, text):
        """A maintenance CLOCK set moving the wall clock by a signed duration."""
        self.unit.set_clock(self.emu.board.rtc_s() + self._shift_s(text))
        self.emu.unit.step()

    def do_void(self, spec):
        """Mark the latest entry of a type entered in error (Unit.void)."""
        u = self.unit
        evs = u.events
        seqs = [i for i in range(len(evs)) if evs[i]["type"] == spec["entry"] and i not in u.state.voided]
        want = spec.get("expect-error")
        try:
            if not seqs:
                raise ValueError("no %s entry to mark entered in error" % spec["entry"])
            u.void(seqs[-1], spec["reason"])
        except ValueError as e:
            if want is None or want not in str(e):
                raise StepFailed("void %s: %s" % (spec["entry"], e))
        else:
            if want is not None:
                raise StepFailed("void %s: expected a refusal containing %r, it was marked" % (spec["entry"], want))
        self.emu.unit.step()

    def do_rtc_shift(self, text):
        """The RTC jumps by a signed duration; the unit's minute sync finds it."""
        self.emu.board.set_rtc(self.emu.board.rtc_s() + self._shift_s(text))

    def do_event(self, ev):
        if isinstance(ev, str):
            ev = {"type": ev}
        kind = ev["type"]
        u = self.unit
        t_s = None
        if self.patient is not None:
            t_s = self._patient_t()
        if kind == "onset":
            u.onset(ev.get("se_type"))
            if self.patient is not None:
                self.patient.onset(t_s)
        elif kind == "seizure_stop":
            u.seizure_stop()
        elif kind == "seizure_recur":
            u.seizure_recur()
        elif kind == "recovered":
            u.recovered()
        elif kind == "alarm_ack":
            u.ack_alarm(ev.get("name"))
        elif kind == "wean_start":
            u.wean("start")
        elif kind in ("anesthetic_start", "anesthetic_change"):
            if "drug" not in ev or "rate" not in ev:
                raise StepFailed("%s needs drug and rate" % kind)
            v = u.give(ev["drug"], "infusion", rate=ev["rate"], override=ev.get("override"))
            if not v["logged"]:
                raise StepFailed("%s %s %s not logged: %s: %s" % (
                    kind, ev["drug"], ev["rate"], v["verdict"], "; ".join(v["messages"])))
            if self.patient is not None:
                value, unit = _rate_parts(ev["rate"])
                self.patient.start_infusion(ev["drug"], value, unit=unit, t_s=t_s)
        elif kind == "anesthetic_stop":
            if "drug" not in ev:
                raise StepFailed("anesthetic_stop needs drug")
            u.infusion("stop", ev["drug"])
            if self.patient is not None:
                self.patient.stop_infusion(ev["drug"], t_s=t_s)
        elif kind == "norse":
            u.flag("norse", True)
        elif kind == "note":
            u.note(ev.get("text", ""))
        elif kind == "eeg":
            u.eeg_state(ev["state"])
        else:
            raise StepFailed("event %r is not supported" % kind)
        self.emu.unit.step()

    def do_dose(self, d):
        over = _scenario.parse_duration(d["over"]) // 1000 if "over" in d else None
        v = self.unit.give(d["drug"], d["route"], dose=d["amount"], over=over, override=d.get("override"))
        want = d.get("expect")
        if want is not None and v["verdict"] != want:
            raise StepFailed("dose %s %s %s: expected verdict %s, got %s (%s)" % (
                d["drug"], d["route"], d["amount"], want, v["verdict"], "; ".join(v["messages"])))
        if want is None and not v["logged"]:
            raise StepFailed("dose %s %s %s not logged: %s: %s" % (
                d["drug"], d["route"], d["amount"], v["verdict"], "; ".join(v["messages"])))
        if v["logged"] and self.patient is not None:
            route = "iv" if v["route"] == "infusion" else v["route"]  # a load into the infusion line is IV
            self.patient.give(v["drug"], mg=v["dose_ug"] / 1000.0, route=route, t_s=self._patient_t())
        self.emu.unit.step()

    def do_eeg(self, spec):
        board = self.emu.board
        if spec == "detach":
            board.detach_eeg()
            return
        if spec == "simulator" or (isinstance(spec, dict) and "simulator" in spec):
            pt = self._patient()
            if self.unit.state.started and not pt.log:
                pt.onset(self._patient_t())
            board.attach_eeg(lambda t_s: pt.advance(self._patient_t()), pt.fs)
            return
        path = spec["file"]
        if not os.path.isabs(path):
            path = os.path.join(os.path.dirname(os.path.abspath(self.sc.source)), path)
        from host_tools.eeg import is_edf, read_edf, read_text

        if is_edf(path):
            _label, fs, samples = read_edf(path)[0]
            samples = list(samples)
        else:
            if "fs" not in spec:
                raise StepFailed("eeg file %s is plain text: give its sampling rate as fs" % path)
            samples, fs = read_text(path), float(spec["fs"])
        pos = [0]

        def source(t_s):
            end = min(len(samples), int(t_s * fs))
            chunk = samples[pos[0]:end]
            pos[0] = max(pos[0], end)
            from array import array

            return array("f", chunk)

        board.attach_eeg(source, fs)

    def do_write_serial(self, text):
        from firmware.core import frames

        if _SEALED.search(text):
            data = (text + "\n").encode()
        else:
            data = frames.seal(text)  # the scenario writes the request; the CRC trailer is added here
        self.emu.board.uart.host_write(data)
        self.emu.unit.step()
        self._collect_serial()

    def _collect_serial(self):
        uart = self.emu.board.uart
        if hasattr(uart, "host_read"):
            self.serial_seen += uart.host_read().decode("ascii", "replace")

    def do_wait_serial(self, spec):
        text = spec if isinstance(spec, str) else spec["text"]
        timeout = DEFAULT_WAIT_MS if isinstance(spec, str) or "timeout" not in spec else _scenario.parse_duration(spec["timeout"])
        end = self.t_ms() + timeout
        while True:
            self._collect_serial()
            if text in self.serial_seen:
                return
            if self.t_ms() >= end:
                raise StepTimeout("wait-serial %r: not seen within %s" % (text, _scenario.format_duration(timeout)))
            self.run_to(min(end, self.t_ms() + 100))

    def do_expect_serial(self, text):
        self._collect_serial()
        if text not in self.serial_seen:
            raise StepFailed("expected serial output %r, got %r" % (text, self.serial_seen[-300:]))

    def do_expect_no_serial(self, text):
        self._collect_serial()
        if text in self.serial_seen:
            raise StepFailed("serial output %r must not appear" % text)

    def do_expect_stage(self, stage):
        got = self.unit.status()["stage"]
        if got != stage:
            raise StepFailed("expected stage %s, got %s" % (stage, got))

    def do_expect_seizure(self, flag):
        got = self.unit.state.active
        if bool(got) != flag:
            raise StepFailed("expected seizure active %s, got %s" % (flag, bool(got)))

    def do_expect_flag(self, flags):
        have = set(self.unit.status()["flags"])
        for name, want in flags.items():
            if (name in have) != want:
                raise StepFailed("expected flag %s %s; flags now: %s" % (
                    name, "set" if want else "clear", ", ".join(sorted(have)) or "none"))

    def do_expect_alarm(self, spec):
        t = self.unit.now()
        self.unit.engine.tick(t)
        active = _alarms.active_list(self.unit.state, t)
        if spec is None:
            if active:
                raise StepFailed("expected no active alarm, got %s" % ", ".join(a[0] for a in active))
            return
        want_active = spec.get("active", True)
        match = [a for a in active if ("name" not in spec or a[0] == spec["name"])
                 and ("priority" not in spec or a[1] == spec["priority"])]
        if want_active and not match:
            raise StepFailed("expected alarm %s; active: %s" % (
                json.dumps(spec), ", ".join("%s(%s)" % (a[0], a[1]) for a in active) or "none"))
        if not want_active and match:
            raise StepFailed("alarm %s must not be active" % json.dumps(spec))

    def do_expect_eeg(self, spec):
        e = self.unit.eeg
        if not e["attached"]:
            raise StepFailed("expect-eeg: no EEG attached")
        got = {"seizure": e["seizure"], "bs": e["bs"], "se": e["se"]}
        for key in ("seizure", "bs", "se"):
            if key in spec and bool(got[key]) != spec[key]:
                raise StepFailed("expected EEG %s %s; EEG now: seizure %s, BS %s, eSE %s, BSR %d%%, burden %.0f%%" % (
                    key, spec[key], e["seizure"], e["bs"], e["se"], e["bsr_percent"], e["burden_percent"]))
        if "bsr_min" in spec and e["bsr_percent"] < spec["bsr_min"]:
            raise StepFailed("expected BSR >= %g%%, got %d%%" % (spec["bsr_min"], e["bsr_percent"]))
        if "bsr_max" in spec and e["bsr_percent"] > spec["bsr_max"]:
            raise StepFailed("expected BSR <= %g%%, got %d%%" % (spec["bsr_max"], e["bsr_percent"]))
        if "burden_min" in spec and e["burden_percent"] < spec["burden_min"]:
            raise StepFailed("expected burden >= %g%%, got %.0f%%" % (spec["burden_min"], e["burden_percent"]))

    def do_expect_due(self, text):
        t = self.unit.now()
        due = _phases.due_list(self.unit.state, t)
        names = ["%s:%s" % (d[0], d[3]) for d in due]
        if not any(text == n or text == n.split(":")[0] for n in names):
            raise StepFailed("expected due action %s; due now: %s" % (text, ", ".join(names) or "none"))

    def do_expect_tone(self, want):
        self.emu.unit.step()
        got = self.emu.board.tone
        if got != want:
            raise StepFailed("expected the buzzer %s, got %s" % (want, got))

    def do_expect_screen(self, text):
        scr = self.unit.ui.render(self.unit.now())
        shown = scr.text()
        if text.lower() not in shown.lower():
            raise StepFailed("expected %r on screen; shown:\n%s" % (text, shown))


def _rate_parts(rate):
    """'50 mcg/kg/min' -> (50.0, 'mcg/kg/min') for the patient simulator."""
    num, unit = rate.strip().split(None, 1)
    return float(num), unit.replace(" ", "")


def run_file(path, flash_dir=None):
    try:
        sc = _scenario.load(path)
    except _scenario.ScenarioError as e:
        res = Result(path, os.path.basename(path))
        res.code, res.message = INVALID, str(e)
        return res
    return Runner(sc, flash_dir).run()


def exit_code(results):
    """2 if any file is invalid, else 1 if any expectation failed, else 42 if any
    timed out, else 0: 42 only when a timeout is the only problem."""
    codes = set(r.code for r in results)
    for code in (INVALID, FAILED, TIMEOUT):
        if code in codes:
            return code
    return PASSED


def classname(path):
    """The JUnit classname of a scenario file: its path without the extension,
    dotted ('scenarios/closed_loop/early.yaml' -> 'scenarios.closed_loop.early')."""
    rel = os.path.relpath(path) if not os.path.isabs(path) or os.path.abspath(path).startswith(os.getcwd() + os.sep) \
        else path
    rel = os.path.splitext(rel)[0].replace("\\", "/")
    parts = [p for p in rel.split("/") if p not in ("", ".", "..")]
    return ".".join(parts) or "scenario"


def junit_xml(results):
    fails = sum(1 for r in results if r.code == FAILED)
    errors = sum(1 for r in results if r.code in (TIMEOUT, INVALID))
    total = sum(r.wall_s for r in results)
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<testsuite name="statim-scenarios" tests="%d" failures="%d" errors="%d" time="%.3f">'
           % (len(results), fails, errors, total)]
    for r in results:
        out.append('  <testcase classname=%s name=%s file=%s time="%.3f">'
                   % (quoteattr(classname(r.path)), quoteattr(r.name), quoteattr(r.path), r.wall_s))
        if r.code == FAILED:
            out.append('    <failure message=%s>%s</failure>' % (quoteattr(r.summary()), escape(r.summary())))
        elif r.code == TIMEOUT:
            out.append('    <error type="timeout" message=%s>%s</error>' % (quoteattr(r.summary()), escape(r.summary())))
        elif r.code == INVALID:
            out.append('    <error type="invalid" message=%s>%s</error>' % (quoteattr(r.summary()), escape(r.summary())))
        out.append("  </testcase>")
    out.append("</testsuite>")
    return "\n".join(out) + "\n"
