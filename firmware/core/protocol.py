# The serial link, device side: line frames in, exactly one reply out.
#
#   link = Link(unit, hal, key=None, rand=None, repl=None)
#   unit.link = link          # Unit.step() calls link.poll() every iteration
#
# poll() never blocks: it reads what the HAL's UART has (into a preallocated
# buffer), assembles lines in a preallocated MAX_LINE buffer, and answers at
# most MAX_LINES_PER_POLL complete lines per call, so a flood cannot starve
# the main loop.  Each request line gets exactly one reply line; rejected
# frames (bad CRC, too long, binary, malformed) change nothing, get an ERR
# (rate-limited: beyond the budget they are dropped) and are counted in
# `stats`.  Events the unit logs are sent as unsolicited `! EVT` lines, stage
# changes as `! STAGE` lines.  Requests that change the record are idempotent
# by id AND a SHA-256 digest of the whole request: the last IDEM_SLOTS of them
# are remembered (with the replies of the last REPLY_SLOTS), a retry gets the
# first reply again without logging anything, and a different request under a
# used id is refused (ERR DUPID).  Events a request logs carry "req" (id and
# digest), so a reboot rebuilds the table from the log (_restore_ids).
#
# Maintenance commands (clock, drug library put, settings, log clear, REPL)
# need a session opened by HMAC-SHA256 challenge-response (auth.py), in the
# same connection: the HAL's link_id() changes when the port is closed or
# reopened or a second client comes, and that ends the session.  Each of them
# is signed with the session's key as well (n= and mac=, checked by
# auth.check_request), so a connection change the HAL cannot see (a Pico's
# USB port) gives no one the session.  Bedside
# commands need none.  The maintenance handlers live in maint.py, imported
# when such a command arrives and let go once nothing is pending (a board's
# heap).  docs/protocol.md is the contract in prose; frames.py has the grammar.
import binascii
import json

from . import clock as _clock
from . import druglib as _druglib
from . import episode as _episode
from . import events as _events
from . import frames as _f
from . import heap as _heap

PROTOCOL_VERSION = 1
MAX_LINES_PER_POLL = 8
MAX_BYTES_PER_POLL = 4096  # and at most this many bytes: a flood without newlines is bounded too
IDEM_SLOTS = 32  # idempotency: the last request ids (with a digest of the request) remembered ...
REPLY_SLOTS = 8  # ... the replies of the newest of them (a reply can be 1 KB: heap)
IDEM_REACH = 512  # entries read back at boot for them: a retry comes seconds after its request
DIGEST = 16  # bytes of the request's SHA-256 kept (128 bits)
PARTIAL_TIMEOUT_MS = 2000  # a line with no newline after this long is dropped
ERR_BUDGET = 8  # error replies to unparseable frames: burst size ...
ERR_REFILL_MS = 250  # ... and one more per this many ms
TX_BUF = 2048  # bytes waiting for the host; a frame that does not fit is dropped (stats tx_dropped)
TX_PER_POLL = 1024  # bytes handed to the HAL per poll at most
DL_CHUNK = 576  # drug library transfer chunk (raw bytes; 768 in base64)
MAX_LIBRARY = 65536
LOG_PAGE_MAX = 32
REQUESTS_KEEP_S = 30  # link_requests stays loaded this long after the last request it answered
RESERVE = 1024  # heap bytes held back so that a unit whose heap is full can still say so (see _no_memory)
ONSET_BACK_MAX_S = 86400  # ONSET at=: at most this long before now (and never after it)
FLASH_LIBRARY = "druglib.lib"  # installed by DLCOMMIT, in the device form (druglib.py)
FLASH_LIBRARY_TMP = "druglib.lib.tmp"  # a library being received
FLASH_LIBRARY_TAG = "druglib.tag"  # its tag for this unit (hex), checked at every boot (libtag.installed)
SETTING_KEYS = ("se_type", "reference", "age_group")
_LIMIT = _f.MAX_LINE - 8  # body budget: " *XXXX" trailer

