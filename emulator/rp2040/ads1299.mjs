// An emulated TI ADS1299 EEG front end on an rp2040js SPI port, with its DRDY pin.
//
//   import { attachADS1299 } from './ads1299.mjs';
//   const fe = attachADS1299(mcu, clock, { samplesFile: 'feed.f32', spiIndex: 0, csPin: 1, drdyPin: 21,
//                                          resetPin: 22 });
//   fe.push(Float32Array)   // stream more µV samples (e.g. from the patient simulator)
//   fe.stats                // { frames, framesRead, missed, samplesUsed, exhausted, ... }
//
// What the firmware sees (firmware/boards/rp2_pico/ads1299.py is its driver):
// - SPI (mode 1; rp2040js moves whole bytes, so the mode is not checked): opcodes WAKEUP, STANDBY,
//   RESET, START, STOP, RDATAC, SDATAC, RDATA, RREG, WREG; a register file with ID (0x3E: ADS1299,
//   8 channels; opts.chipId to pretend otherwise), CONFIG1-4, LOFF, CH1SET..CH8SET, BIAS, MISC.
//   Powers up in RDATAC mode, as the chip does; in RDATAC, RREG/WREG are ignored (datasheet).
// - Conversions run after START (opcode; the START pin is taken as tied low) at the rate CONFIG1.DR
//   selects (16 kSPS >> DR; DR=110: 250 SPS).  Each conversion, on the emulated clock: DRDY pulses
//   high then falls, and the 27-byte frame (status 0xC00000, then 8 x 24-bit two's complement) is
//   latched for reading; the first SCLK of a read raises DRDY again.  Only channel 1 carries the
//   feed (normal electrode input, powered up); shorted, test or powered-down channels read 0.
// - Code = round(µV * 1e-6 * gain * 2^23 / 4.5 V), clipped to 24 bits; gain from CH1SET[6:4].
// - CS (a GPIO the firmware drives): bytes while CS is high are not the chip's (reply 0).
// - RESET/PWDN pin (opts.resetPin, active low): held low = chip silent, rising = registers reset.
//
// Samples file (opts.samplesFile): headerless little-endian float32, one channel, µV, one value per
// conversion at the chip's data rate (250 SPS with the firmware's settings); emulator/rp2040/eeg_feed.py
// writes it from a recording or the patient simulator.  The file is played from its first sample at
// the first conversion after START, one sample per conversion, whatever rate CONFIG1 says (the writer
// resamples).  When the samples run out: opts.onEnd 'zero' (default: the amplifier reads 0 µV,
// stats.exhausted set), 'loop' (start again) or 'hold' (repeat the last value).
// opts.samples (Float32Array) may be given instead of a file; fe.push() appends at any time.
import fs from 'fs';

const OP = { WAKEUP: 0x02, STANDBY: 0x04, RESET: 0x06, START: 0x08, STOP: 0x0a, RDATAC: 0x10, SDATAC: 0x11,
  RDATA: 0x12 };
const NREG = 0x18;
const GAINS = [1, 2, 4, 6, 8, 12, 24, 24];
const VREF = 4.5;

function defaults(chipId) {
  const r = new Uint8Array(NREG);
  r[0x00] = chipId;
  r[0x01] = 0x96; // CONFIG1
  r[0x02] = 0xc0; // CONFIG2
  r[0x03] = 0x60; // CONFIG3
  for (let ch = 0; ch < 8; ch++) r[0x05 + ch] = 0x61; // CHnSET: gain 24, input shorted
  return r;
}

