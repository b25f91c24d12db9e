# TI ADS1299 EEG analog front end for the Pico board (one channel), read on DRDY.
#
# The ADS1299 (TI SBAS499) is the 24-bit, 8-channel biopotential ADC of open EEG
# hardware (OpenBCI Cyton).  This driver uses channel 1 as one differential EEG
# derivation (IN1P - IN1N), the other channels powered down.
#
#   fe = Ads1299()            # pins and SPI as wired in README.md
#   reason = fe.start()       # None when the chip answered and converts; else why not
#   n = fe.readinto(buf)      # main loop: drain samples (µV) into an array('f')
#
# - SPI mode 1 (CPOL 0, CPHA 1), MSB first, 8 MHz, chip select by software
#   (CS must stay low across a whole 27-byte frame).
# - At start the ID register must name the ADS1299 family (ADS1299-4/-6/-8);
#   anything else (no chip: MISO reads 0x00 or 0xFF; a different TI part)
#   is reported as a reason, never raised.
# - Data rate: DR = 110, 250 SPS, the chip's lowest rate with its 2.048 MHz
#   clock.  (256 SPS exactly would need a 2.097152 MHz external clock on CLK;
#   the detector takes any rate, so we do not pretend.)
# - Continuous mode (RDATAC): on every DRDY falling edge a hard IRQ reads the
#   frame (3 status bytes + 3 bytes per channel) into a preallocated buffer and
#   stores channel 1's 24-bit code in a preallocated ring (array('i')).  The
#   IRQ allocates nothing: no float, no bound-method creation (the SPI method
#   is bound once here), small ints only.  A full ring drops the new sample
#   and counts it (overflows); a frame without the 0b1100 status header counts
#   as bad_frames (a chip gone away reads as 0x00 / 0xFF).
# - readinto() (main loop) converts codes to µV: LSB = 2 * Vref / gain / 2^24
#   = Vref / gain / 2^23 (Vref 4.5 V, internal reference).
import time
from array import array

from machine import SPI, Pin
from micropython import const

# wiring (GPIO numbers; README.md, wiring table)
PIN_SCK = const(6)  # SPI0 SCK
PIN_MOSI = const(7)  # SPI0 TX -> DIN
PIN_MISO = const(0)  # SPI0 RX <- DOUT
PIN_CS = const(1)  # plain GPIO output (held low over a frame)
PIN_DRDY = const(21)  # DRDY, active low, falling edge = new data
PIN_RESET = const(22)  # RESET and PWDN tied together, active low
SPI_ID = const(0)
SPI_BAUD = const(8000000)  # 27-byte frame in 27 µs; the chip allows 20 MHz (tSCLK >= 50 ns)

# opcodes (SBAS499 table 10)
_WAKEUP = const(0x02)
_STANDBY = const(0x04)
_RESET = const(0x06)
_START = const(0x08)
_STOP = const(0x0A)
_RDATAC = const(0x10)
_SDATAC = const(0x11)
_RDATA = const(0x12)
_RREG = const(0x20)
_WREG = const(0x40)

# registers
REG_ID = const(0x00)
REG_CONFIG1 = const(0x01)
REG_CONFIG2 = const(0x02)
REG_CONFIG3 = const(0x03)
REG_LOFF = const(0x04)
REG_CH1SET = const(0x05)
REG_BIAS_SENSP = const(0x0D)
REG_BIAS_SENSN = const(0x0E)
REG_MISC1 = const(0x15)

