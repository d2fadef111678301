import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureFeed, formatEvent, PROTOCOLS } from './feed.js';
import { generateRedisCapture } from './gen/redis.js';
import { CaptureReader } from './pcap/reader.js';
import { PcapWriter } from './pcap/writer.js';
import type { PortMap, Transaction } from './protocols/index.js';

const dir = mkdtempSync(join(tmpdir(), 'lockstep-feed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Two servers' traffic, one after the other in one capture: Redis on 6379, then on 7101 a second later. */
function twoServers(): string {
  const a = join(dir, 'a.pcap');
  const b = join(dir, 'b.pcap');
  generateRedisCapture({ transactions: 500, connections: 5, port: 6379, seed: 1 }, a);
  generateRedisCapture({ transactions: 300, connections: 4, port: 7101, seed: 2 }, b);
  const out = join(dir, 'both.pcap');
  const w = PcapWriter.toFile(out, { nanos: true });
  let last = 0;
  for (const [file, shift] of [[a, 0], [b, 1]] as const) {
    const r = CaptureReader.open(file);
    for (let p = r.next(); p; p = r.next()) {
      const sec = p.tsSec + (shift ? last + 1 - p.tsSec : 0);
      if (!shift) last = Math.max(last, p.tsSec);
      w.write(sec, p.tsNsec, p.data, p.offset, p.caplen, p.origLen);
    }
    r.close();
  }
  w.close();
  return out;
}

function run(capture: string, ports: PortMap) {
  const events: string[] = [];
  const feed = new CaptureFeed(capture, { onTransaction: (tx: Transaction) => events.push(formatEvent(tx, feed.base)) }, { ports, tcp: 'reassemble' });
  while (feed.step());
  const each = feed.analyzers.map((a) => a.counters['redis.transactions']);
  return { events, counters: feed.counters(), transactions: feed.transactions, equations: feed.equations(), each };
}

describe('CaptureFeed and the port map', () => {
  const capture = twoServers();
  const redis = PROTOCOLS.redis!;

  it('sends each connection to the analyzer of its server port: two analyzers find what one on both ports finds', () => {
    const one = run(capture, [{ protocol: redis, ports: [6379, 7101] }]);
    const two = run(capture, [
      { protocol: redis, ports: [6379] },
      { protocol: redis, ports: [7101] },
    ]);
    expect(one.transactions).toBe(800);
    expect(two.transactions).toBe(800);
    expect(two.each).toEqual([500, 300]);
    expect(two.counters).toEqual(one.counters);
    expect(two.events).toEqual(one.events);
    expect(two.events.filter((e) => e.includes('"port":7101'))).toHaveLength(300);
    // each protocol's equations hold over the summed counters
    for (const [name, left, right] of two.equations) expect(left, name).toBe(right);
  });

  it('a port no protocol claims is not analyzed', () => {
    const only = run(capture, [{ protocol: redis, ports: [7101] }]);
    expect(only.transactions).toBe(300);
    expect(only.counters['redis.transactions']).toBe(300);
  });
});
