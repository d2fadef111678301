import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeSegment } from '../decode/encode.js';
import { capinfosPacketCount, needTools, tsharkWarnings } from '../../test/support/tools.js';
import { LinkType } from './linktype.js';
import { CaptureReader, MAX_CAPLEN } from './reader.js';
import { PcapWriter } from './writer.js';


const scratch = mkdtempSync(join(tmpdir(), 'lockstep-writer-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Packet {
  tsSec: number;
  tsNsec: number;
  data: Buffer;
  origLen: number;
}

/** Every packet of a capture, copied out of the reader's reused buffer. */
function readAll(reader: CaptureReader): Packet[] {
  const out: Packet[] = [];
  for (let r = reader.next(); r !== null; r = reader.next()) {
    out.push({ tsSec: r.tsSec, tsNsec: r.tsNsec, data: Buffer.from(r.data.subarray(r.offset, r.offset + r.caplen)), origLen: r.origLen });
  }
  reader.close();
  return out;
}

/** A Redis-looking TCP segment, so tshark has real headers to dissect. */
function redisFrame(i: number): Buffer {
  const payload = Buffer.from(`*2\r\n$3\r\nGET\r\n$${String(i).length + 4}\r\nkey:${i}\r\n`);
  const out = Buffer.alloc(200);
  const n = encodeSegment(
    {
      ipVersion: i % 3 === 0 ? 6 : 4,
      src: [0x20010db8, 0, 0, 0x0a000001],
      dst: [0x20010db8, 0, 0, 0x0a000002],
      srcPort: 40000 + (i % 7),
      dstPort: 6379,
      seq: 1000 + i * 100,
      ack: 1,
      flags: 0x18,
      payload,
    },
    out,
  );
  return out.subarray(0, n);
}

const packetArb = fc.record({
  tsSec: fc.nat({ max: 0xffffffff }),
  tsNsec: fc.nat({ max: 999_999_999 }),
  data: fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a)),
  extra: fc.nat({ max: 70_000 }), // origLen - caplen: the part the capture did not keep
});

