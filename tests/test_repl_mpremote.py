"""The unmodified mpremote CLI against the emulated unit's maintenance REPL.

Bedside mode locks the REPL (mpremote cannot get in); an authenticated
maintenance session unlocks it; then `mpremote connect <pty> fs ls / fs cp /
exec / sha256sum` work on the emulated flash exactly as on a board; a soft
reset (Ctrl-D) puts the unit back in bedside mode.  `statim deploy` compiles
firmware/ with mpy-cross and copies it with mpremote's transport, skipping
unchanged files and verifying each copy.
"""
import hashlib
import os
import subprocess
import sys

import pytest

from emulator.live import DEV_KEY, LiveUnit
from firmware.core import druglib
from host_tools import link

pytest.importorskip("mpremote", reason="mpremote not installed")


def mpremote(port, *args, timeout=60):
    proc = subprocess.run([sys.executable, "-m", "mpremote", "connect", port, *args], capture_output=True,
                          text=True, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def unit(tmp_path):
    live = LiveUnit(uart="pty", flash_dir=str(tmp_path / "flash")).start()
    yield live
    live.stop()


def unlock(port):
    with link.open_link(port) as c:
        c.login(DEV_KEY)
        assert c.request("REPL") == "repl"


def test_bedside_mode_locks_the_repl(unit):
    from mpremote.transport_serial import SerialTransport, TransportError

    t = SerialTransport(unit.port, timeout=0.2)  # pty: mpremote reads with the port timeout
    try:
        with pytest.raises(TransportError):
            t.enter_raw_repl(timeout_overall=1.5)
    finally:
        t.close()
    # the Ctrl-C / Ctrl-A bytes were dropped as line noise; the unit is fine and still bedside
    with link.open_link(unit.port) as c:
        assert c.hello()["unit"] == "STATIM-0001"
        assert c.stats()["control"] >= 2
    # and REPL itself needs a session
    with link.open_link(unit.port) as c:
        with pytest.raises(link.RemoteError) as e:
            c.request("REPL")
        assert e.value.code == "AUTH"


def test_mpremote_fs_and_exec_after_unlock(unit, tmp_path):
    unlock(unit.port)
    assert [e["action"] for e in unit.unit.events if e["type"] == "maint"] == ["login", "repl"]
    code, out, err = mpremote(unit.port, "fs", "ls")
    assert code == 0, err
    code, out, err = mpremote(unit.port, "exec", "print(6 * 7)")
    assert code == 0 and out.strip() == "42", (out, err)
    src = tmp_path / "hello.txt"
    src.write_bytes(b"statim\n" * 100)
    code, out, err = mpremote(unit.port, "fs", "cp", str(src), ":hello.txt")
    assert code == 0, err
    assert (tmp_path / "flash" / "hello.txt").read_bytes() == src.read_bytes()
    code, out, err = mpremote(unit.port, "fs", "ls")
    assert "hello.txt" in out and "700" in out
    code, out, err = mpremote(unit.port, "fs", "sha256sum", ":hello.txt")
    assert hashlib.sha256(src.read_bytes()).hexdigest() in out
    code, out, err = mpremote(unit.port, "fs", "cp", str(src), ":hello.txt")
    assert "Up to date" in out  # mpremote skipped it: the hash matched
    code, out, err = mpremote(unit.port, "fs", "mkdir", ":lib", "+", "fs", "cp", str(src), ":lib/x.txt",
                              "+", "fs", "cat", ":lib/x.txt")
    assert code == 0 and out.count("statim") == 100, err
    code, out, err = mpremote(unit.port, "fs", "cat", ":nope.txt")
    assert code != 0 and "No such file" in err
    # the REPL is confined to the flash directory
    code, out, err = mpremote(unit.port, "exec", "open('/../../etc/passwd')")
    assert code != 0 and "OSError" in out + err
    code, out, err = mpremote(unit.port, "exec", "import subprocess")
    assert code != 0 and "ImportError" in out + err


def test_soft_reset_returns_to_bedside(unit):
    unlock(unit.port)
    code, out, err = mpremote(unit.port, "exec", "x = 1")
    assert code == 0
    import serial

    s = serial.Serial(unit.port, timeout=0.5)
    s.write(b"\x04")  # Ctrl-D at the friendly REPL: soft reboot into main.py
    s.read(200)
    s.close()
    with link.open_link(unit.port) as c:
        assert c.hello()["unit"] == "STATIM-0001"
    assert unit.resets == 1 and not unit.link.repl_active


def test_statim_deploy_compiles_copies_skips_and_verifies(tmp_path, capsys):
    from host_tools import cli, protocol_emu

    flash = tmp_path / "flash"
    url = "emu://deploy-test?flash=%s" % flash
    try:
        code = cli.main(["deploy", url])
        out = capsys.readouterr()
        assert code == 0, out.err
        assert "arch armv6m" in out.out
        mpys = sorted(os.listdir(flash / "core"))
        assert "protocol.mpy" in mpys and "druglib.lib" in mpys and "druglib.json" not in mpys
        # the board's library is the device form, and it verifies as deployed
        assert druglib.load(str(flash / "core" / "druglib.lib")).sha256 == druglib.load().sha256
        assert (flash / "main.py").exists() and (flash / "lib" / "hal.mpy").exists()
        head = (flash / "core" / "protocol.mpy").read_bytes()[:4]
        # .mpy v6; bytecode-only files carry no arch (mpy-cross writes one only with native code)
        assert head[0:1] == b"M" and head[1] == 6
        copied = int(out.out.split(": ")[1].split(" copied")[0])
        # back in bedside mode after the soft reset; a second deploy skips every file
        with link.open_link(url) as c:
            assert c.hello()["unit"] == "STATIM-0001"
        code = cli.main(["deploy", url])
        out = capsys.readouterr()
        assert code == 0, out.err
        assert "0 copied and verified, %d unchanged" % copied in out.out
    finally:
        protocol_emu.shutdown("deploy-test")
