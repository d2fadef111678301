import { STARTUP_NS } from '../profiles/packetbeat5.js';
import { statSync } from 'node:fs';
import { writeWhole } from '../pipeline/ndjson.js';
import { scenario, captureName } from '../gen/scenarios.js';
import { profileOf } from '../profiles/index.js';
import {
  ConfigError,
  parseChoice,
  isModelledSetting,
  readConfigFile,
  unappliedKeys,
  resolveConfig,
  settingPatch,
  type ConfigPatch,
  type PipelineConfig,
  type ProfileName,
} from '../profiles/index.js';
import { DepthTrace } from '../pipeline/depth-trace.js';
import { checkDeterminism } from '../pipeline/determinism.js';
import { FATES } from '../pipeline/ledger.js';
import { nodeStats } from '../pipeline/node-stats.js';
import { Replay, type OutputTarget, type ReplaySummary } from '../pipeline/replay.js';
import { configFlagsPatch, parseArgsOptions, replayCommand } from '../pipeline/replay-line.js';
import { paint, table } from '../style.js';
import { totalNonZero } from './analyze.js';
import { onePositional, parseWith, StopSignals } from './args.js';
import { gate, lossLimit, lostBy } from './gate.js';
import { svgChart, terminalChart, type ChartOptions, type Marker, type Series } from './chart.js';
import { jsonLine, UsageError } from './errors.js';
import { optionsUsage, OUTPUTS, REPLAY_OPTIONS, SOURCES, translatePacketbeatArgs, type FlagValues } from './options.js';
import type { Command } from './command.js';

export const REPLAY_USAGE = `lockstep replay CAPTURE|--scenario issue-3404 [options]
lockstep replay -c packetbeat.yml -I CAPTURE -t -E packetbeat.protocols.redis.ports=7101 -waitstop 5

One run of the simulated pipeline: summary, counters, the fate of every transaction, the line that
replays it. packetbeat's own flags work too: -c, -I, -E, -waitstop, and -t (topspeed; with -I and
without -t, the capture is paced by its timestamps); -e and -d are accepted and do nothing.
${optionsUsage(REPLAY_OPTIONS)}`;

export interface ReplayCli {
  capture: string;
  config: PipelineConfig;
  output: OutputTarget;
  ledger?: string;
  stats?: string;
  json: boolean;
  checkDeterminism: boolean;
  /** --max-loss / --fail-on-loss: more events lost than this exits 4 (null: no limit). */
  maxLoss: number | null;
  /** Options given that change nothing in this run, with why (printed as warnings). */
  noEffect: string[];
  /** Draw the publisher queue's depth over simulated time in the terminal; `svg` writes it to a file. */
  plot: boolean;
  svg?: string;
}

