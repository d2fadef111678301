import { readFileSync } from 'node:fs';
import { captureName } from '../gen/scenarios.js';
import { calibrate, type Calibration } from '../pipeline/calibrate.js';
import { CONFIG_FLAGS, replayCommand, type Flag } from '../pipeline/replay-line.js';
import { ConfigError, parseDuration, parseWhole } from '../profiles/index.js';
import { STARTUP_NS } from '../profiles/packetbeat5.js';
import { paint } from '../style.js';
import type { Command } from './command.js';
import { jsonLine, UsageError } from './errors.js';
import { optionsUsage, SOURCES, splitOwnFlags } from './options.js';
import { parseReplayArgs } from './replay.js';

const CALIBRATE_OPTIONS = [
  { name: 'observed', value: 'LIST', help: 'published_events of the runs you saw, e.g. 13859,14619,15006' },
  { name: 'uptime', value: 'LIST', help: "their Uptime: lines, e.g. 1.21,1.22,1.63 (seconds) or 1210ms,…: they set the analyzer's speed" },
  { name: 'runs', value: 'FILE', help: 'instead: one JSON object a line, {"published": N, "uptime": "1.21s"} (uptime optional)' },
  { name: 'startup', value: 'D', help: `the process's start-up within its uptime (default ${STARTUP_NS / 1e6}ms)` },
  { name: 'fit-seeds', value: 'N', help: 'seeds to fit the jitter over (default 10)' },
  { name: 'json', help: 'the result as one JSON object on stdout' },
] as const satisfies readonly Flag[];

export const CALIBRATE_USAGE = `lockstep calibrate CAPTURE|--scenario issue-3404 --observed LIST [--uptime LIST] | --runs FILE [replay options] [--json]

Fits the costs to runs you observed on your machine (same capture, same settings): the analyzer to
the analysis time your uptimes leave, the stages behind it to your median published count, the jitter
to your runs' spread. Prints the replay line that reproduces them, and the fit's error.
${optionsUsage(CALIBRATE_OPTIONS)}
  and replay's options for the capture and the settings the runs had`;

function numbers(option: string, raw: string, read: (v: string) => number): number[] {
  const list = raw.split(',').map((v) => v.trim()).filter((v) => v !== '');
  if (list.length === 0) throw new ConfigError(option, 'a comma-separated list', raw);
  return list.map(read);
}

/** `--runs FILE`: one JSON object a line. */
function readRuns(file: string): { published: number[]; uptimeNs: number[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError('--runs', 'a readable file of JSON lines', `${file} (${(e as NodeJS.ErrnoException).code})`);
  }
  const published: number[] = [];
  const uptimeNs: number[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch {
      throw new ConfigError('--runs', 'one JSON object a line', `${file}:${i + 1}: ${line.slice(0, 60)}`);
    }
    const r = o as { published?: unknown; uptime?: unknown };
    published.push(parseWhole(`--runs ${file}:${i + 1} published`, r.published, 0));
    if (r.uptime !== undefined) uptimeNs.push(parseDuration(`--runs ${file}:${i + 1} uptime`, r.uptime));
  });
  if (published.length === 0) throw new ConfigError('--runs', 'at least one run', file);
  if (uptimeNs.length > 0 && uptimeNs.length !== published.length) throw new ConfigError('--runs', 'an uptime on every line or on none', file);
  return { published, uptimeNs };
}


const pct = (x: number | null) => (x === null ? '-' : `${x >= 0 ? '+' : ''}${x.toFixed(1)} %`);

export function formatCalibration(capture: string, c: Calibration): string {
  const lines = [
    `${paint.bold('calibrate')} ${captureName(capture)}: ${c.observed.runs} observed runs, median published ${c.observed.median}` +
      (c.observed.cvPct === null ? '' : `, spread (CV) ${c.observed.cvPct.toFixed(1)} %`) +
      (c.observed.uptimeMedianNs === null ? '' : `, median uptime ${(c.observed.uptimeMedianNs / 1e9).toFixed(3)} s`),
    `analyzer × ${c.analyzerScale.toFixed(4)}, publisher and output × ${c.publishScale.toFixed(4)}, jitter ${c.config.jitter} (${c.replays} replays)`,
    `without jitter: published ${c.simulated.published} (${pct(c.errorPct.published)}), uptime ${(c.simulated.uptimeNs / 1e9).toFixed(3)} s (${pct(c.errorPct.uptime)})`,
  ];
  if (c.simulated.seeds.length > 0) {
    lines.push(`seeds 1..${c.simulated.seeds.length}: median ${c.simulated.seedMedian} (${pct(c.errorPct.seedMedian)}), spread ${c.simulated.seedCvPct?.toFixed(1)} %`);
  }
  lines.push(`replay with these costs: ${paint.cyan(replayCommand(capture, c.config))}`);
  lines.push(paint.dim('fitted on this capture and these settings; against packetbeat 5 itself, other queue sizes and captures are predicted as docs/DESIGN.md measures'));
  return `${lines.join('\n')}\n`;
}

export async function runCalibrate(argv: string[]): Promise<{ code: number }> {
  const { rest, own } = splitOwnFlags(argv, CALIBRATE_OPTIONS, 'calibrate');
  const cli = parseReplayArgs(rest);
  let published: number[];
  let uptimeNs: number[] = [];
  if (own.runs !== undefined) {
    if (own.observed !== undefined || own.uptime !== undefined) throw new UsageError('lockstep calibrate: give --runs, or --observed (and --uptime), not both');
    ({ published, uptimeNs } = readRuns(own.runs));
  } else {
    if (own.observed === undefined) throw new UsageError('lockstep calibrate: `--observed LIST` or `--runs FILE` is required');
    published = numbers('--observed', own.observed, (v) => parseWhole('--observed', v, 0));
    if (own.uptime !== undefined) uptimeNs = numbers('--uptime', own.uptime, (v) => parseDuration('--uptime', v));
    if (uptimeNs.length > 0 && uptimeNs.length !== published.length) throw new ConfigError('--uptime', `as many values as --observed (${published.length})`, own.uptime);
  }
  const startupNs = own.startup !== undefined ? parseDuration('--startup', own.startup, '', 'ms') : STARTUP_NS;
  const seeds = own['fit-seeds'] !== undefined ? parseWhole('--fit-seeds', own['fit-seeds'], 2, 1000) : 10;
  const tty = process.stderr.isTTY === true;
  const result = calibrate({
    capture: cli.capture,
    base: cli.config,
    observed: { published, uptimeNs, startupNs },
    seeds,
    onReplay: tty ? (n) => process.stderr.write(`\rcalibrate: ${n} replays`) : undefined,
  });
  if (tty) process.stderr.write('\r\u001b[K');
  if (own.json) process.stdout.write(jsonLine({ ...result, replay: replayCommand(cli.capture, result.config) }));
  else process.stdout.write(formatCalibration(cli.capture, result));
  return { code: 0 };
}

export const command: Command = {
  usage: CALIBRATE_USAGE,
  more: `Replay's options for the capture and the settings:\n${optionsUsage([...SOURCES, ...CONFIG_FLAGS])}`,
  run: runCalibrate,
};
