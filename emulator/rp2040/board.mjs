// Statim's emulated Raspberry Pi Pico: the real MicroPython firmware (UF2) in rp2040js.
//
//   node board.mjs --flash FILE [--fresh] [--referee DIR] [--serial PORT] [--pace R]
//                  [--max-resets N] [--eeg SAMPLES] [--verbose]
//
// The flash is a 2 MiB image FILE: every erase/program the firmware does is written through to it at
// once, so killing this process at any moment (a power cut) leaves FILE exactly as the chip's flash
// was.  A missing or empty FILE (or --fresh) starts from a blank chip with the UF2 copied on, as a
// user does on the RPI-RP2 drive.
//
// Control: JSON lines on stdin, answers (same "id") and events on stdout; logs on stderr.  The first
// stdout line is {"event":"ready","serial_port":P,...}.  Commands (see README.md in this folder):
//   stats | press {button|pin, ms} | screen | run {ms} | pause | resume | pace {value}
//   cut {after, partial, ops} | lockup | reset {kind} | console | quit
// Serial: the USB CDC port on TCP 127.0.0.1:P (socket://127.0.0.1:P for pyserial, mpremote, statim).
import fs from 'fs';
import net from 'net';
import path from 'path';
import { fileURLToPath, pathToFileURL } from 'url';
import { ConsoleLogger, LogLevel, Simulator, USBCDC } from 'rp2040js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const args = parseArgs(process.argv.slice(2));
const REFEREE = path.resolve(args.referee ?? process.env.STATIM_RP2040_REFEREE ??
  path.join(HERE, '..', '..', '..', 'shared', 'referees', 'rp2040'));
const UF2 = args.uf2 ?? path.join(REFEREE, 'RPI_PICO-v1.28.0.uf2');
const ELF = args.elf ?? path.join(REFEREE, 'RPI_PICO-v1.28.0.elf');
const FLASH_SIZE = 2 * 1024 * 1024; // the Pico's W25Q16: MicroPython's littlefs ends at 0x200000
const CPU_HZ = 125e6;
const CYCLE_NS = 1e9 / CPU_HZ;
const CHUNK = 100000; // instructions between I/O services: about 1 ms emulated, a few ms wall
const MAX_RESETS = parseInt(args['max-resets'] ?? '20');
const BUTTONS = { UP: 10, DOWN: 11, OK: 12, BACK: 13, ALARM: 14 };
const WDT_REASON = { 1: 'watchdog', 2: 'forced' }; // WATCHDOG REASON bits: TIMER, FORCE
const SSD1306_ADDR = 0x3c;

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    if (!argv[i].startsWith('--')) continue;
    const k = argv[i].slice(2);
    out[k] = argv[i + 1] !== undefined && !argv[i + 1].startsWith('--') ? argv[++i] : true;
  }
  return out;
}
const log = (...m) => process.stderr.write('[board] ' + m.join(' ') + '\n');
const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

