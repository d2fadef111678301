/** Running a golden case: its capture, its replay or analysis, its output as stored. */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { analyze } from '../analyze.js';
import { GEN_DEFAULTS, generateRedisCapture, type GenOptions } from '../gen/redis.js';
import { scenario } from '../gen/scenarios.js';
import { parsePorts, resolveConfig } from '../profiles/index.js';
import { replay } from '../pipeline/replay.js';
import { replayCommand } from '../pipeline/replay-line.js';
import { formatEvent } from '../feed.js';
import { isObject, type GoldenCase } from './case.js';

/** How many event lines are kept verbatim; the rest is covered by the sha256. */
export const HEAD_LINES = 200;

/** Captures of `gen` cases are made here, where the cases run (never committed). */
const GEN_DIR = join('.lockstep', 'golden');

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

export interface ResolvedCapture {
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

export function resolveCapture(c: GoldenCase): ResolvedCapture {
  const spec = c.capture;
  if ('scenario' in spec) {
    const s = scenario(spec.scenario);
    // shown by name, as lockstep takes it back: the cache's path is the machine's
    return { path: s.capture, shown: `--scenario ${spec.scenario}`, ports: s.ports, about: { scenario: spec.scenario } };
  }
  if ('gen' in spec) {
    const path = generated(c.name, spec.gen);
    return { path, shown: path, ports: [spec.gen.port ?? GEN_DEFAULTS.port], about: { gen: genCommand(path, spec.gen) } };
  }
  const path = resolve(c.root, spec.file);
  let ports = spec.ports;
  if (ports === undefined) {
    const raw = readFileSync(resolve(c.root, spec.portFile!), 'utf8').trim();
    ports = parsePorts('capture.portFile', raw.split(/[\s,]+/), `${relative(c.root, join(c.dir, 'case.json'))}: ${spec.portFile}: `);
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
    summary = { replay: replayCommand(cap.path, config), summary: s };
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
