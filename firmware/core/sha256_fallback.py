# Pure-Python SHA-256 (FIPS 180-4), used only where hashlib lacks sha256
# (some minimal MicroPython ports).  Slow but small; it hashes the drug
# library once at load, as it is read.  Tested against hashlib on CPython and MicroPython.

_K = (
    0x428A2F98, 0x71374491, 0xB5C0FBCF, 0xE9B5DBA5, 0x3956C25B, 0x59F111F1, 0x923F82A4, 0xAB1C5ED5,
    0xD807AA98, 0x12835B01, 0x243185BE, 0x550C7DC3, 0x72BE5D74, 0x80DEB1FE, 0x9BDC06A7, 0xC19BF174,
    0xE49B69C1, 0xEFBE4786, 0x0FC19DC6, 0x240CA1CC, 0x2DE92C6F, 0x4A7484AA, 0x5CB0A9DC, 0x76F988DA,
    0x983E5152, 0xA831C66D, 0xB00327C8, 0xBF597FC7, 0xC6E00BF3, 0xD5A79147, 0x06CA6351, 0x14292967,
    0x27B70A85, 0x2E1B2138, 0x4D2C6DFC, 0x53380D13, 0x650A7354, 0x766A0ABB, 0x81C2C92E, 0x92722C85,
    0xA2BFE8A1, 0xA81A664B, 0xC24B8B70, 0xC76C51A3, 0xD192E819, 0xD6990624, 0xF40E3585, 0x106AA070,
    0x19A4C116, 0x1E376C08, 0x2748774C, 0x34B0BCB5, 0x391C0CB3, 0x4ED8AA4A, 0x5B9CCA4F, 0x682E6FF3,
    0x748F82EE, 0x78A5636F, 0x84C87814, 0x8CC70208, 0x90BEFFFA, 0xA4506CEB, 0xBEF9A3F7, 0xC67178F2,
)

_M = 0xFFFFFFFF


def _rotr(x, n):
    return ((x >> n) | (x << (32 - n))) & _M


_H0 = (0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19)


def _compress(h, msg, off, w):
    for i in range(16):
        j = off + 4 * i
        w[i] = (msg[j] << 24) | (msg[j + 1] << 16) | (msg[j + 2] << 8) | msg[j + 3]
    for i in range(16, 64):
        x = w[i - 15]
        y = w[i - 2]
        s0 = _rotr(x, 7) ^ _rotr(x, 18) ^ (x >> 3)
        s1 = _rotr(y, 17) ^ _rotr(y, 19) ^ (y >> 10)
        w[i] = (w[i - 16] + s0 + w[i - 7] + s1) & _M
    a, b, c, d, e, f, g, hh = h
    for i in range(64):
        S1 = _rotr(e, 6) ^ _rotr(e, 11) ^ _rotr(e, 25)
        ch = (e & f) ^ ((~e) & g)
        t1 = (hh + S1 + ch + _K[i] + w[i]) & _M
        S0 = _rotr(a, 2) ^ _rotr(a, 13) ^ _rotr(a, 22)
        maj = (a & b) ^ (a & c) ^ (b & c)
        t2 = (S0 + maj) & _M
        hh = g
        g = f
        f = e
        e = (d + t1) & _M
        d = c
        c = b
        b = a
        a = (t1 + t2) & _M
    return [(h[0] + a) & _M, (h[1] + b) & _M, (h[2] + c) & _M, (h[3] + d) & _M,
            (h[4] + e) & _M, (h[5] + f) & _M, (h[6] + g) & _M, (h[7] + hh) & _M]


class Sha256:
    """Incremental SHA-256 (update()/digest(), like hashlib's): the drug library
    is hashed as it is read, a chunk at a time, never whole in memory."""

    def __init__(self):
        self._h = list(_H0)
        self._buf = b""
        self._n = 0
        self._w = [0] * 64

    def update(self, data):
        data = bytes(data)
        self._n += len(data)
        buf = self._buf + data
        off = 0
        while off + 64 <= len(buf):
            self._h = _compress(self._h, buf, off, self._w)
            off += 64
        self._buf = buf[off:]

    def digest(self):
        n = self._n
        tail = self._buf + b"\x80" + b"\x00" * ((55 - n) % 64) + (n * 8).to_bytes(8, "big")
        h = self._h
        for off in range(0, len(tail), 64):
            h = _compress(h, tail, off, self._w)
        out = b""
        for v in h:
            out += v.to_bytes(4, "big")
        return out


def sha256_digest(data):
    """SHA-256 of bytes -> 32-byte digest."""
    s = Sha256()
    s.update(data)
    return s.digest()