# command word -> (handler name, flags, argument names in positional order)
_MUT = 1  # changes the record or the unit: cached by id for idempotent retries
_MAINT = 2  # needs an authenticated session
_LAZY = 4  # handled by maint.py, imported only when such a command arrives
# answered by protocol.py itself (a nurse's station polls them); every other bedside
# command by link_requests.py, imported when one arrives (see REQUESTS_KEEP_S)
_RESIDENT = ("hello", "ping", "status")
_DOSE_ARGS = ("drug", "route", "dose", "rate", "over", "duration")
COMMANDS = {
    "HELLO": ("hello", 0, ("proto",)),
    "PING": ("ping", 0, ()),
    "STATUS": ("status", 0, ()),
    "STATS": ("stats", _LAZY, ()),
    "ONSET": ("onset", _MUT, ("type", "at")),
    "STOP": ("stop", _MUT, ()),
    "RECUR": ("recur", _MUT, ()),
    "RECOVERED": ("recovered", _MUT, ()),
    "WEIGHT": ("weight", _MUT, ("value", "override", "age")),
    "CHECK": ("check", 0, _DOSE_ARGS),
    "DOSE": ("dose", _MUT, _DOSE_ARGS + ("override",)),
    "ACK": ("ack", _MUT, ("alarm",)),
    "PAUSE": ("pause", _MUT, ()),
    "NOTE": ("note", _MUT, ("text",)),
    "FLAG": ("flag", _MUT, ("name", "value")),
    "INFUSION": ("infusion", _MUT, ("action", "drug", "rate", "override")),
    "WEAN": ("wean", _MUT, ("action",)),
    "VOID": ("void", _MUT, ("seq", "reason")),
    "LOG": ("log", 0, ("from", "max")),
    "DLGET": ("dlget", _LAZY, ("off",)),
    "CHALLENGE": ("challenge", _LAZY, ()),
    "LOGIN": ("login", _MUT | _LAZY, ("mac",)),
    "LOGOUT": ("logout", _LAZY, ()),
    "SETTINGS": ("settings", _MUT, SETTING_KEYS),  # read: bedside; change: maintenance
    "CLOCK": ("clock", _MUT | _MAINT | _LAZY, ("unix",)),
    "DLPUT": ("dlput", _MUT | _MAINT | _LAZY, ("size", "sha256")),
    "DLDATA": ("dldata", _MUT | _MAINT | _LAZY, ("off", "data")),
    "DLCOMMIT": ("dlcommit", _MUT | _MAINT | _LAZY, ("tag", "downgrade")),
    "DLABORT": ("dlabort", _MAINT | _LAZY, ()),
    "CLEARLOG": ("clearlog", _MUT | _MAINT | _LAZY, ("confirm",)),
    "REPL": ("repl", _MAINT | _LAZY, ()),
}


class LinkError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


_SEQ_REACH = 32  # entries back a just-logged event is looked for (logwindow.KEEP are in RAM)


def _request_of(req, first, found):
    # a logged request's "req" (id:hex digest) and its first entry, into found; one that does
    # not parse is not remembered
    if req is None:
        return
    i = req.find(":")
    try:
        dig = binascii.unhexlify(req[i + 1:])
    except ValueError:
        dig = b""
    if i > 0 and len(dig) == DIGEST:
        found.append((req[:i], dig, first))


def _args_error(msg):
    return LinkError(_f.E_ARGS, msg)


def _int_arg(args, key, lo=None, hi=None, default=None):
    v = args.get(key)
    if v is None:
        if default is None:
            raise _args_error("%s is required" % key)
        return default
    neg = v.startswith("-")
    digits = v[1:] if neg else v
    if not digits or len(digits) > 12:
        raise _args_error("%s must be an integer, got %r" % (key, v))
    for ch in digits:
        if ch < "0" or ch > "9":
            raise _args_error("%s must be an integer, got %r" % (key, v))
    n = int(digits)
    if neg:
        n = -n
    if (lo is not None and n < lo) or (hi is not None and n > hi):
        raise _args_error("%s must be in %s..%s, got %d" % (key, lo, hi, n))
    return n


