"""Host tools <-> emulated unit, end to end over real transports (issue 7 acceptance).

A LiveUnit runs the firmware core's main loop in a thread behind a real
pseudo-terminal (or a TCP socket, or the in-process emu:// scheme); the host
side is pyserial + host_tools.link, and the `statim` CLI commands.  Covered:
onset, dose, alarm acknowledge, a retried dose logged once (the first reply
is lost on the way), log export in CSV, JSON and FHIR (validated with
fhir.resources), drug library push, status and connect.
"""
import csv
import io
import json

import pytest
import serial

from emulator.live import DEV_KEY, LiveUnit
from host_tools import cli, export, link


@pytest.fixture
def pty_unit():
    live = LiveUnit(uart="pty", weight_kg=70).start()
    yield live
    live.stop()


class LoseFirstReply:
    """A serial port that loses the first reply line starting with `<id> OK` for ids in `ids`."""

    def __init__(self, ser, prefix):
        self.ser = ser
        self.prefix = prefix
        self.lost = 0
        self._pending = b""

    def __getattr__(self, name):
        return getattr(self.ser, name)

    @property
    def in_waiting(self):
        return self.ser.in_waiting

    @property
    def timeout(self):
        return self.ser.timeout

    @timeout.setter
    def timeout(self, v):
        self.ser.timeout = v

    def read(self, n=1):
        data = self._pending + self.ser.read(max(n, 1))
        out = b""
        while b"\n" in data:
            line, data = data.split(b"\n", 1)
            if not self.lost and line.startswith(self.prefix):
                self.lost += 1
                continue
            out += line + b"\n"
        self._pending = data
        return out


def test_bedside_episode_over_a_real_pty(pty_unit, capsys):
    with link.open_link(pty_unit.port, timeout=1.0) as c:
        hello = c.hello()
        assert hello["unit"] == "STATIM-0001" and hello["proto"] == "1"
        assert c.request("ONSET").startswith("seq=")
        v = c.dose("lorazepam", "iv", dose="4 mg")
        assert v["verdict"] == "adequate"
        # the unit's clock runs on: alarms are raised and pushed as event lines
        pty_unit.advance(10 * 60 * 1000)
        c.pump(0.5)
        assert any(e.startswith("EVT ") and '"raise"' in e for e in c.events)
        assert any(e.startswith("STAGE ") for e in c.events)
        st = c.status()
        assert st["alarms"]
        acked = c.request("ACK")
        assert acked.startswith("seq=")
        rows = c.log()
        types = [ev["type"] for _, ev in rows]
        assert types.count("dose") == 1 and "onset" in types and types.count("alarm") >= 3
        assert [s for s, _ in rows] == list(range(len(rows)))
        assert rows == list(enumerate(pty_unit.unit.events))


def test_a_retried_dose_is_logged_once(pty_unit):
    ser = serial.serial_for_url(pty_unit.port, timeout=0.2)
    c = link.Client(ser, timeout=0.7, retries=3)
    c.request("ONSET")
    rid = c.prefix + ".99"
    c.ser = LoseFirstReply(ser, (rid + " OK").encode())
    v = c.dose("lorazepam", "iv", dose="4 mg", _id=rid)
    assert v["verdict"] == "adequate"
    assert c.ser.lost == 1 and c.retried == 1  # the reply was lost once, the request resent with the same id
    doses = [e for e in pty_unit.unit.events if e["type"] == "dose"]
    assert len(doses) == 1
    assert c.request("STATS") and json.loads(c.request("STATS"))["retries"] == 1
    c.close()


def test_socket_url_and_emu_url():
    live = LiveUnit(uart="tcp", weight_kg=70).start()
    try:
        with link.open_link(live.port) as c:
            assert c.hello()["unit"] == "STATIM-0001"
            assert c.request("ONSET").startswith("seq=")
    finally:
        live.stop()
    with link.open_link("emu://?weight=60&unit=BED-7") as c:
        assert c.hello()["unit"] == "BED-7"
        assert c.status()["weight_g"] == 60000


def test_named_emu_units_outlive_their_connections():
    from host_tools import protocol_emu

    try:
        with link.open_link("emu://bed-a") as c:
            c.request("ONSET")
        with link.open_link("emu://bed-a") as c:
            assert c.status()["stage"] == "seizure"
    finally:
        protocol_emu.shutdown("bed-a")


def _cli(argv, capsys):
    code = cli.main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def _episode(port):
    with link.open_link(port) as c:
        c.request("ONSET")
        c.dose("lorazepam", "iv", dose="4 mg")
        c.dose("levetiracetam", "iv", dose="4500 mg")
        c.request("INFUSION", action="start", drug="midazolam", rate=200)
        c.request("NOTE", text="family informed")


def test_log_export_in_all_three_formats(pty_unit, capsys, tmp_path):
    _episode(pty_unit.port)
    n = len(pty_unit.unit.events)
    code, out, _ = _cli(["log", "export", pty_unit.port, "--format", "csv"], capsys)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == n and [r["seq"] for r in rows] == [str(i) for i in range(n)]
    dose = [r for r in rows if r["type"] == "dose"]
    assert dose[0]["drug"] == "lorazepam" and dose[0]["amount"] == "4 mg"  # docs/log-csv.md
    assert rows[0]["utc"].endswith("Z")

    code, out, _ = _cli(["log", "export", pty_unit.port, "--format", "json"], capsys)
    doc = json.loads(out)
    assert doc["unit"] == "STATIM-0001" and len(doc["events"]) == n
    assert [e["type"] for e in doc["events"]] == [e["type"] for e in pty_unit.unit.events]

    path = tmp_path / "bundle.json"
    code, _, err = _cli(["log", "export", pty_unit.port, "--format", "fhir", "-o", str(path)], capsys)
    assert code == 0 and "wrote %d events" % n in err
    bundle = json.loads(path.read_text())
    _validate_fhir(bundle, n)


