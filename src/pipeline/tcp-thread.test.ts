import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateRedisCapture, type GenOptions } from '../gen/redis.js';
import { READ_BUFFER_SIZE } from '../pcap/reader.js';
import { resolveConfig, type ConfigPatch, type ProfileName } from './config.js';
import { Replay, type OutputTarget } from './replay.js';

const dir = mkdtempSync(join(tmpdir(), 'lockstep-tcp-thread-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capture(name: string, o: Partial<GenOptions>): string {
  const file = join(dir, `${name}.pcap`);
  generateRedisCapture(o, file);
  return file;
}

/** One replay, read on this thread or with the TCP thread: its summary, events and ledger, as text. */
function run(file: string, port: number, tcpThread: boolean, profile: ProfileName, tcp: 'packetbeat' | 'reassemble', output: OutputTarget['kind'], patch: ConfigPatch = {}) {
  const tag = `${tcpThread ? 't' : 'i'}-${profile}-${tcp}`;
  const events = join(dir, `${tag}.ndjson`);
  const ledger = join(dir, `${tag}.ledger`);
  const config = resolveConfig(profile, [{ ports: [port], tcp }, patch]);
  const out: OutputTarget = output === 'file' ? { kind: 'file', path: events } : output === 'memory' ? { kind: 'memory' } : { kind: 'none' };
  const r = new Replay(file, config, { output: out, ledger, tcpThread });
  r.run();
  const summary = r.finish();
  const text = { json: JSON.stringify(summary), events: output === 'file' ? readFileSync(events, 'utf8') : '', ledger: readFileSync(ledger, 'utf8') };
  rmSync(events, { force: true });
  rmSync(ledger, { force: true });
  return { summary, ...text };
}

describe('replay with a TCP thread', () => {
  // many connections, every fault the generator makes, big values over several segments,
  // and more than five of the reader's buffers: its pool is written over again
  const faults = capture('faults', {
    transactions: 30_000, connections: 300, pipeline: 3, seed: 7, midstream: 20, gaps: 30, retransmissions: 40,
    duplicates: 40, reorder: 30, resp3: 0.3, tail: 10,
  });
  const v6 = capture('v6', { transactions: 3000, connections: 40, seed: 8, ipv6: true, nanos: true, gaps: 5 });

  it('the faults capture spans more than the reader pool', () => {
    expect(statSync(faults).size).toBeGreaterThan(6 * READ_BUFFER_SIZE);
  });

  for (const [name, profile, tcp, output] of [
    ['packetbeat5, packetbeat TCP, events to a file', 'packetbeat5', 'packetbeat', 'file'],
    ['logstash, reassembling TCP, events to a file', 'logstash', 'reassemble', 'file'],
    ['packetbeat6, reassembling TCP, events in memory', 'packetbeat6', 'reassemble', 'memory'],
  ] as const) {
    it(`gives the same summary, events and ledger, byte for byte: ${name}`, () => {
      for (const file of [faults, v6]) {
        const a = run(file, 6379, false, profile, tcp, output);
        const b = run(file, 6379, true, profile, tcp, output);
        expect(a.summary.transactions).toBeGreaterThan(1000);
        expect(b.json).toBe(a.json);
        expect(b.events).toBe(a.events);
        expect(b.ledger).toBe(a.ledger);
      }
    });
  }

  it('keeps the bytes of events that wait in a large queue while the thread reads on', () => {
    // a slow worker and room for every event: the first events (their bytes copied into the ring, from the
    // reader's first buffer) are written long after the ring has gone round, and so are the pool's
    const defaults = resolveConfig('logstash', []).costs;
    const slow: ConfigPatch = { queueSize: 100_000, costs: { ...defaults, worker: { perPacket: 0, perByte: 0, perEvent: 50_000_000, perBatch: 0 } } };
    for (const output of ['memory', 'file'] as const) {
      const a = run(faults, 6379, false, 'logstash', 'reassemble', output, slow);
      const b = run(faults, 6379, true, 'logstash', 'reassemble', output, slow);
      expect(a.summary.counters['publisher.queue_max_depth']).toBeGreaterThan(20_000);
      expect(b.json).toBe(a.json);
      expect(b.events).toBe(a.events);
    }
  });

  it('reports a capture cut short, and everything before it, as the reader on this thread does', () => {
    const whole = readFileSync(faults);
    const cut = join(dir, 'cut.pcap');
    // into the middle of a record, well past the pool's first turn
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length * 0.8)));
    const a = run(cut, 6379, false, 'packetbeat5', 'packetbeat', 'file');
    const b = run(cut, 6379, true, 'packetbeat5', 'packetbeat', 'file');
    expect(a.summary.error ?? a.summary.warnings.join()).not.toBe('');
    expect(b.json).toBe(a.json);
    expect(b.events).toBe(a.events);
    // a record whose header says it is larger than anything a capture holds: a fault, not a warning
    const bad = Buffer.from(whole.subarray(0, 3_000_000));
    const at = 24 + 16 + bad.readUInt32LE(24 + 8); // the second record's header
    bad.writeUInt32LE(0x7fffffff, at + 8);
    writeFileSync(cut, bad);
    const c = run(cut, 6379, false, 'packetbeat5', 'packetbeat', 'none');
    const d = run(cut, 6379, true, 'packetbeat5', 'packetbeat', 'none');
    expect(c.summary.error).toMatch(/record 2 at byte offset \d+/);
    expect(d.summary).toEqual(c.summary);
  });

  it('fails to open what the reader on this thread fails to open, with the same error', () => {
    const config = resolveConfig('packetbeat5', []);
    const missing = join(dir, 'missing.pcap');
    expect(() => new Replay(missing, config, { tcpThread: false })).toThrow(`${missing}: header at byte offset 0: cannot open: ENOENT`);
    expect(() => new Replay(missing, config, { tcpThread: true })).toThrow(`${missing}: header at byte offset 0: cannot open: ENOENT`);
    const junk = join(dir, 'junk.pcap');
    writeFileSync(junk, 'not a capture at all, not even close');
    const inline = (() => {
      try {
        new Replay(junk, config, { tcpThread: false });
      } catch (e) {
        return (e as Error).message;
      }
      return 'opened';
    })();
    expect(inline).toMatch(/^.*junk\.pcap: header at byte offset 0: /);
    expect(() => new Replay(junk, config, { tcpThread: true })).toThrow(inline);
  });

  it('stopped part way (Ctrl-C), counts the packets read so far, as on this thread', () => {
    const config = resolveConfig('packetbeat5', [{ ports: [6379] }]);
    const summaries = [false, true].map((tcpThread) => {
      const r = new Replay(faults, config, { output: { kind: 'none' }, tcpThread });
      r.run(40_000);
      return r.finishInterrupted();
    });
    expect(summaries[0]!.packets).toBeGreaterThan(10_000);
    expect(summaries[1]).toEqual(summaries[0]);
    // and the thread is free for the next replay
    const after = run(v6, 6379, true, 'packetbeat5', 'packetbeat', 'none');
    expect(after.summary).toEqual(run(v6, 6379, false, 'packetbeat5', 'packetbeat', 'none').summary);
  });
});