def _bool_arg(args, key):
    v = args.get(key, "").lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off"):
        return False
    raise _args_error("%s must be 1 or 0, got %r" % (key, v))


def _req(args, key):
    v = args.get(key)
    if v is None or v == "":
        raise _args_error("%s is required" % key)
    return v


def _clean(text, limit):
    """Printable ASCII, at most limit characters (for ERR messages)."""
    out = []
    for ch in str(text):
        out.append(ch if " " <= ch <= "~" else "?")
        if len(out) >= limit:
            break
    return "".join(out)


def dumps(obj):
    return _f.ascii_json(json.dumps(obj, separators=(",", ":")))


def _fit(obj, limit, drop=()):
    """Compact JSON of obj within limit characters, dropping keys in `drop`
    (then trimming list values) until it fits."""
    text = dumps(obj)
    for key in drop:
        if len(text) <= limit:
            return text
        if key in obj:
            obj = dict(obj)
            del obj[key]
            text = dumps(obj)
    while len(text) > limit:
        biggest = None
        for key in obj:
            if isinstance(obj[key], list) and obj[key] and (biggest is None or len(obj[key]) > len(obj[biggest])):
                biggest = key
        if biggest is None:
            raise LinkError(_f.E_INTERNAL, "reply does not fit in a line")
        obj = dict(obj)
        obj[biggest] = obj[biggest][:-1]
        text = dumps(obj)
    return text


def _health_pairs(unit):
    """HELLO's heap and loop figures (a unit without them reports none)."""
    fig = getattr(unit, "health_figures", None)
    if fig is None:
        return ()
    h = fig()
    return (("heap_free", h["heap_free"]), ("heap_largest", h["heap_largest"]),
            ("heap_min_free", h["heap_min_free"]), ("loop_ms", h["loop_ms"]), ("idle_alloc", h["idle_alloc"]))


def _rand_default(n):
    try:
        import os

        return os.urandom(n)
    except Exception:  # no RNG on this port: the nonce still mixes a counter and the clock
        return bytes(n)


