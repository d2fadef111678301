/**
 * The capture is read a buffer at a time, and a buffer is never written again
 * once a packet in it has been handed out: the next load goes to a fresh one.
 * A view of a packet therefore stays right, but keeps its whole buffer alive;
 * so whatever outlives its packet (TCP's held segments, the messages a
 * replay's queues hold) is copied, and `analyze`'s parser in place moves what
 * still views a buffer to its arena when data comes in another. These runs
 * use a reader of many small buffers and compare with one that holds the
 * whole file in one; the last test scribbles over each buffer the analyzer
 * let go of.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DECODED, DecodedPacket, decodePacket } from './decode/decode.js';
import { CaptureFeed, formatEvent } from './feed.js';
import { generateRedisCapture } from './gen/redis.js';
import { CaptureReader } from './pcap/reader.js';
import { PcapWriter } from './pcap/writer.js';
import { resolveConfig, type ConfigPatch, type ProfileName } from './profiles/index.js';
import { Replay } from './pipeline/replay.js';
import type { Transaction } from './protocols/index.js';
import { RedisAnalyzer } from './redis/analyzer.js';
import { TcpAssembler } from './tcp/assembler.js';
import type { StreamAnalyzer } from './tcp/connection.js';

const dir = mkdtempSync(join(tmpdir(), 'lockstep-reuse-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Every fault the generator has, small segments (values span several), RESP3 and pipelining.
const capture = join(dir, 'faults.pcap');
generateRedisCapture(
  { transactions: 12_000, connections: 60, pipeline: 5, mss: 300, midstream: 6, gaps: 6, retransmissions: 40, duplicates: 40, reorder: 40, resp3: 0.3, tail: 8, seed: 77 },
  capture,
);
const bytes = readFileSync(capture);

/** A reader that never rewrites: the whole file in its one buffer. */
const whole = () => CaptureReader.fromBytes(bytes, 'faults.pcap', bytes.length + 1);
/** A reader of 2 KiB buffers: a few packets each (a run through a feed loads into two in turn). */
const small = () => CaptureReader.open(capture, 2048);

function replayed(reader: CaptureReader, profile: ProfileName, patch: ConfigPatch) {
  const r = new Replay(reader, resolveConfig(profile, [{ ports: [6379], ...patch }]), { output: { kind: 'memory' } });
  r.run();
  const s = r.finish();
  return { lines: s.lines, fates: s.fates, counters: s.counters };
}

