import { test } from '@fast-check/vitest';
import { afterAll, describe, expect } from 'vitest';
import { blockDrainConfig, Captures, captureOptions } from './arbitraries.js';
import { budget } from './budget.js';
import { withRepro } from './repro.js';
import { multiset, run } from './runs.js';

const captures = new Captures();
afterAll(() => captures.remove());

describe('what the analyzer finds does not depend on how the pipeline runs', () => {
  test.prop([captureOptions, blockDrainConfig, blockDrainConfig], budget(30))(
    'with block + drain, the published events are the same for any pacing, speed, queue, workers, batches, costs and jitter',
    (gen, a, other) => {
      const capture = captures.path(gen);
      // the same analyzer settings (ports, TCP mode, the profile's view of Redis); everything about the pipeline drawn independently
      const b = { ...other, profile: a.profile, ports: a.ports, tcp: a.tcp };
      withRepro(
        capture,
        [a, b],
        () => {
          const ra = run(capture, a, { output: { kind: 'memory' } }).summary;
          const rb = run(capture, b, { output: { kind: 'memory' } }).summary;
          expect(rb.fates).toEqual(ra.fates);
          expect(multiset(rb.lines!)).toEqual(multiset(ra.lines!));
        },
        { gen },
      );
    },
  );
});
