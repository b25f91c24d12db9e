# Quarantine entries for stored records that fail validation at replay.
# Imported only when replay meets such a record, and let go after boot
# (unit.py: heap.forget("record")): a healthy log never loads it.
#
#   q = entry(stored, error, t)   # {"type": "invalid", "t", "reason", "record"}
from . import canon as _canon
from . import events as _events

RECORD_SHOWN = 300  # bytes of a quarantined record kept whole in memory (all of it stays on flash)


def entry(ev, e, t):
    """The invalid-record entry shown in place of `ev` (a stored record, or an
    eventlog marker {"type": "invalid", "reason", "record"} without "t")."""
    rec = ev
    if type(ev) is dict and ev.get("type") == "invalid" and "t" not in ev:
        rec = ev.get("record")
    try:
        enc = _canon.encode(rec, "record")
    except Exception:
        enc = b"?"
    if len(enc) > RECORD_SHOWN:  # a LOG reply is one line: show its start, as text
        rec = "".join([chr(b) if 32 <= b < 127 else "?" for b in enc[:RECORD_SHOWN // 2]]) + "..."
    return {"type": "invalid", "t": t if t > 0 else 0, "reason": str(e)[:_events.NOTE_MAX], "record": rec}
