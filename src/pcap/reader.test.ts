import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { afterAll, describe, expect, it } from 'vitest';
import { capinfosPacketCount, needTools } from '../../test/support/tools.js';
import { CaptureError } from './errors.js';
import { LinkType } from './linktype.js';
import { CaptureReader, MAX_CAPLEN, READ_BUFFER_SIZE, type PacketRecord } from './reader.js';
import { PcapWriter } from './writer.js';


/** Runs a Wireshark tool and fails the test on a non-zero exit. */
function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) throw r.error;
  expect(r.status, `${cmd} ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

const scratch = mkdtempSync(join(tmpdir(), 'lockstep-reader-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function scratchFile(name: string, bytes?: Uint8Array): string {
  const path = join(scratch, name);
  if (bytes) writeFileSync(path, bytes);
  return path;
}

// ---- what the reader hands out, copied out of its reused buffer ----

/** A record with its bytes copied out: `data` is the packet alone, so no offset or caplen. */
type Packet = Omit<PacketRecord, 'offset' | 'caplen'>;

function nextPacket(reader: CaptureReader): Packet | null {
  const r = reader.next();
  if (r === null) return null;
  return {
    index: r.index,
    fileOffset: r.fileOffset,
    tsSec: r.tsSec,
    tsNsec: r.tsNsec,
    linkType: r.linkType,
    interfaceId: r.interfaceId,
    data: Buffer.from(r.data.subarray(r.offset, r.offset + r.caplen)),
    origLen: r.origLen,
  };
}

function readAll(reader: CaptureReader): Packet[] {
  const out: Packet[] = [];
  for (let p = nextPacket(reader); p !== null; p = nextPacket(reader)) out.push(p);
  reader.close();
  return out;
}

/** Packets handed out before the fault, and the fault (the test fails if there is none). */
function readUntilFault(reader: CaptureReader): { packets: Packet[]; error: CaptureError } {
  const packets: Packet[] = [];
  try {
    for (let p = nextPacket(reader); p !== null; p = nextPacket(reader)) packets.push(p);
  } catch (e) {
    expect(e).toBeInstanceOf(CaptureError);
    return { packets, error: e as CaptureError };
  } finally {
    reader.close();
  }
  throw new Error(`expected a CaptureError after ${packets.length} packets, but the capture read to its end`);
}

function openFault(path: string): CaptureError {
  try {
    CaptureReader.open(path).close();
  } catch (e) {
    expect(e).toBeInstanceOf(CaptureError);
    return e as CaptureError;
  }
  throw new Error(`expected opening ${path} to fail`);
}

/** `n` bytes that differ per packet, so a mixed-up packet cannot pass for another. */
function filler(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (seed * 31 + i * 7) & 0xff;
  return b;
}

const concat = (parts: Buffer[]) => Buffer.concat(parts);

/** Integers as bytes in one byte order. */
function inOrder(little: boolean) {
  return {
    u16: (v: number) => {
      const b = Buffer.alloc(2);
      if (little) b.writeUInt16LE(v);
      else b.writeUInt16BE(v);
      return b;
    },
    u32: (v: number) => {
      const b = Buffer.alloc(4);
      if (little) b.writeUInt32LE(v >>> 0);
      else b.writeUInt32BE(v >>> 0);
      return b;
    },
    u64: (v: bigint) => {
      const b = Buffer.alloc(8);
      if (little) b.writeBigUInt64LE(BigInt.asUintN(64, v));
      else b.writeBigUInt64BE(BigInt.asUintN(64, v));
      return b;
    },
  };
}

// ---- classic pcap, built by hand in either byte order ----

interface PcapRecordSpec {
  tsSec: number;
  /** µs or ns, as the file's magic says. */
  frac: number;
  data: Buffer;
  origLen?: number;
  /** Caplen written in the header, when it should lie about the data. */
  caplen?: number;
}

function pcapHeader(o: { little: boolean; nanos: boolean; snaplen?: number; linkType?: number; major?: number }): Buffer {
  const { u16, u32 } = inOrder(o.little);
  const magic = o.nanos ? 0xa1b23c4d : 0xa1b2c3d4;
  // magic, version, thiszone, sigfigs, snaplen, link type
  return concat([u32(magic), u16(o.major ?? 2), u16(4), u32(0), u32(0), u32(o.snaplen ?? 65535), u32(o.linkType ?? LinkType.ETHERNET)]);
}

function pcapRecord(little: boolean, r: PcapRecordSpec): Buffer {
  const { u32 } = inOrder(little);
  return concat([u32(r.tsSec), u32(r.frac), u32(r.caplen ?? r.data.length), u32(r.origLen ?? r.data.length), r.data]);
}

// ---- pcapng blocks, built by hand in either byte order ----

const SHB = 0x0a0d0d0a;
const IDB = 1;
const PB = 2;
const SPB = 3;
const ISB = 5;
const EPB = 6;

/** Block builders for one pcapng section of the given byte order. */
function pcapng(little: boolean) {
  const { u16, u32, u64 } = inOrder(little);
  const pad = (b: Buffer) => concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
  /** Timestamp as the (high, low) pair of 32-bit words a packet block stores. */
  const ts = (t: bigint) => concat([u32(Number(t >> 32n)), u32(Number(t & 0xffffffffn))]);
  const option = (code: number, value: Buffer) => concat([u16(code), u16(value.length), pad(value)]);
  const options = (opts: Buffer[]) => (opts.length === 0 ? Buffer.alloc(0) : concat([...opts, option(0, Buffer.alloc(0))]));
  const block = (type: number, body: Buffer, lie?: { trailing?: number; leading?: number }) => {
    const padded = pad(body);
    const total = 12 + padded.length;
    return concat([u32(type), u32(lie?.leading ?? total), padded, u32(lie?.trailing ?? total)]);
  };
  return {
    option,
    block,
    shb: (opts: Buffer[] = []) =>
      block(SHB, concat([u32(0x1a2b3c4d), u16(1), u16(0), u64(-1n), options(opts)])),
    idb: (linkType: number, snaplen: number, opts: Buffer[] = []) =>
      block(IDB, concat([u16(linkType), u16(0), u32(snaplen), options(opts)])),
    tsresol: (v: number) => option(9, Buffer.from([v])),
    tsoffset: (sec: bigint) => option(14, u64(sec)),
    epb: (ifId: number, t: bigint, data: Buffer, origLen = data.length, opts: Buffer[] = [], caplen = data.length) =>
      block(EPB, concat([u32(ifId), ts(t), u32(caplen), u32(origLen), pad(data), options(opts)])),
    /** Obsolete packet block: 16-bit interface id and drops count. */
    pb: (ifId: number, t: bigint, data: Buffer, origLen = data.length) =>
      block(PB, concat([u16(ifId), u16(0), ts(t), u32(data.length), u32(origLen), pad(data)])),
    spb: (data: Buffer, origLen = data.length) => block(SPB, concat([u32(origLen), data])),
    isb: (ifId: number, t: bigint) => block(ISB, concat([u32(ifId), ts(t)])),
  };
}

const le = pcapng(true);
const be = pcapng(false);

/** Byte offset of part `i` when the parts are laid end to end. */
const offsetOf = (parts: Buffer[], i: number) => parts.slice(0, i).reduce((s, b) => s + b.length, 0);

const ETH_60 = filler(60, 1);

describe('classic pcap', () => {
  for (const little of [true, false]) {
    for (const nanos of [false, true]) {
      const magic = nanos ? 'a1b23c4d' : 'a1b2c3d4';
      it(`reads magic ${magic} written ${little ? 'little' : 'big'}-endian`, () => {
        const records: PcapRecordSpec[] = [
          { tsSec: 1_700_000_000, frac: nanos ? 123_456_789 : 123_456, data: filler(60, 1) },
          { tsSec: 1_700_000_001, frac: 0, data: Buffer.alloc(0), origLen: 0 },
          { tsSec: 0xfffffffe, frac: nanos ? 999_999_999 : 999_999, data: filler(1514, 3), origLen: 9000 },
        ];
        const parts = [pcapHeader({ little, nanos, linkType: LinkType.LINUX_SLL }), ...records.map((r) => pcapRecord(little, r))];
        const reader = CaptureReader.fromBytes(concat(parts), 'magic.pcap');
        expect(reader.format).toBe('pcap');
        expect(reader.firstLinkType).toBe(LinkType.LINUX_SLL);
        expect(readAll(reader)).toEqual(
          records.map((r, i) => ({
            index: i + 1,
            fileOffset: offsetOf(parts, i + 1),
            tsSec: r.tsSec,
            tsNsec: nanos ? r.frac : r.frac * 1000,
            linkType: LinkType.LINUX_SLL,
            interfaceId: 0,
            data: r.data,
            origLen: r.origLen ?? r.data.length,
          })),
        );
        expect(reader.packets).toBe(3);
        expect(reader.warnings).toEqual([]);
      });
    }
  }

  it('ignores the FCS bits above the link type', () => {
    // bits 28-31 of the link type field say how long the FCS is (pcap-savefile(5))
    const bytes = concat([pcapHeader({ little: false, nanos: false, linkType: 0x10000000 | LinkType.ETHERNET }), pcapRecord(false, { tsSec: 1, frac: 2, data: ETH_60 })]);
    const [p] = readAll(CaptureReader.fromBytes(bytes));
    expect(p!.linkType).toBe(LinkType.ETHERNET);
  });

  it('reads an empty capture (header only) as no packets and no warnings', () => {
    const reader = CaptureReader.fromBytes(pcapHeader({ little: true, nanos: false }));
    expect(reader.next()).toBeNull();
    expect(reader.next()).toBeNull();
    expect(reader.warnings).toEqual([]);
  });
});

describe('streaming past the read buffer', () => {
  const BUFFER = READ_BUFFER_SIZE;
  const COUNT = 6000;
  // uneven sizes, so each buffer load ends at a different place within a record
  const sizeOf = (i: number) => 1300 + ((i * 37) % 200);
  const tsOf = (i: number) => [1_700_000_000 + Math.floor(i / 1000), (i % 1000) * 1_000_003] as const;
  const dataOf = (i: number) => {
    const d = filler(sizeOf(i), i);
    d.writeUInt32BE(i, 0);
    return d;
  };

  /** Reads `path` and checks every packet in place; `recordBytes(i)` is record i's size in the file. */
  function expectEveryPacket(path: string, firstOffset: number, recordBytes: (i: number) => number): void {
    const reader = CaptureReader.open(path);
    let offset = firstOffset;
    let straddling = 0;
    const wrong: string[] = [];
    for (let i = 0; i < COUNT; i++) {
      const r = reader.next();
      if (r === null) {
        wrong.push(`capture ended after ${i} packets`);
        break;
      }
      // compared in place, without copies and without an expect per packet: 8 MB of them
      const size = sizeOf(i);
      const [tsSec, tsNsec] = tsOf(i);
      const same =
        r.index === i + 1 && r.fileOffset === offset && r.caplen === size && r.tsSec === tsSec && r.tsNsec === tsNsec &&
        r.data.compare(dataOf(i), 0, size, r.offset, r.offset + size) === 0;
      if (!same) wrong.push(`packet ${i + 1} at ${offset}: got index ${r.index}, offset ${r.fileOffset}, caplen ${r.caplen}, ts ${r.tsSec}.${r.tsNsec}`);
      if (offset < BUFFER && offset + recordBytes(i) > BUFFER) straddling++;
      offset += recordBytes(i);
    }
    expect(wrong).toEqual([]);
    expect(offset).toBeGreaterThan(2 * BUFFER);
    expect(straddling).toBe(1); // one record runs across the end of the first buffer load
    expect(reader.next()).toBeNull();
    expect(reader.warnings).toEqual([]);
    reader.close();
  }

  it('never rewrites a packet it handed out: views kept to the end still hold every packet, one fresh buffer per load', () => {
    const path = scratchFile('kept.pcap');
    const w = PcapWriter.toFile(path);
    for (let i = 0; i < COUNT; i++) w.write(...tsOf(i), dataOf(i));
    w.close();
    const reader = CaptureReader.open(path);
    const views: Buffer[] = [];
    const buffers = new Set<Buffer>();
    for (let r = reader.next(); r; r = reader.next()) {
      views.push(r.data.subarray(r.offset, r.offset + r.caplen));
      buffers.add(r.data);
    }
    reader.close();
    expect(views.length).toBe(COUNT);
    expect(views.filter((v, i) => !v.equals(dataOf(i))).length).toBe(0);
    // a record that does not fit after the last one handed out starts the next buffer
    let loads = 1;
    let at = 24;
    for (let i = 0; i < COUNT; i++) {
      const record = 16 + sizeOf(i);
      if (at + record > BUFFER) {
        loads++;
        at = 0;
      }
      at += record;
    }
    expect(loads).toBeGreaterThan(10);
    expect(buffers.size).toBe(loads);
  });

  it('reads a classic pcap of 6000 packets of about 1400 bytes', () => {
    const path = scratchFile('large.pcap');
    const w = PcapWriter.toFile(path, { nanos: true });
    for (let i = 0; i < COUNT; i++) w.write(...tsOf(i), dataOf(i));
    w.close();
    expectEveryPacket(path, 24, (i) => 16 + sizeOf(i));
  });

  it('reads a pcapng of 6000 packets of about 1400 bytes', () => {
    const head = [be.shb(), be.idb(LinkType.ETHERNET, 0, [be.tsresol(9)])];
    const blocks = [...Array(COUNT).keys()].map((i) => be.epb(0, BigInt(tsOf(i)[0]) * 1_000_000_000n + BigInt(tsOf(i)[1]), dataOf(i)));
    const path = scratchFile('large.pcapng', concat([...head, ...blocks]));
    expectEveryPacket(path, offsetOf(head, 2), (i) => blocks[i]!.length);
  });
});

describe('pcapng', () => {
  it('reads a big-endian section with two interfaces, then a little-endian section that resets them', () => {
    const rawIPv4 = filler(41, 2);
    const rawIP = filler(28, 4);
    const spbData = filler(61, 3);
    const parts = [
      /* 0 */ be.shb([be.option(4, Buffer.from('lockstep test'))]),
      /* 1 */ be.idb(LinkType.ETHERNET, 0, [be.option(2, Buffer.from('eth0'))]),
      /* 2 */ be.idb(LinkType.IPV4, 65535, [be.tsresol(9)]),
      /* 3 */ be.epb(0, 1_700_000_000_123_456n, ETH_60),
      /* 4 */ be.block(0x00000bad, filler(20, 9)),
      /* 5 */ be.epb(1, 1_700_000_001_987_654_321n, rawIPv4, 1500, [be.option(1, Buffer.from('a comment'))]),
      /* 6 */ be.spb(spbData),
      /* 7 */ be.isb(0, 1_700_000_002_000_000n),
      /* 8 */ le.shb(),
      /* 9 */ le.idb(LinkType.RAW, 0, [le.tsresol(3)]),
      /* 10 */ le.epb(0, 1_700_000_002_005n, rawIP),
    ];
    const reader = CaptureReader.fromBytes(concat(parts), 'mixed.pcapng');
    expect(reader.format).toBe('pcapng');
    const packet = (index: number, part: number, tsSec: number, tsNsec: number, linkType: number, interfaceId: number, data: Buffer, origLen = data.length) => ({
      index, fileOffset: offsetOf(parts, part), tsSec, tsNsec, linkType, interfaceId, data, origLen,
    });
    expect(readAll(reader)).toEqual([
      packet(1, 3, 1_700_000_000, 123_456_000, LinkType.ETHERNET, 0, ETH_60),
      packet(2, 5, 1_700_000_001, 987_654_321, LinkType.IPV4, 1, rawIPv4, 1500),
      // an SPB has no timestamp and belongs to interface 0; its padding is not data
      packet(3, 6, 0, 0, LinkType.ETHERNET, 0, spbData),
      packet(4, 10, 1_700_000_002, 5_000_000, LinkType.RAW, 0, rawIP),
    ]);
    expect(reader.firstLinkType).toBe(LinkType.RAW);
    expect(reader.warnings).toEqual([]);
  });

  it('cuts a simple packet block to its interface snaplen', () => {
    const data = filler(100, 5);
    const reader = CaptureReader.fromBytes(concat([le.shb(), le.idb(LinkType.ETHERNET, 64), le.spb(data, 100)]));
    const [p] = readAll(reader);
    expect(p!.data).toEqual(data.subarray(0, 64));
    expect(p!.origLen).toBe(100);
  });

  it('reads the obsolete packet block', () => {
    for (const s of [le, be]) {
      const data = filler(70, 6);
      const reader = CaptureReader.fromBytes(concat([s.shb(), s.idb(LinkType.ETHERNET, 0), s.idb(LinkType.LINUX_SLL, 0), s.pb(1, 1_600_000_000_500_000n, data, 80)]));
      expect(readAll(reader)).toEqual([
        { index: 1, fileOffset: 28 + 20 + 20, tsSec: 1_600_000_000, tsNsec: 500_000_000, linkType: LinkType.LINUX_SLL, interfaceId: 1, data, origLen: 80 },
      ]);
    }
  });

  const tsresol = fc.oneof(
    fc.integer({ min: 0, max: 12 }), // 10^-n s
    fc.constantFrom(0, 10, 20, 30, 32, 63).map((e) => 0x80 | e), // 2^-n s
  );
  test.prop([tsresol, fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.bigInt({ min: -(1n << 31n), max: 1n << 31n }), fc.boolean()], { numRuns: 300 })(
    'splits any timestamp into seconds and nanoseconds exactly (if_tsresol, if_tsoffset, either byte order)',
    (resol, raw, offsetSec, little) => {
      const units = resol & 0x80 ? 1n << BigInt(resol & 0x7f) : 10n ** BigInt(resol);
      // keep seconds in 32 bits, as a pcap timestamp; the reader promises exactness there
      const t = raw % ((1n << 32n) * units);
      const s = pcapng(little);
      const bytes = concat([s.shb(), s.idb(LinkType.ETHERNET, 0, [s.tsresol(resol), s.tsoffset(offsetSec)]), s.epb(0, t, ETH_60)]);
      const [p] = readAll(CaptureReader.fromBytes(bytes));
      expect([p!.tsSec, p!.tsNsec]).toEqual([Number(t / units + offsetSec), Number(((t % units) * 1_000_000_000n) / units)]);
    },
  );

  it('skips an unknown block too large for the buffer by seeking past it', () => {
    // 5 MiB: larger than the whole read buffer, so its end is never buffered
    const huge = le.block(0x80000001, Buffer.alloc(5 * 1024 * 1024, 0xee));
    const after = filler(90, 8);
    const parts = [le.shb(), le.idb(LinkType.ETHERNET, 0), le.epb(0, 1n, ETH_60), huge, le.epb(0, 2n, after)];
    const bytes = concat(parts);
    for (const reader of [CaptureReader.open(scratchFile('huge-block.pcapng', bytes)), CaptureReader.fromBytes(bytes)]) {
      const packets = readAll(reader);
      expect(packets.map((p) => [p.index, p.fileOffset, p.data])).toEqual([
        [1, offsetOf(parts, 2), ETH_60],
        [2, offsetOf(parts, 4), after],
      ]);
      expect(reader.warnings).toEqual([]);
    }
  });

  it('reads what editcap converts from PcapWriter files: µs and ns, Ethernet and raw IP', (ctx) => {
    needTools(ctx, 'editcap');
    for (const [nanos, linkType] of [[false, LinkType.ETHERNET], [true, LinkType.ETHERNET], [true, LinkType.RAW]] as const) {
      const name = `editcap-${nanos ? 'ns' : 'us'}-${linkType}`;
      const pcap = scratchFile(`${name}.pcap`);
      const w = PcapWriter.toFile(pcap, { nanos, linkType });
      for (let i = 0; i < 50; i++) w.write(1_700_000_000 + i, i * 12_345_679 + 1, filler(40 + i * 29, i), 0, 40 + i * 29, 40 + i * 31);
      w.close();
      const ng = scratchFile(`${name}.pcapng`);
      run('editcap', ['-F', 'pcapng', pcap, ng]);
      expect(readFileSync(ng).readUInt32BE(0)).toBe(SHB);
      const expected = readAll(CaptureReader.open(pcap)).map(({ fileOffset: _, ...p }) => p);
      const reader = CaptureReader.open(ng);
      expect(reader.format).toBe('pcapng');
      expect(readAll(reader).map(({ fileOffset: _, ...p }) => p)).toEqual(expected);
      expect(expected[1]!.tsNsec).toBe(nanos ? 12_345_680 : 12_345_000);
    }
  });

  it('reads a mergecap merge of an Ethernet and a raw IP capture as one pcapng with two interfaces', (ctx) => {
    needTools(ctx, 'mergecap', 'capinfos');
    const eth = scratchFile('merge-eth.pcap');
    const raw = scratchFile('merge-raw.pcap');
    const we = PcapWriter.toFile(eth, { nanos: true });
    const wr = PcapWriter.toFile(raw, { nanos: true, linkType: LinkType.RAW });
    for (let i = 0; i < 5; i++) {
      we.write(100 + 2 * i, 7, filler(60 + i, i));
      wr.write(101 + 2 * i, 9, filler(40 + i, 10 + i));
    }
    we.close();
    wr.close();
    const merged = scratchFile('merged.pcapng');
    run('mergecap', ['-w', merged, eth, raw]); // merged by time: the two inputs alternate
    expect(capinfosPacketCount(merged)).toBe(10);
    const packets = readAll(CaptureReader.open(merged));
    expect(packets.map((p) => [p.tsSec, p.tsNsec, p.linkType, p.interfaceId, p.data])).toEqual(
      [...Array(10).keys()].map((k) => {
        const i = k >> 1;
        return k % 2 === 0 ? [100 + 2 * i, 7, LinkType.ETHERNET, 0, filler(60 + i, i)] : [101 + 2 * i, 9, LinkType.RAW, 1, filler(40 + i, 10 + i)];
      }),
    );
  });
});

describe('faults: a CaptureError names the file, the record and its byte offset', () => {
  it('refuses a file that is not a capture', () => {
    const path = scratchFile('notes.txt', Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    const e = openFault(path);
    expect(e.message).toBe(
      `${path}: header at byte offset 0: bad magic 0x47455420; expected a pcap magic (a1b2c3d4, a1b23c4d, either byte order) or a pcapng section header (0a0d0d0a)`,
    );
    expect([e.file, e.record, e.offset]).toEqual([path, 0, 0]);
  });

  it('refuses files shorter than a header', () => {
    const empty = scratchFile('empty.pcap', Buffer.alloc(0));
    expect(openFault(empty).message).toBe(`${empty}: header at byte offset 0: file is 0 bytes long; expected a pcap or pcapng header`);
    const three = scratchFile('three.pcap', Buffer.from([0xd4, 0xc3, 0xb2]));
    expect(openFault(three).message).toBe(`${three}: header at byte offset 0: file is 3 bytes long; expected a pcap or pcapng header`);
    const short = scratchFile('short.pcap', pcapHeader({ little: true, nanos: false }).subarray(0, 20));
    expect(openFault(short).message).toBe(`${short}: header at byte offset 0: pcap header cut short: 20 of 24 bytes`);
  });

  it('refuses a pcap version other than 2', () => {
    const path = scratchFile('v3.pcap', pcapHeader({ little: true, nanos: false, major: 3 }));
    expect(openFault(path).message).toBe(`${path}: header at byte offset 0: pcap version 3.4; expected 2.4`);
  });

  it('names a file that cannot be opened', () => {
    const path = join(scratch, 'missing.pcap');
    expect(openFault(path).message).toBe(`${path}: cannot open: no such file or directory`);
  });

  it('stops at a pcap record longer than the snaplen, after the packets before it', () => {
    const path = scratchFile('snaplen.pcap', concat([
      pcapHeader({ little: true, nanos: false, snaplen: 100 }),
      pcapRecord(true, { tsSec: 1, frac: 0, data: ETH_60 }),
      pcapRecord(true, { tsSec: 2, frac: 0, data: filler(100, 2) }),
      pcapRecord(true, { tsSec: 3, frac: 0, data: filler(101, 3) }),
    ]));
    const { packets, error } = readUntilFault(CaptureReader.open(path));
    expect(packets.map((p) => p.tsSec)).toEqual([1, 2]);
    const offset = 24 + (16 + 60) + (16 + 100);
    expect(error.message).toBe(`${path}: record 3 at byte offset ${offset}: caplen 101 exceeds snaplen 100`);
    expect([error.file, error.record, error.offset]).toEqual([path, 3, offset]);
  });

  it('stops at a pcap record longer than 256 KiB, whatever the snaplen says', () => {
    const path = scratchFile('huge-caplen.pcap', concat([
      pcapHeader({ little: false, nanos: true, snaplen: 0x7fffffff }),
      pcapRecord(false, { tsSec: 1, frac: 0, data: ETH_60 }),
      pcapRecord(false, { tsSec: 2, frac: 0, data: Buffer.alloc(0), caplen: MAX_CAPLEN + 1 }),
    ]));
    const { packets, error } = readUntilFault(CaptureReader.open(path));
    expect(packets).toHaveLength(1);
    expect(error.message).toBe(`${path}: record 2 at byte offset ${24 + 16 + 60}: caplen 262145 exceeds the maximum 262144`);
  });

  it('stops at a pcapng block whose leading and trailing lengths disagree', () => {
    const bad = be.epb(0, 2n, ETH_60);
    bad.writeUInt32BE(96, bad.length - 4);
    const parts = [be.shb(), be.idb(LinkType.ETHERNET, 0), be.epb(0, 1n, ETH_60), bad];
    const path = scratchFile('lengths.pcapng', concat(parts));
    const { packets, error } = readUntilFault(CaptureReader.open(path));
    expect(packets.map((p) => p.tsNsec)).toEqual([1000]);
    // records count blocks: SHB, IDB, EPB, then the faulty EPB is record 4
    expect(error.message).toBe(`${path}: record 4 at byte offset ${offsetOf(parts, 3)}: block lengths disagree: leading 92, trailing 96`);
    expect([error.record, error.offset]).toEqual([4, 28 + 20 + 92]);
  });

  it('stops at a too-large unknown block whose lengths disagree, checked without buffering it', () => {
    const big = le.block(0x80000001, Buffer.alloc(400 * 1024), { trailing: 12 });
    const parts = [le.shb(), le.idb(LinkType.ETHERNET, 0), le.epb(0, 1n, ETH_60), big];
    const path = scratchFile('big-lengths.pcapng', concat(parts));
    const { packets, error } = readUntilFault(CaptureReader.open(path));
    expect(packets).toHaveLength(1);
    expect(error.message).toBe(`${path}: record 4 at byte offset ${offsetOf(parts, 3)}: block lengths disagree: leading ${400 * 1024 + 12}, trailing 12`);
  });

  it('stops at a pcapng block length that is not a multiple of 4', () => {
    const parts = [le.shb(), le.idb(LinkType.ETHERNET, 0), le.epb(0, 1n, ETH_60), le.block(0x0bad, filler(20, 1), { leading: 30 })];
    const path = scratchFile('odd-length.pcapng', concat(parts));
    const { packets, error } = readUntilFault(CaptureReader.open(path));
    expect(packets).toHaveLength(1);
    expect(error.message).toBe(`${path}: record 4 at byte offset ${offsetOf(parts, 3)}: block length 30; expected a multiple of 4, at least 12`);
  });

  it('stops at a packet block larger than any packet the reader accepts', () => {
    const parts = [le.shb(), le.idb(LinkType.ETHERNET, 0), le.epb(0, 1n, Buffer.alloc(MAX_CAPLEN + 64 * 1024))];
    const path = scratchFile('huge-epb.pcapng', concat(parts));
    const { error } = readUntilFault(CaptureReader.open(path));
    expect(error.message).toBe(`${path}: record 3 at byte offset 48: block length ${MAX_CAPLEN + 64 * 1024 + 32} exceeds the maximum ${MAX_CAPLEN + 64 * 1024}`);
  });

  it('stops at a packet for an interface the section has not described (interfaces reset per section)', () => {
    const parts = [
      be.shb(), be.idb(LinkType.ETHERNET, 0), be.idb(LinkType.RAW, 0), be.epb(1, 1n, filler(20, 1)),
      le.shb(), le.idb(LinkType.ETHERNET, 0), le.epb(0, 2n, ETH_60), le.epb(1, 3n, ETH_60),
    ];
    const path = scratchFile('no-idb.pcapng', concat(parts));
    const { packets, error } = readUntilFault(CaptureReader.open(path));
    expect(packets.map((p) => [p.interfaceId, p.linkType])).toEqual([[1, LinkType.RAW], [0, LinkType.ETHERNET]]);
    expect(error.message).toBe(`${path}: record 8 at byte offset ${offsetOf(parts, 7)}: interface id 1, but the section describes 1 interface(s)`);
  });

  it('stops at a packet block before any interface description', () => {
    const path = scratchFile('no-idb-at-all.pcapng', concat([le.shb(), le.spb(ETH_60)]));
    expect(readUntilFault(CaptureReader.open(path)).error.message).toBe(
      `${path}: record 2 at byte offset 28: interface id 0, but the section describes 0 interface(s)`,
    );
  });

  it('stops at a packet block whose captured length exceeds the block', () => {
    const path = scratchFile('caplen-room.pcapng', concat([le.shb(), le.idb(LinkType.ETHERNET, 0), le.epb(0, 1n, ETH_60, 60, [], 61)]));
    expect(readUntilFault(CaptureReader.open(path)).error.message).toBe(
      `${path}: record 3 at byte offset 48: captured length 61 exceeds the block's room 60`,
    );
  });

  it('stops at a section header with a bad byte-order magic', () => {
    const shb = le.shb();
    shb.writeUInt32LE(0x12345678, 8);
    const path = scratchFile('bom.pcapng', shb);
    expect(readUntilFault(CaptureReader.open(path)).error.message).toBe(
      `${path}: record 1 at byte offset 0: section header byte-order magic 0x12345678; expected 1a2b3c4d in either byte order`,
    );
  });
});

