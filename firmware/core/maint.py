# Maintenance commands of the serial link: login, clock, settings changes,
# drug library transfer, log clear, REPL hand-over.
#
# Kept out of protocol.py so that a bedside unit does not carry them: the link
# imports this module when a maintenance command arrives and lets it go again
# once no challenge, session or transfer is pending (Link._release_maint), so
# its code and the authenticator's leave the heap (docs/protocol.md).  What
# must outlive it -- the login failure count behind the lock-out -- is rebuilt
# from the event log every time it loads (Auth.restore), so dropping it loses
# nothing.
import binascii

from . import auth as _auth
from . import clock as _clock
from . import druglib as _druglib
from . import events as _events
from . import frames as _f
from .protocol import (_bool_arg, DL_CHUNK, FLASH_LIBRARY, FLASH_LIBRARY_TAG, FLASH_LIBRARY_TMP, MAX_LIBRARY, SETTING_KEYS, LinkError, _args_error, _int_arg,
                       _req, dumps)


class Maintenance:
    def __init__(self, link, key, rand):
        self.link = link
        self.unit = link.unit
        self.hal = link.hal
        self.auth = _auth.Auth(key, self.unit.config["unit_id"], self.unit.now, rand, link._log_maint)
        self.auth.restore(self.unit.events)
        # the challenge counter outlives this module (kept on the link, set here only), so
        # that even a weak RNG never repeats a nonce -- and with it a session key -- within
        # a boot when the module is let go and loaded again in the same second
        self.auth._counter = getattr(link, "challenges", 0)
        self._dl_in = None  # SHA-256 of the library being received (it goes to FLASH_LIBRARY_TMP)
        self._dl_size = 0
        self._dl_got = 0
        self._dl_sha = None
        self._dl_out = None  # unused: DLGET reads the stored library file per chunk

    def idle(self):
        """Nothing pending: no challenge to answer, no session, no transfer."""
        a = self.auth
        return a.nonce is None and not a.session and self._dl_in is None and self._dl_out is None

    def _log_maint(self, action, detail=None):
        return self.link._log_maint(action, detail)

    def end(self, why):
        """The connection changed: session, challenge and transfer end."""
        self.auth.end(why)
        if self._dl_in is not None:
            self._dl_in = None
            try:
                self.hal.fs_remove(FLASH_LIBRARY_TMP)
            except OSError:
                pass

    # ------------------------------------------------------------ library read-out (bedside)
    def _cmd_dlget(self, args):
        # the library file in use (device form), one chunk per request, read
        # from flash: nothing but the chunk is held in RAM
        lib = self.unit.library
        size = lib.size
        off = _int_arg(args, "off", 0, size, 0)
        try:
            part = lib.read_raw(off, DL_CHUNK)
        except OSError as e:
            raise LinkError(_f.E_STATE, "the drug library cannot be read (%s)" % e)
        chunk = binascii.b2a_base64(part).decode().strip()
        sha = lib.file_sha256 or _auth.hexlify(_auth.sha256(b""))
        return _f.kv((("off", off), ("size", size), ("sha256", sha), ("data", chunk)))

    # ------------------------------------------------------------ authentication
    def _cmd_challenge(self, args):
        nonce = self.auth.challenge()
        self.link.challenges = self.auth._counter
        return "nonce=%s unit=%s" % (nonce, _f.quote(self.unit.config["unit_id"]))

    def _cmd_login(self, args):
        ttl = self.auth.login(_req(args, "mac"))
        return "session ttl=%d" % ttl

    def _cmd_logout(self, args):
        self.auth.logout()
        self._dl_in = None
        return ""

    def _cmd_stats(self, args):
        s = dict(self.link.stats)
        s["auth_failures"] = self.auth.failures
        s["locked_s"] = self.auth.locked_for()
        return dumps(s)

    # ------------------------------------------------------------ maintenance
    def change_settings(self, args):
        cfg = self.unit.config
        changes = []
        for key in args:
            v = args[key]
            if key == "se_type" and v not in _events.SE_TYPES:
                raise _args_error("se_type must be one of %s" % ", ".join(_events.SE_TYPES))
            if key == "reference" and v not in _druglib.REFERENCES:
                raise _args_error("reference must be one of %s" % ", ".join(_druglib.REFERENCES))
            if key == "age_group" and v not in _druglib.AGE_GROUPS and v != "auto":
                raise _args_error("age_group must be adult, child or auto")
        for key in args:
            v = args[key]
            if key == "age_group" and v == "auto":
                v = None
            changes.append("%s=%s" % (key, v))
            cfg[key] = v
        save = getattr(self.unit, "save_settings", None)
        if save is not None:
            save()
        self._log_maint("settings", " ".join(changes))

    def _cmd_clock(self, args):
        unix = _int_arg(args, "unix", _clock.EPOCH_UNIX, 4102444800)  # 2020 .. 2100
        before = self.hal.rtc_s()
        self.unit.set_clock(unix)
        self._log_maint("clock", "RTC set to %d (was %s)" % (unix, before))
        return "unix=%d t=%d" % (unix, self.unit.now())

    def _cmd_dlput(self, args):
        size = _int_arg(args, "size", 1, MAX_LIBRARY)
        sha = _req(args, "sha256").lower()
        if _auth.unhex(sha) is None or len(sha) != 64:
            raise _args_error("sha256 must be 64 hex digits")
        self._dl_in = None
        # the pushed library goes to a temp file as it arrives, hashed on the
        # way: RAM use does not grow with the library
        try:
            self.hal.fs_open(FLASH_LIBRARY_TMP, "wb").close()
        except OSError as e:
            raise LinkError(_f.E_REFUSED, "cannot store a drug library on flash (%s)" % e)
        self._dl_in = _druglib._sha256()
        self._dl_size = size
        self._dl_got = 0
        self._dl_sha = sha
        return "chunk=%d" % DL_CHUNK

    def _cmd_dldata(self, args):
        if self._dl_in is None:
            raise LinkError(_f.E_STATE, "no drug library transfer in progress (DLPUT first)")
        off = _int_arg(args, "off", 0, MAX_LIBRARY)
        if off != self._dl_got:
            raise LinkError(_f.E_STATE, "expected data at offset %d, got %d" % (self._dl_got, off))
        try:
            chunk = binascii.a2b_base64(_req(args, "data"))
        except Exception:
            raise _args_error("data is not base64")
        if not chunk or off + len(chunk) > self._dl_size:
            raise _args_error("chunk of %d bytes at %d does not fit the announced size %d" % (
                len(chunk), off, self._dl_size))
        try:
            f = self.hal.fs_open(FLASH_LIBRARY_TMP, "ab")
            try:
                f.write(chunk)
            finally:
                f.close()
        except OSError as e:
            self._dl_in = None  # the temp file may hold part of this chunk: start again
            raise LinkError(_f.E_REFUSED, "flash write failed (%s): transfer aborted, DLPUT again" % e)
        self._dl_in.update(chunk)
        self._dl_got = off + len(chunk)
        return "got=%d" % self._dl_got

    def _cmd_dlabort(self, args):
        self._dl_in = None
        return ""

    def _cmd_dlcommit(self, args):
        h = self._dl_in
        if h is None:
            raise LinkError(_f.E_STATE, "no drug library transfer in progress (DLPUT first)")
        tag = _req(args, "tag")
        if "downgrade" in args:
            _bool_arg(args, "downgrade")  # 1 or 0, checked before the transfer is spent
        self._dl_in = None  # one commit per transfer, right or wrong
        if self._dl_got != self._dl_size:
            self._refuse_lib("incomplete: %d of %d bytes" % (self._dl_got, self._dl_size), _f.E_STATE)
        digest = _auth.hexlify(h.digest())
        if digest != self._dl_sha:
            self._refuse_lib("SHA-256 of the received bytes does not match DLPUT's", _f.E_REFUSED)
        if not self.auth.check_druglib_tag_sha(digest, tag):
            self._refuse_lib("tag is not valid for this unit's key", _f.E_TAG)
        # verified from the file, as it will be at every boot, every entry checked once here
        lib = _druglib.open_device(self.hal.fs_open, FLASH_LIBRARY_TMP, entries=True)
        if not lib.verified:
            self._refuse_lib(lib.reason, _f.E_REFUSED)
        if lib.file_sha256 != digest:
            self._refuse_lib("the file on flash differs from the bytes received", _f.E_REFUSED)
        old = self.unit.library.version if self.unit.library.verified else None
        from .libtag import is_downgrade

        down = is_downgrade(lib.version, old)
        if down and not ("downgrade" in args and _bool_arg(args, "downgrade")):
            self._refuse_lib("version %s is not newer than %s in use (a downgrade needs downgrade=1)" % (
                lib.version, old), _f.E_REFUSED)
        # the tag goes beside the library: every boot checks both (libtag.installed).
        # Library first, then its tag: a power cut between them leaves a pair that
        # does not match, which the next boot refuses (the built-in library is used)
        try:
            f = self.hal.fs_open(FLASH_LIBRARY_TAG + ".tmp", "wb")
            try:
                f.write(tag.lower().encode() + b"\n")
            finally:
                f.close()
            self.hal.fs_rename(FLASH_LIBRARY_TMP, FLASH_LIBRARY)  # atomic: the old library until here
            self.hal.fs_rename(FLASH_LIBRARY_TAG + ".tmp", FLASH_LIBRARY_TAG)
        except OSError as e:
            self._refuse_lib("cannot store it on flash (%s)" % e, _f.E_REFUSED)
        lib.rebind(FLASH_LIBRARY)
        self.unit.library = lib
        self.unit.library_refused = None
        self._log_maint("druglib", "installed %s (sha256 %s), was %s%s" % (
            lib.version, lib.sha256[:16], old, ": a downgrade, asked for" if down else ""))
        return _f.kv((("version", lib.version), ("sha256", lib.sha256)))

    def _refuse_lib(self, why, code):
        try:
            self.hal.fs_remove(FLASH_LIBRARY_TMP)
        except OSError:
            pass
        self._log_maint("druglib_refused", why)
        raise LinkError(code, "drug library refused: " + why)

    def _cmd_clearlog(self, args):
        if args.get("confirm") != "yes":
            raise _args_error("clearing the log needs confirm=yes")
        clear = getattr(self.unit, "clear_log", None)
        if clear is None:
            raise LinkError(_f.E_UNSUPPORTED, "this firmware cannot clear the log")
        if self.unit.state.started and not self.unit.state.closed:
            raise LinkError(_f.E_REFUSED, "an episode is running: end it before clearing the log")
        self._log_maint("clear_log", "log cleared by maintenance")
        clear()
        return ""

    def _cmd_repl(self, args):
        if self.link.repl is None:
            raise LinkError(_f.E_UNSUPPORTED, "this unit has no maintenance REPL")
        if not self.auth.fresh(_auth.REPL_LOGIN_S):
            raise LinkError(_f.E_AUTH, "REPL needs a login in this connection within the last %d s" % _auth.REPL_LOGIN_S)
        self._log_maint("repl", "REPL unlocked")
        return "repl"
