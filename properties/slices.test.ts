/**
 * The CLI runs a replay in slices (to show progress and hear Ctrl-C), and the
 * source takes its next packet's step inline when nothing else is due first,
 * unless the slice's step limit is reached. Neither may change the run: any
 * slice size takes the same steps, in the same order, to the same outcome.
 * Slices of one step decline every inline step: that is the plain heap path.
 */
import { fc, test } from '@fast-check/vitest';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect } from 'vitest';
import type { PipelineConfig } from '../src/profiles/index.js';
import type { StepHook } from '../src/sim/scheduler.js';
import { anyConfig, Captures, captureSpec } from './arbitraries.js';
import { budget } from './budget.js';
import { withRepro } from './repro.js';
import { run } from './runs.js';

const captures = new Captures();
afterAll(() => captures.remove());

/** A run's every step (time, stage, token), its events, its ledger and its summary. */
function trace(capture: string, c: PipelineConfig, slice: number | undefined, tag: string) {
  const steps: string[] = [];
  const hook: StepHook = (step, time, process, token) => steps.push(`${step} ${time} ${process.stage} ${token}`);
  const events = captures.scratch(`${tag}.ndjson`);
  const ledger = captures.scratch(`${tag}.ledger.ndjson`);
  const r = run(capture, c, { output: { kind: 'file', path: events }, ledger, hook, slice });
  return {
    steps,
    slices: r.slices,
    events: readFileSync(events, 'latin1'),
    ledger: readFileSync(ledger, 'latin1'),
    summary: JSON.stringify(r.summary),
  };
}

describe('slices and inline steps do not change a run', () => {
  test.prop([captureSpec, anyConfig, fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 64 }), fc.integer({ min: 65, max: 5000 }))], budget(25))(
    'a replay run in slices of any size takes the same steps to the same events, ledger and summary as one run at once',
    (spec, c, slice) => {
      const { path: capture, cutBytes } = captures.spec(spec);
      withRepro(
        capture,
        c,
        () => {
          const whole = trace(capture, c, undefined, 'whole');
          const sliced = trace(capture, c, slice, `slices-of-${slice}`);
          expect(sliced.slices, 'slices taken').toBe(Math.max(1, Math.ceil(whole.steps.length / slice)));
          expect(sliced.steps, 'the steps, in order').toEqual(whole.steps);
          expect(sliced.events, 'events').toBe(whole.events);
          expect(sliced.ledger, 'ledger').toBe(whole.ledger);
          expect(sliced.summary, 'summary').toBe(whole.summary);
        },
        { gen: spec.gen, cutBytes },
      );
    },
  );
});
