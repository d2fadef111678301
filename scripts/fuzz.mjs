#!/usr/bin/env node
/**
 * Long property campaigns: `npm run fuzz [-- --shard i/n] [-- vitest args]`; naming a
 * property file (`npm run fuzz -- properties/packetbeat5-oracle.test.ts`) runs only it.
 *
 *   FUZZ_RUNS   runs per property (default 1000)
 *   FUZZ_SEED   base seed (default: drawn now, and printed); shard i of n runs with seed base + i,
 *               so shards explore different cases
 *
 * Runs `npx vitest run properties` with FUZZ_RUNS, FUZZ_SEED (this shard's seed) and
 * FUZZ_SHARD=i/n in the environment; properties/budget.ts turns them into fast-check
 * parameters. A failure prints fast-check's seed and path, keeps the shrunk capture in
 * .lockstep/failures/, and prints the `lockstep replay …` line that replays it.
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

function fail(message) {
  process.stderr.write(`fuzz: ${message}\n`);
  process.exit(2);
}

function whole(name, raw, min) {
  const n = /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min) fail(`Expected \`${name}\` to be a whole number from ${min} up, got \`${raw}\``);
  return n;
}

let parsed;
try {
  parsed = parseArgs({ options: { shard: { type: 'string' } }, allowPositionals: true, strict: true });
} catch (e) {
  fail(`${e.message}\nusage: npm run fuzz [-- --shard i/n] [-- vitest args, e.g. a file filter or -t NAME]`);
}
const { values, positionals } = parsed;

let shard = null;
if (values.shard !== undefined) {
  const m = /^(\d+)\/(\d+)$/.exec(values.shard);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!(index >= 1 && index <= count)) fail(`Expected \`--shard\` to be i/n with 1 ≤ i ≤ n, got \`${values.shard}\``);
  shard = { index, count };
}

const runs = process.env.FUZZ_RUNS ? whole('FUZZ_RUNS', process.env.FUZZ_RUNS, 1) : 1000;
// fast-check seeds are 32-bit: keep base + i inside them
const base = process.env.FUZZ_SEED ? whole('FUZZ_SEED', process.env.FUZZ_SEED, -(2 ** 31)) : Math.floor(Math.random() * 2 ** 30);
const seed = shard ? base + shard.index : base;
if (seed > 2 ** 31 - 1) fail(`FUZZ_SEED ${base} + shard ${shard.index} is past 2^31 - 1`);

const again = [...(shard ? [`--shard ${shard.index}/${shard.count}`] : []), ...positionals];
const env = { ...process.env, FUZZ_RUNS: String(runs), FUZZ_SEED: String(seed) };
if (shard) env.FUZZ_SHARD = `${shard.index}/${shard.count}`;
else delete env.FUZZ_SHARD;

process.stdout.write(
  `fuzz: ${runs} runs per property, seed ${seed}` +
    (shard ? ` (shard ${shard.index}/${shard.count}: base ${base} + ${shard.index})` : '') +
    `\n  again: FUZZ_RUNS=${runs} FUZZ_SEED=${base} npm run fuzz${again.length > 0 ? ` -- ${again.join(' ')}` : ''}\n` +
    `  one failure: FUZZ_SEED=<seed> FUZZ_PATH=<path> npx vitest run properties -t '<property>' (as fast-check prints them)\n`,
);

// no per-test timeout: a campaign's property runs as long as its runs take.
// vitest ORs its file filters: a file named here replaces the default `properties` (else every property would run too)
const named = positionals.some((p) => p.startsWith('properties/') || p.endsWith('.test.ts'));
const args = ['vitest', 'run', ...(named ? [] : ['properties']), '--testTimeout=0', ...positionals];
const result = spawnSync('npx', args, { stdio: 'inherit', env, shell: process.platform === 'win32' });
if (result.error) fail(`could not run npx vitest: ${result.error.message}`);
process.exit(result.status ?? 1);
