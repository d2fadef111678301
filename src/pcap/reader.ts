import { viewOf } from '../bytes.js';
import { CaptureError, FILE_CODES, type CaptureWarning } from './errors.js';
import { bufferSource, fileSource, type ByteSource } from './source.js';

/** The largest packet lockstep accepts, as tcpdump's default snaplen (262144). */
export const MAX_CAPLEN = 256 * 1024;
/** pcapng blocks up to this size are read through the buffer; larger unknown blocks are skipped by seeking. */
const MAX_BUFFERED_BLOCK = MAX_CAPLEN + 64 * 1024;
/** Bytes read at a time. */
export const READ_BUFFER_SIZE = 512 * 1024;

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAP_MAGIC_US_SWAPPED = 0xd4c3b2a1;
const PCAP_MAGIC_NS_SWAPPED = 0x4d3cb2a1;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BOM = 0x1a2b3c4d;
const PCAPNG_BOM_SWAPPED = 0x4d3c2b1a;
const BLOCK_IDB = 1;
const BLOCK_PB = 2;
const BLOCK_SPB = 3;
const BLOCK_EPB = 6;

/**
 * One packet, as the reader hands it out. The reader reuses this object, but
 * never writes to a read buffer again once it has handed out a record in it,
 * until the caller gives it back ({@link CaptureReader.recycle}): the next
 * load goes to the rest of the buffer, or to a fresh one.
 * `data[offset .. offset+caplen)` stays as it is for whoever keeps a view of
 * it, which keeps the whole buffer ({@link READ_BUFFER_SIZE}) alive.
 */
export interface PacketRecord {
  /** 1-based packet number, as tshark's frame.number. */
  index: number;
  /** Byte offset of the record (pcap record header or pcapng block) in the file. */
  fileOffset: number;
  /** Absolute capture time: whole seconds since the epoch and nanoseconds within it. */
  tsSec: number;
  tsNsec: number;
  linkType: number;
  interfaceId: number;
  data: Buffer;
  offset: number;
  caplen: number;
  origLen: number;
}

interface Interface {
  linkType: number;
  snaplen: number;
  /** Timestamp units per second as 10^decimals, or 0 when the resolution is a power of two. */
  decimals: number;
  binaryExponent: number;
  offsetSec: number;
}

export type CaptureFormat = 'pcap' | 'pcapng';

/**
 * Streaming reader for classic pcap (µs and ns, both byte orders) and pcapng
 * (any section byte order, several interfaces, EPB/SPB/PB). It reads
 * {@link READ_BUFFER_SIZE} bytes at a time whatever the file size.
 */
export class CaptureReader {
  readonly warnings: CaptureWarning[] = [];
  format: CaptureFormat = 'pcap';
  /** Number of packets handed out so far. */
  packets = 0;
  private buf: Buffer;
  /** `buf`, read as numbers. */
  private view: DataView;
  private start = 0;
  private end = 0;
  /** File offset of buf[end]. */
  private filePos = 0;
  private eof = false;
  private little = true;
  private nanos = false;
  private snaplen = 0;
  private linkType = 0;
  private interfaces: Interface[] = [];
  /** pcapng blocks seen (for error messages); pcap uses packets. */
  private blocks = 0;
  private readonly rec: PacketRecord;
  private done = false;
  /** A buffer given back ({@link recycle}), loaded into next instead of a fresh one. */
  private spare: Buffer | null = null;

  private constructor(
    private readonly src: ByteSource,
    private readonly bufferSize: number,
  ) {
    this.buf = Buffer.allocUnsafe(bufferSize);
    this.view = viewOf(this.buf);
    this.rec = {
      index: 0, fileOffset: 0, tsSec: 0, tsNsec: 0, linkType: 0, interfaceId: 0,
      data: this.buf, offset: 0, caplen: 0, origLen: 0,
    };
    try {
      this.readFileHeader();
    } catch (e) {
      src.close();
      throw e;
    }
  }