// --- the ELF symbol table: the SDK's flash routines and names for crash addresses ------------------
// Parsed here rather than with arm-none-eabi-nm so that running the board needs only Node.
function readSymbols(file) {
  const b = fs.readFileSync(file);
  if (b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 1 || b[5] !== 1) throw new Error(`${file}: not a 32-bit little-endian ELF`);
  const shoff = b.readUInt32LE(0x20), shentsize = b.readUInt16LE(0x2e), shnum = b.readUInt16LE(0x30);
  const sec = (i) => { const o = shoff + i * shentsize;
    return { type: b.readUInt32LE(o + 4), offset: b.readUInt32LE(o + 16), size: b.readUInt32LE(o + 20), link: b.readUInt32LE(o + 24) }; };
  const funcs = [], byName = new Map();
  for (let i = 0; i < shnum; i++) {
    const s = sec(i);
    if (s.type !== 2) continue; // SHT_SYMTAB
    const str = sec(s.link);
    for (let o = s.offset; o + 16 <= s.offset + s.size; o += 16) {
      const nameOff = b.readUInt32LE(o), value = b.readUInt32LE(o + 4), size = b.readUInt32LE(o + 8), info = b[o + 12];
      if ((info & 0xf) !== 2) continue; // STT_FUNC
      const end = b.indexOf(0, str.offset + nameOff);
      const name = b.toString('latin1', str.offset + nameOff, end);
      const addr = value & ~1;
      funcs.push([addr, size, name]);
      if (!byName.has(name)) byName.set(name, addr);
    }
  }
  funcs.sort((x, y) => x[0] - y[0]);
  return { byName, funcs };
}
const SYMS = readSymbols(ELF);
const ERASE = SYMS.byName.get('flash_range_erase'), PROGRAM = SYMS.byName.get('flash_range_program');
if (ERASE === undefined || PROGRAM === undefined) throw new Error(`${ELF}: no flash_range_erase/flash_range_program`);
// A flat profile of the firmware: busy cycles per function (ELF symbols), between two 'profile' commands.
let prof = null, profWatch = -1, profLR = 0, profR0 = 0, profCalls = new Map(); // and who calls one function (watch)
function functionAt(pc) {
  let lo = 0, hi = SYMS.funcs.length - 1, best = null;
  while (lo <= hi) { const m = (lo + hi) >> 1; if (SYMS.funcs[m][0] <= pc) { best = SYMS.funcs[m]; lo = m + 1; } else hi = m - 1; }
  return best && pc < best[0] + Math.max(best[1], 1) ? best[2] : (pc >= 0x20000000 ? 'RAM' : '?');
}
function symbolAt(pc) {
  let lo = 0, hi = SYMS.funcs.length - 1, best = null;
  while (lo <= hi) { const m = (lo + hi) >> 1; if (SYMS.funcs[m][0] <= pc) { best = SYMS.funcs[m]; lo = m + 1; } else hi = m - 1; }
  return best && pc < best[0] + Math.max(best[1], 1) ? `${best[2]}+0x${(pc - best[0]).toString(16)}` : '?';
}

// --- the flash file -------------------------------------------------------------------------------
const FLASH_FILE = path.resolve(args.flash ?? 'flash.img');
function blankChipWithFirmware() {
  const img = new Uint8Array(FLASH_SIZE).fill(0xff);
  const buf = fs.readFileSync(UF2);
  for (let o = 0; o + 512 <= buf.length; o += 512) {
    if (buf.readUInt32LE(o) !== 0x0a324655 || buf.readUInt32LE(o + 4) !== 0x9e5d5157 || buf.readUInt32LE(o + 508) !== 0x0ab16f30)
      throw new Error(`${UF2}: bad UF2 block at ${o}`);
    const addr = buf.readUInt32LE(o + 12), size = buf.readUInt32LE(o + 16);
    img.set(buf.subarray(o + 32, o + 32 + size), addr - 0x10000000);
  }
  return img;
}
let flashImage;
if (args.fresh || !fs.existsSync(FLASH_FILE) || fs.statSync(FLASH_FILE).size === 0) {
  flashImage = blankChipWithFirmware();
  fs.writeFileSync(FLASH_FILE, flashImage);
  log(`blank flash with ${path.basename(UF2)} -> ${FLASH_FILE}`);
} else {
  flashImage = new Uint8Array(fs.readFileSync(FLASH_FILE));
  if (flashImage.length !== FLASH_SIZE) throw new Error(`${FLASH_FILE}: ${flashImage.length} bytes, want ${FLASH_SIZE}`);
}
const flashFd = fs.openSync(FLASH_FILE, 'r+');

// --- optional EEG front end (another module answers the SPI; absent is fine) ----------------------
let eeg = null;
if (args.eeg) {
  try { eeg = await import(pathToFileURL(path.join(HERE, 'ads1299.mjs')).href); }
  catch (e) { log(`--eeg given but ads1299.mjs could not be loaded: ${e.message}`); }
}

