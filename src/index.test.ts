import { describe, expect, it } from 'vitest';
// the package as a user imports it (package.json "exports" → dist; npm test builds first)
import { analyze, ConfigError, FATES, generateRedisCapture, profileOf, replay, Replay, resolveConfig, Scheduler } from 'lockstep';
import { mkdtempSync, rmSync } from 'node:fs';
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