  /** `bufferSize` (bytes read at a time) is for tests; a record longer than it gets a buffer of its own size. */
  static open(path: string, bufferSize = READ_BUFFER_SIZE): CaptureReader {
    let src: ByteSource;
    try {
      src = fileSource(path);
    } catch (e) {
      if (e instanceof CaptureError) throw e;
      const err = e as NodeJS.ErrnoException;
      throw new CaptureError(path, 0, 0, `cannot open: ${(err.code && FILE_CODES[err.code]) ?? err.code ?? err.message}`, false);
    }
    return new CaptureReader(src, bufferSize);
  }

  static fromBytes(bytes: Uint8Array, name = '<buffer>', bufferSize = READ_BUFFER_SIZE): CaptureReader {
    return new CaptureReader(bufferSource(bytes, name), bufferSize);
  }

  get file(): string {
    return this.src.name;
  }

  /** Link type of the first interface (pcap: the file's). */
  get firstLinkType(): number {
    return this.format === 'pcap' ? this.linkType : (this.interfaces[0]?.linkType ?? -1);
  }

  /** Closes the file. */
  close(): void {
    this.src.close();
  }

  /** The next packet, or null at the end of the file. Throws {@link CaptureError} on a fault. */
  next(): PacketRecord | null {
    if (this.done) return null;
    const r = this.format === 'pcap' ? this.nextPcap() : this.nextPcapng();
    if (r === null) this.done = true;
    else this.packets++;
    return r;
  }

  // ---- buffer management ----

  private available(): number {
    return this.end - this.start;
  }

  private offsetAt(pos: number): number {
    return this.filePos - (this.end - pos);
  }

  /** Makes at least `n` bytes available at `start`; false if the file ends first. */
  private ensure(n: number): boolean {
    if (this.end - this.start >= n) return true;
    if (this.eof) return false;
    // bytes already handed out stay as they are: what does not fit after them goes to another buffer
    if (this.start + n > this.buf.length) this.moveTail(this.emptyBuffer(n));
    while (!this.eof && this.end - this.start < n) {
      const got = this.src.read(this.buf, this.end, this.buf.length - this.end, this.filePos);
      if (got === 0) this.eof = true;
      this.end += got;
      this.filePos += got;
    }
    return this.end - this.start >= n;
  }

  private skip(n: number): void {
    const avail = this.available();
    if (n <= avail) {
      this.start += n;
      return;
    }
    this.filePos += n - avail;
    this.start = this.end = 0;
  }

  /**
   * The caller views nothing in `buf` any more, a buffer this reader handed
   * out and has gone past: the reader may load into it again (a run then
   * reads through two buffers in turn instead of a fresh one per load).
   */
  recycle(buf: Buffer): void {
    if (buf !== this.buf) this.spare = buf;
  }

  /** A buffer to load at least `n` bytes into: the one given back, or a fresh one. */
  private emptyBuffer(n: number): Buffer {
    const spare = this.spare;
    this.spare = null;
    return spare !== null && spare.length >= n ? spare : Buffer.allocUnsafe(Math.max(n, this.bufferSize));
  }

  /** Continues in `fresh` with the unread bytes at its start. */
  private moveTail(fresh: Buffer): void {
    this.buf.copy(fresh, 0, this.start, this.end);
    this.buf = fresh;
    this.view = viewOf(fresh);
    this.rec.data = fresh;
    this.end -= this.start;
    this.start = 0;
  }

  // A DataView read compiles to one load (Buffer's read methods check their arguments on every call).
  private u32(pos: number): number {
    return this.view.getUint32(pos, this.little);
  }

  private u16(pos: number): number {
    return this.view.getUint16(pos, this.little);
  }

  // ---- headers ----

  private readFileHeader(): void {
    const name = this.src.name;
    if (!this.ensure(4)) {
      throw new CaptureError(name, 0, 0, `file is ${this.available()} bytes long; expected a pcap or pcapng header`);
    }
    const magicBE = this.buf.readUInt32BE(this.start);
    if (magicBE === PCAPNG_SHB) {
      this.format = 'pcapng';
      return;
    }
    switch (magicBE) {
      case PCAP_MAGIC_US: this.little = false; this.nanos = false; break;
      case PCAP_MAGIC_NS: this.little = false; this.nanos = true; break;
      case PCAP_MAGIC_US_SWAPPED: this.little = true; this.nanos = false; break;
      case PCAP_MAGIC_NS_SWAPPED: this.little = true; this.nanos = true; break;
      default:
        throw new CaptureError(name, 0, 0,
          `bad magic 0x${magicBE.toString(16).padStart(8, '0')}; expected a pcap magic (a1b2c3d4, a1b23c4d, either byte order) or a pcapng section header (0a0d0d0a)`);
    }
    if (!this.ensure(24)) {
      throw new CaptureError(name, 0, 0, `pcap header cut short: ${this.available()} of 24 bytes`);
    }
    const p = this.start;
    const major = this.u16(p + 4);
    if (major !== 2) throw new CaptureError(name, 0, 0, `pcap version ${major}.${this.u16(p + 6)}; expected 2.4`);
    this.snaplen = this.u32(p + 16);
    this.linkType = this.u32(p + 20) & 0xffff;
    this.start += 24;
  }

