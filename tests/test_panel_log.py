"""The log page (issue 15 item 6): time since onset with its sign, names and amounts
in words, EEG state changes collapsed to runs, a filter (all / doses / alarms).

Driven by presses; read from the screen.  A 70 kg adult: weight entered before the
timer starts, lorazepam 4 mg (AES: 0.1 mg/kg, max 4 mg) at 6:00 after the onset, first line
overdue at 5:00 (convulsive SE: first line by 5 min).
"""
from panel_driver import Panel


def _episode():
    p = Panel()  # the weight is entered at boot, before the onset
    p.wait(30000)
    p.press("ok")  # onset
    p.at(6, 30)
    p.give("lorazepam", "iv")
    p.at(8, 0)
    return p


def _log(p):
    p.home()
    p.press("up")
    assert p.page == "log"
    return p


def _all_entries(p, limit=80):
    """Every entry's rows, newest first, scrolling with UP (older)."""
    out = []
    for _ in range(limit):
        rows = p.rows
        inv = p.ui.screen.invert
        entry = [rows[inv]]
        for r in rows[inv + 1:7]:
            if not r.startswith("  "):
                break
            entry.append(r)
        if out and out[-1] == entry:
            break
        out.append(entry)
        p.press("up")
    return [" ".join(x.strip() for x in e) for e in out]


def test_entries_in_words_with_the_signed_time_since_onset():
    p = _log(_episode())
    entries = _all_entries(p)
    assert "+06:00 lorazepam 4 mg iv" in entries, entries
    assert entries.index("+06:00 lorazepam 4 mg iv") < entries.index("+05:00 alarm 1st late")  # newest first
    assert "+05:00 alarm 1st late" in entries
    assert "+00:00 onset convulsive" in entries
    assert "-00:30 weight 70 kg" in entries, entries  # entered 30 s before the onset


def test_eeg_state_changes_collapse_to_one_run():
    p = _episode()
    u = p.unit
    for k in range(29):  # 58 detector changes (the issue: 58 EEG events in 3 h drowned the rest)
        u.eeg_state("seizure")
        p.wait(60000)
        u.eeg_state("no_seizure")
        p.wait(60000)
    p.at(70, 0)
    p.give("levetiracetam", "iv")
    entries = _all_entries(_log(p))
    eeg = [k for k in range(len(entries)) if " EEG " in entries[k]]
    # a run is broken only by another entry (here the alarms raised meanwhile): no two EEG entries in a row
    assert all(b - a > 1 for a, b in zip(eeg, eeg[1:])), entries
    assert len(eeg) <= 4, entries
    counts = [int(entries[k].split(" EEG ")[1].split()[0]) for k in eeg]
    assert sum(counts) == 58, entries
    assert "now no seizure" in entries[eeg[0]], entries  # the newest run ends in the last state
    assert any(e.endswith("levetiracetam 4200 mg iv") for e in entries)
    assert any(e.endswith("lorazepam 4 mg iv") for e in entries)


def test_the_filter_shows_doses_or_alarms_only():
    p = _log(_episode())
    assert p.rows[1].startswith("show all")
    p.press("down")  # from the newest entry to the filter row
    assert p.ui.screen.invert == 1
    p.press("ok")
    assert p.rows[1].startswith("show doses")
    p.press("up")  # the newest dose
    entries = _all_entries(p)
    assert entries == ["+06:00 lorazepam 4 mg iv"], entries
    p.press("down", "down")  # back up to the filter row: a long list scrolls back one entry at a time
    while p.ui.screen.invert != 1:
        p.press("down")
    p.press("ok")
    assert p.rows[1].startswith("show alarms")
    p.press("up")
    entries = _all_entries(p)
    assert entries and all(" alarm " in e or " ack " in e or "audio" in e or " end " in e for e in entries), entries
    assert "+05:00 alarm 1st late" in entries
