/**
 * A failing property leaves its reproduction behind, as fast-check's
 * `schedulerFor()` report does: the capture of the failing run is kept under
 * `.lockstep/failures/`, and the error carries the `lockstep replay …` line
 * (and the `lockstep gen redis …` line that makes the capture again) that
 * replays it exactly. fast-check adds its seed and path, and reports the
 * error of the last, shrunk, counterexample; each failing run overwrites the
 * same files, so what is left on disk is that counterexample too.
 */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { expect } from 'vitest';
import { parseReplayLine, replayCommand } from '../src/pipeline/replay-line.js';
import { GEN_DEFAULTS } from '../src/gen/redis.js';
import type { PipelineConfig } from '../src/profiles/index.js';
import type { CaptureOptions } from './arbitraries.js';
import { seed, shard } from './budget.js';

/** Where failing runs leave their captures, relative to the working directory (the repository). */
export const FAILURES_DIR = '.lockstep/failures';

/** A path as a user types it from the repository: relative when inside it. */
export function shown(path: string): string {
  const rel = relative(process.cwd(), resolve(path));
  return rel.startsWith('..') ? resolve(path) : rel;
}

/** Splits a command line as a POSIX shell would the quoting `replayCommand` uses ('…', with '\'' for a quote). */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let quoted = false;
  let inWord = false;
  for (const ch of line) {
    if (quoted) {
      if (ch === "'") quoted = false;
      else word += ch;
    } else if (ch === "'") {
      quoted = true;
      inWord = true;
    } else if (ch === '\\') {
      inWord = true; // only ever before a quote here: the quote itself follows
    } else if (ch === ' ') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** The settings of `c` that its replay line does not carry (none, since every setting has a flag; kept as a guard). */
export function unexpressed(line: string, c: PipelineConfig): (keyof PipelineConfig)[] {
  const parsed = parseReplayLine(shellWords(line).slice(2)).config;
  return (Object.keys(c) as (keyof PipelineConfig)[]).filter(
    (key) => JSON.stringify(parsed[key]) !== JSON.stringify(c[key]),
  );
}

/** The `lockstep gen redis` line that writes the capture `options` describe (port 6379) to `out`. */
export function genCommand(options: CaptureOptions, out: string): string {
  const args = ['lockstep', 'gen', 'redis', '--out', shown(out)];
  const flags: [keyof CaptureOptions, string][] = [
    ['transactions', '--transactions'], ['connections', '--connections'], ['pipeline', '--pipeline'], ['seed', '--seed'],
    ['rate', '--rate'], ['midstream', '--midstream'], ['gaps', '--gaps'], ['retransmissions', '--retransmissions'],
    ['duplicates', '--duplicates'], ['reorder', '--reorder'], ['tail', '--tail'], ['resp3', '--resp3'],
    ['commands', '--commands'], ['mss', '--mss'], ['unknown', '--unknown'], ['inline', '--inline'], ['pubsub', '--pubsub'],
    ['monitor', '--monitor'], ['big', '--big'], ['reuse', '--reuse'], ['idle', '--idle'],
  ];
  for (const [key, flag] of flags) {
    const v = options[key];
    if (v !== undefined && v !== GEN_DEFAULTS[key]) args.push(flag, String(v));
  }
  if (options.ipv6) args.push('--ipv6');
  if (options.nanos) args.push('--nanos');
  return args.join(' ');
}

/** Copies a capture (and its manifest) to `dir/name.pcap`; returns the new path. */
export function keepCapture(capture: string, dir: string, name: string): string {
  mkdirSync(dir, { recursive: true });
  const kept = join(dir, `${name}.pcap`);
  copyFileSync(capture, kept);
  if (existsSync(`${capture}.manifest.json`)) copyFileSync(`${capture}.manifest.json`, `${kept}.manifest.json`);
  return kept;
}

/** The current test as a file name: its file, then the first words of its name. */
function testSlug(): string {
  const state = expect.getState();
  const file = basename(state.testPath ?? 'property').replace(/\.test\.ts$/, '');
  const test = (state.currentTestName ?? '').split(' > ').pop()!.replace(/ \(with seed=-?\d+\)$/, '');
  const words = test.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  return `${file}.${words.slice(0, 48).replace(/-[^-]*$/, '') || 'property'}`;
}

export interface ReproOptions {
  /** The gen options the capture was made from, for the `lockstep gen redis` line. */
  gen?: CaptureOptions;
  /** The capture is the generated one cut to this many bytes. */
  cutBytes?: number | null;
  /** Where to keep the capture (default {@link FAILURES_DIR}). */
  dir?: string;
  /** File name stem (default: the current test's name, and the shard). */
  name?: string;
  /** Further command lines that show the failure (`CAPTURE` stands for the kept capture). */
  also?: string[];
}

/** What a failing run leaves in `<name>.json` beside its capture. */
export interface FailureRecord {
  test: string | undefined;
  capture: string;
  gen: string | null;
  replay: string[];
  configs: PipelineConfig[];
  fastCheckSeed: number;
  shard: string | null;
  error: string;
}

/**
 * Runs `fn` (a property's body about `capture` replayed with `configs`); if
 * it throws, keeps the capture, writes `<name>.json`, and rethrows with the
 * reproduction appended to the message (the original error is the cause).
 */
export function withRepro<T>(capture: string, configs: PipelineConfig | PipelineConfig[], fn: () => T, opts: ReproOptions = {}): T {
  try {
    return fn();
  } catch (e) {
    throw new Error(reproduce(e, capture, Array.isArray(configs) ? configs : [configs], opts), { cause: e });
  }
}

function reproduce(e: unknown, capture: string, configs: PipelineConfig[], opts: ReproOptions): string {
  const message = e instanceof Error ? e.message : String(e);
  const dir = opts.dir ?? FAILURES_DIR;
  const name = opts.name ?? `${testSlug()}${shard ? `.shard-${shard.index}-of-${shard.count}` : ''}`;
  let kept: string;
  try {
    kept = keepCapture(capture, dir, name);
  } catch (copyError) {
    return `${message}\n\n(could not keep the capture ${capture}: ${(copyError as Error).message})`;
  }
  const replay = configs.map((c) => replayCommand(shown(kept), c));
  const cut = opts.cutBytes != null ? ` && truncate -s ${opts.cutBytes} ${shown(kept)}` : '';
  const gen = opts.gen ? `${genCommand(opts.gen, kept)}${cut}` : null;
  const unsaid = configs.flatMap((c, i) => {
    try {
      return unexpressed(replay[i]!, c).map((key) => `  (replay ${i + 1} also needs ${key}=${JSON.stringify(c[key])}, which no flag sets)`);
    } catch (parseError) {
      return [`  (replay ${i + 1} does not parse back: ${(parseError as Error).message})`];
    }
  });
  const record: FailureRecord = {
    test: expect.getState().currentTestName,
    capture: shown(kept),
    gen,
    replay,
    configs,
    fastCheckSeed: seed,
    shard: shard ? `${shard.index}/${shard.count}` : null,
    error: message,
  };
  writeFileSync(join(dir, `${name}.json`), `${JSON.stringify(record, null, 2)}\n`);
  return [
    message,
    '',
    `reproduce (capture kept as ${shown(kept)}, details in ${shown(join(dir, `${name}.json`))}):`,
    ...(gen ? [`  ${gen}`] : []),
    ...replay.map((l) => `  ${l}`),
    ...(opts.also ?? []).map((l) => `  ${l.split('CAPTURE').join(shown(kept))}`),
    ...unsaid,
  ].join('\n');
}
