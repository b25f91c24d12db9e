"""`statim deploy` refuses during an active episode unless --force and says the unit
does not monitor while in maintenance; `statim repl PORT` logs in, hands the link
over and runs code through mpremote's transport."""
import pytest

from emulator.live import DEV_KEY, LiveUnit
from host_tools import cli, link, protocol_emu
from host_tools.commands import deploy

pytest.importorskip("mpremote", reason="mpremote not installed")


@pytest.fixture
def bed(tmp_path):
    name = "deploy-%d" % id(tmp_path)
    url = "emu://%s?flash=%s" % (name, tmp_path / "flash")
    live, _ = protocol_emu.get_unit(url)
    yield url, live
    protocol_emu.shutdown(name)


def run_cli(args, capsys):
    rc = cli.main(args)
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_deploy_refuses_during_an_active_episode(bed, capsys):
    url, live = bed
    live.call(lambda u: u.onset("convulsive", None))
    live.advance(3 * 60_000)
    rc, _, err = run_cli(["deploy", url], capsys)
    assert rc == 1
    assert "active episode" in err and "3m00s since onset" in err and "--force" in err
    assert not live.link.repl_active  # still at the bedside: no login, no hand-over
    assert not [e for e in live.unit.events if e["type"] == "maint" and e["action"] in ("login", "repl")]


def test_deploy_with_force_says_the_unit_is_not_monitoring(bed, capsys, monkeypatch):
    url, live = bed
    live.call(lambda u: u.onset("convulsive", None))

    def stop_here(port, *args, **kwargs):
        raise deploy.DeployError("stopped by the test after the unlock")

    monkeypatch.setattr(deploy, "_transport", stop_here)
    rc, _, err = run_cli(["deploy", url, "--force"], capsys)
    assert rc == 1 and "stopped by the test" in err
    assert "not monitoring" in err
    assert live.link.repl_active


def test_repl_exec_through_the_handover(tmp_path, capsys):
    live = LiveUnit(uart="pty", flash_dir=str(tmp_path / "flash")).start()
    key = tmp_path / "unit.key"
    key.write_text(DEV_KEY.hex())
    try:
        rc, out, err = run_cli(["repl", live.port, "--key-file", str(key), "--exec", "print(6 * 7)"], capsys)
        assert rc == 0, err
        assert out.strip().splitlines()[-1] == "42"
        assert "not monitoring" in err
        assert [e["action"] for e in live.unit.events if e["type"] == "maint"][-2:] == ["login", "repl"]
    finally:
        live.stop()


def test_repl_without_a_key_names_the_problem(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(link.KEY_ENV, raising=False)
    live = LiveUnit(uart="pty", flash_dir=str(tmp_path / "flash")).start()
    try:
        rc, _, err = run_cli(["repl", live.port, "--exec", "print(1)"], capsys)
    finally:
        live.stop()
    assert rc == 1 and "maintenance key" in err


def test_a_raw_repl_entry_in_bedside_mode_gets_one_clear_line(tmp_path):
    """mpremote enters the raw REPL with \\r\\x03 then \\r\\x01 and prints what came back when
    the banner does not: the unit says in one line why, instead of staying silent."""
    import serial
    import time

    from firmware.core import frames as _f
    from mpremote.transport_serial import SerialTransport, TransportError

    live = LiveUnit(uart="pty", flash_dir=str(tmp_path / "flash")).start()
    try:
        s = serial.Serial(live.port, timeout=0.2)
        s.write(b"\r\x03")
        time.sleep(0.3)
        s.write(b"\r\x01")
        got = b""
        end = time.monotonic() + 2
        while time.monotonic() < end and b"\n" not in got:
            got += s.read(200)
        s.close()
        lines = [x for x in got.split(b"\n") if x.strip()]
        assert len(lines) == 1, got
        text = _f.unseal(lines[0], len(lines[0]))  # a Statim frame: host tools read it too
        assert "bedside mode" in text and "statim repl" in text, text
        t = SerialTransport(live.port, timeout=0.2)
        try:
            with pytest.raises(TransportError):
                t.enter_raw_repl(timeout_overall=1.5)
        finally:
            t.close()
        with link.open_link(live.port) as c:  # still a healthy bedside unit
            assert c.hello()["unit"] == "STATIM-0001"
    finally:
        live.stop()
