# Maintenance authentication: HMAC-SHA256 challenge-response with a per-unit key.
#
#   host: CHALLENGE               unit: OK nonce=<32 hex>     (16 fresh random bytes)
#   host: LOGIN mac=<64 hex>      mac = HMAC-SHA256(key, "statim-login:" + unit_id + ":" + nonce_hex)
#   unit: OK session ttl=600      (or ERR DENIED / ERR LOCKED)
#
# A nonce answers one LOGIN only and expires after NONCE_TTL_S.  After
# MAX_FAILURES failed logins in a row the unit refuses CHALLENGE and LOGIN
# for a back-off that doubles with each further failure (LOCKOUT_BASE_S,
# capped at LOCKOUT_MAX_S).  Every login attempt is logged as a `maint`
# event; at power-up the failure count and lock-out are rebuilt from those
# events, so a power cycle does not reset them.  A session ends on LOGOUT, on
# SESSION_IDLE_S without a maintenance request, when the link's connection
# changes (protocol.py: the port closed or reopened, a second client), or on
# reboot.  The REPL hand-over needs a login no older than REPL_LOGIN_S.
#
# Every request that needs the session is signed on its own, so the session is
# of no use to anyone on the link without the key -- a Pico cannot see its USB
# port closed and reopened (no DTR), so a process that opens it soon after the
# maintainer left is, to the unit, the same connection.  Both sides derive a
# session key from the login (it never crosses the wire):
#   K_s = HMAC-SHA256(key, "statim-session:" + unit_id + ":" + nonce_hex)
# and the request ends with a counter and a MAC over the frame body before " mac=":
#   <id> WORD args... n=<counter> mac=<32 hex>
#   mac = first 16 bytes of HMAC-SHA256(K_s, "<id> WORD args... n=<counter>")
# n is 1..COUNTER_MAX, above every n accepted in this session (check_request).
#
# Drug library updates carry their own tag: HMAC-SHA256(key,
# "statim-druglib:" + sha256_hex(library bytes)), checked before anything is
# installed, so a library can only come from someone holding this unit's key.
# docs/security.md is the threat model.

try:
    import hashlib as _hashlib

    _sha = getattr(_hashlib, "sha256", None)
except ImportError:  # pragma: no cover - minimal ports
    _sha = None

MAX_FAILURES = 5
LOCKOUT_BASE_S = 60
LOCKOUT_MAX_S = 3600
NONCE_TTL_S = 60
SESSION_IDLE_S = 600
REPL_LOGIN_S = 60  # REPL hand-over: a login in this connection at most this long ago
NONCE_BYTES = 16
LOGIN_LABEL = "statim-login:"
SESSION_LABEL = "statim-session:"
MAC_BYTES = 16  # a request's MAC: the first 16 bytes of the HMAC (32 hex digits)
COUNTER_MAX = 999999999  # a request counter n: 1 .. this (9 digits: a small int on MicroPython)
DRUGLIB_LABEL = "statim-druglib:"

# maint event actions (events.MAINT_ACTIONS lists them all)
LOGIN_OK = "login"
LOGIN_FAIL = "login_fail"
LOCKED = "locked"
LOGOUT = "logout"


def sha256(data):
    if _sha is not None:
        return _sha(data).digest()
    from .sha256_fallback import sha256_digest

    return sha256_digest(bytes(data))


def hexlify(b):
    out = []
    for x in b:
        out.append("0123456789abcdef"[x >> 4] + "0123456789abcdef"[x & 15])
    return "".join(out)