export function parseReplayArgs(argv: string[]): ReplayCli {
  const { args, packetbeatStyle, topspeed } = translatePacketbeatArgs(argv, REPLAY_OPTIONS);
  const parsed = parseWith('replay', { args, allowPositionals: true, strict: true, options: parseArgsOptions(REPLAY_OPTIONS) });
  const { positionals } = parsed;
  const v = parsed.values as FlagValues<typeof SOURCES> & FlagValues<typeof OUTPUTS>;
  const sources = [v.capture, v.scenario, ...positionals].filter((x) => x !== undefined);
  if (sources.length !== 1) {
    if (v.scenario === undefined && v.capture === undefined) onePositional(positionals, 'CAPTURE', 'replay');
    throw new UsageError('lockstep replay: give one capture: CAPTURE, -I CAPTURE or --scenario NAME');
  }
  const bundled = v.scenario !== undefined ? scenario(v.scenario) : null;
  const capture = bundled?.capture ?? v.capture ?? positionals[0]!;

  const patches: ConfigPatch[] = [];
  let profile: ProfileName = 'packetbeat5';
  let file: ReturnType<typeof readConfigFile> | null = null;
  if (bundled) patches.push({ ports: bundled.ports });
  if (v.config !== undefined) {
    file = readConfigFile(v.config);
    if (file.profile) profile = file.profile;
    if (file.ignored.length > 0) process.stderr.write(`lockstep: warning: ${v.config}: not modelled, ignored: ${file.ignored.join(', ')}\n`);
    patches.push(...file.patches);
  }
  // packetbeat reading a file without -t replays at the capture's own pace
  if (packetbeatStyle) patches.push({ pacing: topspeed ? 'topspeed' : 'timestamps' });
  else if (topspeed) patches.push({ pacing: 'topspeed' });
  // -E, as a config file: a key lockstep does not model is listed as ignored, never fatal
  const ignoredSet: string[] = [];
  for (const kv of v.set ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new ConfigError('-E', 'key=value', kv);
    const key = kv.slice(0, eq);
    if (isModelledSetting(key)) patches.push(settingPatch(key, kv.slice(eq + 1), '-E: '));
    else ignoredSet.push(key);
  }
  if (ignoredSet.length > 0) process.stderr.write(`lockstep: warning: -E: not modelled, ignored: ${ignoredSet.join(', ')}\n`);
  const flags = configFlagsPatch(parsed.values);
  if (flags.profile) profile = flags.profile;
  else if (file?.profile) process.stderr.write(`lockstep: ${v.config}: profile ${file.profile} (${file.reason})\n`);
  patches.push(flags);
  const config = resolveConfig(profile, patches);
  const unapplied = unappliedKeys(profile, patches);
  if (unapplied.length > 0) process.stderr.write(`lockstep: warning: not modelled for ${profile}, ignored: ${unapplied.join(', ')}\n`);

  let output: OutputTarget = { kind: 'none' };
  if (v.out !== undefined && v.output !== undefined && v.output !== 'file') throw new UsageError('lockstep replay: give --out FILE or --output stdout|none, not both');
  // `--out -`: standard output, as `--output stdout`
  if (v.out !== undefined) output = v.out === '-' ? { kind: 'stdout' } : { kind: 'file', path: v.out };
  else if (v.output !== undefined) {
    const kind = parseChoice('--output', v.output, ['stdout', 'none'] as const);
    output = { kind };
  }
  if (output.kind === 'stdout' && v.json) throw new UsageError('lockstep replay: --json prints the summary on stdout; write events with --out FILE');
  return {
    capture, config, output, ledger: v.ledger, stats: v.stats, json: v.json ?? false,
    checkDeterminism: v['check-determinism'] ?? false, plot: v.plot ?? false, svg: v.svg,
    maxLoss: lossLimit(parsed.values as { 'max-loss'?: string; 'fail-on-loss'?: boolean }),
    noEffect: noEffect(parsed.values as Record<string, unknown>, config, packetbeatStyle && !topspeed),
  };
}

/** Options given that change nothing in this run, each with why (a warning, not an error: the run is the same). */
function noEffect(given: Record<string, unknown>, c: PipelineConfig, paced: boolean): string[] {
  const out: string[] = [];
  const t = profileOf(c.profile).topology(c);
  if (given.seed !== undefined && c.jitter === 0 && c.outputFailureRate === 0 && !t.goSelect) {
    out.push('--seed changes nothing without --jitter or --output-failure-rate');
  }
  if (given.speed !== undefined && c.pacing !== 'timestamps' && !paced) out.push('--speed changes nothing at topspeed pacing (give --pacing timestamps)');
  if (given['check-determinism'] === true) {
    const writes = ['out', 'output', 'ledger', 'stats', 'svg', 'plot', 'json'].filter((k) => given[k] !== undefined && k !== 'json');
    if (writes.length > 0) out.push(`--check-determinism runs twice in memory and writes nothing: ${writes.map((k) => `--${k}`).join(', ')} ignored`);
  }
  if (given['queue-size'] !== undefined && c.profile === 'logstash') {
    const q = t.queues.find((x) => x.name === t.source.output)!;
    out.push(
      c.queueType === 'memory'
        ? `--queue-size does not size Logstash's memory queue: it holds pipeline.batch.size × pipeline.workers (${q.capacity} here)`
        : '--queue-size does not size the persisted queue: --queue-max-events and --queue-max-bytes do',
    );
  }
  return out;
}

function progressBar(fraction: number): string {
  const width = 30;
  const full = Math.round(fraction * width);
  return `\r${'█'.repeat(full)}${'░'.repeat(width - full)} ${(fraction * 100).toFixed(0).padStart(3)}%`;
}