describe('PcapWriter', () => {
  it('writes a little-endian pcap 2.4 header with the magic for the resolution', () => {
    const us = PcapWriter.inMemory();
    us.close();
    expect(us.bytes().toString('hex')).toBe(
      'd4c3b2a1' + '0200' + '0400' + '00000000' + '00000000' + '00000400' + '01000000',
    );
    const ns = PcapWriter.inMemory({ nanos: true, snaplen: 65535, linkType: LinkType.LINUX_SLL });
    ns.close();
    expect(ns.bytes().toString('hex')).toBe(
      '4d3cb2a1' + '0200' + '0400' + '00000000' + '00000000' + 'ffff0000' + '71000000',
    );
  });

  it('writes record headers with µs truncated (not rounded) from ns, and the original length', () => {
    const w = PcapWriter.inMemory();
    const data = Buffer.from('xxABCDEyy');
    w.write(0x01020304, 999_999_999, data, 2, 5, 1514);
    w.close();
    const rec = w.bytes().subarray(24);
    expect(rec.toString('hex')).toBe('04030201' + '3f420f00' + '05000000' + 'ea050000' + Buffer.from('ABCDE').toString('hex'));
    expect(w.packets).toBe(1);
  });

  it('keeps nanoseconds in a nanosecond capture', () => {
    const w = PcapWriter.inMemory({ nanos: true });
    w.write(7, 999_999_999, Buffer.from([1, 2, 3]));
    w.close();
    expect(w.bytes().subarray(24, 40).toString('hex')).toBe('07000000' + 'ffc99a3b' + '03000000' + '03000000');
  });

  it('refuses a packet longer than the snaplen', () => {
    const w = PcapWriter.inMemory({ snaplen: 100 });
    expect(() => w.write(0, 0, Buffer.alloc(101))).toThrow(new RangeError('packet of 101 bytes exceeds snaplen 100'));
    w.write(0, 0, Buffer.alloc(100));
    expect(w.packets).toBe(1);
  });

  it('refuses a slice that runs past the end of the data', () => {
    const w = PcapWriter.inMemory();
    expect(() => w.write(0, 0, Buffer.alloc(50), 10, 41)).toThrow(
      new RangeError('packet slice [10, 51) runs past the end of its 50-byte buffer'),
    );
  });

  it('refuses a snaplen the reader would not accept', () => {
    expect(() => PcapWriter.inMemory({ snaplen: MAX_CAPLEN + 1 })).toThrow(
      new RangeError(`Expected \`snaplen\` to be an integer from 1 to ${MAX_CAPLEN}, got \`${MAX_CAPLEN + 1}\``),
    );
    expect(() => PcapWriter.inMemory({ snaplen: 0 })).toThrow(/got `0`/);
  });

  it('writes a file only on close, under its final name, with the same bytes as in memory', () => {
    const path = join(scratch, 'atomic.pcap');
    const file = PcapWriter.toFile(path);
    const mem = PcapWriter.inMemory();
    // 3000 × ~1.4 KB crosses the 1 MiB staging buffer several times
    const data = Buffer.alloc(1400);
    for (let i = 0; i < 3000; i++) {
      data.writeUInt32BE(i, 0);
      data.fill(i & 0xff, 4);
      const len = 1000 + (i % 400);
      file.write(1_700_000_000 + i, i * 1000, data, 0, len);
      mem.write(1_700_000_000 + i, i * 1000, data, 0, len);
    }
    expect(existsSync(path)).toBe(false);
    file.close();
    mem.close();
    expect(existsSync(`${path}.${process.pid}.tmp`)).toBe(false);
    const bytes = readFileSync(path);
    expect(bytes.length).toBe(24 + 3000 * 16 + [...Array(3000).keys()].reduce((s, i) => s + 1000 + (i % 400), 0));
    expect(bytes.equals(mem.bytes())).toBe(true);
    expect(file.packets).toBe(3000);
  });

  test.prop([fc.array(packetArb, { maxLength: 40 }), fc.boolean()], { numRuns: 60 })(
    'what it writes reads back exactly (µs captures keep whole microseconds)',
    (packets, nanos) => {
      const w = PcapWriter.inMemory({ nanos });
      for (const p of packets) w.write(p.tsSec, p.tsNsec, p.data, 0, p.data.length, p.data.length + p.extra);
      w.close();
      const back = readAll(CaptureReader.fromBytes(w.bytes()));
      expect(back).toEqual(
        packets.map((p) => ({
          tsSec: p.tsSec,
          tsNsec: nanos ? p.tsNsec : Math.floor(p.tsNsec / 1000) * 1000,
          data: p.data,
          origLen: p.data.length + p.extra,
        })),
      );
    },
  );
});

describe('PcapWriter output, read by Wireshark tools', () => {
  for (const nanos of [false, true]) {
    it(`${nanos ? 'ns' : 'µs'}: capinfos counts every packet and tshark reads it without a complaint`, (ctx) => {
      needTools(ctx, 'capinfos', 'tshark');
      const path = join(scratch, `redis-${nanos ? 'ns' : 'us'}.pcap`);
      const w = PcapWriter.toFile(path, { nanos });
      for (let i = 0; i < 250; i++) {
        const frame = redisFrame(i);
        w.write(1_700_000_000 + Math.floor(i / 100), (i % 100) * 10_000_007, frame);
      }
      w.close();
      expect(capinfosPacketCount(path)).toBe(250);
      expect(tsharkWarnings(path)).toBe('');
    });
  }

  it('tshark shows the nanoseconds a nanosecond capture holds', (ctx) => {
    needTools(ctx, 'tshark');
    const path = join(scratch, 'times.pcap');
    const w = PcapWriter.toFile(path, { nanos: true });
    w.write(1_700_000_000, 123_456_789, redisFrame(1));
    w.write(1_700_000_001, 999_999_999, redisFrame(2));
    w.write(1_700_000_002, 1, redisFrame(3));
    w.close();
    const r = spawnSync('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.time_epoch'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['1700000000.123456789', '1700000001.999999999', '1700000002.000000001']);
  });
});
