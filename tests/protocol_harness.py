"""A unit with the serial link attached over an in-memory UART, for protocol tests.

    h = Harness(weight_kg=70)
    h.request("ONSET")            -> ('OK', 'seq=1 t=...')   (or ('ERR', 'CODE message'))
    h.send(b"raw bytes"); h.lines()   -> every line the unit wrote, CRC-checked
"""
from emulator.board import EmulatedUnit
from emulator.live import DEV_KEY
from firmware.core import auth, frames, protocol


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

    def request(self, text, rid=None):
        """'WORD args' -> ('OK', data) or ('ERR', 'CODE message'); asserts exactly one reply."""
        if rid is None:
            self.n += 1
            rid = "t%d" % self.n
        replies, _ = self.exchange(rid + " " + text)
        assert len(replies) == 1, replies
        got_id, ok, code, data = frames.parse_reply(replies[0])
        assert got_id == rid
        return ("OK", data) if ok else ("ERR", "%s %s" % (code, data))

    def ok(self, text, rid=None):
        status, data = self.request(text, rid)
        assert status == "OK", data
        return data

    def err(self, text, rid=None):
        status, data = self.request(text, rid)
        assert status == "ERR", data
        return data

    def login(self, key=None):
        data = self.ok("CHALLENGE")
        kv = dict(t.split("=", 1) for t in data.split())
        mac = auth.login_mac(key or self.key, kv["unit"], kv["nonce"])
        return self.request("LOGIN mac=%s" % auth.hexlify(mac))

    def advance_s(self, s):
        self.emu.run_for(s * 1000)
        self.lines()
