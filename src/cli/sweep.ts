import { writeWhole } from '../pipeline/ndjson.js';
import { captureName } from '../gen/scenarios.js';
import { ConfigError, parseDuration, parseWhole } from '../profiles/index.js';
import { sweep, withQueueSize, type SweepResult } from '../pipeline/sweep.js';
import { svgChart, terminalChart, type Series } from './chart.js';
import { jsonLine, UsageError } from './errors.js';
import { EXIT } from './exit.js';
import { CONFIG_FLAGS, replayCommand, type Flag } from '../pipeline/replay-line.js';
import { optionsUsage, SOURCES, splitOwnFlags } from './options.js';
import { parseReplayArgs } from './replay.js';
import { paint } from '../style.js';
import type { Command } from './command.js';

/** sweep's own options; the rest of its command line is a replay's (its --queue-size and --waitstop are these). */
const SWEEP_OPTIONS = [
  { name: 'queue-size', value: 'A..B', help: 'the range of queue_size to search (bisection where drops are monotone, else a log grid, then bisection below its first drop-free point)' },
  { name: 'waitstop', value: 'LIST', help: "waitstops to try, e.g. 0,1s,5s (default: the profile's)" },
  { name: 'seeds', value: 'a..b', help: 'seeds (with --jitter), e.g. 1..5 or 1,4,9' },
  { name: 'json', help: 'the result as one JSON object on stdout' },
  { name: 'svg', value: 'FILE', help: 'the chart as an SVG file' },
] as const satisfies readonly Flag[];

export const SWEEP_USAGE = `lockstep sweep CAPTURE|--scenario issue-3404 --queue-size A..B [--waitstop LIST] [--seeds a..b] [replay options] [--json] [--svg FILE]

Drops and losses as a function of queue_size × waitstop (× seeds), and the smallest settings that lose nothing.
With --max-loss N (or --fail-on-loss), exits 4 when no setting in the range loses at most N.
${optionsUsage(SWEEP_OPTIONS)}
  and replay's options for the capture and the settings (lockstep sweep --help lists them)`;

export const SWEEP_REPLAY_OPTIONS = `Replay's options for the capture and the settings:\n${optionsUsage([...SOURCES, ...CONFIG_FLAGS])}`;

function range(option: string, raw: string, min: number, max: number): [number, number] {
  const m = /^\s*(\d+)\s*\.\.\s*(\d+)\s*$/.exec(raw);
  if (!m) throw new ConfigError(option, 'a range such as 1..200000', raw);
  const a = parseWhole(option, m[1], min, max);
  const b = parseWhole(option, m[2], min, max);
  if (a > b) throw new ConfigError(option, 'a range whose start is not above its end', raw);
  return [a, b];
}

function seedList(raw: string): number[] {
  if (raw.includes('..')) {
    const [a, b] = range('--seeds', raw, 0, 0xffffffff);
    if (b - a > 10_000) throw new ConfigError('--seeds', 'at most 10,001 seeds', raw);
    return Array.from({ length: b - a + 1 }, (_, i) => a + i);
  }
  return raw.split(',').map((s) => parseWhole('--seeds', s, 0, 0xffffffff));
}


function secs(ns: number): string {
  return `${+(ns / 1e9).toFixed(6)}s`;
}

/**
 * Queue-full drops per seed (they do not depend on the waitstop), and
 * shutdown losses per waitstop and seed: one series each, every one drawn
 * (a series of zeros says "none lost"), a mark per replay made.
 */
export function sweepChart(result: SweepResult, waitstops: number[], capture: string): { series: Series[]; title: string } {
  const seeds = [...new Set(result.points.map((p) => p.seed))];
  const bySeed = (seed: number) => (seeds.length > 1 ? `, seed ${seed}` : '');
  const series: Series[] = [];
  for (const seed of seeds) {
    const pts = new Map<number, number>();
    for (const p of result.points) if (p.seed === seed) pts.set(p.queueSize, p.droppedQueueFull);
    series.push({ name: `dropped when full${bySeed(seed)}`, points: [...pts] });
  }
  for (const w of waitstops) {
    for (const seed of seeds) {
      const pts = result.points.filter((p) => p.waitstopNs === w && p.seed === seed).map((p): [number, number] => [p.queueSize, p.lostAtShutdown]);
      if (pts.length > 0) series.push({ name: `lost at shutdown, waitstop ${secs(w)}${bySeed(seed)}${pts.every(([, y]) => y === 0) ? ': none' : ''}`, points: pts });
    }
  }
  return { series, title: `events lost vs queue_size — ${captureName(capture)}` };
}

