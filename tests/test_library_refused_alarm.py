"""The installed drug library refused at boot: the built-in library is used, and the unit says so
(flag, ALARM, log).  The alarm is the technical alarm `library_refused`, medium priority: dose checks
still work on the built-in library, but the maintainer's installed library is not in use.  It follows
the settings_defaults pattern: set by the maint druglib_refused record the unit writes after power-up,
reset by each power_up, ended by a library properly installed (DLCOMMIT)."""
import os

from firmware.core import alarms, auth, episode, events, protocol
from host_tools import link as _link
from protocol_harness import Harness
from test_security import DEV_KEY, _attack_library, _boot, _library_variant, _push, _write_flash


def _alarm(st):
    """The library_refused entry of STATUS alarms, or None."""
    hits = [a for a in st["alarms"] if a[0] == "library_refused"]
    assert len(hits) <= 1, st["alarms"]
    return hits[0] if hits else None


def test_a_refused_library_raises_the_library_refused_alarm_until_a_good_one_is_installed(tmp_path):
    flash = str(tmp_path / "flash")
    _write_flash(flash, protocol.FLASH_LIBRARY, _attack_library())  # sealed, but no tag for this unit
    for boot in (1, 2):
        live = _boot(flash)
        try:
            with _link.open_link(live.port) as c:
                st = c.status()
            assert "refused" in st["library_refused"]
            a = _alarm(st)
            assert a is not None, "boot %d: %r" % (boot, st["alarms"])
            assert a[1] == "medium"
            assert "library_refused" in st["flags"]
            assert "!!lib fail" in live.emu.screen_text()  # the alarm row (docs/panel-glossary.md)
            refusals = [e for e in live.unit.events if e["type"] == "maint" and e["action"] == "druglib_refused"]
            assert len(refusals) == boot
            if boot == 2:
                # a properly tagged library installed by maintenance ends it at once ...
                with _link.open_link(live.port) as c:
                    c.login(DEV_KEY)
                    assert c.push_druglib(_library_variant("9.9.9-test"), DEV_KEY)["version"] == "9.9.9-test"
                    st = c.status()
                assert _alarm(st) is None and "library_refused" not in st["flags"], st["alarms"]
                assert "library_refused" not in st
        finally:
            live.stop()
    live = _boot(flash)  # ... and after the next start-up nothing is refused, nothing alarms
    try:
        with _link.open_link(live.port) as c:
            st = c.status()
        assert st["library_version"] == "9.9.9-test" and "library_refused" not in st
        assert _alarm(st) is None and "library_refused" not in st["flags"], st["alarms"]
        assert "library refuse" not in live.emu.screen_text()
    finally:
        live.stop()


def test_a_refused_upload_does_not_raise_the_alarm(tmp_path):
    # DLCOMMIT refusing a transfer logs druglib_refused too, but the library in use is unchanged:
    # that is a refused request, not a unit running on its built-in library against the maintainer's will
    h = Harness(flash_dir=str(tmp_path))
    h.login()
    data = _library_variant("9.9.9-test")
    st, msg = _push(h, data, auth.hexlify(auth.druglib_tag(b"\x02" * 32, data)))
    assert st == "ERR" and msg.startswith("TAG")
    assert [e for e in h.unit.events if e["type"] == "maint" and e["action"] == "druglib_refused"]
    assert not os.path.exists(tmp_path / protocol.FLASH_LIBRARY)
    s = h.unit.status()
    assert "library_refused" not in [a[0] for a in s["alarms"]] and "library_refused" not in s["flags"]


def test_the_fold_sets_library_refused_on_the_boot_record_and_power_up_resets_it():
    st = episode.State()
    episode.apply(st, events.power_up(0, True))
    assert not st.library_refused
    # the record the unit writes when its installed library fails the boot check
    episode.apply(st, events.maint(1, "druglib_refused", events.BUILTIN_LIB + "installed drug library refused: x"))
    assert st.library_refused
    alarms.update(st, 1)
    assert st.al_active[alarms.index("library_refused")]
    assert st.rules.alarm_priority[alarms.index("library_refused")] == alarms.MEDIUM
    assert "library_refused" in episode.flags(st)
    episode.apply(st, events.power_up(5, True))  # the next start-up says again whether it refuses
    assert not st.library_refused
    alarms.update(st, 5)
    assert not st.al_active[alarms.index("library_refused")]
    # a refused upload (DLCOMMIT) leaves it off; a library installed by DLCOMMIT ends it
    episode.apply(st, events.maint(6, "druglib_refused", "tag is not valid for this unit's key"))
    assert not st.library_refused
    episode.apply(st, events.maint(7, "druglib_refused", events.BUILTIN_LIB + "installed drug library refused: y"))
    assert st.library_refused
    episode.apply(st, events.maint(8, "druglib", "installed 9.9.9"))
    assert not st.library_refused


def test_clearing_the_log_keeps_the_alarm_while_the_library_is_refused(tmp_path):
    h = Harness(flash_dir=str(tmp_path))
    h.unit.refuse_installed("installed drug library 9.0.0 refused: it has no tag for this unit")
    assert "library_refused" in [a[0] for a in h.unit.status()["alarms"]]
    h.login()
    h.ok("CLEARLOG confirm=yes")
    s = h.unit.status()
    assert "library_refused" in [a[0] for a in s["alarms"]] and s["library_refused"]
    assert [e for e in h.unit.events if e["type"] == "maint" and e["action"] == "druglib_refused"]