export async function runReplay(argv: string[]): Promise<{ code: number }> {
  const cli = parseReplayArgs(argv);
  for (const w of cli.noEffect) process.stderr.write(`lockstep: warning: ${w}\n`);
  const command = replayCommand(cli.capture, cli.config);
  if (cli.checkDeterminism) {
    const report = checkDeterminism(cli.capture, cli.config);
    if (cli.json) process.stdout.write(jsonLine({ ...report, replay: command }));
    else if (report.divergence === null) process.stdout.write(`deterministic: two runs took the same ${report.steps} steps, hash for hash\n`);
    else {
      const d = report.divergence;
      process.stdout.write(`NOT deterministic: first divergence at step ${d.step}, t=${d.timeNs} ns, stage ${d.stage} (woken by ${d.wakeup}, ${d.transactions} transactions so far)\n`);
    }
    return { code: report.divergence === null ? 0 : 1 };
  }

  // listen before anything is opened, so an early Ctrl-C still ends with whole files
  const signals = new StopSignals();
  const r = new Replay(cli.capture, cli.config, { output: cli.output, ledger: cli.ledger });
  // every store's depth, when a chart is asked for
  const depth = cli.plot || cli.svg ? new Map([...r.stores.keys()].map((name) => [name, new DepthTrace()])) : null;
  if (depth) for (const [name, store] of r.stores) store.onDepth = (now, d) => depth.get(name)!.add(now, d);
  const tty = process.stderr.isTTY === true;
  const size = tty ? statSync(cli.capture).size : 0;
  try {
    // slices of 20,000 steps (a few ms), so Ctrl-C and SIGTERM are heard at once and the progress bar moves;
    // the simulation itself never looks at the clock
    while (!r.run(20_000)) {
      if (tty) process.stderr.write(progressBar(Math.min(1, r.feed.bytes / Math.max(1, size))));
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (signals.requested) break;
    }
  } finally {
    signals.end();
    if (tty) process.stderr.write('\r\u001b[K');
  }
  // a LedgerImbalance goes up to main: one line, exit 3
  const interrupted = signals.requested;
  const summary = interrupted ? r.finishInterrupted() : r.finish();
  if (cli.stats) writeWhole(cli.stats, `${JSON.stringify(nodeStats(summary), null, 2)}\n`);
  if (depth) {
    const chart = depthChart(r, summary, cli.capture, depth);
    if (cli.svg) writeWhole(cli.svg, svgChart(chart.series(240), chart.options));
    if (cli.plot && !cli.json) (cli.output.kind === 'stdout' ? process.stderr : process.stdout).write(terminalChart(chart.series(64), chart.options));
  }
  if (cli.json) process.stdout.write(jsonLine({ ...summary, interrupted, replay: command }));
  // with the events on stdout (`--output stdout | jq`), the summary goes to stderr
  else (cli.output.kind === 'stdout' ? process.stderr : process.stdout).write(formatReplaySummary(summary, command, interrupted));
  for (const w of summary.warnings) process.stderr.write(`lockstep: warning: ${w}\n`);
  if (interrupted) return { code: 130 };
  if (summary.error) {
    process.stderr.write(`lockstep: ${summary.error}\n`);
    return { code: 2 };
  }
  const verdict = gate(cli.maxLoss, [{ name: '', ...lostBy(summary.fates) }]);
  process.stderr.write(verdict.message);
  return { code: verdict.code };
}

/**
 * Each queue's depth over simulated time, up to the shutdown: an abort
 * empties the queue at once, which a trace would draw as a drain, so the
 * trace stops there and a marker says what the abort lost. Markers at the end
 * of the capture and at the shutdown; a note for the drops.
 */
