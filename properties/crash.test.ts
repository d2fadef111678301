import { fc, test } from '@fast-check/vitest';
import { afterAll, describe, expect } from 'vitest';
import { resolveConfig, type PipelineConfig } from '../src/profiles/index.js';
import { versionBefore } from '../src/profiles/logstash.js';
import { Captures, captureOptions, configPatch } from './arbitraries.js';
import { budget } from './budget.js';
import { withRepro } from './repro.js';
import { expectBalanced, groundTruth, isSubMultiset, run } from './runs.js';

const captures = new Captures();
afterAll(() => captures.remove());

const MS = 1_000_000;

/** Logstash, memory or persisted queue, any settings, and a crash somewhere in the first 200 ms of simulated time. */
const crashConfig: fc.Arbitrary<PipelineConfig> = fc
  .tuple(
    configPatch,
    fc.record({
      queueType: fc.constantFrom('memory' as const, 'persisted' as const),
      queueMaxEvents: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 64 })),
      queuePageCapacity: fc.oneof(fc.constant(64 * 1024 * 1024), fc.integer({ min: 1024, max: 64 * 1024 })),
      checkpointWrites: fc.oneof(fc.constant(1024), fc.integer({ min: 0, max: 16 })),
      checkpointAcks: fc.oneof(fc.constant(1024), fc.integer({ min: 0, max: 16 })),
      crashAtNs: fc.integer({ min: 1, max: 200 * MS }),
      crashPowerLoss: fc.boolean(),
    }),
  )
  .map(([patch, pq]) => resolveConfig('logstash', [patch, pq]));

describe('a crash: every transaction still gets one fate, and only the persisted queue writes an event twice', () => {
  test.prop([captureOptions, crashConfig], budget(40))(
    'the ledger balances; lines = published + duplicated; each line is one of analyze\'s events, at most twice; the memory queue never duplicates',
    (gen, c) => {
      const capture = captures.path(gen);
      withRepro(
        capture,
        c,
        () => {
          const { summary: s, fates } = run(capture, c, { output: { kind: 'memory' } });
          expectBalanced(s);
          expect(fates.size, 'transactions given a fate').toBe(s.transactions);
          expect(s.lines!.length, 'lines = published + duplicated').toBe(s.fates.published + s.duplicated);
          const t = groundTruth(capture, c, captures.scratch('analyze.ndjson'));
          expect(isSubMultiset(s.lines!, [...t.lines, ...t.lines]), 'each line one of analyze\'s events, at most twice').toBe(true);
          if (c.queueType === 'memory') expect(s.duplicated, 'a memory queue is read once').toBe(0);
          // (Logstash's memory queue before 6.1.3 drains only with queue.drain)
          const drains = c.shutdown === 'drain' && (c.queueType === 'persisted' || c.queueDrain || !versionBefore(c.logstashVersion, 6, 1, 3));
          if (c.policy === 'block' && drains && c.dropMethods.length === 0 && c.outputFailureRate === 0) {
            // what is lost is lost in the crash, and only from memory or from pages not on disk
            expect(s.fates.published + s.fates.lost_in_crash).toBe(s.transactions);
            // a persisted queue loses nothing in a process crash, nor after a power loss when every write is fsync'd — when
            // its workers ack after the output, as Logstash's do (a pipeline queue behind them is lockstep's, and acks early)
            if (c.queueType === 'persisted' && c.pipelineQueueSize === 0 && (!c.crashPowerLoss || c.checkpointWrites === 1)) {
              expect(s.fates.lost_in_crash, 'the persisted queue keeps it').toBe(0);
            }
          }
        },
        { gen },
      );
    },
  );
});