  private fault(record: number, offset: number, reason: string): never {
    throw new CaptureError(this.src.name, record, offset, reason);
  }

  /** Records the warning for a last record cut short; `have` is the bytes of it the file holds. */
  private cutShort(record: number, offset: number, what: string, need: number, have = this.available()): null {
    this.warnings.push({
      record,
      offset,
      message: `${this.src.name}: record ${record} at byte offset ${offset} cut short in the middle of a packet (${what}: ${have} of ${need} bytes); the capture appears to have been cut short`,
    });
    return null;
  }

  // ---- classic pcap ----

  private nextPcap(): PacketRecord | null {
    const index = this.packets + 1;
    if (!this.ensure(16)) {
      if (this.available() === 0) return null;
      return this.cutShort(index, this.offsetAt(this.start), 'record header', 16);
    }
    const p = this.start;
    const offset = this.offsetAt(p);
    const tsSec = this.u32(p);
    const frac = this.u32(p + 4);
    const caplen = this.u32(p + 8);
    const origLen = this.u32(p + 12);
    if (caplen > MAX_CAPLEN) this.fault(index, offset, `caplen ${caplen} exceeds the maximum ${MAX_CAPLEN}`);
    if (this.snaplen > 0 && caplen > this.snaplen) this.fault(index, offset, `caplen ${caplen} exceeds snaplen ${this.snaplen}`);
    if (!this.ensure(16 + caplen)) return this.cutShort(index, offset, 'packet data', 16 + caplen);
    const r = this.rec;
    r.index = index;
    r.fileOffset = offset;
    r.tsSec = tsSec;
    r.tsNsec = this.nanos ? frac : frac * 1000;
    r.linkType = this.linkType;
    r.interfaceId = 0;
    r.offset = this.start + 16;
    r.caplen = caplen;
    r.origLen = origLen;
    this.start += 16 + caplen;
    return r;
  }

  // ---- pcapng ----

  private nextPcapng(): PacketRecord | null {
    for (;;) {
      const block = this.blocks + 1;
      if (!this.ensure(8)) {
        if (this.available() === 0) return null;
        return this.cutShort(block, this.offsetAt(this.start), 'block header', 8);
      }
      const p = this.start;
      const offset = this.offsetAt(p);
      const typeBE = this.view.getUint32(p);
      if (typeBE === PCAPNG_SHB) {
        if (!this.ensure(12)) return this.cutShort(block, offset, 'section header', 12);
        const bom = this.buf.readUInt32LE(this.start + 8);
        if (bom === PCAPNG_BOM) this.little = true;
        else if (bom === PCAPNG_BOM_SWAPPED) this.little = false;
        else this.fault(block, offset, `section header byte-order magic 0x${bom.toString(16)}; expected 1a2b3c4d in either byte order`);
        this.interfaces = [];
      }
      const type = this.u32(this.start);
      const total = this.u32(this.start + 4);
      if (total < 12 || total % 4 !== 0) {
        this.fault(block, offset, `block length ${total}; expected a multiple of 4, at least 12`);
      }
      this.blocks++;
      if (type !== BLOCK_EPB && type !== BLOCK_SPB && type !== BLOCK_PB && type !== BLOCK_IDB && type !== PCAPNG_SHB) {
        if (total > MAX_BUFFERED_BLOCK) {
          if (!this.skipLargeBlock(block, offset, total)) return null;
          continue;
        }
      }
      if (total > MAX_BUFFERED_BLOCK) this.fault(block, offset, `block length ${total} exceeds the maximum ${MAX_BUFFERED_BLOCK}`);
      if (!this.ensure(total)) return this.cutShort(block, offset, 'block', total);
      const b = this.start;
      const trailing = this.u32(b + total - 4);
      if (trailing !== total) this.fault(block, offset, `block lengths disagree: leading ${total}, trailing ${trailing}`);
      let packet: PacketRecord | null = null;
      switch (type) {
        case PCAPNG_SHB:
          this.readSHB(block, offset, b, total);
          break;
        case BLOCK_IDB:
          this.readIDB(block, offset, b, total);
          break;
        case BLOCK_EPB:
          packet = this.readEPB(block, offset, b, total, false);
          break;
        case BLOCK_PB:
          packet = this.readEPB(block, offset, b, total, true);
          break;
        case BLOCK_SPB:
          packet = this.readSPB(block, offset, b, total);
          break;
        default:
          break; // unknown or uninteresting block: skipped
      }
      this.start += total;
      if (packet) return packet;
    }
  }

