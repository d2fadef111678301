import { scenario, captureName } from '../gen/scenarios.js';
import { replay, type ReplaySummary } from '../pipeline/replay.js';
import { parseArgsOptions, replayCommand, type Flag } from '../pipeline/replay-line.js';
import { ConfigError, parseDuration, parsePorts, PROFILES, resolveConfig, type ConfigPatch, type ProfileName } from '../profiles/index.js';
import { paint } from '../style.js';
import { parseWith } from './args.js';
import { gate, GATE_OPTIONS, lossLimit, lostBy } from './gate.js';
import type { Command } from './command.js';
import { jsonLine, UsageError } from './errors.js';
import { optionsUsage } from './options.js';

const COMPARE_OPTIONS = [
  { name: 'capture', value: 'FILE', packetbeat: '-I', help: 'the capture (or give it first, without a flag)' },
  { name: 'scenario', value: 'NAME', help: 'a bundled scenario (issue-3404), with its ports' },
  { name: 'ports', value: 'LIST', help: "Redis server ports (default: the scenario's, else 6379)" },
  { name: 'profiles', value: 'LIST', help: `the shippers to compare (default all: ${PROFILES.join(',')}; logstash runs with each queue.type)` },
  { name: 'crash-at', value: 'T', help: 'every shipper crashes at simulated time T and starts again at once (5, 5s, 500ms)' },
  { name: 'json', help: 'one JSON object on stdout: each profile\'s fates, losses, peak depth and counters' },
  ...GATE_OPTIONS,
] as const satisfies readonly Flag[];

export const COMPARE_USAGE = `lockstep compare CAPTURE|--scenario issue-3404 [--ports LIST] [--profiles LIST] [--crash-at T] [--json] [--max-loss N | --fail-on-loss]

One capture through every shipper lockstep models, each with its own defaults, side by side: what each
wrote, dropped and lost at shutdown, how deep its first queue got, and the counters the shipper itself keeps.
${optionsUsage(COMPARE_OPTIONS)}`;

/** One shipper's run, as compare shows it. */
export interface CompareRow {
  /** The shipper as the table names it: its profile, and a setting that changes what it is (Logstash's queue.type). */
  shipper: string;
  profile: ProfileName;
  transactions: number;
  /** Written by its output. */
  published: number;
  droppedQueueFull: number;
  lostAtShutdown: number;
  /** Of those lost at shutdown, what the shipper had counted as published. */
  countedNotWritten: number;
  filtered: number;
  outputFailed: number;
  lostInCrash: number;
  /** Written a second time, read again from a persisted queue after the crash. */
  duplicated: number;
  /** Deepest the queue its analyzer publishes into got (packetbeat 6: the reporter's channel of 3). */
  peakQueueDepth: number;
  /** What the shipper itself reports (packetbeat's published_events; Logstash's events and durations). */
  shipperCounters: Record<string, number>;
  replay: string;
}

function row(shipper: string, profile: ProfileName, capture: string, s: ReplaySummary): CompareRow {
  const c = s.counters;
  return {
    shipper,
    profile,
    transactions: s.transactions,
    published: s.fates.published,
    droppedQueueFull: s.fates.dropped_queue_full,
    lostAtShutdown: s.fates.lost_at_shutdown,
    countedNotWritten: c['publisher.published_not_written'],
    filtered: s.fates.filtered,
    outputFailed: s.fates.output_failed,
    lostInCrash: s.fates.lost_in_crash,
    duplicated: s.duplicated,
    peakQueueDepth: c['publisher.queue_max_depth'],
    shipperCounters: s.shipper,
    replay: replayCommand(capture, s.config),
  };
}

/** The shippers compare runs: each profile with its defaults, and Logstash once more with its persisted queue. */
interface Shipper {
  shipper: string;
  profile: ProfileName;
  patch: ConfigPatch;
}
const SHIPPERS: readonly Shipper[] = PROFILES.flatMap((p): Shipper[] =>
  p === 'logstash'
    ? [
        { shipper: 'logstash', profile: p, patch: {} },
        { shipper: 'logstash-pq', profile: p, patch: { queueType: 'persisted' as const } },
      ]
    : [{ shipper: p, profile: p, patch: {} }],
);

