import { describe, expect, it } from 'vitest';
// the package as a user imports it (package.json "exports" → dist; npm test builds first)
import { analyze, ConfigError, FATES, generateRedisCapture, profileOf, replay, Replay, resolveConfig, Scheduler } from 'lockstep';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe("import { analyze, replay } from 'lockstep'", () => {
  it('returns the typed summaries the CLI prints', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lockstep-lib-'));
    try {
      const file = join(dir, 'c.pcap');
      generateRedisCapture({ transactions: 200, connections: 4, seed: 3 }, file);
      const truth = analyze(file);
      expect(truth.transactions).toBe(200);
      const run = replay(file, { profile: 'logstash', output: { kind: 'memory' } });
      expect(Object.keys(run.fates)).toEqual([...FATES]);
      expect(run.fates.published).toBe(200);
      expect(run.lines).toHaveLength(200);
      const lossy = replay(file, { queueSize: 1, pipelineQueueSize: 1, costs: { output: { perEvent: 10_000_000 } } });
      expect(lossy.fates.dropped_queue_full).toBeGreaterThan(0);
      // the library checks a configuration as the command line does
      expect(() => replay(file, { queueSize: -3 })).toThrow(new ConfigError('queueSize', 'a whole number from 1 to 100000000', -3));
      // a replay runs on the clock it is given, and its profile's topology
      const scheduler = new Scheduler();
      const stages = new Set<string>();
      scheduler.hook = (_step, _time, process) => stages.add(process.stage);
      const config = resolveConfig('packetbeat5', []);
      const r = new Replay(file, config, { scheduler });
      r.run();
      // packetbeat5 sees Redis as packetbeat 5 does: requests for commands missing from its table pair with nothing
      expect(r.finish().transactions).toBe(analyze(file, { as: 'packetbeat5' }).transactions);
      expect(analyze(file, { as: 'packetbeat5' }).transactions).toBe(197);
      expect(r.topology).toEqual(profileOf('packetbeat5').topology(config));
      expect([...stages].sort()).toEqual(['output', 'shutdown', 'source', 'worker.1']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the library takes the shipper’s keys, its files and units, and refuses what it does not know', () => {
  it("queue_size, waitstop: '1s', config and set are the command line's -c, -E and -waitstop", async () => {
    const { checkDeterminism, compare, configFrom, crashes, repro, sweep } = await import('lockstep');
    const dir = mkdtempSync(join(tmpdir(), 'lockstep-lib-'));
    try {
      const file = join(dir, 'c.pcap');
      generateRedisCapture({ transactions: 200, connections: 4, seed: 3 }, file);
      const native = replay(file, { queue_size: 5, waitstop: '1s' });
      const fields = replay(file, { queueSize: 5, pipelineQueueSize: 5, waitstopNs: 1e9 });
      expect(native.fates).toEqual(fields.fates);
      expect(native.config).toEqual(fields.config);
      const yml = join(dir, 'packetbeat.yml');
      writeFileSync(yml, 'queue.mem:\n  events: 64\noutput.logstash:\n  hosts: [a, b]\n  bulk_max_size: 16\nlogging.level: debug\n');
      const { config, ignored } = configFrom({ config: yml, set: { 'queue.mem.flush.min_events': 8 } });
      expect([config.profile, config.queueSize, config.batchSize, config.workers, config.flushMinEvents, ignored]).toEqual(['packetbeat8', 64, 16, 1, 8, ['logging.level']]);
      expect(() => replay(file, { queueSiz: 5 } as never)).toThrow(new ConfigError('queueSiz', "an option of lockstep's (did you mean queueSize?)", '5'));
      expect(() => replay(file, { waitstop: 'soon' })).toThrow(new ConfigError('waitstop', 'a duration such as 5, 5s, 500ms or 2m', 'soon'));
      expect(() => generateRedisCapture({ transactions: 1e8 }, join(dir, 'huge.pcap'))).toThrow(
        new ConfigError('transactions', 'a whole number from 0 to 1000000 (gen builds the capture in memory)', 1e8),
      );
      // what the CLI's other commands do, as functions
      expect(checkDeterminism(file, config).divergence).toBe(null);
      expect(compare(file, [6379], ['logstash']).map((r) => [r.shipper, r.published])).toEqual([['logstash', 200], ['logstash-pq', 200]]);
      expect(crashes(file, resolveConfig('logstash', []), 2).points).toHaveLength(2);
      const swept = sweep({ capture: file, base: resolveConfig('packetbeat5', []), queueMin: 1, queueMax: 1000, waitstops: [0], seeds: [0] });
      // the smallest queue_size without drops: there it drops nothing, one less it does
      const min = swept.minQueueSizeNoDrops[0]!.queueSize!;
      expect([replay(file, { queue_size: min }).fates.dropped_queue_full, replay(file, { queue_size: min - 1 }).fates.dropped_queue_full > 0]).toEqual([0, true]);
      expect(typeof repro).toBe('function');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