describe('a capture cut short in its last record', () => {
  const records = [filler(60, 1), filler(200, 2), filler(120, 3)];
  const whole = PcapWriter.inMemory();
  records.forEach((d, i) => whole.write(10 + i, 0, d));
  whole.close();
  const third = 24 + (16 + 60) + (16 + 200);

  /** capinfos on a cut file: the count it printed, and whether it said the file was cut short. */
  function capinfosOnCut(path: string): { count: number; cutShort: boolean } {
    const r = spawnSync('capinfos', ['-T', '-r', '-c', '-M', path], { encoding: 'utf8' });
    if (r.error) throw r.error;
    const count = Number(r.stdout.trim().split('\t').pop());
    return { count, cutShort: /appears to have been cut short in the middle of a packet/.test(r.stderr) };
  }

  for (const [where, cutTo, what, have, need] of [
    ['in its data', third + 16 + 115, 'packet data', 16 + 115, 16 + 120],
    ['in its record header', third + 10, 'record header', 10, 16],
  ] as const) {
    it(`hands out the packets before it, then warns once (cut ${where})`, () => {
      const path = scratchFile(`cut-${what.replace(' ', '-')}.pcap`, whole.bytes().subarray(0, cutTo));
      const reader = CaptureReader.open(path);
      expect(readAll(reader).map((p) => p.data)).toEqual(records.slice(0, 2));
      expect(reader.next()).toBeNull();
      expect(reader.warnings).toEqual([
        {
          record: 3,
          offset: third,
          message: `${path}: record 3 at byte offset ${third} cut short in the middle of a packet (${what}: ${have} of ${need} bytes); the capture appears to have been cut short`,
        },
      ]);
    });

    it(`agrees with capinfos on the packet count (cut ${where})`, (ctx) => {
      needTools(ctx, 'capinfos');
      const path = scratchFile(`cut-capinfos-${what.replace(' ', '-')}.pcap`, whole.bytes().subarray(0, cutTo));
      const ours = readAll(CaptureReader.open(path)).length;
      expect(ours).toBe(2);
      expect(capinfosOnCut(path)).toEqual({ count: ours, cutShort: true });
    });
  }

  it('warns for a pcapng block cut short, in its header or its body', () => {
    const parts = [le.shb(), le.idb(LinkType.ETHERNET, 0), le.epb(0, 1n, ETH_60), le.epb(0, 2n, filler(100, 2))];
    const bytes = concat(parts);
    const at = offsetOf(parts, 3);
    for (const [cutTo, what, have, need] of [[bytes.length - 3, 'block', 132 - 3, 132], [at + 5, 'block header', 5, 8]] as const) {
      const reader = CaptureReader.fromBytes(bytes.subarray(0, cutTo), 'cut.pcapng');
      expect(readAll(reader).map((p) => p.index)).toEqual([1]);
      expect(reader.warnings).toEqual([
        {
          record: 4,
          offset: at,
          message: `cut.pcapng: record 4 at byte offset ${at} cut short in the middle of a packet (${what}: ${have} of ${need} bytes); the capture appears to have been cut short`,
        },
      ]);
    }
  });

  it('warns for a too-large unknown block cut short, with the bytes the file really holds', () => {
    const size = 5 * 1024 * 1024;
    const parts = [le.shb(), le.idb(LinkType.ETHERNET, 0), le.epb(0, 1n, ETH_60), le.block(0x80000001, Buffer.alloc(size))];
    const at = offsetOf(parts, 3);
    const path = scratchFile('cut-huge.pcapng', concat(parts));
    truncateSync(path, at + 4_500_000);
    const reader = CaptureReader.open(path);
    expect(readAll(reader)).toHaveLength(1);
    expect(reader.warnings.map((w) => w.message)).toEqual([
      `${path}: record 4 at byte offset ${at} cut short in the middle of a packet (block: 4500000 of ${size + 12} bytes); the capture appears to have been cut short`,
    ]);
  });
});
