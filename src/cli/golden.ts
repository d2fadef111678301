import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createTwoFilesPatch } from 'diff';
import { analyze } from '../analyze.js';
import { GEN_DEFAULTS, generateRedisCapture, type GenOptions } from '../gen/redis.js';
import { ConfigError, parsePorts, PROFILE_DEFAULTS, PROFILES, resolveConfig, type ConfigPatch, type ProfileName } from '../pipeline/config.js';
import { replay } from '../pipeline/replay.js';
import { formatEvent } from '../redis/transaction.js';
import type { TcpMode } from '../tcp/stream.js';
import { choiceOption, withUsage } from './args.js';
import { replayCommand } from '../pipeline/replay-line.js';
import { scenario, SCENARIO_DIR } from './scenario.js';
import { paint } from './style.js';

export const GOLDEN_USAGE = `lockstep golden [--update] [--case NAME]

Checks the golden cases under golden/: each is a capture and a config (golden/NAME/case.json)
with the summary and events they must give (expected.json, events.head.ndjson, events.sha256).
Prints ok or MISMATCH with a unified diff per case; exits 1 on any mismatch.
  --update      rewrite the expected files from this build (npm run golden:update); refused under CI
  --case NAME   only this case (repeatable)`;

/** The command that accepts new output on purpose. */
export const UPDATE_COMMAND = 'npm run golden:update';

/** How many event lines are kept verbatim; the rest is covered by the sha256. */
export const HEAD_LINES = 200;

/** The repository root: golden.ts sits in src/cli/ and golden.js in dist/cli/. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const GOLDEN_DIR = join(ROOT, 'golden');
/** Captures of `gen` cases are made here (never committed). */
const GEN_DIR = join(SCENARIO_DIR, 'golden');

/** Where a case's capture comes from. */
export type CaptureSpec =
  | { scenario: string }
  /** A committed capture, relative to the repository root, with its Redis ports or a file holding them. */
  | { file: string; ports?: number[]; portFile?: string }
  | { gen: Partial<GenOptions> };

/** What is run over the capture: a replay through a pipeline, or the lossless analysis. */
export type RunSpec = { replay: { profile: ProfileName; config: ConfigPatch } } | { analyze: { tcp: TcpMode } };

/** One golden case: `golden/NAME/case.json`, next to the output it must give. */
export interface GoldenCase {
  name: string;
  /** The case's directory (absolute). */
  dir: string;
  description: string;
  capture: CaptureSpec;
  run: RunSpec;
}

/** What a case produces, in the form it is stored. */
export interface CaseOutput {
  /** expected.json: the summary, keys sorted at every level, 2-space indent, trailing newline. */
  summaryJson: string;
  /** events.head.ndjson: the first {@link HEAD_LINES} events. */
  eventsHead: string;
  /** sha256 (hex) of every event line, newline-terminated: the bytes of `lockstep replay --out`. */
  eventsSha256: string;
  eventCount: number;
  /** One line for people: published / dropped / lost, or transactions for an analysis. */
  headline: string;
}

const FILES = { summary: 'expected.json', head: 'events.head.ndjson', sha: 'events.sha256' } as const;

// ---- case files ----

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Same kind of JSON value (number, string, boolean, array, object) as `like`. */
function sameKind(v: unknown, like: unknown): boolean {
  if (Array.isArray(like)) return Array.isArray(v);
  if (isObject(like)) return isObject(v);
  return typeof v === typeof like;
}

function kindOf(v: unknown): string {
  return Array.isArray(v) ? 'a list' : isObject(v) ? 'an object' : `a ${typeof v}`;
}

/** Checks a partial object against a full one of defaults: known keys, values of the same kind. */
function checkPatch(where: string, prefix: string, patch: unknown, defaults: Record<string, unknown>): void {
  if (!isObject(patch)) throw new ConfigError(prefix, 'an object', JSON.stringify(patch), where);
  for (const [k, v] of Object.entries(patch)) {
    const key = `${prefix}.${k}`;
    if (!(k in defaults)) throw new ConfigError(key, `one of ${Object.keys(defaults).join(', ')}`, k, where);
    const like = defaults[k];
    if (isObject(like)) checkPatch(where, key, v, like);
    else if (!sameKind(v, like)) throw new ConfigError(key, kindOf(like), JSON.stringify(v), where);
  }
}

