"""mpremote's conventions: --version, `statim devs`, the `auto` port, `+` chaining on one
connection, and help for every option."""
import argparse
import json

import pytest

from emulator.live import LiveUnit
from host_tools import cli, link


class PortInfo:
    """What serial.tools.list_ports.comports() yields, for the fields statim reads."""

    def __init__(self, device, vid=None, pid=None, description="n/a", manufacturer=None, product=None, serial=None):
        self.device, self.vid, self.pid, self.description = device, vid, pid, description
        self.manufacturer, self.product, self.serial_number = manufacturer, product, serial
        self.hwid = "USB VID:PID=%04X:%04X" % (vid, pid) if vid else "n/a"


def run_cli(args, capsys):
    rc = cli.main(args)
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.startswith("statim 0.")


def test_devs_lists_ports_and_marks_statim_looking_ones(monkeypatch, capsys):
    monkeypatch.setattr(link, "comports", lambda: [
        PortInfo("/dev/ttyS0", description="ttyS0"),
        PortInfo("/dev/ttyACM0", 0x2E8A, 0x0005, "Board in FS mode", "MicroPython", "Board in FS mode", "e6614c"),
        PortInfo("/dev/ttyUSB0", 0x0403, 0x6001, "FT232R USB UART", "FTDI"),
    ])
    rc, out, _ = run_cli(["devs"], capsys)
    assert rc == 0
    rows = out.splitlines()
    acm = [r for r in rows if r.startswith("/dev/ttyACM0")][0]
    assert "2e8a:0005" in acm and "MicroPython" in acm and "statim?" in acm
    assert "statim?" not in [r for r in rows if r.startswith("/dev/ttyUSB0")][0]
    rc, out, _ = run_cli(["devs", "--json"], capsys)
    d = json.loads(out)
    assert [p["device"] for p in d if p["statim_looking"]] == ["/dev/ttyACM0"]


def test_devs_with_no_ports_says_so(monkeypatch, capsys):
    monkeypatch.setattr(link, "comports", lambda: [])
    rc, out, err = run_cli(["devs"], capsys)
    assert rc == 0 and "no serial ports" in err


@pytest.fixture
def pty_unit():
    live = LiveUnit(uart="pty", weight_kg=70).start()
    yield live
    live.stop()


def test_auto_takes_the_first_statim_looking_port(pty_unit, monkeypatch, capsys):
    monkeypatch.setattr(link, "comports", lambda: [
        PortInfo("/dev/ttyUSB9", 0x0403, 0x6001, "FT232R USB UART", "FTDI"),
        PortInfo(pty_unit.port, 0x2E8A, 0x0005, "Board in FS mode", "MicroPython"),
    ])
    rc, out, err = run_cli(["status", "auto"], capsys)
    assert rc == 0, err
    assert "unit STATIM-0001" in out
    rc, out, err = run_cli(["status"], capsys)  # no PORT: auto, as mpremote does
    assert rc == 0 and "unit STATIM-0001" in out, err


def test_auto_without_a_statim_looking_port_names_the_problem(monkeypatch, capsys):
    monkeypatch.setattr(link, "comports", lambda: [PortInfo("/dev/ttyS0")])
    rc, _, err = run_cli(["status", "auto"], capsys)
    assert rc == 1 and "no Statim-looking serial port" in err and "statim devs" in err


def test_plus_chains_commands_on_one_connection(monkeypatch, capsys):
    opened = []
    real = link.open_link

    def counting(port, *a, **kw):
        c = real(port, *a, **kw)
        opened.append(port)
        return c

    monkeypatch.setattr(link, "open_link", counting)
    rc, out, err = run_cli(["status", "emu://?weight=70", "+", "log", "export", "--format", "csv"], capsys)
    assert rc == 0, err
    assert opened == ["emu://?weight=70"]  # an anonymous emulated unit lives as long as its one connection
    assert "unit STATIM-0001" in out
    assert "\nseq," in out and ",weight," in out  # the same unit's log: its weight entry


def test_a_failing_command_stops_the_chain(capsys):
    rc, out, err = run_cli(["status", "/dev/ttyACM_statim_absent", "+", "status"], capsys)
    assert rc == 1 and err.count("no such port") == 1


def test_plus_needs_a_command_on_each_side():
    with pytest.raises(SystemExit) as e:
        cli.main(["status", "emu://", "+"])
    assert e.value.code == 2


def test_every_option_has_help():
    parser = cli.build_parser()
    missing = []

    def walk(p, name):
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                for sub_name, sub in a.choices.items():
                    walk(sub, name + " " + sub_name)
            elif a.option_strings and a.help is None:
                missing.append("%s %s" % (name, "/".join(a.option_strings)))
            elif not a.option_strings and a.help is None and a.dest not in ("command",):
                missing.append("%s %s" % (name, a.dest))

    walk(parser, "statim")
    assert not missing, missing