def unhex(s):
    """bytes from a hex string, or None if it is not one."""
    if not isinstance(s, str) or len(s) % 2:
        return None
    out = bytearray(len(s) // 2)
    i = 0
    while i < len(s):
        hi = "0123456789abcdef".find(s[i].lower())
        lo = "0123456789abcdef".find(s[i + 1].lower())
        if hi < 0 or lo < 0:
            return None
        out[i // 2] = (hi << 4) | lo
        i += 2
    return bytes(out)


def hmac_sha256(key, msg):
    """RFC 2104 HMAC with SHA-256 (hashlib has no hmac module on MicroPython)."""
    if len(key) > 64:
        key = sha256(key)
    k = bytearray(64)
    k[: len(key)] = key
    ipad = bytearray(64)
    opad = bytearray(64)
    for i in range(64):
        ipad[i] = k[i] ^ 0x36
        opad[i] = k[i] ^ 0x5C
    inner = sha256(bytes(ipad) + bytes(msg))
    return sha256(bytes(opad) + inner)


def equal(a, b):
    """Constant-time comparison of two byte strings."""
    if len(a) != len(b):
        return False
    d = 0
    for i in range(len(a)):
        d |= a[i] ^ b[i]
    return d == 0


def login_mac(key, unit_id, nonce_hex):
    return hmac_sha256(key, (LOGIN_LABEL + unit_id + ":" + nonce_hex).encode())


def session_key(key, unit_id, nonce_hex):
    """The key that signs a session's requests, from the login's nonce: the
    unit's key never leaves either side, nor does this one."""
    return hmac_sha256(key, (SESSION_LABEL + unit_id + ":" + nonce_hex).encode())


def request_mac(skey, signed):
    """The MAC of a request: `signed` is the frame body up to (not including)
    " mac=", i.e. id, command word, arguments and n=<counter>, as sent."""
    return hmac_sha256(skey, signed.encode())[:MAC_BYTES]


def sign(skey, body):
    """Host side: body (ending with n=<counter>) with its mac= appended."""
    return body + " mac=" + hexlify(request_mac(skey, body))


def _counter(text):
    """n=: a decimal 1..COUNTER_MAX, else -1 (never a long int to parse)."""
    if not 0 < len(text) <= 9:
        return -1
    for ch in text:
        if ch < "0" or ch > "9":
            return -1
    n = int(text)
    return n if n > 0 else -1


def druglib_tag(key, data):
    return druglib_tag_sha(key, hexlify(sha256(data)))


def druglib_tag_sha(key, sha_hex):
    """The same tag from the SHA-256 (hex) of the library bytes: a unit hashes
    a pushed library as it arrives and never holds it whole."""
    return hmac_sha256(key, (DRUGLIB_LABEL + sha_hex).encode())


def backoff_s(failures):
    """Lock-out after `failures` consecutive failures (0 below MAX_FAILURES)."""
    if failures < MAX_FAILURES:
        return 0
    s = LOCKOUT_BASE_S
    n = failures - MAX_FAILURES
    while n > 0 and s < LOCKOUT_MAX_S:
        s *= 2
        n -= 1
    return s if s < LOCKOUT_MAX_S else LOCKOUT_MAX_S


class AuthError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


class Auth:
    """Session state for one link.

    key: bytes (None: no key provisioned, maintenance impossible);
    now(): seconds (the unit's episode clock); rand(n): n random bytes;
    log(action, detail): writes a maint event."""

    def __init__(self, key, unit_id, now, rand, log):
        self.key = key
        self.unit_id = unit_id
        self.now = now
        self.rand = rand
        self.log = log
        self.nonce = None
        self.nonce_t = 0
        self.session = False
        self.session_t = 0
        self.login_t = 0
        self.skey = None  # this session's request key (session_key), None without a session
        self.last_n = 0  # the highest request counter accepted in this session
        self.failures = 0
        self.last_fail_t = 0
        self.refused = 0  # attempts refused while locked out (counted, logged once)
        self._locked_logged = False
        self._counter = 0

    def restore(self, events):
        """Rebuild the failure count from the log (power-up): the failed logins since the
        last good one, read newest first (the log's older entries are on flash)."""
        i = len(events) - 1
        while i >= 0:
            ev = events[i]
            i -= 1
            if ev.get("type") != "maint":
                continue
            a = ev.get("action")
            if a == LOGIN_OK:
                break
            if a == LOGIN_FAIL:
                if not self.failures:
                    self.last_fail_t = ev["t"]
                self.failures += 1

    def locked_for(self):
        """Seconds of lock-out left (0: not locked)."""
        b = backoff_s(self.failures)
        if not b:
            return 0
        left = self.last_fail_t + b - self.now()
        return left if left > 0 else 0

    def _check_lock(self):
        left = self.locked_for()
        if left:
            self.refused += 1
            if not self._locked_logged:
                self._locked_logged = True
                self.log(LOCKED, "%d failed logins: locked for %d s" % (self.failures, left))
            raise AuthError("LOCKED", "too many failed logins: try again in %d s" % left)
        self._locked_logged = False

    def challenge(self):
        if self.key is None:
            raise AuthError("NOKEY", "no maintenance key is provisioned on this unit")
        self._check_lock()
        self._counter += 1
        seed = self.rand(NONCE_BYTES) + ("%d:%d" % (self._counter, self.now())).encode()
        self.nonce = hexlify(sha256(seed)[:NONCE_BYTES])
        self.nonce_t = self.now()
        return self.nonce

    def login(self, mac_hex):
        if self.key is None:
            raise AuthError("NOKEY", "no maintenance key is provisioned on this unit")
        self._check_lock()
        nonce = self.nonce
        self.nonce = None  # one answer per challenge, right or wrong
        why = None
        if nonce is None:
            why = "no challenge outstanding"
        elif self.now() - self.nonce_t > NONCE_TTL_S:
            why = "challenge expired"
        else:
            mac = unhex(mac_hex)
            if mac is None or not equal(mac, login_mac(self.key, self.unit_id, nonce)):
                why = "wrong response"
        if why is not None:
            self.failures += 1
            self.last_fail_t = self.now()
            self.session = False
            self.skey = None
            extra = ""
            if self.refused:
                extra = "; %d attempts refused while locked" % self.refused
                self.refused = 0
            self.log(LOGIN_FAIL, "%s (failure %d)%s" % (why, self.failures, extra))
            left = backoff_s(self.failures)
            if left:
                raise AuthError("LOCKED", "login failed: %s; locked for %d s" % (why, left))
            raise AuthError("DENIED", "login failed: %s (%d of %d before lock-out)" % (
                why, self.failures, MAX_FAILURES))
        self.failures = 0
        self.session = True
        self.session_t = self.login_t = self.now()
        self.skey = session_key(self.key, self.unit_id, nonce)
        self.last_n = 0
        extra = ""
        if self.refused:
            extra = " (%d attempts refused while locked)" % self.refused
            self.refused = 0
        self.log(LOGIN_OK, "session opened" + extra)
        return SESSION_IDLE_S

    def logout(self, why="logout"):
        self.skey = None
        if self.session:
            self.session = False
            self.log(LOGOUT, why)

    def _alive(self):
        if not self.session:
            return False
        if self.now() - self.session_t > SESSION_IDLE_S:
            self.logout("session idle for more than %d s" % SESSION_IDLE_S)
            return False
        return True

    def authorized(self):
        if not self._alive():
            return False
        self.session_t = self.now()
        return True

    def check_request(self, word, args, body):
        """A request that needs the session, as received: `body` is its frame
        body, `args` its named arguments, from which n and mac are taken out.
        Raises AuthError("AUTH", ...) unless the request is signed with this
        session's key (the MAC checked in constant time, all 16 bytes) and its
        counter is above every one accepted in this session.  A wrong MAC is a
        failed authentication: counted and logged as a failed login is (the
        lock-out of CHALLENGE and LOGIN), but it ends nothing -- whoever sent it
        cannot use the session, and the maintainer's own signed requests go on."""
        if not self._alive():
            raise AuthError("AUTH", "%s is a maintenance command: log in first (CHALLENGE, LOGIN)" % word)
        mac = args.pop("mac", None)
        n = args.pop("n", None)
        if mac is None or n is None:
            raise AuthError("AUTH", "mac required: a maintenance request ends with n=<counter> mac=<hex> "
                            "signed with the session key (docs/protocol.md)")
        tail = " mac=" + mac
        if not body.endswith(tail):
            raise AuthError("AUTH", "mac must be the last argument, as 32 hex digits")
        got = unhex(mac)
        if got is None or not equal(got, request_mac(self.skey, body[:len(body) - len(tail)])):
            self._request_failed(word)
            raise AuthError("AUTH", "bad mac: the request is not signed with this session's key")
        count = _counter(n)
        if count < 0:
            raise AuthError("AUTH", "n must be a counter from 1 to %d (log in again for a new one)" % COUNTER_MAX)
        if count <= self.last_n:
            raise AuthError("AUTH", "replayed request: n=%d is not above %d, the last accepted" % (
                count, self.last_n))
        self.last_n = count
        self.session_t = self.now()

    def _request_failed(self, word):
        if self.locked_for():  # counted, and written into the next maint record, as LOGIN while locked
            self.refused += 1
            return
        self.failures += 1
        self.last_fail_t = self.now()
        self.log(LOGIN_FAIL, "%s request with a wrong mac (failure %d)" % (word, self.failures))

    def fresh(self, within_s):
        """A session opened by a login at most within_s seconds ago."""
        return self.authorized() and self.now() - self.login_t <= within_s

    def end(self, why):
        """The connection that logged in is gone: no session, no pending challenge."""
        self.nonce = None
        self.logout(why)

    def check_druglib_tag(self, data, tag_hex):
        return self.check_druglib_tag_sha(hexlify(sha256(data)), tag_hex)

    def check_druglib_tag_sha(self, sha_hex, tag_hex):
        if self.key is None:
            return False
        tag = unhex(tag_hex)
        return tag is not None and equal(tag, druglib_tag_sha(self.key, sha_hex))