  /**
   * Skips a block too large to buffer; false if the file ends inside it. The
   * caller must then stop: reading on would take the block's body for blocks.
   */
  private skipLargeBlock(block: number, offset: number, total: number): boolean {
    const tail = Buffer.allocUnsafe(4);
    const got = this.src.read(tail, 0, 4, offset + total - 4);
    if (got < 4) {
      // the buffer holds at most one read buffer of the block: count what the file holds
      this.cutShort(block, offset, 'block', total, this.src.size() - offset);
      return false;
    }
    const trailing = this.little ? tail.readUInt32LE(0) : tail.readUInt32BE(0);
    if (trailing !== total) this.fault(block, offset, `block lengths disagree: leading ${total}, trailing ${trailing}`);
    this.skip(total);
    return true;
  }

  private readSHB(block: number, offset: number, b: number, total: number): void {
    if (total < 28) this.fault(block, offset, `section header length ${total}; expected at least 28`);
    const major = this.u16(b + 12);
    if (major !== 1) this.fault(block, offset, `pcapng version ${major}; expected 1`);
  }

  private readIDB(block: number, offset: number, b: number, total: number): void {
    if (total < 20) this.fault(block, offset, `interface description length ${total}; expected at least 20`);
    const iface: Interface = {
      linkType: this.u16(b + 8),
      snaplen: this.u32(b + 12),
      decimals: 6,
      binaryExponent: 0,
      offsetSec: 0,
    };
    // options: code(2) length(2) value padded to 4
    let o = b + 16;
    const optEnd = b + total - 4;
    while (o + 4 <= optEnd) {
      const code = this.u16(o);
      const len = this.u16(o + 2);
      if (code === 0) break;
      if (o + 4 + len > optEnd) this.fault(block, offset, `interface option ${code} of length ${len} runs past the block end`);
      if (code === 9 && len >= 1) {
        const v = this.buf[o + 4]!;
        if (v & 0x80) {
          iface.decimals = 0;
          iface.binaryExponent = v & 0x7f;
        } else {
          iface.decimals = v;
        }
      } else if (code === 14 && len >= 8) {
        const hi = this.little ? this.buf.readInt32LE(o + 8) : this.buf.readInt32BE(o + 4);
        const lo = this.little ? this.buf.readUInt32LE(o + 4) : this.buf.readUInt32BE(o + 8);
        iface.offsetSec = hi * 4294967296 + lo;
      }
      o += 4 + ((len + 3) & ~3);
    }
    this.interfaces.push(iface);
  }

  private iface(block: number, offset: number, id: number): Interface {
    const i = this.interfaces[id];
    if (!i) this.fault(block, offset, `interface id ${id}, but the section describes ${this.interfaces.length} interface(s)`);
    return i;
  }

