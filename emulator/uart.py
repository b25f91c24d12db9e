"""The emulated unit's UART: a pseudo-terminal, or an in-memory pipe for tests.

With PtyUart the host tools connect to ``slave_path`` exactly as to a board's
serial port (pyserial opens it like any tty).
"""
import collections
import errno
import os
import tty


class PtyUart:
    def __init__(self):
        self.master, slave = os.openpty()
        tty.setraw(slave)  # bytes as they are: no echo, no line editing, no CR/LF mapping
        self.slave_path = os.ttyname(slave)
        self._slave = slave  # kept open so the pty survives between host connections
        os.set_blocking(self.master, False)

    def readinto(self, buf):
        try:
            data = os.read(self.master, len(buf))
        except BlockingIOError:
            return 0
        except OSError as exc:
            if exc.errno == errno.EIO:  # no one on the other side yet
                return 0
            raise
        buf[: len(data)] = data
        return len(data)

    def write(self, data):
        view = memoryview(bytes(data))
        while view:
            try:
                n = os.write(self.master, view)
            except BlockingIOError:
                continue  # host not reading fast enough: the tty buffer drains quickly
            view = view[n:]

    def close(self):
        for fd in (self.master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass


class MemoryUart:
    """Two byte queues: what the host sent (rx) and what the unit wrote (tx)."""

    def __init__(self):
        self.rx = collections.deque()
        self.tx = bytearray()

    def host_write(self, data):
        self.rx.extend(data)

    def host_read(self):
        out = bytes(self.tx)
        self.tx.clear()
        return out

    def readinto(self, buf):
        n = 0
        while self.rx and n < len(buf):
            buf[n] = self.rx.popleft()
            n += 1
        return n

    def write(self, data):
        self.tx.extend(data)

    def close(self):
        pass
