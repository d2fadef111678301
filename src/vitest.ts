/**
 * Golden cases as vitest tests, in your own project:
 *
 * ```ts
 * // golden.test.ts
 * import { goldenTests } from 'lockstep/vitest';
 * goldenTests('golden'); // one test per golden/NAME/case.json
 * ```
 *
 * A case whose output differs fails with the coloured diff of its expected
 * files and the command that accepts the change. `vitest -u` (vitest's own
 * snapshot update) rewrites the expected files instead; under CI (`CI` set)
 * it never does.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { goldenCases } from './golden/case.js';
import { compareCase, mismatchReport, updateCase } from './golden/expected.js';

/** Declares a `describe` of one test per golden case under `dir` (relative to the working directory). */
export function goldenTests(dir = 'golden'): void {
  const cases = goldenCases(resolve(dir));
  describe(`golden cases in ${dir}`, () => {
    for (const c of cases) {
      it(c.name, () => {
        const r = compareCase(c);
        if (r.ok) return;
        if (updating()) {
          updateCase(c, r.actual);
          return;
        }
        expect.fail(mismatchReport(c, r.diff));
      });
    }
  });
}

/** vitest -u: the run updates snapshots ('all'; 'new' by default). Never under CI, as `lockstep golden --update`. */
function updating(): boolean {
  const ci = process.env.CI;
  if (ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0') return false;
  const state = expect.getState().snapshotState as { snapshotUpdateState?: string } | undefined;
  return state?.snapshotUpdateState === 'all';
}