function depthChart(r: Replay, s: ReplaySummary, capture: string, traces: Map<string, DepthTrace>): { series: (buckets: number) => Series[]; options: ChartOptions } {
  const t = r.topology;
  const shutdownNs = s.sourceEndNs + t.shutdown.graceNs + t.shutdown.afterNs;
  const aborts = t.shutdown.stops.length > 0 && shutdownNs <= s.simTimeNs;
  const endNs = aborts ? shutdownNs : s.simTimeNs;
  const lost = s.fates.lost_at_shutdown;
  const markers: Marker[] = [{ x: s.sourceEndNs / 1e9, label: 'capture read' }];
  if (aborts) {
    const where = Object.entries(s.lostAtShutdownBy).filter(([, n]) => n > 0).map(([w, n]) => `${n} ${w === 'in_flight' ? 'in flight' : `in ${w}`}`).join(', ');
    markers.push({ x: shutdownNs / 1e9, label: lost > 0 ? `shutdown (abort): ${lost} lost at once (${where})` : 'shutdown (abort): nothing left to lose' });
  }
  else markers.push({ x: s.simTimeNs / 1e9, label: 'the last event out (a draining shutdown)' });
  const dropped = s.fates.dropped_queue_full;
  return {
    series: (buckets) =>
      t.queues.map((q) => ({
        name: `${q.name} (${q.persisted ? 'persisted' : `capacity ${q.capacity.toLocaleString('en-US')}`})`,
        points: traces.get(q.name)!.points(endNs, buckets),
        style: 'line' as const,
      })),
    options: {
      title: `queue depth over simulated time — ${captureName(capture)}`,
      xLabel: 'simulated time, s',
      yLabel: 'events queued',
      markers,
      notes: dropped > 0 ? [`${dropped.toLocaleString('en-US')} events dropped while a queue was full`] : [],
    },
  };
}

export function formatReplaySummary(s: ReplaySummary, command: string, interrupted = false): string {
  const c = s.counters;
  const lines: string[] = [];
  const cfg = s.config;
  lines.push(
    `${paint.bold(captureName(s.file))}  ${s.packets} packets → ${paint.bold(String(s.transactions))} transactions` +
      `  (${cfg.profile}: queue ${cfg.queueSize} ${cfg.policy}, ${cfg.workers} worker${cfg.workers > 1 ? 's' : ''}, ` +
      `waitstop ${cfg.waitstopNs / 1e9}s then ${cfg.shutdown}, ${cfg.pacing}${cfg.jitter > 0 ? `, jitter ${cfg.jitter} seed ${cfg.seed}` : ''})`,
  );
  if (interrupted) lines.push(paint.yellow('interrupted: the figures below are what had happened so far'));
  const ties = s.selectTies === undefined ? '' : `; at ${s.selectTies} instant${s.selectTies === 1 ? '' : 's'} several were due, run in an order drawn from seed ${cfg.seed} (Go's select)`;
  lines.push(`simulated time ${(s.simTimeNs / 1e9).toFixed(3)} s (capture read by ${(s.sourceEndNs / 1e9).toFixed(3)} s), ${s.steps} steps${ties}`);
  const rows: (string | number)[][] = [['fate', 'events']];
  for (const f of FATES) {
    const n = s.fates[f];
    rows.push([f, n]);
    if (f === 'lost_at_shutdown' && n > 0) for (const w of Object.keys(s.lostAtShutdownBy)) if (s.lostAtShutdownBy[w]! > 0) rows.push([`  ${w.replace("_", " ")}`, s.lostAtShutdownBy[w]]);
  }
  const fateTable = table(rows, ['l', 'r']).split('\n');
  lines.push(paint.underline(fateTable[0]!), ...fateTable.slice(1).map((l) => (/^(dropped|lost)/.test(l) && !/ 0$/.test(l) ? paint.red(l) : l)));
  const profile = profileOf(cfg.profile);
  // packetbeat logs its non-zero expvars at exit; Logstash's and Vector's counters mean something at 0 too
  const own = profile.shipper === 'packetbeat' ? totalNonZero(s.shipper) : Object.entries(s.shipper).map(([k, v]) => `${k}=${v}`).join(' ');
  lines.push(`${profile.shipper}: ${own}`);
  // logp's closing line: the process's age at exit, start-up included (simulated)
  if (cfg.profile === 'packetbeat5') lines.push(`packetbeat: Uptime: ${((STARTUP_NS + s.simTimeNs) / 1e9).toFixed(9).replace(/\.?0+$/, '')}s`);
  lines.push(paint.dim(`lockstep:   ${totalNonZero(c)}`));
  lines.push(`replay this run exactly: ${paint.cyan(command)}`);
  return `${lines.join('\n')}\n`;
}

export const command: Command = { usage: REPLAY_USAGE, run: runReplay };