// --- state across chip resets ----------------------------------------------------------------------
const stats = {
  boots: 0, resets: 0, reset_log: [], erases: 0, erased_bytes: 0, programs: 0, programmed_bytes: 0,
  i2c_bytes: 0, i2c_nack: 0, usb_to_device: 0, usb_from_device: 0, usb_dropped: 0,
  busy_cycles: 0, emulated_ns_before_boot: 0, idle_jumps: 0,
};
let sim, mcu, core, clock, cdc, usbUp = false, usbRead = null;
let resetPending = null, lockedUp = null, halted = null;
let paused = false, pace = parseFloat(args.pace ?? '1'), paceWall = Date.now(), paceEmu = 0;
let runWaiters = []; // [{id, targetTotalNs}]
let cut = null; // {left, partial, ops}
// Host -> device bytes wait here (not in rp2040js's 512-byte CDC FIFO, which drops on overflow) and
// go to the device one USB transfer at a time, as the device asks for them.
const hostQ = { bufs: [], len: 0,
  push(b) { this.bufs.push(Buffer.from(b)); this.len += b.length; },
  take(n) { const out = Buffer.alloc(n); let o = 0;
    while (o < n) { const b = this.bufs[0], k = Math.min(b.length, n - o); b.copy(out, o, 0, k); o += k;
      if (k === b.length) this.bufs.shift(); else this.bufs[0] = b.subarray(k); }
    this.len -= n; return out; },
  clear() { this.bufs = []; this.len = 0; } };
const CONSOLE_MAX = 16384;
let consoleTail = Buffer.alloc(0); // the device's last output, for diagnostics (kept with no client)
let client = null;
const t0 = Date.now();
const totalNs = () => stats.emulated_ns_before_boot + clock.nanos;

// --- SSD1306 controller: what the panel holds and shows --------------------------------------------
// The GDDRAM is 8 pages x 128 columns; a byte is 8 vertical pixels, bit 0 on top.  The parser keeps
// its state across I2C transactions: micropython-lib's driver sends every command byte (and every
// argument) in its own [0x80, byte] transaction and the pixels as one [0x40, data...] transaction.
const ARGS = { 0x20: 1, 0x21: 2, 0x22: 2, 0x26: 6, 0x27: 6, 0x29: 5, 0x2a: 5, 0x81: 1, 0x8d: 1, 0xa3: 2,
  0xa8: 1, 0xad: 1, 0xd3: 1, 0xd5: 1, 0xd8: 1, 0xd9: 1, 0xda: 1, 0xdb: 1 };
const oled = {
  ram: new Uint8Array(1024), on: false, invert: false, entireOn: false, contrast: 0x7f, segRemap: false,
  comReverse: false, mode: 2, col: 0, page: 0, colStart: 0, colEnd: 127, pageStart: 0, pageEnd: 7,
  frames: 0, lastDataNs: 0, cmd: null, cmdArgs: [], dataBytes: 0,
  // per transaction
  ctl: true, continuation: false, isData: false, txData: 0,
};
function oledCommand(c, a) {
  switch (c) {
    case 0xae: case 0xaf: oled.on = c === 0xaf; break;
    case 0xa6: case 0xa7: oled.invert = c === 0xa7; break;
    case 0xa4: case 0xa5: oled.entireOn = c === 0xa5; break;
    case 0xa0: case 0xa1: oled.segRemap = c === 0xa1; break;
    case 0xc0: case 0xc8: oled.comReverse = c === 0xc8; break;
    case 0x81: oled.contrast = a[0]; break;
    case 0x20: oled.mode = a[0] & 3; break;
    case 0x21: oled.colStart = oled.col = a[0] & 127; oled.colEnd = a[1] & 127; break;
    case 0x22: oled.pageStart = oled.page = a[0] & 7; oled.pageEnd = a[1] & 7; break;
    default:
      if (c >= 0xb0 && c <= 0xb7) oled.page = c & 7; // page addressing mode
      else if (c <= 0x0f) oled.col = (oled.col & 0xf0) | c;
      else if (c <= 0x1f) oled.col = ((c & 0x0f) << 4) | (oled.col & 0x0f);
      // start line, offset, mux, clocks, charge pump, scrolling: accepted, not modelled
  }
}
function oledCommandByte(b) {
  if (oled.cmd === null) {
    if (ARGS[b]) { oled.cmd = b; oled.cmdArgs = []; } else oledCommand(b, []);
  } else {
    oled.cmdArgs.push(b);
    if (oled.cmdArgs.length === ARGS[oled.cmd]) { const c = oled.cmd; oled.cmd = null; oledCommand(c, oled.cmdArgs); }
  }
}
function oledDataByte(b) {
  oled.ram[oled.page * 128 + oled.col] = b;
  oled.dataBytes++;
  if (oled.mode === 0) { // horizontal: column, then wrap to the next page of the window
    if (++oled.col > oled.colEnd) { oled.col = oled.colStart; if (++oled.page > oled.pageEnd) oled.page = oled.pageStart; }
  } else if (oled.mode === 1) { // vertical
    if (++oled.page > oled.pageEnd) { oled.page = oled.pageStart; if (++oled.col > oled.colEnd) oled.col = oled.colStart; }
  } else if (oled.col < 127) oled.col++; // page mode: the column stops at the end of the page
}
function oledByte(b) {
  if (oled.ctl) { // a control byte: Co (bit 7): one byte follows then another control byte; D/C# (bit 6)
    oled.continuation = !!(b & 0x80); oled.isData = !!(b & 0x40); oled.ctl = false; return;
  }
  if (oled.isData) { oledDataByte(b); oled.txData++; } else oledCommandByte(b);
  if (oled.continuation) oled.ctl = true;
}

