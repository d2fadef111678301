/** A golden case's expected files: compared with its output (a coloured diff), or rewritten. */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { paint } from '../style.js';
import { GOLDEN_DIR, type GoldenCase } from './case.js';
import { HEAD_LINES, runCase, type CaseOutput } from './run.js';

/** The command that accepts new output on purpose: lockstep's own script for its cases, else the CLI with --dir. */
export const UPDATE_COMMAND = 'npm run golden:update';

/** The command that updates the cases of `c`'s directory. */
export function updateCommand(c: Pick<GoldenCase, 'dir'>): string {
  const cases = dirname(c.dir);
  if (cases === GOLDEN_DIR) return UPDATE_COMMAND;
  const rel = relative(process.cwd(), cases) || '.';
  return `npx lockstep golden --dir ${rel} --update`;
}

/** The expected files of a case, in its directory. */
const FILES = { summary: 'expected.json', head: 'events.head.ndjson', sha: 'events.sha256' } as const;

/** The three files of a case's expected output, as stored. */
function expectedFiles(out: CaseOutput): Record<keyof typeof FILES, string> {
  return {
    summary: out.summaryJson,
    head: out.eventsHead,
    sha: `${out.eventsSha256}  events.ndjson\n${out.eventCount} lines\n`,
  };
}

/** Lines of one file's diff shown at most; the rest is counted. */
const MAX_DIFF_LINES = 80;

function colourDiff(patch: string): string {
  const lines = patch.split('\n').filter((l) => l !== '' && !/^=+$/.test(l) && !l.startsWith('Index: '));
  const shown = lines.slice(0, MAX_DIFF_LINES).map((l) => {
    if (l.startsWith('---') || l.startsWith('+++')) return paint.bold(l);
    if (l.startsWith('@@')) return paint.cyan(l);
    if (l.startsWith('+')) return paint.green(l);
    if (l.startsWith('-')) return paint.red(l);
    // context in the terminal's own colour, whatever colour a test runner prints the message in
    return paint.reset(l);
  });
  if (lines.length > MAX_DIFF_LINES) shown.push(paint.dim(`… ${lines.length - MAX_DIFF_LINES} more diff lines`));
  return shown.join('\n');
}

export interface CaseComparison {
  ok: boolean;
  /** Coloured unified diffs (expected → actual) of the files that differ; empty when ok. */
  diff: string;
  actual: CaseOutput;
}

/** Runs a case and compares its output with the expected files in its directory. */
export function compareCase(c: GoldenCase, actual: CaseOutput = runCase(c)): CaseComparison {
  const want = expectedFiles(actual);
  const parts: string[] = [];
  const differs = new Set<keyof typeof FILES>();
  for (const key of Object.keys(FILES) as (keyof typeof FILES)[]) {
    const file = join(c.dir, FILES[key]);
    const shown = relative(c.root, file);
    const expected = existsSync(file) ? readFileSync(file, 'utf8') : null;
    if (expected === want[key]) continue;
    differs.add(key);
    if (expected === null) parts.push(paint.yellow(`${shown}: missing`));
    parts.push(colourDiff(createTwoFilesPatch(shown, shown, expected ?? '', want[key], 'expected', 'actual')));
  }
  if (differs.has('sha') && !differs.has('head')) {
    const cmd = JSON.parse(actual.summaryJson).replay as string | undefined;
    if (cmd) parts.push(paint.dim(`the first ${HEAD_LINES} events are the same; to see them all: ${cmd} --out events.ndjson`));
  }
  return { ok: parts.length === 0, diff: parts.join('\n'), actual };
}

/** What a mismatch prints: the diff, and the command that accepts the new output. */
export function mismatchReport(c: GoldenCase, diff: string): string {
  return (
    `golden case ${paint.bold(c.name)} (${c.description}) does not match its expected output:\n${diff}\n` +
    `If this change is intended, update the expected files: ${paint.cyan(updateCommand(c))}` +
    ` (this case only: ${updateCommand(c)}${updateCommand(c) === UPDATE_COMMAND ? ' --' : ''} --case ${c.name})`
  );
}

/** Replaces `path` whole: a crash leaves the old file or the new one, never half of one. */
function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** Rewrites a case's expected files that differ from its output; the names of those rewritten. */
export function updateCase(c: GoldenCase, actual: CaseOutput = runCase(c)): string[] {
  const want = expectedFiles(actual);
  const changed: string[] = [];
  for (const key of Object.keys(FILES) as (keyof typeof FILES)[]) {
    const file = join(c.dir, FILES[key]);
    if (existsSync(file) && readFileSync(file, 'utf8') === want[key]) continue;
    writeAtomic(file, want[key]);
    changed.push(FILES[key]);
  }
  return changed;
}
