/**
 * The capture is read through one buffer, rewritten as the file goes on: a
 * packet's bytes are valid until the next is read, and whoever keeps bytes
 * (TCP's held segments, the Redis parser's arena) copies them. A view kept
 * too long would read other packets' bytes; these runs make the reader
 * rewrite its buffer every few packets and compare with a reader that holds
 * the whole file and never rewrites anything.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureFeed, formatEvent } from './feed.js';
import { generateRedisCapture } from './gen/redis.js';
import { CaptureReader } from './pcap/reader.js';
import { PcapWriter } from './pcap/writer.js';
import { resolveConfig, type ConfigPatch, type ProfileName } from './profiles/index.js';
import { Replay } from './pipeline/replay.js';
import type { Transaction } from './protocols/index.js';

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

describe('one read buffer, rewritten as the file goes on', () => {
  it('is the only buffer the small reader hands out', () => {
    const reader = small();
    const buffers = new Set<Buffer>();
    let packets = 0;
    for (let p = reader.next(); p; p = reader.next()) {
      buffers.add(p.data);
      packets++;
    }
    expect(packets).toBeGreaterThan(bytes.length / 4096);
    expect(buffers.size).toBe(1);
  });

  it('moves to a larger buffer for a record longer than its own, and reads every byte right', () => {
    const w = PcapWriter.inMemory();
    const sizes = [100, 3000, 10_000, 60, 4096, 20_000, 7, 3000, 2000, 3000, 1000, 3500, 500, 3000, 2500, 3900, 100, 9000, 3000, 64];
    const packets = sizes.map((n, i) => Buffer.alloc(n, i + 1));
    packets.forEach((p, i) => w.write(1000 + i, 0, p));
    w.close();
    const reader = CaptureReader.fromBytes(w.bytes(), 'sizes.pcap', 4096);
    const read: Buffer[] = [];
    const buffers = new Set<Buffer>();
    for (let p = reader.next(); p; p = reader.next()) {
      read.push(Buffer.from(p.data.subarray(p.offset, p.offset + p.caplen)));
      buffers.add(p.data);
    }
    expect(read).toEqual(packets);
    // 4 KiB, then 10,016 bytes (the 10,000-byte record and its header), then twice that (more than 20,016)
    expect([...buffers].map((b) => b.length)).toEqual([4096, 10_016, 20_032]);
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
});