// --- one chip ------------------------------------------------------------------------------------
function boot(wdt) {
  if (sim) stats.emulated_ns_before_boot += clock.nanos;
  sim = new Simulator();
  mcu = sim.rp2040; core = mcu.core; clock = sim.clock;
  mcu.loadBootrom(BOOTROM); // also fills the 16 MB flash array with 0xff
  mcu.flash.set(flashImage);
  mcu.logger = new ConsoleLogger(args.verbose ? LogLevel.Warn : LogLevel.Error);
  // A BKPT with no debugger attached escalates to a fault the handler cannot take: the core locks up.
  mcu.onBreak = (code) => enterLockup(`bkpt #${code} at 0x${core.PC.toString(16)} (${symbolAt(core.PC)})`);
  for (const i2c of mcu.i2c) {
    let toOled = false;
    i2c.onStart = () => i2c.completeStart();
    i2c.onConnect = (addr, mode) => {
      toOled = addr === SSD1306_ADDR;
      if (!toOled) stats.i2c_nack++;
      oled.ctl = true; oled.txData = 0;
      i2c.completeConnect(toOled);
    };
    i2c.onWriteByte = (b) => { stats.i2c_bytes++; if (toOled) oledByte(b); i2c.completeWrite(toOled); };
    i2c.onReadByte = () => i2c.completeRead(0); // SSD1306 status: never busy
    i2c.onStop = () => {
      if (toOled && oled.txData) { oled.frames++; oled.lastDataNs = totalNs(); }
      toOled = false;
      i2c.completeStop();
    };
  }
  for (const pin of Object.values(BUTTONS)) mcu.gpio[pin].setInputValue(true); // pulled up, released
  const dog = mcu.peripherals[0x40058];
  if (wdt) { dog.reason = wdt.reason; dog.scratchData.set(wdt.scratch); }
  dog.onWatchdogTrigger = () => {
    // The real chip resets at once; here the reset happens after this instruction chunk.
    dog.alarm.enable = false; dog.timer.enable = false;
    if (!resetPending) resetPending = { reason: dog.reason, scratch: Uint32Array.from(dog.scratchData) };
  };
  cdc = new USBCDC(mcu.usbCtrl);
  usbUp = false;
  cdc.onDeviceConnected = () => { usbUp = true; emit({ event: 'usb', up: true, t_s: totalNs() / 1e9 }); };
  cdc.onSerialData = (buf) => deviceOutput(Buffer.from(buf));
  // rp2040js's CDC answers every OUT transfer the device arms at once, with zero bytes when the host
  // has nothing: the device re-arms, gets another empty packet 10 us later, and never sleeps.  A real
  // host sends only when it has data, so an armed transfer waits here until host bytes arrive.
  usbRead = null;
  const cdcRead = mcu.usbCtrl.onEndpointRead;
  mcu.usbCtrl.onEndpointRead = (ep, size) => {
    if (ep !== cdc.outEndpoint) return cdcRead(ep, size);
    usbRead = { ep, size, usb: mcu.usbCtrl };
    feedUsb();
  };
  if (eeg) eeg.attachADS1299(mcu, clock, { samplesFile: args.eeg, drdyPin: args['eeg-drdy'] ? +args['eeg-drdy'] : undefined, spiIndex: args['eeg-spi'] ? +args['eeg-spi'] : undefined });
  lockedUp = null;
  stats.boots++;
  core.PC = 0x10000000;
}