class Link:
    def __init__(self, unit, hal, key=None, rand=None, repl=None):
        self.unit = unit
        self.hal = hal
        self.repl = repl  # object with start(write), feed(data), .active; None: no REPL
        self.repl_active = False
        self._rx = bytearray(64)
        self._rx_n = 0
        self._rx_i = 0
        self._line = bytearray(_f.MAX_LINE)
        self._reserve = bytearray(RESERVE)  # type: bytearray | None  # let go when the heap is full, for the refusal's reply
        self._n = 0
        self._over = False
        self._last_rx = hal.ticks_ms()
        self._err_tokens = ERR_BUDGET
        self._err_t = self._last_rx
        self._ids = [None] * IDEM_SLOTS
        self._digs = [b""] * IDEM_SLOTS
        self._seqs = [-1] * IDEM_SLOTS  # first event the request logged (-1 none, -2 refused)
        self._replies = [None] * IDEM_SLOTS  # held for the newest REPLY_SLOTS only
        self._cache_i = 0
        self._first = -1  # while a request runs: the index its first event will get
        self._restore_ids()
        self.stats = {"lines": 0, "ok": 0, "err": 0, "crc": 0, "frame": 0, "binary": 0, "toolong": 0,
                      "partial": 0, "control": 0, "retries": 0, "dropped": 0, "events": 0, "connections": 0}
        self.stats["tx_dropped"] = 0
        self._tx = bytearray(0)  # frames not yet taken by the UART, oldest first (TX_BUF bytes once needed)
        self._tx_mv = memoryview(self._tx)
        self._tx_n = 0
        self._has_lid = hasattr(hal, "link_id")
        self._conn = hal.link_id() if self._has_lid else 0
        if rand is None:
            rand = getattr(hal, "random_bytes", None) or _rand_default
        self.key = key
        self._rand = rand
        self._maint = None  # maint.Maintenance while a maintenance exchange is under way
        self._req_mod = None  # link_requests while bedside requests are coming in
        self._req_t = 0
        self._stage = unit.state.stage
        unit.listeners.append(self._on_event)

    # ------------------------------------------------------------ maintenance module
    def _maintenance(self):
        if self._maint is None:
            from . import maint

            self._maint = maint.Maintenance(self, self.key, self._rand)
        return self._maint

    # ------------------------------------------------------------ bedside requests module
    def _requests(self):
        """link_requests.py: loaded for a request, kept REQUESTS_KEEP_S after the last one."""
        if self._req_mod is None:
            try:
                self._req_mod = _heap.load("link_requests")
            except MemoryError:
                raise LinkError(_f.E_REFUSED, "no memory to handle the request now (nothing was done); try again")
        self._req_t = self.unit.now()
        return self._req_mod

    def _release_requests(self):
        if self._req_mod is not None and self.unit.now() - self._req_t >= REQUESTS_KEEP_S:
            self._req_mod = None
            _heap.forget("link_requests")

    @property
    def auth(self):
        """The authenticator (loads the maintenance module)."""
        return self._maintenance().auth

    def _check_conn(self):
        """A maintenance session belongs to the connection that logged in: when
        the HAL says the connection changed (the port closed or reopened, a
        second client), the session, a pending challenge or transfer and a half
        line all end before anything from the new connection is read."""
        c = self.hal.link_id()
        if c == self._conn:
            return
        self._conn = c
        self.stats["connections"] += 1
        if self._n:
            self.stats["partial"] += 1
        self._n = 0
        self._over = False
        m = self._maint
        if m is not None:
            m.end("connection closed or changed")
            self._release_maint()

    def _release_maint(self):
        """Let the maintenance code leave the heap once nothing is pending."""
        m = self._maint
        if m is None or self.repl_active or not m.idle():
            return
        self._maint = None
        _heap.forget("maint")
        _heap.forget("auth")

    # ------------------------------------------------------------ output
    def _send(self, body):
        try:
            self._out(_f.seal(body))
        except MemoryError:  # a full heap: the line is dropped and counted, as a full buffer drops it
            self.stats["tx_dropped"] += 1

    def _out(self, frame):
        """Send one whole frame; what the UART does not take now waits in the
        transmit buffer (allocated the first time a host falls behind: a host
        that reads, or none, never costs the heap).  Never blocks: a frame that
        does not fit is dropped whole and counted (a host that stops reading
        loses lines, never the unit its loop)."""
        m = len(frame)
        if not self._tx_n:
            k = self.hal.uart_write(frame)
            if k is None or k >= m:
                return
            if k > 0:  # the rest of this frame fits: the buffer is empty and a frame is < TX_BUF
                frame = memoryview(frame)[k:]
                m -= k
        if not len(self._tx):
            self._tx = bytearray(TX_BUF)
            self._tx_mv = memoryview(self._tx)
        n = self._tx_n
        if n + m > TX_BUF:
            self._flush()
            n = self._tx_n
            if n + m > TX_BUF:
                self.stats["tx_dropped"] += 1
                return
        self._tx[n:n + m] = frame
        self._tx_n = n + m
        self._flush()

    def _flush(self):
        sent = 0
        while self._tx_n and sent < TX_PER_POLL:
            n = self._tx_n
            k = self.hal.uart_write(self._tx_mv[0:n])
            if k is None:
                k = n
            if k <= 0:
                return
            if k < n:
                self._tx[0:n - k] = self._tx_mv[k:n]
            self._tx_n = n - k
            sent += k

    def tx_pending(self):
        return self._tx_n

    def _write_all(self, data):
        # the REPL's output (maintenance mode: the unit is not monitoring): all of it, in order
        self._flush()
        mv = memoryview(data)
        while len(mv):
            k = self.hal.uart_write(mv)
            mv = mv[len(mv) if k is None else k:]

    def _on_event(self, ev):
        if self.repl_active:
            return
        evs = self.unit.events
        seq = len(evs) - 1
        if seq < 0 or evs[seq] is not ev:
            seq = self._seq(ev)
        self.stats["events"] += 1
        try:
            self._send("! EVT %d %s" % (seq, self._event_json(ev, _LIMIT - 20)))
        except MemoryError:  # a full heap: the line is dropped (the event is logged; LOG has it)
            self.stats["tx_dropped"] += 1
        self._check_stage()

    def _event_json(self, ev, limit):
        text = dumps(ev)
        if len(text) <= limit:
            return text
        ev = dict(ev)  # only a note or detail can be this long: shorten it, say so
        for key in ("text", "detail"):
            if key in ev:
                ev[key] = ev[key][:40]
        ev["truncated"] = True
        return dumps(ev)

    def _check_stage(self):
        # every loop step: a frame small enough for the C stack (see Unit.step)
        if self.unit.state.stage != self._stage:
            self._stage_line()

    def _stage_line(self):
        st = self._stage = self.unit.state.stage
        try:
            self._send("! STAGE %s t=%d" % (_episode.STAGES[st], self.unit.state.t))
        except MemoryError:
            self.stats["tx_dropped"] += 1

    def _seq(self, ev):
        # the entry a request has just logged: among the newest (those a window on the flash
        # log keeps in RAM: logwindow.py), never looked for in the whole log
        evs = self.unit.events
        i = len(evs) - 1
        stop = i - _SEQ_REACH
        while i >= 0 and i > stop:
            if evs[i] is ev:
                return i
            i -= 1
        return -1

    # ------------------------------------------------------------ input
    def poll(self):
        """Read and answer what has arrived; returns the number of lines handled.

        Kept small on purpose: called every main-loop step, and on MicroPython a
        function with more than a few locals gets its frame from the heap on every
        call.  With nothing pending and nothing arrived it returns from here."""
        if self.repl_active or self._tx_n or self._n or self._rx_i < self._rx_n:
            return self._poll(0)
        if self._req_mod is not None:
            self._release_requests()  # the requests' code stays a while after one: idle steps still come here
        if self._has_lid:
            self._check_conn()
        n = self.hal.uart_readinto(self._rx)
        if not n:
            self._check_stage()
            return 0
        self._rx_i = 0
        self._rx_n = n
        if self._has_lid:
            self._check_conn()  # these bytes may be a new connection's
        self._last_rx = self.hal.ticks_ms()
        return self._poll(n)

    def _poll(self, taken):
        hal = self.hal
        if self.repl_active:
            self._poll_repl()
            return 0
        if self._tx_n:
            self._flush()
        if self._req_mod is not None:
            self._release_requests()
        handled = 0
        rx = self._rx
        line = self._line
        lid = self._has_lid
        if lid:
            self._check_conn()
        while handled < MAX_LINES_PER_POLL:
            if self._rx_i >= self._rx_n:
                if taken >= MAX_BYTES_PER_POLL:
                    break
                self._rx_i = 0
                self._rx_n = hal.uart_readinto(rx)
                if lid:
                    self._check_conn()  # these bytes may be a new connection's
                if not self._rx_n:
                    break
                taken += self._rx_n
                self._last_rx = hal.ticks_ms()
            i = self._rx_i
            n = self._rx_n
            while i < n:
                b = rx[i]
                i += 1
                if b == 10:
                    self._rx_i = i
                    self._end_line()
                    handled += 1
                    if self.repl_active:  # the rest of the chunk is the REPL's
                        if i < n:
                            self.repl.feed(bytes(rx[i:n]))
                        self._rx_i = self._rx_n = 0
                        return handled
                    break
                if b == 13:
                    continue
                if b < 0x20:
                    # Ctrl-C, Ctrl-A, ...: cancel the partial line (resync).  Ctrl-A at a line
                    # start is a raw-REPL entry (mpremote): say why there is none, in one line.
                    if b == 1 and not self._n:
                        self._junk("-", _f.E_AUTH, "bedside mode: the REPL needs a maintenance login (statim repl)")
                    self.stats["control"] += 1
                    if self._n:
                        self.stats["partial"] += 1
                    self._n = 0
                    self._over = False
                    continue
                if self._n < _f.MAX_LINE:
                    line[self._n] = b
                    self._n += 1
                else:
                    self._over = True
            else:
                self._rx_i = i
        if self._n and _clock.ticks_diff(hal.ticks_ms(), self._last_rx) > PARTIAL_TIMEOUT_MS:
            self.stats["partial"] += 1  # half a frame and then silence: drop it
            self._n = 0
            self._over = False
        self._check_stage()
        return handled

    def _poll_repl(self):
        rx = self._rx
        n = self.hal.uart_readinto(rx)
        while n and self.repl_active:
            self.repl.feed(bytes(rx[:n]))
            if not self.repl.active:
                break
            n = self.hal.uart_readinto(rx)
        if not self.repl.active:
            self.repl_active = False
            self._n = 0
            self._over = False
            if self._maint is not None:
                self._maint.auth.logout("REPL closed")
                self._release_maint()

    def _junk(self, rid, code, message):
        """ERR for a frame we could not parse, within the error budget."""
        now = self.hal.ticks_ms()
        gained = _clock.ticks_diff(now, self._err_t) // ERR_REFILL_MS
        if gained > 0:
            self._err_tokens = min(ERR_BUDGET, self._err_tokens + gained)
            self._err_t = now
        if self._err_tokens <= 0:
            self.stats["dropped"] += 1
            return
        self._err_tokens -= 1
        self.stats["err"] += 1
        self._send("%s ERR %s %s" % (rid, code, message))

    def _end_line(self):
        n = self._n
        if self._reserve is None:  # held back again once the heap has room (the last full heap used it)
            try:
                self._reserve = bytearray(RESERVE)
            except MemoryError:
                pass
        try:
            self._take_line()
        except MemoryError:  # a full heap while the line was read or parsed
            self._reserve = None
            _heap.collect()
            try:
                self._no_memory(_f.id_of(self._line, n), None, None)
            except MemoryError:  # not even that: no answer (the host's retry may get one)
                self.stats["tx_dropped"] += 1

    def _take_line(self):
        n = self._n
        over = self._over
        self._n = 0
        self._over = False
        if n == 0 and not over:
            return  # empty line: keep-alive
        self.stats["lines"] += 1
        if over:
            self.stats["toolong"] += 1
            self._junk(_f.id_of(self._line, n), _f.E_TOOLONG, "line longer than %d bytes" % _f.MAX_LINE)
            return
        try:
            body = _f.unseal(self._line, n)
        except _f.FrameError as e:
            self.stats[e.code.lower() if e.code in (_f.E_CRC, _f.E_BINARY) else "frame"] += 1
            self._junk("-", e.code, e.message)
            return
        try:
            rid, word, args, pos = _f.parse_request(body)
        except _f.FrameError as e:
            self.stats["frame"] += 1
            rid = _f.id_of(self._line, n)
            self._reply(rid, None, e.code, e.message)
            return
        self._handle(rid, word, args, pos, body)

    # ------------------------------------------------------------ dispatch
    def _cached(self, rid):
        i = 0
        while i < IDEM_SLOTS:
            if self._ids[i] == rid:
                return i
            i += 1
        return -1

    def _remember(self, rid, dig, seq, frame):
        k = self._cache_i
        self._ids[k] = rid
        self._digs[k] = dig
        self._seqs[k] = seq
        self._replies[k] = frame
        self._replies[(k - REPLY_SLOTS) % IDEM_SLOTS] = None
        self._cache_i = (k + 1) % IDEM_SLOTS

    def _restore_ids(self):
        """After a reboot: the requests the log says were done (their events carry
        "req"), so a retry that arrives now is answered, not executed again.  The log
        is read newest first, as far back as the table holds or IDEM_REACH entries (its
        older entries are on flash: logwindow.py)."""
        evs = self.unit.events
        found = []  # type: list  # (id, digest, first seq), newest request first
        cur = None
        first = -1
        i = len(evs) - 1
        stop = i - IDEM_REACH
        while i >= 0 and i > stop and len(found) < IDEM_SLOTS:
            req = evs[i].get("req")
            if req is not None:
                if req != cur:
                    _request_of(cur, first, found)
                    cur = req
                first = i  # a request's events follow one another: its first is the lowest
            i -= 1
        if len(found) < IDEM_SLOTS:
            _request_of(cur, first, found)
        i = len(found) - 1
        while i >= 0:
            rid, dig, seq = found[i]
            self._remember(rid, dig, seq, None)
            i -= 1

    def _reply(self, rid, data, code=None, message=None, cache_sig=None):
        if code is None and len(rid) + 4 + len(data or "") > _LIMIT:
            code = _f.E_INTERNAL
            message = "reply too long"
        if cache_sig is not None:
            # remembered before the reply is built: on a full heap the reply may not be, and the
            # host's retry must then be answered from this table, not done a second time
            self._remember(rid, cache_sig, self._first if code is None else -2, None)
        try:
            if code is None:
                self.stats["ok"] += 1
                frame = _f.seal(rid + " OK" + (" " + data if data else ""))
            else:
                self.stats["err"] += 1
                frame = _f.seal("%s ERR %s %s" % (rid, code, _clean(message, _LIMIT - len(rid) - len(code) - 6)))
        except MemoryError:
            self.stats["tx_dropped"] += 1  # no reply this time; a retry gets one (see _retry)
            return
        if cache_sig is not None:
            self._replies[(self._cache_i - 1) % IDEM_SLOTS] = frame
        self._out(frame)

    def _retry(self, rid, word, k):
        """The same request again: the first reply, or what the table still knows."""
        self.stats["retries"] += 1
        frame = self._replies[k]
        if frame is not None:
            self._out(frame)
            return
        seq = self._seqs[k]
        if seq == -2:
            self._send("%s ERR %s the first request under this id was refused; send it again with a new id" % (
                rid, _f.E_REFUSED))
        elif word == "DOSE":
            self._send('%s OK {"seq":%d,"retry":true}' % (rid, seq))
        else:
            self._send("%s OK seq=%d retry=1" % (rid, seq))

    def _handle(self, rid, word, args, pos, body):
        h = _druglib._sha256()
        h.update(body.encode())  # the whole request, id included
        dig = h.digest()[:DIGEST]
        k = self._cached(rid)
        if k >= 0:
            if self._digs[k] == dig:
                self._retry(rid, word, k)
            else:
                self._reply(rid, None, _f.E_DUPID, "id %s was used for a different request; use a new id" % rid)
            return
        spec = COMMANDS.get(word)
        if spec is None:
            self._reply(rid, None, _f.E_UNKNOWN, "unknown command %s (try HELLO)" % _clean(word, 16))
            return
        name, flags, names = spec
        cache = dig if flags & _MUT else None
        self._first = -1
        if cache is not None:
            self._first = len(self.unit.events)
            self.unit.req = rid + ":" + binascii.hexlify(dig).decode()
        try:
            if len(pos) > len(names):
                raise _args_error("%s takes at most %d positional arguments" % (word, len(names)))
            i = 0
            for v in pos:
                if names[i] in args:
                    raise _args_error("argument %s given twice" % names[i])
                args[names[i]] = v
                i += 1
            signed = flags & _MAINT or (args and name == "settings")  # SETTINGS with arguments: a change
            for key in args:
                if key not in names and not (signed and (key == "n" or key == "mac")):
                    raise _args_error("%s does not take %s (takes: %s)" % (word, key, " ".join(names) or "nothing"))
                if args[key] == "":
                    raise _args_error("%s= is empty (leave an argument out rather than give it empty)" % key)
            if signed:
                if self._maint is None:
                    raise LinkError(_f.E_AUTH, "%s is a maintenance command: log in first (CHALLENGE, LOGIN)" % word)
                self._maint.auth.check_request(word, args, body)  # signed: takes out n= and mac=
            if flags & _LAZY:
                data = getattr(self._maintenance(), "_cmd_" + name)(args)
            elif name in _RESIDENT:
                data = getattr(self, "_cmd_" + name)(args)
            else:
                data = getattr(self._requests(), "cmd_" + name)(self, args)
        except LinkError as e:
            self._reply(rid, None, e.code, e.message, cache)
            return
        except ValueError as e:
            self._reply(rid, None, _f.E_REFUSED, str(e), cache)
            return
        except MemoryError:
            self._no_memory(rid, word, cache)
            return
        except Exception as e:
            code = getattr(e, "code", None)  # auth.AuthError: a refusal with its own code
            if isinstance(code, str):
                self._reply(rid, None, code, getattr(e, "message", str(e)), cache)
            else:  # a bug: say so; handlers change nothing before they can fail
                self._reply(rid, None, _f.E_INTERNAL, "%s: %s" % (type(e).__name__, e), cache)
            return
        finally:
            self.unit.req = None
            if cache is not None and self._first >= len(self.unit.events):
                self._first = -1  # nothing logged
            if flags & _LAZY and name != "repl" or name == "settings":  # settings: a session may have ended
                self._release_maint()
        self._reply(rid, data, None, None, cache)
        if name == "repl":
            self.repl_active = True
            self._flush()
            self.repl.start(self._write_all)

    def _no_memory(self, rid, word, cache):
        """The answer to a request the heap could not finish.  The engine makes the RAM log's
        room before it writes, so a refused event was not logged; one logged before the heap
        ran out (building the reply) is answered as a retry would be; one written to flash
        but not applied in RAM is kept, and the watchdog resets the unit to replay it."""
        self._reserve = None  # the heap held back for this moment: the reply below can be built
        _heap.collect()
        evs = self.unit.events
        if self.unit.engine.replay_needed:
            self._reply(rid, None, _f.E_REFUSED, "the unit's memory is full: logged; the unit restarts to reload its log",
                        cache)
        elif cache is not None and 0 <= self._first < len(evs):
            self._reply(rid, ('{"seq":%d}' if word == "DOSE" else "seq=%d") % self._first, None, None, cache)
        else:
            self._reply(rid, None, _f.E_REFUSED, "the unit's memory is full: nothing was logged" if cache is not None
                        else "the unit's memory is full: try again in a minute", cache)

    def _log_maint(self, action, detail=None):
        return self.unit.engine.append(_events.maint(self.unit.now(), action, detail))

    def _seq_reply(self, ev):
        return "seq=%d t=%d" % (self._seq(ev), ev["t"])

    # ------------------------------------------------------------ bedside commands
    def _cmd_hello(self, args):
        if "proto" in args and _int_arg(args, "proto", 0, 1000) != PROTOCOL_VERSION:
            raise LinkError(_f.E_PROTO, "this unit speaks protocol %d" % PROTOCOL_VERSION)
        from .unit import FIRMWARE_VERSION

        lib = self.unit.library
        return _f.kv((("proto", PROTOCOL_VERSION), ("unit", self.unit.config["unit_id"]),
                      ("fw", FIRMWARE_VERSION), ("druglib", lib.version or "none"),
                      ("druglib_sha256", lib.sha256 or "none"), ("druglib_ok", 1 if lib.verified else 0),
                      ("druglib_refused", 1 if self.unit.library_refused else 0),
                      ("maxline", _f.MAX_LINE), ("key", 0 if self.key is None else 1),
                      ("repl", 0 if self.repl is None else 1))
                     + _health_pairs(self.unit))

    def _cmd_ping(self, args):
        return "t=%d" % self.unit.now()

    def _cmd_status(self, args):
        s = self.unit.status()
        s["tx_dropped"] = self.stats["tx_dropped"]
        eeg = s.get("eeg")
        if isinstance(eeg, dict) and "bsr_trend" in eeg:
            eeg = dict(eeg)
            del eeg["bsr_trend"]
            s["eeg"] = eeg
        return _fit(s, _LIMIT - 40, ("eeg", "rules", "due"))

