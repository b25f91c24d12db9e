"""The next action with its deadline countdown on the home screen (issue 15 item 3).

clinical.md §5 (AES 2016 timeline) and the ESETT indication: after an adequate
benzodiazepine, a patient still seizing 5 min later has established SE and the
second line is due then (by 20 min at the latest); after the second line, a
patient still seizing at the end of its window has refractory SE and the third
line is due (by 40 min at the latest).  From the moment a line of therapy is
given, the home screen's due row names the next line with the time left
(mm:ss), second by second, and says OVERDUE only once the unit's own due list
says the deadline has passed.
"""
import re

from panel_driver import Panel

ROW = re.compile(r"^(1st line|2nd line|3rd line|BZD rpt) (in )?(\d\d):(\d\d)$")


def _due(p, name):
    for d in p.unit.status()["due"]:
        if d[0] == name:
            return d
    return None


def _watch(p, until_s, line):
    """Every second to until_s: the row is never empty; OVERDUE exactly when the unit says so;
    the countdown falls by one each second and reaches 00:01 before OVERDUE."""
    last = None
    seen_overdue = False
    while p.emu.now_ms // 1000 < until_s:
        p.wait(1000)
        row = p.rows[4]
        assert row, "empty due row at %d s" % (p.emu.now_ms // 1000)
        due = _due(p, line)
        overdue = due is not None and due[3] == "overdue"
        if row.startswith("OVERDUE"):
            assert overdue and row == "OVERDUE " + {"second_line": "2nd line", "third_line": "3rd line"}[line], row
            assert last is not None and last[1] <= 1, last  # counted down to 00:01 first
            seen_overdue = True
            break
        assert not overdue, (row, due)
        m = ROW.match(row)
        assert m, row
        left = int(m.group(3)) * 60 + int(m.group(4))
        if last is not None and last[0] == m.group(1):
            assert left == last[1] - 1, (row, last)
        last = (m.group(1), left)
    return seen_overdue


def test_after_lorazepam_the_second_line_counts_down_to_established_se():
    p = Panel()
    p.press("ok")
    p.at(1, 0)
    assert p.give("lorazepam", "iv")["verdict"] == "adequate"  # 4 mg for 70 kg (AES: 0.1 mg/kg, max 4)
    p.wait(1000)
    assert p.rows[4] == "2nd line 04:59"  # established SE 5 min after the benzodiazepine (ESETT)
    assert _watch(p, 8 * 60, "second_line")
    assert p.unit.state.stage == 3  # established


def test_after_the_second_line_the_third_line_counts_down():
    p = Panel()
    p.press("ok")
    p.at(1, 0)
    p.give("lorazepam", "iv")
    p.at(7, 0)
    assert p.give("levetiracetam", "iv")["verdict"] == "adequate"  # 60 mg/kg, max 4500 mg
    p.wait(1000)
    assert ROW.match(p.rows[4]) and p.rows[4].startswith("3rd line"), p.rows[4]
    assert _watch(p, 45 * 60, "third_line")


def test_an_underdosed_benzodiazepine_shows_its_repeat_then_the_second_line():
    p = Panel()
    p.press("ok")
    p.at(1, 0)
    p.give("lorazepam", "iv", downs=4)  # 2 mg: below the 0.1 mg/kg reference
    p.wait(1000)
    assert p.rows[4].startswith("BZD rpt in "), p.rows[4]
    for _ in range(20 * 60):
        p.wait(1000)
        assert p.rows[4], "empty due row at %d s" % (p.emu.now_ms // 1000)
        if p.rows[4].startswith("OVERDUE"):
            assert _due(p, "second_line")[3] == "overdue"
            break
