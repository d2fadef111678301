import { goldenCases } from '../golden/case.js';
import { compareCase, UPDATE_COMMAND, updateCase } from '../golden/expected.js';
import { runCase } from '../golden/run.js';
import { paint } from '../style.js';
import { choiceOption, parseWith } from './args.js';
import type { Command } from './command.js';

export const GOLDEN_USAGE = `lockstep golden [--update] [--case NAME]

Checks the golden cases under golden/: each is a capture and a config (golden/NAME/case.json)
with the summary and events they must give (expected.json, events.head.ndjson, events.sha256).
Prints ok or MISMATCH with a unified diff per case; exits 1 on any mismatch.
  --update      rewrite the expected files from this build (npm run golden:update); refused under CI
  --case NAME   only this case (repeatable)`;

/** CI set to anything but empty, "false" or "0". */
function inCi(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
}

export async function runGolden(argv: string[]): Promise<{ code: number }> {
  const { values } = parseWith('golden', {
      args: argv,
      allowPositionals: false,
      strict: true,
      options: { update: { type: 'boolean' }, case: { type: 'string', multiple: true } },
    });
  if (values.update && inCi()) {
    process.stderr.write(`lockstep golden: --update is refused under CI (CI=${process.env.CI}); update golden files locally with ${UPDATE_COMMAND} and commit them\n`);
    return { code: 2 };
  }
  let cases = goldenCases();
  if (values.case) {
    const names = cases.map((c) => c.name);
    for (const n of values.case) choiceOption('case', n, names);
    cases = cases.filter((c) => values.case!.includes(c.name));
  }
  const width = Math.max(...cases.map((c) => c.name.length));
  let mismatches = 0;
  for (const c of cases) {
    const t0 = performance.now();
    const actual = runCase(c);
    const secs = `${((performance.now() - t0) / 1000).toFixed(1)} s`;
    const info = paint.dim(`${actual.headline}  ${secs}`);
    if (values.update) {
      const changed = updateCase(c, actual);
      const status = changed.length > 0 ? paint.yellow('updated  ') : paint.green('unchanged');
      process.stdout.write(`${status} ${c.name.padEnd(width)}  ${info}${changed.length > 0 ? `  (${changed.join(', ')})` : ''}\n`);
      continue;
    }
    const r = compareCase(c, actual);
    if (r.ok) {
      process.stdout.write(`${paint.green('ok      ')} ${c.name.padEnd(width)}  ${info}\n`);
    } else {
      mismatches++;
      process.stdout.write(`${paint.red('MISMATCH')} ${c.name.padEnd(width)}  ${info}\n${r.diff}\n`);
    }
  }
  if (values.update) return { code: 0 };
  if (mismatches > 0) {
    process.stdout.write(
      `${paint.red(`${mismatches} of ${cases.length} golden cases do not match.`)} If the changes are intended: ${paint.cyan(UPDATE_COMMAND)}\n`,
    );
    return { code: 1 };
  }
  process.stdout.write(`${cases.length} golden cases match\n`);
  return { code: 0 };
}

export const command: Command = { usage: GOLDEN_USAGE, run: runGolden };