/** Replays `capture` once per shipper, each with its defaults, the given ports and (0: none) a crash. */
export function compare(capture: string, ports: number[], profiles: readonly ProfileName[], crashAtNs = 0): CompareRow[] {
  // in the order asked for
  return profiles.flatMap((p) => SHIPPERS.filter((x) => x.profile === p)).map((x) =>
    row(x.shipper, x.profile, capture, replay(capture, resolveConfig(x.profile, [x.patch, { ports, crashAtNs }]))),
  );
}

export function formatCompare(capture: string, rows: CompareRow[]): string {
  const f = (n: number) => n.toLocaleString('en-US');
  const crash = rows.some((r) => r.lostInCrash > 0 || r.duplicated > 0);
  const header = ['shipper', 'transactions', 'written', 'dropped (queue full)', 'lost at shutdown', 'of which counted', ...(crash ? ['lost in crash', 'written twice'] : []), 'peak first queue'];
  const cells = rows.map((r) => [
    r.shipper, f(r.transactions), f(r.published), f(r.droppedQueueFull), f(r.lostAtShutdown), f(r.countedNotWritten),
    ...(crash ? [f(r.lostInCrash), f(r.duplicated)] : []), f(r.peakQueueDepth),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ').trimEnd();
  return [
    `${paint.bold('compare')} ${captureName(capture)}: each shipper with its defaults (its own analyzer: packetbeat 5's finds what packetbeat 5 finds)`,
    paint.dim(line(header)),
    ...cells.map(line),
    '',
    'What each shipper itself reports:',
    ...rows.map((r) => `${r.shipper.padEnd(widths[0]!)}  ${Object.entries(r.shipperCounters).map(([k, v]) => `${k}=${v}`).join(' ')}`),
    '',
    ...rows.map((r) => paint.dim(`${r.shipper}: ${r.replay}`)),
    '',
  ].join('\n');
}

export async function runCompare(argv: string[]): Promise<{ code: number }> {
  const { values, positionals } = parseWith('compare', { args: argv, allowPositionals: true, strict: true, options: parseArgsOptions(COMPARE_OPTIONS) });
  const v = values as { capture?: string; scenario?: string; ports?: string; profiles?: string; 'crash-at'?: string; json?: boolean; 'max-loss'?: string; 'fail-on-loss'?: boolean };
  const limit = lossLimit(v);
  const sources = [v.capture, v.scenario, ...positionals].filter((x) => x !== undefined);
  if (sources.length !== 1) throw new UsageError('lockstep compare: give one capture: CAPTURE, -I CAPTURE or --scenario NAME');
  const bundled = v.scenario !== undefined ? scenario(v.scenario) : null;
  const capture = bundled?.capture ?? v.capture ?? positionals[0]!;
  const ports = v.ports !== undefined ? parsePorts('--ports', v.ports) : (bundled?.ports ?? [6379]);
  let profiles: ProfileName[] = [...PROFILES];
  if (v.profiles !== undefined) {
    const asked = v.profiles.split(',').map((p) => p.trim()).filter((p) => p !== '');
    for (const p of asked) if (!(PROFILES as readonly string[]).includes(p)) throw new ConfigError('--profiles', `a list of ${PROFILES.join(', ')}`, v.profiles);
    if (asked.length === 0) throw new ConfigError('--profiles', `a list of ${PROFILES.join(', ')}`, v.profiles);
    profiles = asked as ProfileName[];
  }
  const crashAtNs = v['crash-at'] === undefined ? 0 : parseDuration('--crash-at', v['crash-at']);
  const rows = compare(capture, ports, profiles, crashAtNs);
  if (v.json) process.stdout.write(jsonLine({ capture, ports, rows }));
  else process.stdout.write(formatCompare(capture, rows));
  // the gate: every shipper asked for must keep within the limit
  const verdict = gate(limit, rows.map((r) => ({ name: `${r.shipper}: `, ...lostBy({ dropped_queue_full: r.droppedQueueFull, lost_at_shutdown: r.lostAtShutdown, lost_in_crash: r.lostInCrash, output_failed: r.outputFailed }) })));
  process.stderr.write(verdict.message);
  return { code: verdict.code };
}

export const command: Command = { usage: COMPARE_USAGE, run: runCompare };
