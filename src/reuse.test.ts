/**
 * The capture is read through a few buffers in turn, rewritten as the file
 * goes on (CaptureReader.onRewrite): whatever the analyzer keeps is copied
 * out first, and the arena's chunks are refilled once every message in them is
 * finished. A view kept too long would read other packets' bytes; these runs
 * make the reader rewrite its buffer every few packets and compare with a
 * reader that holds the whole file and never rewrites anything.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureFeed } from './analyze.js';
import { generateRedisCapture } from './gen/redis.js';
import { CaptureReader, POOL_SIZE } from './pcap/reader.js';
import { PcapWriter } from './pcap/writer.js';
import { resolveConfig, type ConfigPatch, type ProfileName } from './pipeline/config.js';
import { Replay } from './pipeline/replay.js';
import { formatEvent, type Transaction } from './redis/transaction.js';

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
/** A reader that rewrites one of its 4 KiB buffers every few dozen packets. */
const small = () => CaptureReader.open(capture, 4096);

function replayed(reader: CaptureReader, profile: ProfileName, patch: ConfigPatch) {
  const r = new Replay(reader, resolveConfig(profile, [{ ports: [6379], ...patch }]), { output: { kind: 'memory' } });
  r.run();
  const s = r.finish();
  return { lines: s.lines, fates: s.fates, counters: s.counters };
}

describe('read buffers, rewritten in turn', () => {
  it(`rewrites them: the small reader reads the file through its first buffer, then ${POOL_SIZE} shared 4 KiB buffers in turn`, () => {
    const reader = small();
    const rewritten: Buffer[] = [];
    const buffers = new Set<Buffer>();
    let previous: Buffer | null = null;
    reader.onRewrite = (buf, pool) => {
      expect(pool).toBe(reader.pool);
      expect(pool).toHaveLength(POOL_SIZE);
      expect(pool).toContain(buf);
      expect(buf).not.toBe(previous); // not the buffer of the last packet handed out
      rewritten.push(buf);
    };
    for (let p = reader.next(); p; p = reader.next()) {
      buffers.add(p.data);
      previous = p.data;
    }
    expect(rewritten.length).toBeGreaterThan(bytes.length / 4096 - 2 - POOL_SIZE);
    // the least recently read first: pool[0], pool[1], ... again and again
    rewritten.forEach((b, i) => expect(b).toBe(reader.pool[i % POOL_SIZE]));
    expect(buffers.size).toBe(POOL_SIZE + 1);
    for (const b of reader.pool) expect(b.buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it('moves to a larger buffer for a record longer than its own, and reads every byte right', () => {
    const w = PcapWriter.inMemory();
    const sizes = [100, 3000, 10_000, 60, 4096, 20_000, 7, 3000, 2000, 3000, 1000, 3500, 500, 3000, 2500, 3900, 100, 9000, 3000, 64];
    const packets = sizes.map((n, i) => Buffer.alloc(n, i + 1));
    packets.forEach((p, i) => w.write(1000 + i, 0, p));
    w.close();
    const reader = CaptureReader.fromBytes(w.bytes(), 'sizes.pcap', 4096);
    let rewrites = 0;
    reader.onRewrite = () => rewrites++;
    const read: Buffer[] = [];
    for (let p = reader.next(); p; p = reader.next()) read.push(Buffer.from(p.data.subarray(p.offset, p.offset + p.caplen)));
    expect(read).toEqual(packets);
    expect(rewrites).toBeGreaterThan(0);
  });

  it.each([
    ['packetbeat5', {}],
    // a queue that holds every transaction until the end: their bytes outlive hundreds of rewrites
    ['logstash', { queueSize: 100_000, workers: 1, batchSize: 1 }],
    ['packetbeat5', { queueSize: 2, tcp: 'reassemble' }],
  ] as [ProfileName, ConfigPatch][])('replay %s %j publishes the same events, fates and counters', (profile, patch) => {
    const expected = replayed(whole(), profile, patch);
    expect(expected.lines!.length).toBeGreaterThan(1000);
    expect(replayed(small(), profile, patch)).toEqual(expected);
  });

  it.each([
    ['packetbeat5', {}],
    ['logstash', {}],
    ['packetbeat6', {}],
  ] as [ProfileName, ConfigPatch][])('replay %s %j to a file: the output thread reads bytes in the reader\'s buffers, the reader waits for it, and the same events are written', (profile, patch) => {
    const expected = replayed(whole(), profile, patch).lines!;
    const config = resolveConfig(profile, [{ ports: [6379], ...patch }]);
    const toFile = (bufferSize: number) => {
      const out = join(dir, `${profile}-${bufferSize}.ndjson`);
      const r = new Replay(CaptureReader.open(capture, bufferSize), config, { output: { kind: 'file', path: out } });
      const w = r.eventWriter!;
      r.run();
      r.finish();
      byReference += w.byReference;
      waits += w.rewriteWaits;
      return readFileSync(out, 'utf8');
    };
    const text = `${expected.join('\n')}\n`;
    let byReference = 0;
    let waits = 0;
    // 4 KiB buffers: the batch handed over last still reads the buffer to rewrite, nearly every time
    for (const size of [4096, 65536, 262144]) expect(toFile(size)).toBe(text);
    expect(byReference).toBeGreaterThan(500);
    expect(waits).toBeGreaterThan(0);
  });

  it('transactions a caller keeps past the end of the capture keep their bytes, while later readers read into the same buffers', () => {
    const kept = (reader: CaptureReader) => {
      const txs: Transaction[] = [];
      const feed = new CaptureFeed(reader, { onTransaction: (tx) => txs.push(tx) }, { ports: [6379], tcp: 'reassemble' });
      // the buffers it read into (at its close, every one is handed to onRewrite)
      const pool = new Set<Buffer>();
      const onRewrite = reader.onRewrite!;
      reader.onRewrite = (buf, all) => {
        pool.add(buf);
        onRewrite(buf, all);
      };
      while (feed.step());
      expect(reader.pool).toHaveLength(0); // closed: its buffers went to the next reader
      return { txs, base: feed.base, pool };
    };
    const text = (k: ReturnType<typeof kept>) => k.txs.map((tx) => formatEvent(tx, k.base));
    const expected = text(kept(whole()));
    expect(expected.length).toBeGreaterThan(3000);
    // the later readers read another capture into the buffers the first read into (at most 8 wait for a next reader)
    const other = join(dir, 'other.pcap');
    generateRedisCapture({ transactions: 3000, connections: 7, mss: 500, seed: 78 }, other);
    const otherExpected = text(kept(CaptureReader.fromBytes(readFileSync(other), 'other.pcap', 1 << 24)));
    const first = kept(small());
    const later = [kept(CaptureReader.open(other, 4096)), kept(CaptureReader.open(other, 4096))];
    expect([...later[1]!.pool].some((b) => first.pool.has(b))).toBe(true);
    expect(text(first)).toEqual(expected);
    for (const r of later) expect(text(r)).toEqual(otherExpected);
  });
});