describe('read buffers never rewritten once handed out', () => {
  it('the small reader loads a fresh buffer when the next packet does not fit after the last', () => {
    const reader = small();
    const views: Buffer[] = [];
    const buffers = new Set<Buffer>();
    for (let p = reader.next(); p; p = reader.next()) {
      views.push(p.data.subarray(p.offset, p.offset + p.caplen));
      buffers.add(p.data);
    }
    const copies: Buffer[] = [];
    const reference = whole();
    for (let p = reference.next(); p; p = reference.next()) copies.push(Buffer.from(p.data.subarray(p.offset, p.offset + p.caplen)));
    expect(views.length).toBe(copies.length);
    expect(views.filter((v, i) => !v.equals(copies[i]!)).length).toBe(0);
    expect(buffers.size).toBeGreaterThan(bytes.length / 2048);
  });

  it('a record longer than the buffer gets one of its own size, and every view stays right', () => {
    const w = PcapWriter.inMemory();
    const sizes = [100, 3000, 10_000, 60, 4096, 20_000, 7, 3000, 2000, 3000, 1000, 3500, 500, 3000, 2500, 3900, 100, 9000, 3000, 64];
    const packets = sizes.map((n, i) => Buffer.alloc(n, i + 1));
    packets.forEach((p, i) => w.write(1000 + i, 0, p));
    w.close();
    const reader = CaptureReader.fromBytes(w.bytes(), 'sizes.pcap', 4096);
    const views: Buffer[] = [];
    const buffers = new Set<Buffer>();
    for (let p = reader.next(); p; p = reader.next()) {
      views.push(p.data.subarray(p.offset, p.offset + p.caplen));
      buffers.add(p.data);
    }
    expect(views).toEqual(packets);
    // the file header and packets 1-2 in the first 4 KiB; packet 3 (10,000 bytes and its 16-byte header) in 10,016 of its own;
    // 4 in 4 KiB; 5 (4,096 + 16) in 4,112; 6 in 20,016 (the 4 KiB loaded for its header alone held no packet); 7-17 in seven of 4 KiB;
    // 18 in 9,016; 19-20 in 4 KiB
    expect([...buffers].map((b) => b.length)).toEqual([4096, 10_016, 4096, 4112, 20_016, ...Array(7).fill(4096), 9016, 4096]);
  });

  it.each([
    ['packetbeat5', {}],
    // a queue that holds every transaction until the end: their bytes outlive hundreds of rewrites
    ['logstash', { queueSize: 100_000, workers: 1, batchSize: 1 }],
    ['packetbeat5', { queueSize: 2, tcp: 'reassemble' }],
    // a crash: the persisted queue gives events already written out again (625 here), so every transaction is held
    ['logstash', { queueType: 'persisted', crashAtNs: 100_000_000 }],
  ] as [ProfileName, ConfigPatch][])('replay %s %j publishes the same events, fates and counters', (profile, patch) => {
    const expected = replayed(whole(), profile, patch);
    expect(expected.lines!.length).toBeGreaterThan(1000);
    expect(replayed(small(), profile, patch)).toEqual(expected);
  });

  it.each([
    ['packetbeat5', {}],
    ['logstash', {}],
    ['packetbeat6', {}],
  ] as [ProfileName, ConfigPatch][])('replay %s %j to a file writes the events it publishes in memory', (profile, patch) => {
    const expected = replayed(whole(), profile, patch).lines!;
    const config = resolveConfig(profile, [{ ports: [6379], ...patch }]);
    const out = join(dir, `${profile}.ndjson`);
    const r = new Replay(CaptureReader.open(capture, 4096), config, { output: { kind: 'file', path: out } });
    r.run();
    r.finish();
    expect(readFileSync(out, 'utf8')).toBe(`${expected.join('\n')}\n`);
  });

  it('transactions a caller keeps past the end of the capture keep their bytes', () => {
    const kept = (reader: CaptureReader) => {
      const txs: Transaction[] = [];
      const feed = new CaptureFeed(reader, { onTransaction: (tx) => txs.push(tx) }, { ports: [6379], tcp: 'reassemble' });
      while (feed.step());
      return txs.map((tx) => formatEvent(tx, feed.base));
    };
    const expected = kept(whole());
    expect(expected.length).toBeGreaterThan(3000);
    expect(kept(small())).toEqual(expected);
  });

  it('analyze in place: the small reader, through two buffers in turn, gives the same events and counters as the whole file', () => {
    const events = (reader: CaptureReader) => {
      const lines: string[] = [];
      const buffers = new Set<Buffer>();
      const next = reader.next.bind(reader);
      reader.next = () => {
        const r = next();
        if (r) buffers.add(r.data);
        return r;
      };
      const feed: CaptureFeed = new CaptureFeed(reader, { onTransaction: (tx) => lines.push(formatEvent(tx, feed.base)), keepsNone: true }, { ports: [6379], tcp: 'reassemble' });
      while (feed.step());
      return { lines, counters: feed.counters(), buffers: buffers.size };
    };
    const expected = events(whole());
    expect(expected.lines.length).toBeGreaterThan(3000);
    expect(expected.buffers).toBe(1);
    expect(events(small())).toEqual({ ...expected, buffers: 2 });
  });

  it('analyze in place copies what views a buffer when it is released: each scribbled over then, the events and counters are those of copies', () => {
    const run = (inPlace: boolean) => {
      const lines: string[] = [];
      const base = { sec: 0, nsec: 0 };
      const analyzer = new RedisAnalyzer({ onTransaction: (tx) => lines.push(formatEvent(tx, base)) }, { inPlace });
      // every segment in a buffer of its own, released as soon as it is analyzed, then filled with '*'
      const scribbling: StreamAnalyzer = {
        onData(conn, dir, buf, off, len, tsNs) {
          const own = Buffer.from(buf.subarray(off, off + len));
          analyzer.onData(conn, dir, own, 0, len, tsNs);
          analyzer.release(own);
          own.fill(0x2a);
        },
        onGap: (conn, dir, lost, tsNs) => analyzer.onGap(conn, dir, lost, tsNs),
        onFin: (conn, dir, tsNs) => analyzer.onFin(conn, dir, tsNs),
        onClose: (conn, reason, tsNs) => analyzer.onClose(conn, reason, tsNs),
      };
      const tcp = new TcpAssembler(scribbling, { mode: 'reassemble', ports: [6379] });
      const reader = whole();
      const pkt = new DecodedPacket();
      for (let r = reader.next(); r; r = reader.next()) {
        if (decodePacket(r.linkType, r.data, r.offset, r.caplen, pkt) === DECODED) tcp.process(pkt, r.tsSec * 1e9 + r.tsNsec - 1.7e18);
      }
      tcp.closeAll();
      return { lines, counters: analyzer.counters };
    };
    const copied = run(false);
    expect(copied.lines.length).toBeGreaterThan(3000);
    expect(run(true)).toEqual(copied);
  });
});
