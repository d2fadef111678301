import { fc, test } from '@fast-check/vitest';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect } from 'vitest';
import { profileOf, resolveConfig, type PipelineConfig } from '../src/profiles/index.js';
import { anyConfig, Captures, captureSpec } from './arbitraries.js';
import { budget } from './budget.js';
import { withRepro } from './repro.js';
import { run } from './runs.js';

const captures = new Captures();
afterAll(() => captures.remove());

/** Everything a run leaves: the events file, the ledger file, the summary. */
function outcome(capture: string, c: PipelineConfig, tag: string): { events: string; ledger: string; summary: string } {
  const events = captures.scratch(`${tag}.ndjson`);
  const ledger = captures.scratch(`${tag}.ledger.ndjson`);
  const { summary } = run(capture, c, { output: { kind: 'file', path: events }, ledger });
  return { events: readFileSync(events, 'latin1'), ledger: readFileSync(ledger, 'latin1'), summary: JSON.stringify(summary) };
}

describe('reproducible: one capture, config and seed, one outcome', () => {
  test.prop([captureSpec, anyConfig, fc.integer({ min: 0, max: 0xffffffff })], budget(25))(
    'runs of the same capture, config and seed write byte-identical events, ledger and summary, whatever runs in between',
    (spec, c, otherSeed) => {
      const { path: capture, cutBytes } = captures.spec(spec);
      const other = { ...c, seed: otherSeed };
      withRepro(
        capture,
        [c, other],
        () => {
          const first = outcome(capture, c, 'first');
          // another seed in between: nothing of one run may leak into the next
          const between = outcome(capture, other, 'between');
          const again = outcome(capture, c, 'again');
          const betweenAgain = outcome(capture, other, 'between-again');
          expect(again.events, 'events').toBe(first.events);
          expect(again.ledger, 'ledger').toBe(first.ledger);
          expect(again.summary, 'summary').toBe(first.summary);
          expect(betweenAgain.events, 'events, other seed').toBe(between.events);
          expect(betweenAgain.ledger, 'ledger, other seed').toBe(between.ledger);
          expect(betweenAgain.summary, 'summary, other seed').toBe(between.summary);
          if (c.jitter === 0 && c.outputFailureRate === 0 && profileOf(c.profile).topology(c).goSelect !== true) {
            // without jitter the seed only picks output failures (and, in a Go program's model, the order of
            // steps due at one instant): with none, it changes nothing
            expect(between.events, 'no jitter: the seed changes no event').toBe(first.events);
            expect(between.ledger, 'no jitter: the seed changes no fate').toBe(first.ledger);
          }
        },
        { gen: spec.gen, cutBytes },
      );
    },
  );

  test('with jitter, seeds are different runs (the property above is not vacuous)', () => {
    const gen = { transactions: 300, connections: 8, pipeline: 4, rate: 200_000, seed: 7 };
    const capture = captures.path(gen);
    const published = new Set<number>();
    for (let s = 1; s <= 8; s++) {
      const c = resolveConfig('packetbeat5', [{ queueSize: 10, pipelineQueueSize: 0, jitter: 0.5, seed: s }]);
      published.add(withRepro(capture, c, () => run(capture, c).summary.fates.published, { gen }));
    }
    expect(published.size).toBeGreaterThan(1);
  });
});