  private readEPB(block: number, offset: number, b: number, total: number, obsolete: boolean): PacketRecord {
    if (total < 32) this.fault(block, offset, `packet block length ${total}; expected at least 32`);
    const id = obsolete ? this.u16(b + 8) : this.u32(b + 8);
    const iface = this.iface(block, offset, id);
    const hi = this.u32(b + 12);
    const lo = this.u32(b + 16);
    const caplen = this.u32(b + 20);
    const origLen = this.u32(b + 24);
    if (caplen > total - 32) this.fault(block, offset, `captured length ${caplen} exceeds the block's room ${total - 32}`);
    this.checkCaplen(block, offset, caplen, iface);
    const r = this.rec;
    r.index = this.packets + 1;
    r.fileOffset = offset;
    setTimestamp(r, iface, hi, lo);
    // a date holds ±8.64e15 ms around 1970 (ECMA-262 TimeClip): a packet outside it has no time an event can say
    if (!(Math.abs(r.tsSec) < MAX_TIMESTAMP_SEC)) {
      this.fault(block, offset, `timestamp ${r.tsSec} s (with the interface's if_tsoffset ${iface.offsetSec} s) is outside the dates an event can carry (±8.64e12 s around 1970)`);
    }
    r.linkType = iface.linkType;
    r.interfaceId = id;
    r.offset = b + 28;
    r.caplen = caplen;
    r.origLen = origLen;
    return r;
  }

  private readSPB(block: number, offset: number, b: number, total: number): PacketRecord {
    if (total < 16) this.fault(block, offset, `simple packet block length ${total}; expected at least 16`);
    const iface = this.iface(block, offset, 0);
    const origLen = this.u32(b + 8);
    let caplen = Math.min(origLen, total - 16);
    if (iface.snaplen > 0) caplen = Math.min(caplen, iface.snaplen);
    this.checkCaplen(block, offset, caplen, iface);
    const r = this.rec;
    r.index = this.packets + 1;
    r.fileOffset = offset;
    r.tsSec = 0; // SPBs carry no timestamp
    r.tsNsec = 0;
    r.linkType = iface.linkType;
    r.interfaceId = 0;
    r.offset = b + 12;
    r.caplen = caplen;
    r.origLen = origLen;
    return r;
  }

  private checkCaplen(block: number, offset: number, caplen: number, iface: Interface): void {
    if (caplen > MAX_CAPLEN) this.fault(block, offset, `caplen ${caplen} exceeds the maximum ${MAX_CAPLEN}`);
    if (iface.snaplen > 0 && caplen > iface.snaplen) this.fault(block, offset, `caplen ${caplen} exceeds snaplen ${iface.snaplen}`);
  }
}

const TWO_POW_32 = 4294967296;
/** The seconds a Date can hold either side of 1970, less a day for the times added to a packet's. */
const MAX_TIMESTAMP_SEC = 8.64e12 - 86_400;

/** Splits a 64-bit timestamp (hi, lo) in the interface's units into seconds and nanoseconds, without allocating. */
function setTimestamp(r: PacketRecord, iface: Interface, hi: number, lo: number): void {
  if (iface.decimals === 6) {
    const us = hi * TWO_POW_32 + lo; // < 2^53 for any date before year 2255
    const sec = Math.floor(us / 1e6);
    r.tsSec = sec + iface.offsetSec;
    r.tsNsec = (us - sec * 1e6) * 1000;
    return;
  }
  if (iface.decimals > 0 && iface.decimals <= 9) {
    // long division in 16-bit limbs keeps every intermediate below 2^53
    const d = 10 ** iface.decimals;
    let q = 0;
    let rem = 0;
    for (let shift = 48; shift >= 0; shift -= 16) {
      const limb = shift >= 32 ? (hi >>> (shift - 32)) & 0xffff : (lo >>> shift) & 0xffff;
      const cur = rem * 65536 + limb;
      const ql = Math.floor(cur / d);
      rem = cur - ql * d;
      q = q * 65536 + ql;
    }
    r.tsSec = q + iface.offsetSec;
    r.tsNsec = rem * 10 ** (9 - iface.decimals);
    return;
  }
  // Rare resolutions (binary, or finer than ns): exact BigInt arithmetic.
  const v = (BigInt(hi) << 32n) | BigInt(lo);
  const units = iface.decimals > 0 ? 10n ** BigInt(iface.decimals) : 1n << BigInt(iface.binaryExponent);
  const sec = v / units;
  const frac = v - sec * units;
  r.tsSec = Number(sec) + iface.offsetSec;
  r.tsNsec = Number((frac * 1_000_000_000n) / units);
}
