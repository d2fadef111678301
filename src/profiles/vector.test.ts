import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pipelinedGets, scriptedCapture, ZERO_COST } from '../../test/support/capture.js';
import { Replay } from '../pipeline/replay.js';
import { Scheduler } from '../sim/scheduler.js';
import { readConfigFile, resolveConfig, type ConfigPatch } from './index.js';

const ZERO = ZERO_COST;
const MS = 1_000_000;
const KEYS = 'abcdefghij'.split('');

/** Ten pipelined GETs at t=0, their ten replies in one segment at 0.5 µs: ten events at 2 µs. */
const TEN = pipelinedGets(KEYS);

/** Vector with a source channel of 3, a buffer of 2, a free pump and a sink of 1 ms an event. */
function vector(patch: ConfigPatch) {
  return resolveConfig('vector', [
    { sourceQueueSize: 3, queueSize: 2, costs: { analyzer: { ...ZERO, perPacket: 1000 }, worker: ZERO, output: { ...ZERO, perEvent: MS } } },
    patch,
  ]);
}

function replayed(patch: ConfigPatch, probeAtNs = -1) {
  const scheduler = new Scheduler();
  const r = new Replay(scriptedCapture(TEN), vector(patch), { output: { kind: 'memory' }, scheduler });
  const seen: Record<string, number> = {};
  if (probeAtNs >= 0) {
    scheduler.at(probeAtNs, {
      stage: 'probe',
      run: () => {
        seen.source = r.stores.get('source')!.depth;
        seen.buffer = r.stores.get('buffer')!.depth;
        seen.accepted = r.stores.get('source')!.accepted;
        seen.taken = r.stores.get('buffer')!.taken;
      },
    }, 'next');
  }
  const fates: string[] = [];
  const record = r.ledger.record.bind(r.ledger);
  r.ledger.record = (tx, fate, time, where, depth, counted) => {
    fates.push(`${tx.id} ${fate} @${time} ${where}`);
    record(tx, fate, time, where, depth, counted);
  };
  r.run();
  return { summary: r.finish(), fates, seen };
}

describe('vector', () => {
  it('drop_newest: the sink holds one, the buffer two, the pump drops the other seven into the buffer and Vector counts them received and discarded', () => {
    const { summary, fates } = replayed({ policy: 'drop' });
    expect(fates).toEqual([
      ...[4, 5, 6, 7, 8, 9, 10].map((id) => `${id} dropped_queue_full @2000 buffer`),
      '1 published @1002000 sink',
      '2 published @2002000 sink',
      '3 published @3002000 sink',
    ]);
    expect(summary.shipper).toEqual({
      buffer_received_events_total: 10,
      buffer_sent_events_total: 3,
      'buffer_discarded_events_total{intentional="true"}': 7,
      buffer_size_events: 0,
    });
    expect(summary.fates).toMatchObject({ published: 3, dropped_queue_full: 7, lost_at_shutdown: 0 });
  });

  it('block: what leaves the source before it waits is the sink\'s one + max_events + the pump\'s one + the source channel (src/topology/test/backpressure.rs)', () => {
    const { summary, fates, seen } = replayed({ policy: 'block' }, 0.5 * MS);
    // at 0.5 ms the sink serves tx1, the buffer holds 2, the pump holds 1 blocked, the channel holds 3: 7 sent, 3 waiting
    expect(seen).toEqual({ source: 3, buffer: 2, accepted: 7, taken: 1 });
    expect(fates).toEqual(KEYS.map((_, i) => `${i + 1} published @${(i + 1) * MS + 2000} sink`));
    expect(summary.shipper).toEqual({
      buffer_received_events_total: 10,
      buffer_sent_events_total: 10,
      'buffer_discarded_events_total{intentional="true"}': 0,
      buffer_size_events: 0,
    });
  });

  it('reads a sink buffer from vector.yaml and vector.toml, whatever the sink is called, and lists what it does not model', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lockstep-vector-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const yaml = join(dir, 'vector.yaml');
    writeFileSync(yaml, 'sources:\n  in:\n    type: stdin\nsinks:\n  out:\n    type: file\n    inputs: [in]\n    path: /tmp/x\n    buffer:\n      type: memory\n      max_events: 50\n      when_full: drop_newest\n');
    const y = readConfigFile(yaml);
    expect(y.profile).toBe('vector');
    expect(y.ignored).toEqual(['sources.in.type', 'sinks.out.type', 'sinks.out.inputs', 'sinks.out.path']);
    const c = resolveConfig('vector', y.patches);
    expect([c.queueSize, c.policy]).toEqual([50, 'drop']);
    const toml = join(dir, 'vector.toml');
    writeFileSync(toml, '[sinks.es]\ntype = "elasticsearch"\ninputs = ["in"]\n\n[sinks.es.buffer]\nmax_events = 7\nwhen_full = "block"\n');
    const t = readConfigFile(toml);
    expect([t.profile, resolveConfig('vector', t.patches).queueSize, t.ignored]).toEqual(['vector', 7, ['sinks.es.type', 'sinks.es.inputs']]);
    writeFileSync(toml, '[sinks.es.buffer]\nwhen_full = "overflow"\n');
    expect(() => readConfigFile(toml)).toThrow(`${toml}: Expected \`buffer.when_full\` to be one of block, drop_newest, got \`overflow\``);
    writeFileSync(toml, '[sinks.es.buffer\n');
    expect(() => readConfigFile(toml)).toThrow(/^Expected `-c` to be valid TOML, got `.*vector.toml:1: /);
  });
});
