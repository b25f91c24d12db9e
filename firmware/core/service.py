# Service mode: the unit could not start, and says why instead of rebooting.
#
# A unit that fails to boot (out of memory, the flash full or broken, a fault
# that keeps crashing the main loop) must never fall into a watchdog reset
# loop with a blank screen.  It shows this screen with the reason, keeps the
# serial link answering, and feeds the watchdog only while this loop runs.
# Over the link:
#   HELLO / STATUS      -> OK service=1 reason="..." (so a host sees why)
#   CHALLENGE / LOGIN   -> the maintenance login (auth.py, the unit's key)
#   REPL                -> after a login, signed with the session's key (n= mac=,
#                          auth.check_request): hand the port to MicroPython's
#                          REPL, so a maintainer can repair the files (mpremote)
#   anything else       -> ERR SERVICE naming the reason
# It is deliberately small: it must run in whatever memory a failed boot
# left, so it imports only frames (and auth when someone logs in).
from . import frames as _f
from .screen import wrap as _wrap

E_SERVICE = "SERVICE"
TITLE = "SERVICE MODE"


def describe(exc):
    """A short reason a maintainer can act on, from a boot exception."""
    if isinstance(exc, MemoryError):
        return "out of memory while starting"
    if isinstance(exc, OSError):
        code = exc.args[0] if exc.args else 0
        if code == 28:  # ENOSPC
            return "flash full: cannot write the record"
        return "flash error %s" % code
    return "%s: %s" % (type(exc).__name__, exc)


class Service:
    def __init__(self, hal, reason, key=None, unit_id="STATIM-0001", fw="?"):
        self.hal = hal
        self.reason = str(reason)[:120]
        self.key = key
        self.unit_id = unit_id
        self.fw = fw
        self.auth = None  # auth.Auth, created by the first CHALLENGE
        self.repl_requested = False
        self._rx = bytearray(64)
        self._line = bytearray(_f.MAX_LINE)
        self._n = 0
        self._conn = self._link_id()

    def _link_id(self):
        f = getattr(self.hal, "link_id", None)
        return f() if f is not None else 0

    def _check_conn(self):
        # a login belongs to the connection that made it (as on the bedside link)
        c = self._link_id()
        if c != self._conn:
            self._conn = c
            self._n = 0
            if self.auth is not None:
                self.auth.end("connection closed or changed")

    def show(self, screen):
        screen.clear("service")
        screen.set(0, TITLE)
        screen.set(1, "cannot start:")
        row = 2
        for text in _wrap(self.reason)[:4]:  # four rows for the reason
            screen.set(row, text)
            row += 1
        screen.set(6, "not monitoring")
        screen.set(7, "serial link up")
        self.hal.show(screen)

    def poll(self):
        """Answer what has arrived on the link (never blocks, never raises)."""
        hal = self.hal
        rx = self._rx
        self._check_conn()
        n = hal.uart_readinto(rx)
        self._check_conn()
        while n and not self.repl_requested:
            i = 0
            while i < n:
                b = rx[i]
                i += 1
                if b == 10:
                    self._end_line()
                elif b >= 0x20 and self._n < len(self._line):
                    self._line[self._n] = b
                    self._n += 1
                elif b < 0x20 and b != 13:
                    self._n = 0  # control bytes cancel a partial line, as on the bedside link
            n = hal.uart_readinto(rx) if not self.repl_requested else 0
            self._check_conn()

    def _end_line(self):
        n = self._n
        self._n = 0
        if not n:
            return
        try:
            body = _f.unseal(self._line, n)
            rid, word, args, pos = _f.parse_request(body)
        except Exception:
            return  # not a frame: a service unit stays quiet rather than argue
        try:
            data = self._answer(word, args, body)
            reply = rid + " OK" + (" " + data if data else "")
        except Exception as e:
            code = getattr(e, "code", E_SERVICE)
            msg = getattr(e, "message", str(e))
            reply = "%s ERR %s %s" % (rid, code, msg)
        self.hal.uart_write(_f.seal(reply[: _f.MAX_LINE - 8]))

    def _answer(self, word, args, body):
        if word in ("HELLO", "STATUS", "PING"):
            return _f.kv((("proto", 1), ("unit", self.unit_id), ("fw", self.fw), ("service", 1),
                          ("reason", self.reason), ("key", 0 if self.key is None else 1),
                          ("repl", 1)))
        if word == "CHALLENGE":
            return "nonce=%s unit=%s" % (self._auth().challenge(), _f.quote(self.unit_id))
        if word == "LOGIN":
            mac = args.get("mac") or ""
            return "session ttl=%d" % self._auth().login(mac)
        if word == "REPL":
            if self.auth is None:
                raise _Refusal("AUTH", "REPL is a maintenance command: log in first (CHALLENGE, LOGIN)")
            self.auth.check_request(word, args, body)  # signed with the session's key (auth.py)
            if not self.auth.fresh(60):
                raise _Refusal("AUTH", "REPL needs a login in this connection within the last 60 s")
            self.repl_requested = True
            return "repl"
        raise _Refusal(E_SERVICE, "%s unavailable: service mode (%s)" % (word, self.reason))

    def _auth(self):
        if self.auth is None:
            from . import auth

            hal = self.hal
            rand = getattr(hal, "random_bytes", None) or (lambda n: bytes(n))
            self.auth = auth.Auth(self.key, self.unit_id, lambda: hal.ticks_ms() // 1000, rand,
                                  lambda action, detail=None: None)
        return self.auth


class _Refusal(Exception):
    def __init__(self, code, message):
        Exception.__init__(self, message)
        self.code = code
        self.message = message
