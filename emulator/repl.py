"""The emulated unit's maintenance REPL: MicroPython's REPL protocols over the UART.

Reached only through an authenticated maintenance session (`REPL` on the
serial link, firmware/core/protocol.py); in bedside mode the UART speaks the
Statim protocol and Ctrl-C / Ctrl-A are dropped as line noise, so mpremote
cannot get in.  Once unlocked, the bytes on the wire are exactly a board's:

- friendly REPL (`>>> `), Ctrl-A enters the raw REPL, Ctrl-D soft-resets;
- raw REPL: `raw REPL; CTRL-B to exit\\r\\n>`, code then Ctrl-D -> `OK`,
  stdout, `\\x04`, traceback, `\\x04`, `>`; Ctrl-D on an empty line is a soft
  reset (`OK\\r\\nMPY: soft reboot\\r\\n` and the banner again; the raw REPL
  stays, as on a board); Ctrl-B back to the friendly REPL;
- raw-paste (`\\x05A\\x01` -> `R\\x01`, a 128-byte window, `\\x01` grants more).

So the unmodified `mpremote` works: `mpremote connect <pty> fs ls`, `fs cp`,
`exec`, `sha256sum`.  A soft reset from the friendly REPL (Ctrl-D), or
`machine.reset()`, ends maintenance mode: the unit is back in bedside mode.

What runs the code: CPython's `exec`, in a fresh namespace whose `open` and
`os` are mapped onto the emulated flash directory (paths cannot leave it) and
whose `import` offers only MicroPython-like modules (os, sys, time, hashlib,
binascii, struct, json, gc, micropython, machine, errno, io).  That confines
mistakes to the flash, the way a board's REPL is confined to the board; it is
NOT a security boundary (CPython code can escape a namespace).  The security
boundary is the authenticated unlock in front of it (docs/security.md).
"""
import binascii
import errno as _errno
import hashlib
import io
import json
import os
import posixpath
import stat as _stat
import struct
import time
import traceback
import types

BANNER = b"MicroPython v1.29.0 on 2026-01-01; Statim emulator (Raspberry Pi Pico) with RP2040\r\n" \
         b"Type \"help()\" for more information.\r\n"
RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n"
WINDOW = 128
# sys.implementation._mpy of an RP2040 board: mpy v6.3, arch armv6m (4)
MPY_RP2 = 6 | (3 << 8) | (4 << 10)

FRIENDLY, RAW, PASTE = 0, 1, 2