def _validate_fhir(bundle, n):
    """Validate with fhir.resources (R4B models: the R4-shaped resources used here are identical in R4B)."""
    fr = pytest.importorskip("fhir.resources.R4B.bundle")
    from fhir.resources.R4B.medicationadministration import MedicationAdministration
    from fhir.resources.R4B.observation import Observation

    b = fr.Bundle.model_validate(bundle)
    assert b.type == "collection" and len(b.entry) == n
    kinds = {}
    for e in bundle["entry"]:
        r = e["resource"]
        model = MedicationAdministration if r["resourceType"] == "MedicationAdministration" else Observation
        model.model_validate(r)
        kinds[r["resourceType"]] = kinds.get(r["resourceType"], 0) + 1
    assert kinds["MedicationAdministration"] == 3 and kinds["Observation"] == n - 3
    meds = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "MedicationAdministration"]
    lz = meds[0]
    assert lz["medicationCodeableConcept"]["text"] == "lorazepam"
    assert lz["dosage"]["dose"] == {"value": 4, "unit": "mg", "system": export.UCUM, "code": "mg"}
    assert meds[2]["dosage"]["rateQuantity"]["code"] == "ug/kg/h" and meds[2]["status"] == "in-progress"


def test_fhir_is_r4_shaped_not_r5():
    # R5 renamed medication[x] / effective[x]; an R4 bundle must not validate as R5 MedicationAdministration.
    rows = [(0, {"type": "power_up", "t": 100, "rtc": False}),
            (1, {"type": "dose", "t": 160, "drug": "lorazepam", "route": "iv", "amount_ug": 2500, "line": 1,
                 "bzd_permille": 600, "second_line_adequate": False}),
            (2, {"type": "weight", "t": 170, "grams": 41500})]
    b = export.to_fhir(rows, {"unit": "U1"}, now="2026-01-01T00:00:00Z")
    _validate_fhir_min(b)
    assert b["entry"][1]["resource"]["dosage"]["dose"]["value"] == 2.5
    assert b["entry"][2]["resource"]["valueQuantity"]["value"] == 41.5
    assert "not set" in b["entry"][1]["resource"]["note"][0]["text"]  # clock unset: time flagged
    assert export.to_fhir(rows, {"unit": "U1"}, now="x") ["entry"] == export.to_fhir(rows, {"unit": "U1"}, now="y")["entry"]
    from fhir.resources.medicationadministration import MedicationAdministration as R5

    with pytest.raises(Exception):
        R5.model_validate(b["entry"][1]["resource"])


def _validate_fhir_min(bundle):
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(bundle)


def test_druglib_push_and_status_and_connect_commands(pty_unit, capsys, tmp_path):
    from firmware.core import druglib

    doc = json.loads(open(druglib.default_path(), encoding="utf-8").read())
    doc["version"] = "0.1.3-ward"
    doc["sha256"] = druglib.compute_hash(doc)
    lib = tmp_path / "lib.json"
    lib.write_text(json.dumps(doc))
    keyf = tmp_path / "unit.key"
    keyf.write_text(DEV_KEY.hex())
    code, out, err = _cli(["druglib", "push", pty_unit.port, str(lib), "--key-file", str(keyf)], capsys)
    assert code == 0, err
    assert "now runs drug library 0.1.3-ward" in out
    assert pty_unit.unit.library.version == "0.1.3-ward"
    # a wrong key: refused, and the unit keeps its library
    keyf.write_text("00" * 32)
    doc["version"] = "0.1.2-evil"
    doc["sha256"] = druglib.compute_hash(doc)
    lib.write_text(json.dumps(doc))
    code, out, err = _cli(["druglib", "push", pty_unit.port, str(lib), "--key-file", str(keyf)], capsys)
    assert code == 1 and "DENIED" in err
    assert pty_unit.unit.library.version == "0.1.3-ward"
    # an unsealed file is refused before anything is sent
    doc["version"] = "0.1.3-unsealed"
    lib.write_text(json.dumps(doc))
    code, out, err = _cli(["druglib", "push", pty_unit.port, str(lib)], capsys)
    assert code == 1 and "NOT VERIFIED" in err

    code, out, _ = _cli(["status", pty_unit.port], capsys)
    assert code == 0 and "unit STATIM-0001" in out and "drug library 0.1.3-ward" in out and "70.0 kg" in out
    code, out, _ = _cli(["status", pty_unit.port, "--json"], capsys)
    assert json.loads(out)["status"]["weight_g"] == 70000

    with link.open_link(pty_unit.port) as c:
        c.request("ONSET")
    code, out, _ = _cli(["connect", pty_unit.port, "--seconds", "0.5", "--interval", "0.2"], capsys)
    assert code == 0 and "stage seizure" in out and "--" in out


def test_no_unit_on_the_port_is_a_clear_error(capsys):
    live = LiveUnit(uart="pty")  # not started: nobody answers
    try:
        code, _, err = _cli(["status", live.port, "--timeout", "0.3", "--retries", "1"], capsys)
        assert code == 1 and "no reply" in err
    finally:
        live.stop()