function chipReset(st) {
  stats.resets++;
  const why = WDT_REASON[st.reason] ?? 'reset';
  stats.reset_log.push({ t_s: +(totalNs() / 1e9).toFixed(3), reason: why, lockup: lockedUp });
  emit({ event: 'reset', reason: why, resets: stats.resets, t_s: totalNs() / 1e9 });
  log(`chip reset (${why}) at emulated ${(totalNs() / 1e9).toFixed(3)} s: boot ${stats.boots + 1} from the flash`);
  hostQ.clear(); // a reset drops the USB device: bytes in flight are lost, as on a board
  if (stats.resets > MAX_RESETS) {
    halted = `more than ${MAX_RESETS} resets`;
    emit({ event: 'halted', reason: halted });
    log(halted + ': halted (the control channel stays up)');
    return;
  }
  boot(st);
}

function enterLockup(why) {
  if (lockedUp) return;
  lockedUp = why;
  emit({ event: 'lockup', why, t_s: totalNs() / 1e9 });
  log(`core locked up: ${why}`);
}

// --- flash: the SDK's RAM routines, trapped by PC and done here, written through to the file ------
function trapFlash(pc) {
  const r = core.registers;
  if (pc === ERASE) {
    const off = r[0] >>> 0, n = r[1] >>> 0;
    if (cut && cut.ops === 'any' && --cut.left <= 0) powerCut(`erase of ${n} B at 0x${off.toString(16)}`);
    flashImage.fill(0xff, off, off + n); mcu.flash.fill(0xff, off, off + n);
    fs.writeSync(flashFd, flashImage, off, n, off);
    stats.erases++; stats.erased_bytes += n;
  } else {
    const off = r[0] >>> 0, src = r[1] >>> 0, n = r[2] >>> 0;
    let upto = n;
    const last = cut && --cut.left <= 0;
    if (last) upto = Math.min(n, cut.partial);
    for (let i = 0; i < upto; i++) { const v = flashImage[off + i] & mcu.readUint8(src + i); flashImage[off + i] = v; mcu.flash[off + i] = v; }
    if (upto) fs.writeSync(flashFd, flashImage, off, upto, off);
    if (last) powerCut(`program of ${n} B at 0x${off.toString(16)} (${upto} B written)`);
    stats.programs++; stats.programmed_bytes += n;
  }
  core.PC = r[14] & ~1; // return to the caller (LR)
}
function powerCut(what) {
  // Synchronous writes only: nothing after this line may reach the flash file.
  fs.writeSync(2, `[board] POWER CUT during the ${what} at emulated ${(totalNs() / 1e9).toFixed(3)} s\n`);
  process.kill(process.pid, 'SIGKILL');
}

// --- USB CDC serial on TCP --------------------------------------------------------------------------
function deviceOutput(buf) {
  stats.usb_from_device += buf.length;
  consoleTail = Buffer.concat([consoleTail, buf]);
  if (consoleTail.length > CONSOLE_MAX) consoleTail = consoleTail.subarray(consoleTail.length - CONSOLE_MAX);
  // With no host port open, a board's output goes nowhere: it is dropped, not saved for later.
  if (client) client.write(buf); else stats.usb_dropped += buf.length;
}
function feedUsb() {
  if (!usbUp || !usbRead || !hostQ.len) return;
  const n = Math.min(usbRead.size, hostQ.len);
  const { ep, usb } = usbRead;
  usbRead = null;
  usb.endpointReadDone(ep, new Uint8Array(hostQ.take(n)));
  stats.usb_to_device += n;
}
const serialServer = net.createServer((sock) => {
  if (client) client.destroy(); // one host at a time: the newest open wins, like reopening a tty
  client = sock;
  sock.setNoDelay(true);
  sock.on('data', (d) => hostQ.push(d));
  sock.on('error', () => {});
  sock.on('close', () => { if (client === sock) client = null; });
});

