"""Stand-in units on a pseudo-terminal for the CLI tests: a unit that answers
with malformed replies, one that sends nothing, one sitting at its MicroPython
REPL, one that sends line noise."""
import os
import threading

from firmware.core import frames as _f


class FakePort:
    """A pty whose far end runs `respond(line bytes) -> bytes to send` per received line.

    greeting: bytes sent once, when the first byte arrives (a REPL prompt, noise)."""

    def __init__(self, respond=None, greeting=b""):
        self.master, self.slave = os.openpty()
        self.path = os.ttyname(self.slave)
        self.respond = respond
        self.greeting = greeting
        self.received = bytearray()
        self._stop = False
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        import select

        buf = b""
        greeted = False
        while not self._stop:
            r, _, _ = select.select([self.master], [], [], 0.05)
            if not r:
                continue
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return
            self.received += data
            if not greeted and self.greeting:
                os.write(self.master, self.greeting)
                greeted = True
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if self.respond is not None and line.strip():
                    out = self.respond(line.rstrip(b"\r"))
                    if out:
                        os.write(self.master, out)

    def close(self):
        self._stop = True
        self._t.join(1)
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


def reply_with(table):
    """respond() answering each command word with `table[word]` (text after OK, or a callable)."""

    def respond(line):
        try:
            body = _f.unseal(line, len(line))
        except _f.FrameError:
            return b""
        parts = body.split(" ")
        rid, word = parts[0], parts[1]
        text = table.get(word, "")
        if callable(text):
            text = text(body)
        if text is None:
            return b""
        return _f.seal("%s OK %s" % (rid, text) if text else "%s OK" % rid)

    return respond


HELLO = "proto=1 unit=STATIM-FAKE fw=0.1.0 druglib=0.1.1 druglib_ok=1 key=1 repl=1"