class FlashFS:
    """os-style calls confined to one directory (the emulated littlefs)."""

    def __init__(self, root):
        self.root = os.path.realpath(root)
        self.cwd = "/"

    def host(self, path):
        if not isinstance(path, str):
            raise OSError(_errno.EINVAL, "EINVAL")
        p = posixpath.normpath(posixpath.join(self.cwd, path or "."))
        if not p.startswith("/"):
            p = "/" + p
        parts = [x for x in p.split("/") if x and x != "."]
        if ".." in parts:
            raise OSError(_errno.ENOENT, "ENOENT")
        full = os.path.join(self.root, *parts) if parts else self.root
        real = os.path.realpath(full)
        if real != self.root and not real.startswith(self.root + os.sep):
            raise OSError(_errno.EPERM, "EPERM")
        return full

    def _wrap(self, fn, *args):
        try:
            return fn(*args)
        except OSError as e:
            code = e.errno or _errno.EIO
            raise OSError(code, _errno.errorcode.get(code, "EIO")) from None

    # the MicroPython os module
    def ilistdir(self, path=""):
        full = self.host(path)
        names = self._wrap(os.listdir, full)
        out = []
        for name in sorted(names):
            st = os.stat(os.path.join(full, name))
            kind = 0x4000 if _stat.S_ISDIR(st.st_mode) else 0x8000
            out.append((name, kind, 0, 0 if kind == 0x4000 else st.st_size))
        return iter(out)

    def listdir(self, path=""):
        return [e[0] for e in self.ilistdir(path)]

    def stat(self, path):
        st = self._wrap(os.stat, self.host(path))
        mode = 0x4000 if _stat.S_ISDIR(st.st_mode) else 0x8000
        size = 0 if mode == 0x4000 else st.st_size
        m = int(st.st_mtime)
        return (mode, 0, 0, 0, 0, 0, size, m, m, m)

    def mkdir(self, path):
        self._wrap(os.mkdir, self.host(path))

    def rmdir(self, path):
        self._wrap(os.rmdir, self.host(path))

    def remove(self, path):
        full = self.host(path)
        if os.path.isdir(full):
            raise OSError(_errno.EISDIR, "EISDIR")
        self._wrap(os.remove, full)

    def rename(self, old, new):
        self._wrap(os.replace, self.host(old), self.host(new))

    def getcwd(self):
        return self.cwd

    def chdir(self, path):
        full = self.host(path)
        if not os.path.isdir(full):
            raise OSError(_errno.ENOENT, "ENOENT")
        self.cwd = "/" + os.path.relpath(full, self.root).replace(os.sep, "/").lstrip(".")

    def statvfs(self, path="/"):
        used = 0
        for dirpath, _dirs, files in os.walk(self.root):
            for f in files:
                used += os.path.getsize(os.path.join(dirpath, f))
        bsize, blocks = 4096, 352  # a Pico's 1.4 MB littlefs
        free = max(0, blocks - (used + bsize - 1) // bsize)
        return (bsize, bsize, blocks, free, free, 0, 0, 0, 0, 255)

    def sync(self):
        pass

    def uname(self):
        return types.SimpleNamespace(sysname="rp2", nodename="rp2", release="1.29.0",
                                     version="v1.29.0 (Statim emulator)",
                                     machine="Raspberry Pi Pico with RP2040")

    def urandom(self, n):
        return os.urandom(n)

    def open(self, path, mode="r", *args, **kwargs):
        if not isinstance(mode, str) or any(c not in "rwab+t" for c in mode):
            raise ValueError("invalid mode")
        full = self.host(path)
        if os.path.isdir(full):
            raise OSError(_errno.EISDIR, "EISDIR")
        return self._wrap(open, full, mode)


class _Reset(BaseException):
    """machine.reset() / soft_reset() from REPL code."""


class MaintenanceRepl:
    def __init__(self, flash_root, on_reset=None):
        self.flash_root = flash_root
        self.on_reset = on_reset
        self.active = False
        self.write = None
        self.state = FRIENDLY
        self.line = bytearray()
        self.paste_seen = 0
        self.execs = 0
        self._new_namespace()

    # ------------------------------------------------------------ link interface
    def start(self, write):
        self.write = write
        self.active = True
        self.state = FRIENDLY
        self.line = bytearray()
        self._new_namespace()
        write(b"\r\n" + BANNER + b">>> ")

    def feed(self, data):
        for b in bytes(data):
            if not self.active:
                return
            if self.state == PASTE:
                self._paste_byte(b)
            elif self.state == RAW:
                self._raw_byte(b)
            else:
                self._friendly_byte(b)

    # ------------------------------------------------------------ modes
    def _end(self):
        """Soft reset into main.py: bedside mode again."""
        self.write(b"MPY: soft reboot\r\n")
        self.active = False
        if self.on_reset is not None:
            self.on_reset()

    def _friendly_byte(self, b):
        w = self.write
        if b == 0x01:
            self.state = RAW
            self.line = bytearray()
            w(b"\r\n" + RAW_BANNER + b">")
        elif b == 0x02:
            self.line = bytearray()
            w(b"\r\n" + BANNER + b">>> ")
        elif b == 0x03:
            self.line = bytearray()
            w(b"\r\n>>> ")
        elif b == 0x04:
            if not self.line:
                w(b"\r\n")
                self._end()
        elif b in (0x0D, 0x0A):
            code = bytes(self.line).decode("utf-8", "replace")
            self.line = bytearray()
            w(b"\r\n")
            if code.strip():
                out, err, reset = self._run(code, "single")
                w(out + err)
                if reset:
                    self._end()
                    return
            w(b">>> ")
        elif b == 0x08 or b == 0x7F:
            if self.line:
                self.line = self.line[:-1]
                w(b"\x08 \x08")
        elif b >= 0x20:
            self.line.append(b)
            w(bytes([b]))

    def _raw_byte(self, b):
        w = self.write
        if b == 0x01:
            if bytes(self.line) == b"\x05A":
                # raw-paste request: supported, window WINDOW, one extra window granted up front
                self.line = bytearray()
                self.state = PASTE
                self.paste_seen = 0
                w(b"R\x01" + struct.pack("<H", WINDOW) + b"\x01")
                return
            self.line = bytearray()
            w(b"\r\n" + RAW_BANNER + b">")
        elif b == 0x02:
            self.line = bytearray()
            self.state = FRIENDLY
            w(b"\r\n" + BANNER + b">>> ")
        elif b == 0x03:
            self.line = bytearray()
        elif b == 0x04:
            w(b"OK")
            if not self.line:
                w(b"\r\nMPY: soft reboot\r\n")
                self._new_namespace()
                w(RAW_BANNER + b">")
                return
            code = bytes(self.line).decode("utf-8", "replace")
            self.line = bytearray()
            self._exec_reply(code)
        else:
            self.line.append(b)

    def _paste_byte(self, b):
        if b == 0x04:
            code = bytes(self.line).decode("utf-8", "replace")
            self.line = bytearray()
            self.state = RAW
            self.write(b"\x04")  # end of data acknowledged: compiled, running
            self._exec_reply(code)
            return
        self.line.append(b)
        self.paste_seen += 1
        if self.paste_seen % WINDOW == 0:
            self.write(b"\x01")  # one more window

    def _exec_reply(self, code):
        out, err, reset = self._run(code, "exec")
        self.write(out + b"\x04" + err + b"\x04")
        if reset:
            self._end()
            return
        self.write(b">")

    # ------------------------------------------------------------ execution
    def _new_namespace(self):
        fs = FlashFS(self.flash_root)
        self.fs = fs
        self._out = io.StringIO()
        os_mod = types.ModuleType("os")
        for name in ("ilistdir", "listdir", "stat", "mkdir", "rmdir", "remove", "rename", "getcwd", "chdir",
                     "statvfs", "sync", "uname", "urandom"):
            setattr(os_mod, name, getattr(fs, name))
        out = self._out

        class _Stdout:
            def write(self, s):
                out.write(s if isinstance(s, str) else bytes(s).decode("utf-8", "replace"))
                return len(s)

            buffer = None

        sys_mod = types.ModuleType("sys")
        sys_mod.implementation = types.SimpleNamespace(name="micropython", version=(1, 29, 0, ""), _mpy=MPY_RP2,
                                                       _machine="Raspberry Pi Pico with RP2040")
        sys_mod.platform = "rp2"
        sys_mod.version = "3.4.0; MicroPython v1.29.0"
        sys_mod.byteorder = "little"
        sys_mod.maxsize = 2 ** 31 - 1
        sys_mod.path = ["", "/lib"]
        sys_mod.modules = {}
        sys_mod.stdout = _Stdout()

        def _reset():
            raise _Reset()

        machine = types.ModuleType("machine")
        machine.reset = _reset
        machine.soft_reset = _reset
        machine.unique_id = lambda: b"\xe6\x61\x41\x04\x03\x33\x45\x2b"
        machine.freq = lambda *a: 125000000
        gc = types.ModuleType("gc")
        gc.collect = lambda: None
        gc.mem_free = lambda: 180000
        gc.mem_alloc = lambda: 12000
        mp = types.ModuleType("micropython")
        mp.const = lambda x: x
        mp.mem_info = lambda *a: None
        mp.kbd_intr = lambda c: None
        tm = types.ModuleType("time")
        tm.time = time.time
        tm.sleep = time.sleep
        tm.sleep_ms = lambda ms: time.sleep(ms / 1000.0)
        tm.sleep_us = lambda us: time.sleep(us / 1e6)
        tm.ticks_ms = lambda: int(time.monotonic() * 1000) & 0x3FFFFFFF
        tm.ticks_us = lambda: int(time.monotonic() * 1e6) & 0x3FFFFFFF
        tm.ticks_diff = lambda a, b: ((a - b + 0x20000000) & 0x3FFFFFFF) - 0x20000000
        tm.ticks_add = lambda a, d: (a + d) & 0x3FFFFFFF
        tm.gmtime = time.gmtime
        tm.localtime = time.localtime
        tm.mktime = time.mktime
        modules = {"os": os_mod, "uos": os_mod, "sys": sys_mod, "machine": machine, "gc": gc, "micropython": mp,
                   "time": tm, "utime": tm, "hashlib": hashlib, "uhashlib": hashlib, "binascii": binascii,
                   "ubinascii": binascii, "struct": struct, "ustruct": struct, "json": json, "ujson": json,
                   "errno": _errno, "uerrno": _errno, "io": io, "uio": io}

        def _import(name, globals=None, locals=None, fromlist=(), level=0):
            if level == 0 and name in modules:
                return modules[name]
            raise ImportError("no module named '%s'" % name)

        def _print(*args, sep=" ", end="\n", file=None):
            out.write(sep.join(str(a) for a in args) + end)

        def _help(*a):
            out.write("Statim maintenance REPL (emulated Pico; files are the unit's flash)\n")

        import builtins

        safe = {}
        for name in dir(builtins):
            if name in ("open", "print", "input", "exit", "quit", "help", "breakpoint", "__import__", "compile",
                        "exec", "eval", "vars", "memoryview") or name.startswith("_"):
                continue
            safe[name] = getattr(builtins, name)
        safe["memoryview"] = memoryview
        safe["open"] = fs.open
        safe["print"] = _print
        safe["help"] = _help
        safe["__import__"] = _import
        safe["__build_class__"] = builtins.__build_class__
        safe["__name__"] = "__main__"
        self.ns = {"__builtins__": safe, "__name__": "__main__"}

    def _run(self, code, mode):
        """Execute; return (stdout, traceback text, reset requested) as wire bytes."""
        self.execs += 1
        out = self._out
        out.seek(0)
        out.truncate()
        err = ""
        reset = False
        try:
            if mode == "single":
                try:
                    compiled = compile(code, "<stdin>", "eval")
                    value = eval(compiled, self.ns)  # noqa: S307 - the maintenance REPL
                    if value is not None:
                        out.write(repr(value) + "\n")
                    compiled = None
                except SyntaxError:
                    compiled = compile(code, "<stdin>", "exec")
                if compiled is not None:
                    exec(compiled, self.ns)  # noqa: S102 - the maintenance REPL
            else:
                exec(compile(code, "<stdin>", "exec"), self.ns)  # noqa: S102
        except _Reset:
            reset = True
        except BaseException as e:  # noqa: BLE001 - any error is the user's, reported like MicroPython
            err = self._format(e)
        text = out.getvalue()
        return _cooked(text), _cooked(err), reset

    @staticmethod
    def _format(e):
        line = 1
        tb = traceback.extract_tb(e.__traceback__)
        for fr in tb:
            if fr.filename == "<stdin>":
                line = fr.lineno
        if isinstance(e, SyntaxError):
            return 'Traceback (most recent call last):\n  File "<stdin>", line %s\nSyntaxError: invalid syntax\n' % (
                e.lineno or 1)
        if isinstance(e, OSError) and e.errno is not None:
            name = _errno.errorcode.get(e.errno, str(e.errno))
            msg = "OSError: [Errno %d] %s" % (e.errno, name)
        else:
            kind = type(e).__name__
            msg = "%s: %s" % (kind, e) if str(e) else kind
        return 'Traceback (most recent call last):\n  File "<stdin>", line %d, in <module>\n%s\n' % (line, msg)


def _cooked(text):
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8", "replace")
