import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../../test/support/cli.js';
import { asPublished, committedAnalyzerOutput, ORACLE_CAPTURES, oracleCapture } from '../../test/support/oracles.js';
import { Replay } from '../pipeline/replay.js';
import { PROFILE_DEFAULTS, profileOf, PROFILE_LIST, resolveConfig } from './index.js';

describe('profiles', () => {
  it('packetbeat 5: a dropping channel, the publisher filtering then counting before its blocking send, a pipeline queue, the output worker; 300 ms after end of file and the waitstop, an abort loses all of it', () => {
    const t = profileOf('packetbeat5').topology(PROFILE_DEFAULTS.packetbeat5);
    expect(t.queues).toEqual([
      { name: 'queue', capacity: 1000, whenFull: 'drop' },
      { name: 'pipeline', capacity: 1000, whenFull: 'block' },
    ]);
    expect(t.stages.map((s) => [s.name, s.instances, s.input, s.output, s.batch.size, s.countsPublished, s.filters === true])).toEqual([
      ['worker', 1, 'queue', 'pipeline', 1, true, true],
      ['output', 1, 'pipeline', null, 1, false, false],
    ]);
    expect(t.source).toMatchObject({ output: 'queue', protocol: 'redis5' });
    // exit without publisher.Stop: nothing drains
    expect(t.shutdown).toEqual({ graceNs: 300_000_000, afterNs: 0, stops: ['queue', 'worker', 'pipeline', 'output'] });
    // --drain-pipeline true: what libbeat's publisher.Stop would have written, had packetbeat 5 called it
    expect(profileOf('packetbeat5').topology({ ...PROFILE_DEFAULTS.packetbeat5, drainPipeline: true }).shutdown.stops).toEqual(['queue', 'worker']);
  });

  it('packetbeat 6: the reporter channel of 3, the publishing goroutine that filters, the push channel of 20 that counts what it accepts, the event loop, the memory queue, the output; Logstash: one blocking queue read in batches by the workers, which publish, and drains', () => {
    const pb6 = profileOf('packetbeat6').topology(PROFILE_DEFAULTS.packetbeat6);
    expect(pb6.source).toMatchObject({ output: 'reporter', protocol: 'redis' });
    expect(pb6.queues).toEqual([
      { name: 'reporter', capacity: 3, whenFull: 'block' },
      { name: 'push', capacity: 20, whenFull: 'block', countsPublished: true },
      { name: 'queue', capacity: 4096, whenFull: 'block', freedOnAck: true, memqueue: { minEvents: 2048, timeoutNs: 1_000_000_000 } },
    ]);
    expect(pb6.stages.map((s) => [s.name, s.instances, s.input, s.output, s.batch, s.countsPublished, s.filters === true, s.takesOnlyWithRoom === true])).toEqual([
      ['reporter', 1, 'reporter', 'push', { size: 1, delayNs: 0 }, false, true, false],
      ['eventloop', 1, 'push', 'queue', { size: 1, delayNs: 0 }, false, false, true],
      ['output', 1, 'queue', null, { size: 2048, delayNs: 0 }, false, false, false],
    ]);
    expect(pb6.shutdown).toEqual({ graceNs: 300_000_000, afterNs: 0, stops: ['reporter', 'push', 'eventloop', 'queue', 'output'] });
    // packetbeat 7.11–8.4: the push channel is AdjustInputQueueSize(400, queue.mem.events): a tenth of the queue, 20 to 400
    const push = (queueSize: number) => profileOf('packetbeat7').topology({ ...PROFILE_DEFAULTS.packetbeat7, queueSize }).queues.find((q) => q.name === 'push')!.capacity;
    expect([push(4096), push(3200), push(100), push(8000)]).toEqual([400, 320, 20, 400]);
    // packetbeat 8.13+: a get asks for at most flush.min_events and the queue; flush.min_events ≤ 1 means gets of half
    // the queue and no timeout (broker.go newQueue)
    const get = (patch: Partial<typeof PROFILE_DEFAULTS.packetbeat8>) =>
      profileOf('packetbeat8').topology({ ...PROFILE_DEFAULTS.packetbeat8, ...patch }).stages.find((s) => s.name === 'output')!.batch;
    expect([get({}), get({ flushMinEvents: 1 }), get({ flushMinEvents: 5000, batchSize: 9999 })]).toEqual([
      { size: 1600, delayNs: 10_000_000_000, restart: false }, { size: 1600, delayNs: 0, restart: false }, { size: 3200, delayNs: 10_000_000_000, restart: false },
    ]);
    // live capture (--policy drop): the push channel drops (DropIfFull); a pipeline queue by flags: the generic chain
    expect(profileOf('packetbeat6').topology({ ...PROFILE_DEFAULTS.packetbeat6, policy: 'drop' }).queues.map((q) => [q.name, q.whenFull])).toEqual([
      ['reporter', 'block'], ['push', 'drop'], ['queue', 'block'],
    ]);
    expect(profileOf('packetbeat6').topology({ ...PROFILE_DEFAULTS.packetbeat6, pipelineQueueSize: 10 }).queues.map((q) => q.name)).toEqual(['queue', 'pipeline']);
    const ls = profileOf('logstash').topology(PROFILE_DEFAULTS.logstash);
    expect(ls.queues).toEqual([{ name: 'queue', capacity: 250, whenFull: 'block' }]);
    // the memory queue is batch.size × workers from 6.4 (QueueFactoryExt.java), twice that in 6.1–6.3 (queue_factory.rb)
    const cap = (v: string, workers: number) => profileOf('logstash').topology({ ...PROFILE_DEFAULTS.logstash, logstashVersion: v, workers }).queues[0]!.capacity;
    expect([cap('6.3', 2), cap('6.4', 2), cap('9.5', 4)]).toEqual([500, 250, 500]);
    expect(ls.stages.map((s) => [s.name, s.instances, s.output, s.batch])).toEqual([['worker', 2, null, { size: 125, delayNs: 50_000_000, polls: 2 }]]);
    expect(ls.shutdown).toEqual({ graceNs: 0, afterNs: 0, stops: [] });
  });

  it('every profile names its defaults after itself, and its topology reads only stores it declares', () => {
    for (const p of PROFILE_LIST) {
      expect(PROFILE_DEFAULTS[p.name].profile).toBe(p.name);
      const t = p.topology(PROFILE_DEFAULTS[p.name]);
      const stores = t.queues.map((q) => q.name);
      expect(stores).toContain(t.source.output);
      for (const s of t.stages) {
        expect(stores).toContain(s.input);
        if (s.output !== null) expect(stores).toContain(s.output);
      }
    }
  });
});

describe('the packetbeat5 profile analyzes as packetbeat 5 does', () => {
  const dir = scratchDir('lockstep-profile-pb5-');
  for (const { name } of ORACLE_CAPTURES) {
    it(`${name}: blocking and draining, it writes exactly packetbeat 5's analyzer events`, () => {
      const { path, ports } = oracleCapture(name);
      const out = join(dir, `${name}.ndjson`);
      const config = resolveConfig('packetbeat5', [{ ports, policy: 'block', shutdown: 'drain' }]);
      const r = new Replay(path, config, { output: { kind: 'file', path: out } });
      r.run();
      const s = r.finish();
      const c = committedAnalyzerOutput(name)!;
      expect(s.fates.published).toBe(c.lines);
      // as its publisher sends them on: beat, and the shipper's name for loopback addresses
      const expected = c.events().toString('utf8').split('\n').filter((l) => l !== '').map((l) => `${asPublished(l)}\n`).join('');
      expect(readFileSync(out, 'utf8') === expected, 'the events are the oracle\'s, as published').toBe(true);
    });
  }
});
