/**
 * How hard the properties search. `npm test` runs each with a modest number
 * of runs; `npm run fuzz` (scripts/fuzz.mjs) sets the environment below for
 * long campaigns:
 *
 * - `FUZZ_RUNS`  runs per property (overrides each property's default);
 * - `FUZZ_SEED`  fast-check seed (a failure prints the seed it ran with: set it here to replay);
 * - `FUZZ_PATH`  with `FUZZ_SEED`, the counterexample path fast-check printed: replays just that case;
 * - `FUZZ_SHARD` `i/n`, this process's shard of a campaign (fuzz.mjs gives shard i the seed base + i).
 */
import type { Parameters } from 'fast-check';

export interface Shard {
  index: number;
  count: number;
}

function envWhole(name: string, min: number): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`Expected \`${name}\` to be a whole number from ${min} up, got \`${raw}\``);
  return n;
}

function envShard(): Shard | null {
  const raw = process.env.FUZZ_SHARD;
  if (raw === undefined || raw === '') return null;
  const m = /^(\d+)\/(\d+)$/.exec(raw.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!(index >= 1 && index <= count)) throw new Error(`Expected \`FUZZ_SHARD\` to be i/n with 1 ≤ i ≤ n, got \`${raw}\``);
  return { index, count };
}

const fuzzRuns = envWhole('FUZZ_RUNS', 1);
const fuzzSeed = envWhole('FUZZ_SEED', -(2 ** 31));
const fuzzPath = process.env.FUZZ_PATH || undefined;

/** The campaign shard this process runs, if any (failure artefacts are named after it). */
export const shard: Shard | null = envShard();

/** True under `npm run fuzz` (or whenever `FUZZ_RUNS` is set). */
export const fuzzing = fuzzRuns !== undefined;

/**
 * The seed every property of this process runs with: `FUZZ_SEED`, or one
 * drawn now (as fast-check would), known here so failure artefacts can record it.
 * The one place outside the simulation that may read the clock and Math.random.
 */
export const seed: number = fuzzSeed ?? (Date.now() ^ (Math.random() * 0x100000000)) | 0;

/** The fast-check parameters a budget sets: none depends on the property's values, so they suit any. */
export type Budget = Pick<Parameters<unknown>, 'numRuns' | 'seed' | 'path' | 'endOnFailure' | 'includeErrorInReport'>;

/**
 * fast-check parameters for a property whose default number of runs under
 * `npm test` is `defaultRuns`. The predicate's own error (with its
 * reproduction, see repro.ts) goes into the report, after fast-check's seed and path.
 */
export function budget(defaultRuns: number): Budget {
  return {
    numRuns: fuzzRuns ?? defaultRuns,
    seed,
    ...(fuzzPath !== undefined ? { path: fuzzPath, endOnFailure: true } : {}),
    includeErrorInReport: true,
  };
}