/** Reads and checks `dir/case.json`; errors name the file and the key. */
export function readCase(dir: string): GoldenCase {
  const file = join(dir, 'case.json');
  const where = `${relative(ROOT, file)}: `;
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError('case.json', 'valid JSON', (e as Error).message.split('\n')[0], where);
  }
  if (!isObject(doc)) throw new ConfigError('case.json', 'an object', kindOf(doc), where);
  const known = ['description', 'capture', 'replay', 'analyze'];
  for (const k of Object.keys(doc)) if (!known.includes(k)) throw new ConfigError(k, `one of ${known.join(', ')}`, k, where);
  if (typeof doc.description !== 'string') throw new ConfigError('description', 'a string', JSON.stringify(doc.description), where);

  const c = doc.capture;
  let capture: CaptureSpec;
  if (isObject(c) && typeof c.scenario === 'string') capture = { scenario: c.scenario };
  else if (isObject(c) && typeof c.file === 'string') {
    if (c.ports === undefined && typeof c.portFile !== 'string') throw new ConfigError('capture.ports', 'a list of ports, or capture.portFile', 'nothing', where);
    capture = { file: c.file, ...(c.ports !== undefined ? { ports: parsePorts('capture.ports', c.ports, where) } : {}), ...(typeof c.portFile === 'string' ? { portFile: c.portFile } : {}) };
  } else if (isObject(c) && isObject(c.gen)) {
    checkPatch(where, 'capture.gen', c.gen, { ...GEN_DEFAULTS, packets: 0 });
    capture = { gen: c.gen as Partial<GenOptions> };
  } else {
    throw new ConfigError('capture', '{ "scenario": NAME }, { "file": PATH, "portFile": PATH } or { "gen": OPTIONS }', JSON.stringify(c), where);
  }

  let run: RunSpec;
  if (isObject(doc.replay) && doc.analyze === undefined) {
    const { profile, config = {} } = doc.replay;
    if (!PROFILES.includes(profile as ProfileName)) throw new ConfigError('replay.profile', `one of ${PROFILES.join(', ')}`, String(profile), where);
    checkPatch(where, 'replay.config', config, PROFILE_DEFAULTS.packetbeat5 as unknown as Record<string, unknown>);
    if ('profile' in (config as object)) throw new ConfigError('replay.config.profile', 'set as replay.profile', 'replay.config.profile', where);
    run = { replay: { profile: profile as ProfileName, config: config as ConfigPatch } };
  } else if (isObject(doc.analyze) && doc.replay === undefined) {
    const tcp = doc.analyze.tcp ?? 'reassemble';
    if (tcp !== 'reassemble' && tcp !== 'packetbeat') throw new ConfigError('analyze.tcp', 'reassemble or packetbeat', String(tcp), where);
    run = { analyze: { tcp } };
  } else {
    throw new ConfigError('case.json', 'one of "replay": { profile, config } or "analyze": { tcp }', Object.keys(doc).join(', '), where);
  }
  return { name: basename(dir), dir, description: doc.description, capture, run };
}

/** Every case: each directory of `golden/` with a case.json, by name. */
export function goldenCases(dir = GOLDEN_DIR): GoldenCase[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'case.json')))
    .map((d) => d.name)
    .sort()
    .map((name) => readCase(join(dir, name)));
}

// ---- running a case ----

interface ResolvedCapture {
  /** Path to open. */
  path: string;
  /** Path as printed: relative to the repository root (committed) or the working directory (caches). */
  shown: string;
  ports: number[];
  /** What the capture is and how to make it, for the summary. */
  about: Record<string, unknown>;
}

function genCommand(out: string, o: Partial<GenOptions>): string {
  const args = ['lockstep', 'gen', 'redis', '--out', out];
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'boolean') {
      if (v) args.push(`--${k}`);
    } else args.push(`--${k}`, String(v));
  }
  return args.join(' ');
}

/**
 * The capture of a `gen` case, made again on every run into .lockstep/golden/: a cached one
 * would hide a change to the generator until the cache went (as on a fresh CI checkout).
 */
function generated(name: string, spec: Partial<GenOptions>): string {
  const out = join(GEN_DIR, `${name}.pcap`);
  // written aside and renamed, so a run in another process never reads half a capture
  mkdirSync(GEN_DIR, { recursive: true });
  const tmp = join(GEN_DIR, `${name}.${process.pid}.tmp.pcap`);
  generateRedisCapture(spec, tmp);
  renameSync(tmp, out);
  renameSync(`${tmp}.manifest.json`, `${out}.manifest.json`);
  return out;
}

