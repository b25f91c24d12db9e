"""Dose entry on the front panel (issue 15 item 4), driven by presses and read from the screen.

Reference doses: AES 2016 (lorazepam 0.1 mg/kg max 4 mg; fosphenytoin 20 mg PE/kg max
1500; valproate 40 mg/kg max 3000; levetiracetam 60 mg/kg max 4500 as in ESETT;
phenobarbital 15 mg/kg), the library's references (firmware/core/druglib.json).
"""
import json
import os

import pytest

from panel_driver import Panel

LIB = json.load(open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "firmware", "core",
                                  "druglib.json")))
LINE = {(d, r): e["line"] for d, v in LIB["drugs"].items() for r, e in v["routes"].items()}


def _drug_list(p):
    p.open_menu_item("Give dose")
    assert p.page == "dose_drug"
    return p


def _select(p, drug, route):
    from firmware.core import drugnames

    want = ">%s %s" % (drugnames.drug(drug), drugnames.route(route))
    for _ in range(len(p.ui.entries) + 1):
        if p.rows[p.ui.screen.invert] == want:
            return
        p.press("down")
    raise AssertionError("%s %s not found" % (drug, route))


def _shown_list(p):
    """The drug list as shown: every row of every scroll position, in order, once."""
    rows = []
    for _ in range(len(p.ui.entries)):
        for r in p.rows[2:7]:
            if r and r[1:] not in [x[1:] for x in rows]:
                rows.append(r)
        p.press("down")
    return rows


@pytest.mark.parametrize("minute,first_line", [(6, 1), (12, 2), (40, 3)])
def test_drugs_grouped_by_line_the_line_due_first(minute, first_line):
    p = Panel()
    p.press("ok")
    if minute > 6:
        p.at(1, 0)
        p.give("lorazepam", "iv")
    if minute > 12:
        p.at(7, 0)
        p.give("levetiracetam", "iv")
    p.at(minute, 0)
    _drug_list(p)
    shown = _shown_list(p)
    heads = [r for r in shown if r.startswith("--")]
    assert heads[0] == "-- %s line --" % {1: "1st", 2: "2nd", 3: "3rd"}[first_line], shown
    assert sorted(heads) == sorted(["-- 1st line --", "-- 2nd line --", "-- 3rd line --"])
    # every entry sits under the header of its line in the library
    from firmware.core import drugnames

    by_name = {">" + drugnames.drug(d) + " " + drugnames.route(r): line for (d, r), line in LINE.items()}
    line = None
    for r in shown:
        if r.startswith("--"):
            line = {"1st": 1, "2nd": 2, "3rd": 3}[r[3:6]]
        else:
            assert by_name[">" + r[1:]] == line, (r, line)
    assert len([r for r in shown if not r.startswith("--")]) == len(LINE)
    entries = p.ui.entries
    lines = [LINE[tuple(e[:2])] for e in entries]
    assert lines[0] == first_line
    order = [first_line] + [x for x in (1, 2, 3) if x != first_line]
    assert lines == sorted(lines, key=order.index)


def test_back_after_scrolling_a_verdict_keeps_the_drug():
    # issue 15: after scrolling a verdict's messages, BACK moved the cursor by the scroll
    # count (lorazepam became lacosamide)
    p = Panel()
    p.press("ok")
    p.at(6, 0)
    _drug_list(p)
    _select(p, "lorazepam", "iv")
    p.press("ok", "ok")  # amount, verdict
    p.press("down", "down", "down")  # scroll its text
    p.press("back", "back")  # amount, drug list
    assert p.page == "dose_drug"
    assert p.rows[p.ui.screen.invert] == ">lorazepam iv"
    p.press("ok")
    assert p.rows[1] == "lorazepam iv"


@pytest.mark.parametrize("kg,drug,route,amount", [
    (70, "lorazepam", "iv", "4 mg"), (82, "lorazepam", "iv", "4 mg"), (20, "lorazepam", "iv", "2 mg"),
    (70, "levetiracetam", "iv", "4200 mg"), (82, "levetiracetam", "iv", "4500 mg"),
    (70, "fosphenytoin", "iv", "1400 mg PE"), (70, "valproate", "iv", "2800 mg"),
    (70, "phenobarbital", "iv", "1050 mg")])
