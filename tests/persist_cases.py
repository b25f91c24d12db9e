"""A long, deterministic persistence scenario for the power-cut tests.

The events are a real episode written by the episode engine (random but
seeded: onset, doses, EEG, infusions, alarm records), stored the way the unit
stores them, with everything else the unit does to flash mixed in:
single appends and batches, reboots (a fresh EventLog replays the file),
settings saves, a torn tail left by an earlier power cut that the next boot
must cut (so the recovery's own copy and rename are cut too), and a stale
temp file.  Marks record what was committed: an append or save that
returned."""
import sys
import os

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from firmware.core.eventlog import EventLog  # noqa: E402
from firmware.core.settings import Settings  # noqa: E402

DEFAULTS = {"unit_id": "STATIM-0001", "key_id": 1, "reference": "aes", "volume": 3}


def episode_events(seed=7, n_steps=60):
    from test_episode_properties import drive

    return [dict(e) for e in drive(seed, n_steps=n_steps).events]


def long_scenario(events, reboot_every=29, settings_every=23, batch_every=11, torn_at=41):
    """scenario(hal, mark): the writes of a long run on one unit's flash."""

    def scenario(hal, mark=lambda m: None):
        st = Settings(hal, defaults=DEFAULTS)
        st.load()
        log = EventLog(hal)
        stored = log.load()
        committed = list(stored)
        i = 0
        n_set = 0
        while i < len(events):
            if i and i % reboot_every == 0:
                log = EventLog(hal)  # reboot: replay from flash
                got = log.load()
                assert got == committed, "reboot lost or altered records"
                st = Settings(hal, defaults=DEFAULTS)
                st.load()
            if i == torn_at:
                # An earlier power cut tore a record: the log ends in half of one,
                # and a stale temp file lies around.  The next boot must cut it.
                f = hal.fs_open(log.name, "ab")
                f.write(b"\xa5\x01\x40\x00" + bytes([log.next_seq & 255, 0, 0, 0]) + b'{"t":1')
                f.close()
                f = hal.fs_open(log.tmp_name, "wb")
                f.write(b"stale")
                f.close()
                log = EventLog(hal)
                got = log.load()
                assert got == committed and log.cut_bytes == 14
            if i % batch_every == 5 and i + 3 <= len(events):
                chunk = events[i:i + 3]
                seqs = log.append_many(chunk)
                committed.extend(chunk)
                mark(("ev", seqs, chunk))
                i += 3
            else:
                seq = log.append(events[i])
                committed.append(events[i])
                mark(("ev", [seq], [events[i]]))
                i += 1
            if i // settings_every > n_set:
                n_set = i // settings_every
                values = dict(st.values)
                values["volume"] = n_set % 5
                values["last_event"] = i
                gen = st.save(values)
                mark(("set", gen, values))
        return committed

    return scenario
