"""A unit with the serial link attached over an in-memory UART, for protocol tests.

    h = Harness(weight_kg=70)
    h.request("ONSET")            -> ('OK', 'seq=1 t=...')   (or ('ERR', 'CODE message'))
    h.send(b"raw bytes"); h.lines()   -> every line the unit wrote, CRC-checked

After h.login() the harness signs every request that needs the session (n= and
mac=, as host_tools/link.py does); request(..., sign=False) sends one as a client
without the key would.
"""
from emulator.board import EmulatedUnit
from emulator.live import DEV_KEY
from firmware.core import auth, frames, protocol
from host_tools.link import needs_session


class Harness:
    def __init__(self, weight_kg=None, key=DEV_KEY, flash_dir=None, repl=None, rand=None, emu=None):
        # emu: an existing emulated unit (after a reboot, say) to put the link around
        self.emu = emu if emu is not None else EmulatedUnit(flash_dir=flash_dir)
        self.unit = self.emu.unit
        self.uart = self.emu.board.uart
        self.key = key
        self.link = protocol.Link(self.unit, self.emu.board, key=key, repl=repl,
                                  rand=rand or (lambda n: bytes(range(n))))
        self.unit.link = self.link
        if weight_kg is not None:
            self.unit.set_weight(int(weight_kg * 1000))
        self.n = 0
        self.skey = None  # the session's request key after a login
        self.req_n = 0  # the last request counter signed
        self.sent = []  # the request bodies sent, as framed (to replay in tests)
        self.unsolicited = []
        self.uart.host_read()

    def send(self, data, steps=1):
        self.uart.host_write(data)
        for _ in range(steps):
            self.unit.step()

    def lines(self):
        """Bodies of every complete line the unit wrote since the last call (CRC checked)."""
        raw = self.uart.host_read()
        out = []
        for line in raw.split(b"\n"):
            if not line:
                continue
            out.append(frames.unseal(line, len(line)))
        return out

    def exchange(self, body, steps=1):
        """Send one framed request body; return (replies, unsolicited) bodies."""
        self.send(frames.seal(body), steps)
        replies, events = [], []
        for text in self.lines():
            (events if text.startswith("! ") else replies).append(text)
        self.unsolicited += events
        return replies, events

    def signed(self, text, rid):
        """The body of 'WORD args' under id rid, signed with the session key (counter + 1)."""
        self.req_n += 1
        return auth.sign(self.skey, "%s %s n=%d" % (rid, text, self.req_n))

    def request(self, text, rid=None, sign=None):
        """'WORD args' -> ('OK', data) or ('ERR', 'CODE message'); asserts exactly one reply.
        sign: None signs what needs the session once logged in; False never."""
        if rid is None:
            self.n += 1
            rid = "t%d" % self.n
        word, _, rest = text.partition(" ")
        if sign is None:
            sign = self.skey is not None and needs_session(word, rest.split())
        body = self.signed(text, rid) if sign else rid + " " + text
        self.sent.append(body)
        replies, _ = self.exchange(body)
        assert len(replies) == 1, replies
        got_id, ok, code, data = frames.parse_reply(replies[0])
        assert got_id == rid
        return ("OK", data) if ok else ("ERR", "%s %s" % (code, data))

    def ok(self, text, rid=None, sign=None):
        status, data = self.request(text, rid, sign)
        assert status == "OK", data
        return data

    def err(self, text, rid=None, sign=None):
        status, data = self.request(text, rid, sign)
        assert status == "ERR", data
        return data

    def login(self, key=None):
        data = self.ok("CHALLENGE")
        kv = dict(t.split("=", 1) for t in data.split())
        mac = auth.login_mac(key or self.key, kv["unit"], kv["nonce"])
        r = self.request("LOGIN mac=%s" % auth.hexlify(mac))
        if r[0] == "OK":  # the unit derived the same key from the same nonce
            self.skey = auth.session_key(key or self.key, kv["unit"], kv["nonce"])
            self.req_n = 0
        return r

    def advance_s(self, s):
        self.emu.run_for(s * 1000)
        self.lines()