# CONFIG1: bit 7 reserved 1, bits 4:3 reserved 10, DR[2:0] = 110 -> fMOD/4096 = 250 SPS
_CONFIG1 = const(0x96)
DATA_RATE_HZ = 250.0
# CONFIG2: reserved 11000, no test signal
_CONFIG2 = const(0xC0)
# CONFIG3: internal reference buffer on (bit 7), reserved 11, BIASREF internal (bit 3),
# bias buffer on (bit 2): the bias drive keeps the inputs inside the common-mode range
_CONFIG3 = const(0xEC)
_CH_OFF = const(0x81)  # unused channel: powered down, input shorted (datasheet advice)
_MUX_NORMAL = const(0x00)  # CHnSET[2:0]: normal electrode input
GAINS = (1, 2, 4, 6, 8, 12, 24)  # CHnSET[6:4] -> PGA gain
VREF_V = 4.5
_STATUS_MASK = const(0xF0)
_STATUS_HEAD = const(0xC0)  # the 24-bit status word starts 0b1100
_POR_MS = const(130)  # tPOR = 2^18 tCLK (128 ms) after power-up before the reset pulse
_REF_MS = const(50)  # internal reference settling after CONFIG3


class Ads1299:
    def __init__(self, gain=24, ring=512, spi_id=SPI_ID, sck=PIN_SCK, mosi=PIN_MOSI, miso=PIN_MISO,
                 cs=PIN_CS, drdy=PIN_DRDY, reset=PIN_RESET, baud=SPI_BAUD):
        if gain not in GAINS:
            raise ValueError("gain must be one of 1, 2, 4, 6, 8, 12, 24")
        if ring < 2 or ring & (ring - 1):
            raise ValueError("ring must be a power of two")
        self.gain = gain
        self.fs = 0.0  # data rate once converting, else 0
        self.channels = 0  # channels of the chip found (4, 6 or 8)
        self.chip_id = -1
        self.frames = 0  # DRDY frames read (IRQ)
        self.overflows = 0  # samples dropped: ring full (main loop too slow)
        self.bad_frames = 0  # frames without the status header (chip lost / wiring)
        self._uv = VREF_V / gain / 8388608.0 * 1e6  # µV per LSB
        self._mask = ring - 1
        self._ring = array("i", bytearray(4 * ring))
        self._head = 0  # written by the IRQ only
        self._tail = 0  # written by readinto only
        self._frame = bytearray(27)  # resized at start() for 4/6-channel parts (before the IRQ runs)
        self._cmd = bytearray(1)
        self._cs = Pin(cs, Pin.OUT, value=1)
        self._rst = Pin(reset, Pin.OUT, value=1)
        self._drdy = Pin(drdy, Pin.IN, Pin.PULL_UP)
        Pin(miso, Pin.IN, Pin.PULL_DOWN)  # no chip: DOUT reads 0x00, never floats into a valid id
        self._spi = SPI(spi_id, baudrate=baud, polarity=0, phase=1, bits=8, firstbit=SPI.MSB,
                        sck=Pin(sck), mosi=Pin(mosi), miso=Pin(miso))
        # bound once: looking up spi.readinto in the IRQ would allocate a bound method
        self._spi_readinto = self._spi.readinto
        self._irq = self._on_drdy

    # --- register access (not in RDATAC mode; main context only) ----------------
    def _command(self, op):
        self._cmd[0] = op
        self._cs(0)
        self._spi.write(self._cmd)
        self._cs(1)
        time.sleep_us(4)  # tSDECODE: 4 tCLK (2 µs) before the next command

    def read_reg(self, reg):
        buf = bytearray(3)
        buf[0] = _RREG | reg
        buf[1] = 0  # n - 1 registers
        self._cs(0)
        for i in range(2):  # one byte at a time: the chip needs tSDECODE between opcode bytes
            self._spi.write(buf[i:i + 1])
            time.sleep_us(2)
        self._spi.readinto(memoryview(buf)[2:3], 0)
        self._cs(1)
        return buf[2]

    def write_reg(self, reg, value):
        buf = bytearray((_WREG | reg, 0, value))
        self._cs(0)
        for i in range(3):
            self._spi.write(buf[i:i + 1])
            time.sleep_us(2)
        self._cs(1)

    # --- bring-up -----------------------------------------------------------------
    def start(self):
        """Reset, identify, configure channel 1 and start converting; None or the reason it did not."""
        # ms since the RP2040 booted (ticks start at 0): only a fresh power-up still waits
        wait = _POR_MS - time.ticks_diff(time.ticks_ms(), 0)
        if wait > 0:
            time.sleep_ms(wait)
        self._rst(0)
        time.sleep_us(10)  # >= 2 tCLK
        self._rst(1)
        time.sleep_us(20)  # 18 tCLK before the first command
        self._command(_SDATAC)  # it wakes up in RDATAC, where register commands are ignored
        chip = self.read_reg(REG_ID)
        self.chip_id = chip
        # ID: REV_ID[7:5], 1, DEV_ID[3:2] = 11 (ADS1299), NU_CH[1:0] = 00/01/10 (4/6/8 channels)
        if chip & 0x1C != 0x1C or chip & 0x03 == 0x03:
            return "no ADS1299 (id 0x%02x)" % chip
        self.channels = (4, 6, 8)[chip & 0x03]
        self._frame = bytearray(3 + 3 * self.channels)
        self.write_reg(REG_CONFIG3, _CONFIG3)
        time.sleep_ms(_REF_MS)
        self.write_reg(REG_CONFIG1, _CONFIG1)
        self.write_reg(REG_CONFIG2, _CONFIG2)
        self.write_reg(REG_LOFF, 0)
        ch1 = GAINS.index(self.gain) << 4 | _MUX_NORMAL  # powered on, SRB2 open
        self.write_reg(REG_CH1SET, ch1)
        for ch in range(1, self.channels):
            self.write_reg(REG_CH1SET + ch, _CH_OFF)
        self.write_reg(REG_BIAS_SENSP, 0x01)  # bias derived from channel 1 only
        self.write_reg(REG_BIAS_SENSN, 0x01)
        self.write_reg(REG_MISC1, 0)  # SRB1 open
        for reg, want in ((REG_CONFIG1, _CONFIG1), (REG_CONFIG3, _CONFIG3), (REG_CH1SET, ch1)):
            got = self.read_reg(reg)
            if got != want:  # a stuck or miswired DIN: the chip did not take our settings
                return "ADS1299 register 0x%02x reads 0x%02x, wrote 0x%02x" % (reg, got, want)
        self._head = self._tail = 0
        self._command(_RDATAC)
        self._drdy.irq(handler=self._irq, trigger=Pin.IRQ_FALLING, hard=True)
        self._command(_START)
        self.fs = DATA_RATE_HZ
        return None

    def stop(self):
        self._drdy.irq(handler=None)
        self.fs = 0.0
        self._command(_SDATAC)
        self._command(_STOP)

    # --- data ---------------------------------------------------------------------
    def _on_drdy(self, pin):
        # hard IRQ: no allocation (small ints, preallocated buffers, pre-bound method)
        cs = self._cs
        f = self._frame
        cs(0)
        self._spi_readinto(f)
        cs(1)
        self.frames += 1
        if f[0] & _STATUS_MASK != _STATUS_HEAD:
            self.bad_frames += 1
            return
        v = f[3] << 16 | f[4] << 8 | f[5]
        if v & 0x800000:
            v -= 0x1000000  # two's complement, 24 bits
        h = self._head
        nh = (h + 1) & self._mask
        if nh == self._tail:
            self.overflows += 1
            return
        self._ring[h] = v
        self._head = nh

    def readinto(self, buf):
        """Move waiting samples (µV) into buf (array('f')); returns the count."""
        t = self._tail
        h = self._head  # read once: the IRQ may advance it meanwhile
        ring = self._ring
        mask = self._mask
        k = self._uv
        n = 0
        cap = len(buf)
        while t != h and n < cap:
            buf[n] = ring[t] * k
            t = (t + 1) & mask
            n += 1
        self._tail = t
        return n

    def available(self):
        return (self._head - self._tail) & self._mask
