import { replay, type ReplaySummary } from '../pipeline/replay.js';
import { captureName } from '../gen/scenarios.js';
import { jsonLine } from './errors.js';
import { CONFIG_FLAGS, replayCommand, type Flag } from '../pipeline/replay-line.js';
import { parseWhole, type PipelineConfig } from '../profiles/index.js';
import { paint, table } from '../style.js';
import type { Command } from './command.js';
import { optionsUsage, SOURCES, splitOwnFlags } from './options.js';
import { parseReplayArgs } from './replay.js';

const CRASHES_OPTIONS = [
  { name: 'points', value: 'N', help: 'crash points, spread evenly over the run without a crash (default 20)' },
  { name: 'json', help: 'the result as one JSON object on stdout' },
] as const satisfies readonly Flag[];

export const CRASHES_USAGE = `lockstep crashes CAPTURE|--scenario issue-3404 [--points N] [replay options] [--json]

Does a restart under load lose or duplicate events, and how many? The same run, crashed at N moments
spread over it (each a process that starts again at once): what each crash lost and wrote twice.
${optionsUsage(CRASHES_OPTIONS)}
  and replay's options (--queue-type persisted, --checkpoint-writes, --crash-power-loss, …)`;

/** One crash point's run. */
export interface CrashPoint {
  crashAtNs: number;
  published: number;
  lostInCrash: number;
  duplicated: number;
  lostAtShutdown: number;
  droppedQueueFull: number;
  replay: string;
}

export interface CrashesResult {
  capture: string;
  /** The run without a crash: how long it lasts (the crash points divide it). */
  runNs: number;
  points: CrashPoint[];
  worstLost: CrashPoint | null;
  worstDuplicated: CrashPoint | null;
}

/** The run crashed at `points` moments evenly spread over its crash-free length. */
export function crashes(capture: string, base: PipelineConfig, points: number): CrashesResult {
  const whole = replay(capture, { ...base, crashAtNs: 0 });
  const runNs = whole.simTimeNs;
  const out: CrashPoint[] = [];
  for (let i = 1; i <= points; i++) {
    const at = Math.max(1, Math.round((runNs * i) / (points + 1)));
    const c = { ...base, crashAtNs: at };
    const s: ReplaySummary = replay(capture, c);
    out.push({
      crashAtNs: at,
      published: s.fates.published,
      lostInCrash: s.fates.lost_in_crash,
      duplicated: s.duplicated,
      lostAtShutdown: s.fates.lost_at_shutdown,
      droppedQueueFull: s.fates.dropped_queue_full,
      replay: replayCommand(capture, c),
    });
  }
  const worst = (key: 'lostInCrash' | 'duplicated') => out.reduce<CrashPoint | null>((w, p) => (p[key] > 0 && (w === null || p[key] > w[key]) ? p : w), null);
  return { capture, runNs, points: out, worstLost: worst('lostInCrash'), worstDuplicated: worst('duplicated') };
}

export async function runCrashes(argv: string[]): Promise<{ code: number }> {
  const { rest, own } = splitOwnFlags(argv, CRASHES_OPTIONS, 'crashes');
  const points = own.points === undefined ? 20 : parseWhole('--points', own.points, 1, 10_000);
  const cli = parseReplayArgs(rest);
  const r = crashes(cli.capture, cli.config, points);
  if (own.json) {
    process.stdout.write(jsonLine(r));
    return { code: 0 };
  }
  const c = cli.config;
  const f = (n: number) => n.toLocaleString('en-US');
  const rows: (string | number)[][] = [['crash at', 'published', 'lost in crash', 'written twice', 'lost at shutdown', 'dropped (queue full)']];
  for (const p of r.points) rows.push([`${(p.crashAtNs / 1e9).toFixed(3)} s`, f(p.published), f(p.lostInCrash), f(p.duplicated), f(p.lostAtShutdown), f(p.droppedQueueFull)]);
  const lines = [
    `${paint.bold('crashes')} ${captureName(cli.capture)}: ${c.profile}${c.profile === 'logstash' ? ` (queue.type ${c.queueType})` : ''}, ${points} crashes over its ${(r.runNs / 1e9).toFixed(3)} s run`,
    table(rows, ['r', 'r', 'r', 'r', 'r', 'r']),
    r.worstLost === null ? paint.green('no crash lost an event') : `most lost: ${paint.red(f(r.worstLost.lostInCrash))} — ${paint.cyan(r.worstLost.replay)}`,
    r.worstDuplicated === null ? 'no crash wrote an event twice' : `most written twice: ${paint.yellow(f(r.worstDuplicated.duplicated))} — ${paint.cyan(r.worstDuplicated.replay)}`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
  return { code: 0 };
}

export const command: Command = {
  usage: CRASHES_USAGE,
  more: `Replay's options for the capture and the settings:\n${optionsUsage([...SOURCES, ...CONFIG_FLAGS])}`,
  run: runCrashes,
};