export async function runSweep(argv: string[]): Promise<{ code: number }> {
  const { rest, own } = splitOwnFlags(argv, SWEEP_OPTIONS, 'sweep');
  const { 'queue-size': queue, waitstop, seeds, svg, json } = own;
  if (queue === undefined) throw new UsageError('lockstep sweep: `--queue-size A..B` is required');
  const cli = parseReplayArgs(rest);
  const [queueMin, queueMax] = range('--queue-size', queue, 1, 100_000_000);
  const waitstops = waitstop === undefined ? [cli.config.waitstopNs] : waitstop.split(',').map((w) => parseDuration('--waitstop', w));
  const seedValues = seeds === undefined ? [cli.config.seed] : seedList(seeds);
  const tty = process.stderr.isTTY === true;
  const result = sweep({
    capture: cli.capture,
    base: cli.config,
    queueMin,
    queueMax,
    waitstops,
    seeds: seedValues,
    onReplay: tty ? (n) => process.stderr.write(`\rsweep: ${n} replays`) : undefined,
  });
  if (tty) process.stderr.write('\r\u001b[K');
  const chart = sweepChart(result, waitstops, cli.capture);
  const chartOptions = { title: chart.title, xLabel: 'queue_size', yLabel: 'events lost', logX: true, notes: ['nothing is drawn between marks: only the queue sizes replayed were measured'] };
  if (svg) writeWhole(svg, svgChart(chart.series, chartOptions));
  const fault = (): { code: number } => {
    if (result.captureError === null) return { code: 0 };
    process.stderr.write(`lockstep: ${result.captureError}\n`);
    return { code: 2 };
  };
  // the gate: some setting in the swept range must keep the loss within the limit
  const gated = (): { code: number } => {
    const f = fault();
    if (f.code !== 0 || cli.maxLoss === null) return f;
    const lost = result.points.map((p) => ({ p, lost: p.droppedQueueFull + p.lostAtShutdown }));
    const best = lost.reduce((a, b) => (b.lost < a.lost ? b : a), lost[0]!);
    if (best.lost <= cli.maxLoss) return f;
    process.stderr.write(
      `lockstep: no setting in the sweep loses at most ${cli.maxLoss}: the least lost is ${best.lost} (queue_size ${best.p.queueSize}, waitstop ${secs(best.p.waitstopNs)}, seed ${best.p.seed})\n`,
    );
    return { code: EXIT.lossOverLimit };
  };
  if (json) {
    process.stdout.write(jsonLine(result));
    return gated();
  }
  const lines: string[] = [];
  lines.push(`${paint.bold('sweep')} ${captureName(cli.capture)}: queue_size ${queueMin}..${queueMax}, waitstop ${waitstops.map(secs).join(', ')}, seeds ${seedValues.join(', ')} — ${result.replays} replays (${result.method})`);
  lines.push(terminalChart(chart.series, chartOptions));
  // a queue that holds every transaction of the capture cannot fill: the size to try when none in the range is enough
  const transactions = Math.max(...result.points.map((p) => p.published + p.droppedQueueFull + p.lostAtShutdown));
  const none = result.minQueueSizeNoDrops.some((m) => m.queueSize === null);
  for (const w of waitstops) {
    const min = result.minQueueSizeNoDrops.find((m) => m.waitstopNs === w)!.queueSize;
    lines.push(
      `waitstop ${secs(w)}: ${
        min === null
          ? paint.red(`no queue_size in ${queueMin}..${queueMax} without queue-full drops — try up to ${Math.max(queueMax + 1, transactions)} (a queue of every transaction cannot fill)`)
          : `smallest queue_size without queue-full drops: ${paint.green(String(min))}`
      }`,
    );
  }
  if (result.minWaitstopNoLossNs !== null && !none) {
    const at = result.minWaitstopAtQueueSize;
    lines.push(`at queue_size ${at}, the smallest waitstop that loses nothing at shutdown: ${paint.green(secs(result.minWaitstopNoLossNs))}`);
    const c = { ...withQueueSize(cli.config, at), waitstopNs: result.minWaitstopNoLossNs, seed: seedValues[0]! };
    lines.push(`replay it: ${paint.cyan(replayCommand(cli.capture, c))}`);
  }
  if (svg) lines.push(`chart written to ${svg}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return gated();
}

export const command: Command = { usage: SWEEP_USAGE, more: SWEEP_REPLAY_OPTIONS, run: runSweep };