function resolveCapture(c: GoldenCase): ResolvedCapture {
  const spec = c.capture;
  if ('scenario' in spec) {
    const s = scenario(spec.scenario);
    return { path: s.capture, shown: s.capture, ports: s.ports, about: { scenario: spec.scenario } };
  }
  if ('gen' in spec) {
    const path = generated(c.name, spec.gen);
    return { path, shown: path, ports: [spec.gen.port ?? GEN_DEFAULTS.port], about: { gen: genCommand(path, spec.gen) } };
  }
  const path = resolve(ROOT, spec.file);
  let ports = spec.ports;
  if (ports === undefined) {
    const raw = readFileSync(resolve(ROOT, spec.portFile!), 'utf8').trim();
    ports = parsePorts('capture.portFile', raw.split(/[\s,]+/), `${relative(ROOT, join(c.dir, 'case.json'))}: ${spec.portFile}: `);
  }
  return { path, shown: spec.file, ports, about: { file: spec.file } };
}

/** Object keys sorted at every level (arrays keep their order); the capture's path shown as the case names it. */
function stable(v: unknown, path: string, shown: string): unknown {
  if (typeof v === 'string') return v.split(path).join(shown);
  if (Array.isArray(v)) return v.map((x) => stable(x, path, shown));
  if (isObject(v)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = stable(v[k], path, shown);
    return out;
  }
  return v;
}

/** Runs a case: the replay (or analysis) of its capture, to the end. Same case, same bytes, every time. */
export function runCase(c: GoldenCase): CaseOutput {
  const cap = resolveCapture(c);
  let lines: string[];
  let summary: Record<string, unknown>;
  let headline: string;
  if ('replay' in c.run) {
    const config = resolveConfig(c.run.replay.profile, [{ ports: cap.ports }, c.run.replay.config]);
    const { lines: published = [], ...s } = replay(cap.path, config, { output: { kind: 'memory' } });
    lines = published;
    const f = s.fates;
    headline = `published ${f.published}, dropped ${f.dropped_queue_full}, lost ${f.lost_at_shutdown}`;
    summary = { replay: replayCommand(cap.shown, config), summary: s };
  } else {
    const tcp = c.run.analyze.tcp;
    lines = [];
    const s = analyze(cap.path, { ports: cap.ports, tcp, onTransaction: (tx, base) => lines.push(formatEvent(tx, base)) });
    headline = `${s.transactions} transactions (lossless)`;
    summary = { analyze: `lockstep analyze ${cap.shown} --ports ${cap.ports.join(',')} --tcp ${tcp}`, summary: s };
  }
  const doc = { case: c.name, description: c.description, capture: { path: cap.shown, ...cap.about }, ...summary };
  const hash = createHash('sha256');
  for (const l of lines) hash.update(`${l}\n`);
  const head = lines.slice(0, HEAD_LINES);
  return {
    summaryJson: `${JSON.stringify(stable(doc, cap.path, cap.shown), null, 2)}\n`,
    eventsHead: head.length > 0 ? `${head.join('\n')}\n` : '',
    eventsSha256: hash.digest('hex'),
    eventCount: lines.length,
    headline,
  };
}

/** The three files of a case's expected output, as stored. */
function expectedFiles(out: CaseOutput): Record<keyof typeof FILES, string> {
  return {
    summary: out.summaryJson,
    head: out.eventsHead,
    sha: `${out.eventsSha256}  events.ndjson\n${out.eventCount} lines\n`,
  };
}

// ---- comparing and updating ----

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
    const shown = relative(ROOT, file);
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
    `If this change is intended, update the expected files: ${paint.cyan(UPDATE_COMMAND)}` +
    ` (this case only: ${UPDATE_COMMAND} -- --case ${c.name})`
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

/** CI set to anything but empty, "false" or "0". */
function inCi(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
}

export async function runGolden(argv: string[]): Promise<{ code: number }> {
  const { values } = withUsage('golden', () =>
    parseArgs({
      args: argv,
      allowPositionals: false,
      strict: true,
      options: { update: { type: 'boolean' }, case: { type: 'string', multiple: true } },
    }),
  );
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