// --- the run loop ------------------------------------------------------------------------------------
// Emulated time is cycles at 125 MHz.  When the core sleeps (WFI/WFE: MicroPython's idle) the clock
// jumps to the next timer alarm.  --pace R keeps emulated time from running ahead of R x wall time
// (1: like a board, so people and host tools see real timing; 0: as fast as possible); a "run"
// command lifts the pace until emulated time reaches its target.
function limitNs() {
  if (runWaiters.length) return Math.max(...runWaiters.map((w) => w.target)) - stats.emulated_ns_before_boot;
  if (paused) return clock.nanos;
  if (!(pace > 0)) return Infinity;
  const now = Date.now();
  let lim = paceEmu + (now - paceWall) * 1e6 * pace;
  if (lim - clock.nanos > 100e6) { paceEmu = clock.nanos; paceWall = now; lim = clock.nanos + 100e6; } // no catching up after a busy stretch
  return lim;
}
function rebasePace() { paceEmu = clock.nanos; paceWall = Date.now(); }

function step() {
  let idleNoAlarm = false, paced = false;
  if (!halted) {
    const lim = limitNs();
    for (let i = 0; i < CHUNK && !resetPending; i++) {
      if (clock.nanos >= lim) { paced = true; break; }
      if (lockedUp || core.waiting) {
        let dt = clock.nanosToNextAlarm;
        if (dt <= 0) {
          // Asleep with no timer armed: only the host or a button can wake it.  Time still passes: up to
          // a "run" target at once, else about as fast as the wall clock (1 ms per 1 ms pause).
          idleNoAlarm = true;
          const to = runWaiters.length ? lim : Math.min(lim, clock.nanos + 1e6);
          if (to > clock.nanos && to !== Infinity) clock.tick(to - clock.nanos);
          break;
        }
        if (clock.nanos + dt > lim) { dt = lim - clock.nanos; paced = true; }
        clock.tick(dt);
        stats.idle_jumps++;
        if (paced) break;
        continue;
      }
      const pc = core.PC;
      if (pc === ERASE || pc === PROGRAM) { trapFlash(pc); continue; }
      if (prof && pc === profWatch) { profLR = core.LR; profR0 = core.registers[0]; }
      const c = core.executeInstruction();
      if (prof) {
        prof.set(pc, (prof.get(pc) || 0) + c);
        if (pc === profWatch) { const k = functionAt(profLR & ~1) + ' size ' + profR0; profCalls.set(k, (profCalls.get(k) || 0) + 1); }
      }
      stats.busy_cycles += c;
      clock.tick(c * CYCLE_NS);
    }
    if (resetPending) { const st = resetPending; resetPending = null; chipReset(st); }
  }
  feedUsb();
  const t = halted ? Infinity : totalNs();
  if (runWaiters.length) {
    const done = runWaiters.filter((w) => t >= w.target || halted);
    if (done.length) {
      runWaiters = runWaiters.filter((w) => !done.includes(w));
      for (const w of done) emit({ id: w.id, ok: true, ...statsObj() });
      rebasePace();
    }
  }
  if (paced || idleNoAlarm || (paused && !runWaiters.length) || halted) setTimeout(step, 1);
  else setImmediate(step);
}

function statsObj() {
  const emu = totalNs() / 1e9, wall = (Date.now() - t0) / 1000;
  const totalCycles = Math.round(totalNs() / CYCLE_NS);
  return {
    ...stats, reset_log: stats.reset_log.slice(-20),
    emulated_s: emu, boot_emulated_s: clock.nanos / 1e9, wall_s: wall, emulated_per_wall: wall ? emu / wall : 0,
    total_cycles: totalCycles, idle_cycles: totalCycles - stats.busy_cycles,
    cpu_load: totalCycles ? stats.busy_cycles / totalCycles : 0,
    pc: '0x' + core.PC.toString(16), where: symbolAt(core.PC), waiting: core.waiting, locked_up: lockedUp,
    halted, usb_up: usbUp, client: !!client, host_bytes_pending: hostQ.len, paused, pace,
    display: { on: oled.on, frames: oled.frames },
  };
}

