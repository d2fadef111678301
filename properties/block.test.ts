import { test } from '@fast-check/vitest';
import { afterAll, describe, expect } from 'vitest';
import type { PipelineConfig } from '../src/profiles/index.js';
import { anyConfig, blockDrainConfig, Captures, captureOptions, config } from './arbitraries.js';
import { budget } from './budget.js';
import { withRepro } from './repro.js';
import { groundTruth, multiset, ndjsonLines, run } from './runs.js';

const captures = new Captures();
afterAll(() => captures.remove());

describe('block loses nothing, and drain or a long enough waitstop loses nothing at shutdown', () => {
  test.prop([captureOptions, config], budget(30))('policy block never drops: dropped_queue_full = 0', (gen, drawn) => {
    const capture = captures.path(gen);
    const c: PipelineConfig = { ...drawn, policy: 'block' };
    withRepro(capture, c, () => expect(run(capture, c).summary.fates.dropped_queue_full).toBe(0), { gen });
  });

  test.prop([captureOptions, blockDrainConfig], budget(30))(
    'block + drain publishes exactly what analyze finds: the same count, and the same events as a multiset',
    (gen, c) => {
      const capture = captures.path(gen);
      withRepro(
        capture,
        c,
        () => {
          const truth = groundTruth(capture, c, captures.scratch('analyze.ndjson'));
          const events = captures.scratch('replay.ndjson');
          const { summary } = run(capture, c, { output: { kind: 'file', path: events } });
          expect(summary.fates).toEqual({ published: truth.transactions, dropped_queue_full: 0, lost_at_shutdown: 0, lost_in_crash: 0, output_failed: 0, filtered: 0 });
          expect(multiset(ndjsonLines(events))).toEqual(multiset(truth.lines));
        },
        { gen },
      );
    },
  );

  test.prop([captureOptions, anyConfig], budget(30))(
    'a waitstop as long as the drain time loses nothing at shutdown, and changes nothing else',
    (gen, drawn) => {
      const capture = captures.path(gen);
      // (Logstash before 6.1.3 drains its memory queue only with queue.drain)
      const drain: PipelineConfig = { ...drawn, shutdown: 'drain', queueDrain: true };
      const measured = withRepro(capture, drain, () => run(capture, drain, { output: { kind: 'memory' } }).summary, { gen });
      // how long the pipeline ran on after the capture ended
      const drainTimeNs = measured.simTimeNs - measured.sourceEndNs;
      const abort: PipelineConfig = { ...drawn, shutdown: 'abort', waitstopNs: drainTimeNs };
      withRepro(
        capture,
        [drain, abort],
        () => {
          expect(drainTimeNs).toBeGreaterThanOrEqual(0);
          const s = run(capture, abort, { output: { kind: 'memory' } }).summary;
          expect(s.fates.lost_at_shutdown, `lost at shutdown with waitstop ${drainTimeNs} ns`).toBe(0);
          // everything had finished by the time abort came: the same run as draining
          expect(s.fates).toEqual(measured.fates);
          expect(s.lines).toEqual(measured.lines);
        },
        { gen },
      );
    },
  );

  test.prop([captureOptions, anyConfig], budget(30))(
    'minWaitstopNoLossNs() is the shortest waitstop that loses nothing with abort: it loses none, 1 ns less loses some',
    (gen, drawn) => {
      const capture = captures.path(gen);
      const drain: PipelineConfig = { ...drawn, shutdown: 'drain', queueDrain: true };
      const { summary: drained, replay } = withRepro(capture, drain, () => run(capture, drain, { output: { kind: 'memory' } }), { gen });
      const shortest = replay.minWaitstopNoLossNs();
      const enough: PipelineConfig = { ...drawn, shutdown: 'abort', waitstopNs: shortest };
      const tooShort: PipelineConfig = { ...drawn, shutdown: 'abort', waitstopNs: shortest - 1 };
      withRepro(
        capture,
        shortest > 0 ? [drain, enough, tooShort] : [drain, enough],
        () => {
          expect(shortest, 'shortest waitstop').toBeGreaterThanOrEqual(0);
          expect(shortest, 'no longer than the drain time').toBeLessThanOrEqual(drained.simTimeNs - drained.sourceEndNs);
          const s = run(capture, enough, { output: { kind: 'memory' } }).summary;
          expect(s.fates.lost_at_shutdown, `lost with waitstop ${shortest} ns`).toBe(0);
          expect(s.fates).toEqual(drained.fates);
          expect(s.lines).toEqual(drained.lines);
          if (shortest > 0) {
            const lost = run(capture, tooShort, { output: { kind: 'memory' } }).summary.fates.lost_at_shutdown;
            expect(lost, `lost with waitstop ${shortest - 1} ns`).toBeGreaterThan(0);
          }
        },
        { gen },
      );
    },
  );
});