def test_amount_starts_at_the_reference_dose(kg, drug, route, amount):
    p = Panel(weight_kg=kg)
    p.press("ok")
    _drug_list(p)
    _select(p, drug, route)
    p.press("ok")
    assert p.rows[4] == amount


def test_an_infusion_rate_moves_in_whole_steps():
    p = Panel()
    p.press("ok")
    _drug_list(p)
    _select(p, "propofol", "infusion")
    p.press("ok")
    start = p.rows[4]
    p.press("up")
    a, b = int(start.split()[0]), int(p.rows[4].split()[0])  # whole mcg/kg/min
    assert b - a == 5 and p.rows[4].endswith("mcg/kg/min")


def _verdict_for(p, drug, route, ups):
    _drug_list(p)
    _select(p, drug, route)
    p.press("ok")
    p.press(*("up",) * ups)
    p.press("ok")
    assert p.page == "dose_verdict"


def _all_text(p):
    seen = []
    for _ in range(40):
        for r in p.rows[3:7]:
            seen.append(r)
        before = p.rows
        p.press("down")
        if p.rows == before:
            break
    return seen


def test_the_verdict_page_leads_with_the_verdict_and_its_reason():
    p = Panel()
    p.press("ok")
    _verdict_for(p, "lorazepam", "iv", 8)  # 4 mg + 8 x 0.5 = 8 mg: above the AES 4 mg maximum
    rows = p.rows
    assert rows[1] == "SOFT LIMIT" and rows[2] == "8 mg"
    assert rows[3].startswith("Lorazepam 8 mg"), rows  # the reason first, not "age group not given"
    assert "age group" not in " ".join(rows[3:7])


def test_a_refused_dose_shows_no_volume_to_draw():
    p = Panel()
    p.press("ok")
    _verdict_for(p, "lorazepam", "iv", 16)  # 12 mg: three times the reference, refused
    assert p.rows[1] == "HARD LIMIT"
    text = " ".join(_all_text(p))
    assert "refused" in text
    assert "draw" not in text and "mL" not in text and "give over" not in text, text
    assert p.rows[7].startswith("REFUSED")


def _doses(p):
    return [e for e in p.unit.events if e["type"] == "dose"]


def test_a_soft_limit_cannot_be_clicked_through_with_ok():
    p = Panel()
    p.press("ok")
    _verdict_for(p, "lorazepam", "iv", 8)  # 8 mg
    p.press(*("ok",) * 6)
    assert _doses(p) == []  # issue 15: 8 mg of lorazepam was logged with OK, OK


def test_a_soft_limit_override_is_deliberate():
    p = Panel()
    p.press("ok")
    _verdict_for(p, "lorazepam", "iv", 8)
    p.press("ok")  # the override page
    assert p.page == "dose_reason"
    assert p.ui.screen.invert < 0  # no reason preselected
    p.press("ok")
    assert p.page == "dose_reason" and _doses(p) == []  # OK without a reason does nothing
    p.press("down")  # the first reason
    reason = p.rows[p.ui.screen.invert][1:]
    p.press("ok")
    assert p.page == "dose_confirm"
    text = "\n".join(p.rows)
    assert "8 mg" in text and "limit 4 mg" in text  # the dose and the limit on the same page
    p.press("ok")
    assert _doses(p) == []  # OK alone does not confirm
    p.press("up", "ok")  # the distinct confirmation: UP then OK
    doses = _doses(p)
    assert len(doses) == 1 and doses[0]["amount_ug"] == 8000 and doses[0]["verdict"] == "soft"
    notes = [e["text"] for e in p.unit.events if e["type"] == "note"]
    assert notes == ["override lorazepam iv: %s [dose_over_soft]" % reason]  # the reason in the record


def test_anything_between_up_and_ok_starts_the_confirmation_over():
    p = Panel()
    p.press("ok")
    _verdict_for(p, "lorazepam", "iv", 8)
    p.press("ok", "down", "ok")  # a reason, the confirmation page
    assert p.page == "dose_confirm"
    p.press("up", "down", "ok")
    assert _doses(p) == []
    p.press("up", "back")
    assert p.page == "dose_reason" and _doses(p) == []
