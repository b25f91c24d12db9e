"""Weight entry on the front panel (issue 15 item 7), by presses.

The weight is keyed digit by digit (hundreds, tens, units of kg; UP / DOWN change the
digit under the cursor and wrap 0 <-> 9, OK moves on, OK on the last digit saves).
The unit starts with no weight and asks for it at the first dose.
"""
import subprocess
import sys

from panel_driver import Panel


def _weight_page(p):
    p.open_menu_item("Weight")
    assert p.page == "weight"


def test_82_kg_in_a_few_presses():
    p = Panel(weight_kg=None)
    p.press("ok")  # the timer
    _weight_page(p)
    assert p.rows[2] == "000 kg"
    n = p.presses
    p.press("ok")  # hundreds: 0
    p.press("down", "down")  # tens: 0 -> 9 -> 8
    assert p.rows[2] == "080 kg"
    p.press("ok")
    p.press("up", "up")  # units: 2
    p.press("ok")  # save
    assert p.presses - n == 7  # issue 15: 17 presses from a preset 70 kg, 55 for a 20 kg child
    assert [e["grams"] for e in p.unit.events if e["type"] == "weight"] == [82000]
    assert p.page == "home"


def test_a_child_of_20_kg():
    p = Panel(weight_kg=None)
    p.press("ok")
    _weight_page(p)
    n = p.presses
    p.press("ok", "up", "up", "ok", "ok")
    assert p.presses - n == 5
    assert [e["grams"] for e in p.unit.events if e["type"] == "weight"] == [20000]


def test_re_entry_starts_from_the_weight_on_record_and_back_goes_a_digit_back():
    p = Panel(weight_kg=82)
    p.press("ok")
    _weight_page(p)
    assert p.rows[2] == "082 kg"
    p.press("ok", "ok", "up")  # units: 3
    p.press("back")  # back to the tens
    p.press("up", "ok")  # tens: 9
    assert p.rows[2] == "093 kg"
    p.press("down", "ok")  # 92 kg: within the re-entry check's range
    assert [e["grams"] for e in p.unit.events if e["type"] == "weight"][-1] == 92000


def test_zero_kg_is_not_saved():
    p = Panel(weight_kg=None)
    p.press("ok")
    _weight_page(p)
    p.press("ok", "ok", "ok")
    assert not [e for e in p.unit.events if e["type"] == "weight"]
    assert p.page == "weight"


def test_the_unit_starts_without_a_weight_and_asks_for_it_at_the_first_dose():
    p = Panel(weight_kg=None)
    assert "weight not set" in p.rows
    p.press("ok")  # the timer
    p.open_menu_item("Give dose")
    assert p.page == "weight" and p.rows[1] == "PATIENT WEIGHT"
    p.press("ok", "down", "down", "ok", "up", "up", "ok")  # 82 kg
    assert p.page == "dose_drug"  # straight on to the drug list
    assert [e["grams"] for e in p.unit.events if e["type"] == "weight"] == [82000]


def test_the_emulator_presets_no_weight_unless_asked():
    from emulator.board import EmulatedUnit

    assert EmulatedUnit().unit.weight_g is None
    assert EmulatedUnit(weight_kg=70).unit.weight_g == 70000


def test_statim_run_weight_zero_is_a_clear_error():
    r = subprocess.run([sys.executable, "-m", "host_tools.cli", "run", "--weight", "0"], capture_output=True,
                       text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert r.returncode == 2 and "weight" in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_statim_run_without_weight_starts_without_one(monkeypatch):
    from host_tools import cli
    from host_tools.commands import run as run_cmd

    seen = {}

    class FakePanel:
        @staticmethod
        def run(**kw):
            seen.update(kw)

            class E:
                class unit:
                    events = []

                class board:
                    class flash:
                        root = "/tmp"

            return E

    import emulator

    monkeypatch.setattr(emulator, "panel", FakePanel, raising=False)
    monkeypatch.setitem(sys.modules, "emulator.panel", FakePanel)
    monkeypatch.setattr(run_cmd.sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(run_cmd.sys.stdout, "isatty", lambda: True, raising=False)
    cli.main(["run"])
    assert seen["weight_kg"] is None
    cli.main(["run", "--weight", "82kg"])
    assert seen["weight_kg"] == 82.0