// --- control --------------------------------------------------------------------------------------
function control(m) {
  const id = m.id;
  const reply = (o) => emit({ id, ok: true, ...o });
  switch (m.cmd) {
    case 'stats': return reply(statsObj());
    case 'press': {
      const pin = m.pin ?? BUTTONS[String(m.button).toUpperCase()];
      if (!(pin >= 10 && pin <= 14)) return emit({ id, ok: false, error: `no button ${m.button ?? m.pin}` });
      // Active low for ms of emulated time; the release is a clock alarm, so it is exact in emulated time.
      mcu.gpio[pin].setInputValue(false);
      const chip = mcu;
      clock.createAlarm(() => chip.gpio[pin].setInputValue(true)).schedule((m.ms ?? 100) * 1e6);
      return reply({ pin, t_s: totalNs() / 1e9 });
    }
    case 'screen':
      return reply({ gddram: Buffer.from(oled.ram).toString('base64'), on: oled.on, invert: oled.invert,
        entire_on: oled.entireOn, contrast: oled.contrast, seg_remap: oled.segRemap, com_reverse: oled.comReverse,
        frames: oled.frames, last_frame_s: oled.lastDataNs / 1e9, t_s: totalNs() / 1e9 });
    case 'run': runWaiters.push({ id, target: totalNs() + (m.ms ?? 0) * 1e6 }); return; // answered when reached
    case 'pause': paused = true; return reply({ t_s: totalNs() / 1e9 });
    case 'resume': paused = false; rebasePace(); return reply({ t_s: totalNs() / 1e9 });
    case 'pace': pace = +m.value; rebasePace(); return reply({ pace });
    case 'cut':
      cut = { left: m.after ?? 1, partial: m.partial ?? 0, ops: m.ops ?? 'program' };
      return reply({ cut });
    case 'lockup': enterLockup(m.why ?? 'injected fault'); return reply({ t_s: totalNs() / 1e9 });
    case 'reset': // a power cycle without losing the process: reset reason power-on, scratch cleared
      chipReset({ reason: 0, scratch: new Uint32Array(8) }); halted = null; return reply({});
    case 'console': return reply({ text: consoleTail.toString('latin1') });
    case 'profile': { // {on: true} starts counting; {on: false} stops and answers the top functions
      if (m.on) {
        prof = new Map(); profCalls = new Map();
        profWatch = m.watch ? (SYMS.byName.get(m.watch) ?? -1) : -1;
        return reply({ on: true, watch: profWatch });
      }
      const agg = new Map();
      let total = 0;
      for (const [pc, c] of prof ?? []) { const f = functionAt(pc); agg.set(f, (agg.get(f) || 0) + c); total += c; }
      prof = null;
      return reply({ total, top: [...agg].sort((a, b) => b[1] - a[1]).slice(0, m.top ?? 40),
        callers: [...profCalls].sort((a, b) => b[1] - a[1]).slice(0, 20) });
    }
    case 'quit': reply(statsObj()); fs.fsyncSync(flashFd); process.exit(0);
    default: return emit({ id, ok: false, error: `unknown cmd ${m.cmd}` });
  }
}
let inBuf = '';
process.stdin.on('data', (d) => {
  inBuf += d.toString();
  let i;
  while ((i = inBuf.indexOf('\n')) >= 0) {
    const line = inBuf.slice(0, i).trim(); inBuf = inBuf.slice(i + 1);
    if (!line) continue;
    let m;
    try { m = JSON.parse(line); } catch { emit({ ok: false, error: 'bad json' }); continue; }
    try { control(m); } catch (e) { emit({ id: m.id, ok: false, error: String(e.stack || e) }); }
  }
});
process.stdin.on('end', () => process.exit(0)); // the harness went away: so does the board

const { bootromB1: BOOTROM } = await import(pathToFileURL(path.join(REFEREE, 'bootrom.mjs')).href);
boot(null);
serialServer.listen(parseInt(args.serial ?? '0'), '127.0.0.1', () => {
  const port = serialServer.address().port;
  emit({ event: 'ready', serial_port: port, url: `socket://127.0.0.1:${port}`, flash: FLASH_FILE,
    flash_erase: '0x' + ERASE.toString(16), flash_program: '0x' + PROGRAM.toString(16), eeg: !!eeg });
  rebasePace();
  step();
});
