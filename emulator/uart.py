"""The emulated unit's UART: a pseudo-terminal, or an in-memory pipe for tests.

With PtyUart the host tools connect to ``slave_path`` exactly as to a board's
serial port (pyserial opens it like any tty).
"""
import collections
import ctypes
import errno
import os
import struct
import tty

_IN_OPEN = 0x20
_IN_CLOSE_WRITE = 0x08
_IN_CLOSE_NOWRITE = 0x10


class _OpenWatch:
    """Counts the opens and closes of a device file (Linux inotify): each one is a
    connection change of the emulated link.  Elsewhere it counts nothing."""

    def __init__(self, path):
        self.count = 0
        self.fd = -1
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
            if fd < 0:
                return
            if libc.inotify_add_watch(fd, os.fsencode(path), _IN_OPEN | _IN_CLOSE_WRITE | _IN_CLOSE_NOWRITE) < 0:
                os.close(fd)
                return
            self.fd = fd
        except (OSError, AttributeError):
            self.fd = -1

    def poll(self):
        while self.fd >= 0:
            try:
                data = os.read(self.fd, 4096)
            except (BlockingIOError, OSError):
                break
            if not data:
                break
            i = 0
            while i + 16 <= len(data):  # struct inotify_event: wd, mask, cookie, len, name[len]
                _, mask, _, n = struct.unpack_from("iIII", data, i)
                if mask & (_IN_OPEN | _IN_CLOSE_WRITE | _IN_CLOSE_NOWRITE):
                    self.count += 1
                i += 16 + n
        return self.count

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class PtyUart:
    def __init__(self):
        self.master, slave = os.openpty()
        tty.setraw(slave)  # bytes as they are: no echo, no line editing, no CR/LF mapping
        self.slave_path = os.ttyname(slave)
        self._slave = slave  # kept open so the pty survives between host connections
        os.set_blocking(self.master, False)
        self._opens = _OpenWatch(self.slave_path)  # a host opening or closing the port

    def link_id(self):
        return self._opens.poll()

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
        """Non-blocking, as the HAL's uart_write: what the pty takes now (0 when
        its buffer is full because the host does not read)."""
        try:
            return os.write(self.master, data)
        except BlockingIOError:
            return 0
        except OSError as exc:
            if exc.errno == errno.EIO:  # no one on the other side
                return len(data)
            raise

    def close(self):
        self._opens.close()
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
        self.conn = 0

    def reconnect(self):
        """A host closed the port and another opened it (tests)."""
        self.conn += 1

    def link_id(self):
        return self.conn

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
        return len(data)

    def close(self):
        pass