export function attachADS1299(mcu, clock, opts = {}) {
  const spi = mcu.spi[opts.spiIndex ?? 0];
  const csPin = opts.csPin ?? 1;
  const drdy = mcu.gpio[opts.drdyPin ?? 21];
  const resetPin = opts.resetPin ?? 22;
  const chipId = opts.chipId ?? 0x3e;
  const onEnd = opts.onEnd ?? 'zero';
  const channels = [4, 6, 8, 8][chipId & 3];
  const frameLen = 3 + 3 * channels;

  let samples = new Float32Array(0);
  let used = 0; // samples[0:used] consumed
  if (opts.samplesFile) {
    const b = fs.readFileSync(opts.samplesFile);
    if (b.length % 4) throw new Error(`${opts.samplesFile}: not float32 samples (${b.length} bytes)`);
    samples = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
  } else if (opts.samples) samples = Float32Array.from(opts.samples);

  const stats = { frames: 0, framesRead: 0, missed: 0, samplesUsed: 0, exhausted: false, commands: 0,
    spiBytes: 0, resets: 0, fs: 0 };
  let reg = defaults(chipId);
  let rdatac = true; // the chip powers up in RDATAC mode
  let running = false;
  let inReset = false;
  let cs = true; // high = deselected
  const frame = new Uint8Array(frameLen);
  let out = null; // bytes being shifted out (frame or register values)
  let outPos = 0;
  let readSinceDrdy = true;
  // multi-byte command decoding
  let pendingOp = -1, pendingCount = -1, regAddr = 0, regLeft = 0;

  const rate = () => 16000 >> Math.min(reg[0x01] & 7, 6);

  function nextSample() {
    if (used >= samples.length) {
      if (onEnd === 'loop' && samples.length) used = 0;
      else {
        stats.exhausted = true;
        return onEnd === 'hold' && samples.length ? samples[samples.length - 1] : 0;
      }
    }
    stats.samplesUsed++;
    return samples[used++];
  }

  function code(uv, chset) {
    if (chset & 0x80 || (chset & 7) !== 0) return 0; // powered down, or not the electrode input
    const gain = GAINS[(chset >> 4) & 7];
    let c = Math.round(uv * 1e-6 * gain * 8388608 / VREF);
    if (c > 0x7fffff) c = 0x7fffff;
    if (c < -0x800000) c = -0x800000;
    return c & 0xffffff;
  }

  const alarm = clock.createAlarm(convert);
  function convert() {
    if (!running || inReset) return;
    if (!readSinceDrdy) stats.missed++;
    const uv = nextSample();
    frame.fill(0);
    frame[0] = 0xc0;
    const c = code(uv, reg[0x05]);
    frame[3] = c >> 16; frame[4] = (c >> 8) & 0xff; frame[5] = c & 0xff;
    stats.frames++;
    readSinceDrdy = false;
    if (rdatac) { out = frame; outPos = 0; }
    drdy.setInputValue(true); // DRDY returns high briefly before new data ...
    drdy.setInputValue(false); // ... and the falling edge says: read me
    alarm.schedule(1e9 / rate());
  }

  function startConversions() {
    running = true;
    stats.fs = rate();
    alarm.schedule(1e9 / rate());
  }

  function stopConversions() {
    running = false;
    alarm.cancel();
  }

  function chipReset() {
    stopConversions();
    reg = defaults(chipId);
    rdatac = true;
    out = null;
    pendingOp = -1;
    drdy.setInputValue(true);
    stats.resets++;
  }

  function opcode(v) {
    stats.commands++;
    switch (v) {
      case OP.RESET: chipReset(); return;
      case OP.START: startConversions(); return;
      case OP.STOP: stopConversions(); return;
      case OP.RDATAC: rdatac = true; return;
      case OP.SDATAC: rdatac = false; out = null; return;
      case OP.RDATA: out = frame; outPos = 0; return;
      case OP.WAKEUP: case OP.STANDBY: case 0x00: return;
    }
    const kind = v & 0xe0;
    if (kind === 0x20 || kind === 0x40) {
      if (rdatac) return; // register commands are ignored in RDATAC
      pendingOp = kind; regAddr = v & 0x1f; pendingCount = -1;
    }
  }

  function onByte(v) {
    // what the chip shifts out during this byte
    let reply = 0;
    if (out && outPos < out.length) {
      reply = out[outPos++];
      if (out === frame && outPos === 1) { drdy.setInputValue(true); readSinceDrdy = true; stats.framesRead++; }
    }
    // what it decodes from DIN
    if (pendingOp >= 0) {
      if (pendingCount < 0) {
        pendingCount = v & 0x1f; regLeft = pendingCount + 1;
        if (pendingOp === 0x20) { // RREG: the next n bytes shift out the registers
          const vals = new Uint8Array(regLeft);
          for (let i = 0; i < regLeft; i++) vals[i] = reg[(regAddr + i) % NREG];
          out = vals; outPos = 0; pendingOp = -1;
        }
      } else { // WREG data
        const a = regAddr++;
        if (a > 0 && a < NREG) reg[a] = v; // ID is read-only
        if (--regLeft === 0) pendingOp = -1;
      }
    } else opcode(v);
    return reply;
  }

  spi.onTransmit = (v) => {
    stats.spiBytes++;
    if (cs || inReset) { spi.completeTransmit(0); return; }
    spi.completeTransmit(onByte(v & 0xff));
  };

  mcu.gpio[csPin].addListener((state) => {
    const high = state !== 0; // GPIOPinState.Low === 0; an input (not yet driven) counts as pulled up
    if (!high && cs) { if (out && out !== frame) out = null; } // a new transaction: register reads are over
    cs = high;
  });
  mcu.gpio[resetPin].addListener((state) => {
    const low = state === 0;
    if (low && !inReset) { inReset = true; stopConversions(); }
    else if (!low && inReset) { inReset = false; chipReset(); }
  });
  drdy.setInputValue(true);

  return {
    stats,
    get registers() { return Uint8Array.from(reg); },
    get running() { return running; },
    push(more) {
      const rest = samples.subarray(used);
      const next = new Float32Array(rest.length + more.length);
      next.set(rest); next.set(more, rest.length);
      samples = next; used = 0; stats.exhausted = false;
    },
    get buffered() { return samples.length - used; },
  };
}
