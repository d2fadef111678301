import { statSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  ConfigError,
  parseBool,
  parseChoice,
  parseDuration,
  parseNumber,
  parsePorts,
  parseWhole,
  PROFILES,
  readConfigFile,
  resolveConfig,
  settingPatch,
  type ConfigPatch,
  type PipelineConfig,
  type ProfileName,
} from '../pipeline/config.js';
import { FATES, LOST_WHERE } from '../pipeline/ledger.js';
import { Replay, type OutputTarget, type ReplaySummary } from '../pipeline/replay.js';
import type { Process, Wakeup } from '../sim/scheduler.js';
import { totalNonZero } from './analyze.js';
import { svgChart, terminalChart } from './chart.js';
import { onePositional, withUsage } from './args.js';
import { UsageError } from './errors.js';
import { scenario } from './scenario.js';
import { paint, table } from './style.js';

export const REPLAY_USAGE = `lockstep replay CAPTURE|--scenario issue-3404 [options]
lockstep replay -c packetbeat.yml -I CAPTURE -t -E packetbeat.protocols.redis.ports=7101 -waitstop 5

One run of the simulated pipeline: summary, counters, the fate of every transaction.
  --profile P            packetbeat5 (default), packetbeat6 or logstash
  -c FILE                packetbeat.yml or logstash.yml (queue_size, bulk_queue_size,
                         packetbeat.protocols.redis.ports, pipeline.workers, pipeline.batch.size,
                         pipeline.batch.delay, queue.type); -E key=value overrides one key
  --ports LIST, --tcp reassemble|packetbeat
  --pacing topspeed|timestamps (-t is topspeed), --speed X
  --queue-size N, --policy drop|block, --pipeline-queue-size N, --drain-pipeline true|false
  --workers W, --batch-size B, --batch-delay D
  --waitstop D (5, 5s, 500ms), --shutdown abort|drain
  --seed S, --jitter [SIGMA] (default 0.5), --draws-per slot|event (whose the jitter is)
  --cost STAGE.FIELD=NS (analyzer|worker|output .perPacket|perByte|perEvent|perBatch)
  --drop-method LIST, --output-failure-rate R
  --out FILE | --output stdout|none, --ledger FILE, --stats FILE, --json
  --check-determinism    run twice, hash every step, report the first divergence
  --plot, --svg FILE     the publisher queue's depth over simulated time, in the terminal / as SVG`;

/** packetbeat's single-dash flags, turned into ours. */
function translatePacketbeatArgs(argv: string[]): { args: string[]; packetbeatStyle: boolean; topspeed: boolean } {
  const args: string[] = [];
  let packetbeatStyle = false;
  let topspeed = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    switch (a) {
      case '-I':
        packetbeatStyle = true;
        args.push('--capture');
        break;
      case '-t':
        topspeed = true;
        break;
      case '-E':
        args.push('--set');
        break;
      case '-c':
        args.push('--config');
        break;
      case '-waitstop':
        args.push('--waitstop');
        break;
      case '-e':
      case '-d':
        break; // log to stderr / debug selectors: nothing to do here
      case '--jitter': {
        const next = argv[i + 1];
        args.push('--jitter', next !== undefined && /^\d*\.?\d+$/.test(next) ? argv[++i]! : '0.5');
        break;
      }
      default:
        args.push(a);
    }
  }
  return { args, packetbeatStyle, topspeed };
}

export interface ReplayCli {
  capture: string;
  config: PipelineConfig;
  output: OutputTarget;
  ledger?: string;
  stats?: string;
  json: boolean;
  checkDeterminism: boolean;
  /** Draw the publisher queue's depth over simulated time in the terminal; `svg` writes it to a file. */
  plot: boolean;
  svg?: string;
}

export function parseReplayArgs(argv: string[]): ReplayCli {
  const { args, packetbeatStyle, topspeed } = translatePacketbeatArgs(argv);
  const { values, positionals } = withUsage('replay', () =>
    parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        capture: { type: 'string' },
        scenario: { type: 'string' },
        config: { type: 'string' },
        set: { type: 'string', multiple: true },
        profile: { type: 'string' },
        ports: { type: 'string' },
        tcp: { type: 'string' },
        pacing: { type: 'string' },
        speed: { type: 'string' },
        'queue-size': { type: 'string' },
        policy: { type: 'string' },
        'pipeline-queue-size': { type: 'string' },
        'drain-pipeline': { type: 'string' },
        workers: { type: 'string' },
        'batch-size': { type: 'string' },
        'batch-delay': { type: 'string' },
        waitstop: { type: 'string' },
        shutdown: { type: 'string' },
        seed: { type: 'string' },
        jitter: { type: 'string' },
        'draws-per': { type: 'string' },
        cost: { type: 'string', multiple: true },
        'drop-method': { type: 'string' },
        'output-failure-rate': { type: 'string' },
        out: { type: 'string' },
        output: { type: 'string' },
        ledger: { type: 'string' },
        stats: { type: 'string' },
        json: { type: 'boolean' },
        'check-determinism': { type: 'boolean' },
        plot: { type: 'boolean' },
        svg: { type: 'string' },
      },
    }),
  );
  const sources = [values.capture, values.scenario, ...positionals].filter((x) => x !== undefined);
  if (sources.length !== 1) {
    if (values.scenario === undefined && values.capture === undefined) onePositional(positionals, 'CAPTURE', 'replay');
    throw new UsageError('lockstep replay: give one capture: CAPTURE, -I CAPTURE or --scenario NAME');
  }
  const bundled = values.scenario !== undefined ? scenario(values.scenario) : null;
  const capture = bundled?.capture ?? values.capture ?? positionals[0]!;

  const patches: ConfigPatch[] = [];
  let profile: ProfileName = 'packetbeat5';
  if (bundled) patches.push({ ports: bundled.ports });
  if (values.config !== undefined) {
    const file = readConfigFile(values.config);
    if (file.profile) profile = file.profile;
    patches.push(...file.patches);
  }
  // packetbeat reading a file without -t replays at the capture's own pace
  if (packetbeatStyle) patches.push({ pacing: topspeed ? 'topspeed' : 'timestamps' });
  else if (topspeed) patches.push({ pacing: 'topspeed' });
  for (const kv of values.set ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new ConfigError('-E', 'key=value', kv);
    patches.push(settingPatch(kv.slice(0, eq), kv.slice(eq + 1), '-E: '));
  }
  if (values.profile !== undefined) profile = parseChoice('--profile', values.profile, PROFILES);
  const flag: ConfigPatch = {};
  const v = values;
  if (v.ports !== undefined) flag.ports = parsePorts('--ports', v.ports);
  if (v.tcp !== undefined) flag.tcp = parseChoice('--tcp', v.tcp, ['reassemble', 'packetbeat'] as const);
  if (v.pacing !== undefined) flag.pacing = parseChoice('--pacing', v.pacing, ['topspeed', 'timestamps'] as const);
  if (v.speed !== undefined) flag.speed = parseNumber('--speed', v.speed, 1e-6);
  if (v['queue-size'] !== undefined) flag.queueSize = parseWhole('--queue-size', v['queue-size'], 1, 100_000_000);
  if (v.policy !== undefined) flag.policy = parseChoice('--policy', v.policy, ['drop', 'block'] as const);
  if (v['pipeline-queue-size'] !== undefined) flag.pipelineQueueSize = parseWhole('--pipeline-queue-size', v['pipeline-queue-size'], 0, 100_000_000);
  if (v['drain-pipeline'] !== undefined) flag.drainPipeline = parseBool('--drain-pipeline', v['drain-pipeline']);
  if (v.workers !== undefined) flag.workers = parseWhole('--workers', v.workers, 1, 1024);
  if (v['batch-size'] !== undefined) flag.batchSize = parseWhole('--batch-size', v['batch-size'], 1, 1_000_000);
  if (v['batch-delay'] !== undefined) flag.batchDelayNs = parseDuration('--batch-delay', v['batch-delay'], '', 'ms');
  if (v.waitstop !== undefined) flag.waitstopNs = parseDuration('--waitstop', v.waitstop);
  if (v.shutdown !== undefined) flag.shutdown = parseChoice('--shutdown', v.shutdown, ['abort', 'drain'] as const);
  if (v.seed !== undefined) flag.seed = parseWhole('--seed', v.seed, 0, 0xffffffff);
  if (v.jitter !== undefined) flag.jitter = parseNumber('--jitter', v.jitter, 0, 10);
  if (v['draws-per'] !== undefined) flag.drawsPer = parseChoice('--draws-per', v['draws-per'], ['slot', 'event'] as const);
  if (v['drop-method'] !== undefined) flag.dropMethods = v['drop-method'].split(',').map((m) => m.trim().toUpperCase()).filter(Boolean);
  if (v['output-failure-rate'] !== undefined) flag.outputFailureRate = parseNumber('--output-failure-rate', v['output-failure-rate'], 0, 1);
  for (const c of v.cost ?? []) {
    const m = /^(analyzer|worker|output)\.(perPacket|perByte|perEvent|perBatch)=(.+)$/.exec(c);
    if (!m) throw new ConfigError('--cost', 'STAGE.FIELD=NS with STAGE analyzer|worker|output and FIELD perPacket|perByte|perEvent|perBatch', c);
    const stage = m[1] as 'analyzer' | 'worker' | 'output';
    flag.costs = { ...flag.costs, [stage]: { ...flag.costs?.[stage], [m[2]!]: parseNumber(`--cost ${m[1]}.${m[2]}`, m[3], 0) } };
  }
  patches.push(flag);
  const config = resolveConfig(profile, patches);

  let output: OutputTarget = { kind: 'none' };
  if (v.out !== undefined && v.output !== undefined && v.output !== 'file') throw new UsageError('lockstep replay: give --out FILE or --output stdout|none, not both');
  if (v.out !== undefined) output = { kind: 'file', path: v.out };
  else if (v.output !== undefined) {
    const kind = parseChoice('--output', v.output, ['stdout', 'none'] as const);
    output = { kind };
  }
  if (output.kind === 'stdout' && v.json) throw new UsageError('lockstep replay: --json prints the summary on stdout; write events with --out FILE');
  return {
    capture, config, output, ledger: v.ledger, stats: v.stats, json: v.json ?? false,
    checkDeterminism: v['check-determinism'] ?? false, plot: v.plot ?? false, svg: v.svg,
  };
}

function ns(n: number): string {
  return `${n}ns`;
}

/** The command line that replays this run exactly: every setting spelled out. */
export function replayCommand(capture: string, c: PipelineConfig): string {
  const args = [
    'lockstep', 'replay', capture,
    '--profile', c.profile,
    '--ports', c.ports.join(','),
    '--tcp', c.tcp,
    '--pacing', c.pacing,
    '--speed', String(c.speed),
    '--queue-size', String(c.queueSize),
    '--policy', c.policy,
    '--pipeline-queue-size', String(c.pipelineQueueSize),
    ...(c.drainPipeline ? [] : ['--drain-pipeline', 'false']),
    '--workers', String(c.workers),
    '--batch-size', String(c.batchSize),
    '--batch-delay', ns(c.batchDelayNs),
    '--waitstop', ns(c.waitstopNs),
    '--shutdown', c.shutdown,
    '--seed', String(c.seed),
    '--jitter', String(c.jitter),
    ...(c.drawsPer !== 'slot' ? ['--draws-per', c.drawsPer] : []),
  ];
  const defaults = resolveConfig(c.profile, []).costs;
  for (const stage of ['analyzer', 'worker', 'output'] as const) {
    for (const field of ['perPacket', 'perByte', 'perEvent', 'perBatch'] as const) {
      if (c.costs[stage][field] !== defaults[stage][field]) args.push('--cost', `${stage}.${field}=${c.costs[stage][field]}`);
    }
  }
  if (c.dropMethods.length > 0) args.push('--drop-method', c.dropMethods.join(','));
  if (c.outputFailureRate > 0) args.push('--output-failure-rate', String(c.outputFailureRate));
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** FNV-1a over the numbers of each step, chained: one hash per step. */
function stepHasher(hashes: number[]) {
  const stages = new Map<string, number>();
  let h = 0x811c9dc5;
  const mix = (x: number) => {
    h = Math.imul(h ^ (x & 0xffff), 0x01000193);
    h = Math.imul(h ^ ((x / 65536) & 0xffff), 0x01000193);
    h = Math.imul(h ^ Math.floor(x / 4294967296), 0x01000193);
  };
  return (r: Replay) => (_step: number, time: number, p: Process, wakeup: Wakeup, arg: number) => {
    let s = stages.get(p.stage);
    if (s === undefined) stages.set(p.stage, (s = stages.size + 1));
    let w = stages.get(wakeup);
    if (w === undefined) stages.set(wakeup, (w = stages.size + 1));
    mix(time);
    mix(s);
    mix(w);
    mix(arg);
    mix(r.queue.depth);
    mix(r.ledger.transactions);
    hashes.push(h >>> 0);
  };
}

export interface DeterminismReport {
  steps: number;
  divergence: { step: number; timeNs: number; stage: string; wakeup: string; transactions: number } | null;
}

/** Runs the replay twice in this process, hashing the state at every step; reports the first step that differs. */
export function checkDeterminism(capture: string, config: PipelineConfig): DeterminismReport {
  const first: number[] = [];
  const a = new Replay(capture, config);
  a.scheduler.hook = stepHasher(first)(a);
  a.run();
  a.finish();
  const second: number[] = [];
  const b = new Replay(capture, config);
  let divergence: DeterminismReport['divergence'] = null;
  const hashB = stepHasher(second)(b);
  b.scheduler.hook = (step, time, p, wakeup, arg) => {
    hashB(step, time, p, wakeup, arg);
    if (divergence === null && second[step - 1] !== first[step - 1]) {
      divergence = { step, timeNs: time, stage: p.stage, wakeup, transactions: b.ledger.transactions };
    }
  };
  b.run();
  b.finish();
  if (divergence === null && first.length !== second.length) {
    const step = Math.min(first.length, second.length) + 1;
    divergence = { step, timeNs: b.scheduler.now, stage: '(end)', wakeup: '(none)', transactions: b.ledger.transactions };
  }
  return { steps: first.length, divergence };
}

/** Queue depth changes, kept as the deepest point per time bucket so a long run stays small. */
export class DepthTrace {
  private readonly times: number[] = [];
  private readonly depths: number[] = [];

  add(now: number, depth: number): void {
    const n = this.times.length;
    if (n > 0 && this.times[n - 1] === now) {
      if (depth > this.depths[n - 1]!) this.depths[n - 1] = depth;
      return;
    }
    this.times.push(now);
    this.depths.push(depth);
  }

  /** At most `buckets` points over [0, end]: the deepest queue in each bucket (x in seconds). */
  points(endNs: number, buckets: number): [number, number][] {
    const width = Math.max(1, endNs) / buckets;
    const max = new Array<number>(buckets + 1).fill(-1);
    let last = 0;
    let j = 0;
    for (let b = 0; b <= buckets; b++) {
      const until = (b + 1) * width;
      let m = last;
      while (j < this.times.length && this.times[j]! < until) {
        last = this.depths[j]!;
        if (last > m) m = last;
        j++;
      }
      max[b] = m;
    }
    return max.map((d, b): [number, number] => [(b * width) / 1e9, d]);
  }
}

function progressBar(fraction: number): string {
  const width = 30;
  const full = Math.round(fraction * width);
  return `\r${'█'.repeat(full)}${'░'.repeat(width - full)} ${(fraction * 100).toFixed(0).padStart(3)}%`;
}

export async function runReplay(argv: string[]): Promise<{ code: number }> {
  const cli = parseReplayArgs(argv);
  const command = replayCommand(cli.capture, cli.config);
  if (cli.checkDeterminism) {
    const report = checkDeterminism(cli.capture, cli.config);
    if (cli.json) process.stdout.write(`${JSON.stringify({ ...report, replay: command })}\n`);
    else if (report.divergence === null) process.stdout.write(`deterministic: two runs took the same ${report.steps} steps, hash for hash\n`);
    else {
      const d = report.divergence;
      process.stdout.write(`NOT deterministic: first divergence at step ${d.step}, t=${d.timeNs} ns, stage ${d.stage} (woken by ${d.wakeup}, ${d.transactions} transactions so far)\n`);
    }
    return { code: report.divergence === null ? 0 : 1 };
  }

  // listen before anything is opened, so an early Ctrl-C still ends with whole files
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
  };
  process.on('SIGINT', onSigint);
  const r = new Replay(cli.capture, cli.config, { output: cli.output, ledger: cli.ledger });
  const depth = cli.plot || cli.svg ? new DepthTrace() : null;
  if (depth) r.queue.onDepth = (now, d) => depth.add(now, d);
  const tty = process.stderr.isTTY === true;
  const size = tty ? statSync(cli.capture).size : 0;
  try {
    // slices, so Ctrl-C is heard and the progress bar moves; the simulation itself never looks at the clock
    while (!r.run(200_000)) {
      if (tty) process.stderr.write(progressBar(Math.min(1, r.feed.bytes / Math.max(1, size))));
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (interrupted) break;
    }
  } finally {
    process.off('SIGINT', onSigint);
    if (tty) process.stderr.write('\r\u001b[K');
  }
  // a LedgerImbalance goes up to main: one line, exit 3
  const summary = interrupted ? r.finishInterrupted() : r.finish();
  if (cli.stats) writeFileSync(cli.stats, `${JSON.stringify(nodeStats(summary), null, 2)}\n`);
  if (depth) {
    const series = [{ name: `publisher queue (queue_size ${cli.config.queueSize})`, points: depth.points(summary.simTimeNs, 240) }];
    const o = { title: `queue depth over simulated time — ${cli.capture}`, xLabel: 'simulated time, s', yLabel: 'events queued' };
    if (cli.svg) writeFileSync(cli.svg, svgChart(series, o));
    if (cli.plot && !cli.json) process.stdout.write(terminalChart(series.map((x) => ({ ...x, points: depth.points(summary.simTimeNs, 64) })), o));
  }
  if (cli.json) process.stdout.write(`${JSON.stringify({ ...summary, interrupted, replay: command })}\n`);
  else process.stdout.write(formatReplaySummary(summary, command, interrupted));
  for (const w of summary.warnings) process.stderr.write(`lockstep: warning: ${w}\n`);
  if (interrupted) return { code: 130 };
  if (summary.error) {
    process.stderr.write(`lockstep: ${summary.error}\n`);
    return { code: 2 };
  }
  return { code: 0 };
}

/** Logstash's `_node/stats/pipelines` shape. */
export function nodeStats(s: ReplaySummary) {
  return {
    pipelines: {
      main: {
        events: s.logstash.events,
        queue: { type: 'memory', capacity: s.config.queueSize, max_depth: s.counters['publisher.queue_max_depth'] },
      },
    },
  };
}

export function formatReplaySummary(s: ReplaySummary, command: string, interrupted = false): string {
  const c = s.counters;
  const lines: string[] = [];
  const cfg = s.config;
  lines.push(
    `${paint.bold(s.file)}  ${s.packets} packets → ${paint.bold(String(s.transactions))} transactions` +
      `  (${cfg.profile}: queue ${cfg.queueSize} ${cfg.policy}, ${cfg.workers} worker${cfg.workers > 1 ? 's' : ''}, ` +
      `waitstop ${cfg.waitstopNs / 1e9}s then ${cfg.shutdown}, ${cfg.pacing}${cfg.jitter > 0 ? `, jitter ${cfg.jitter} seed ${cfg.seed}` : ''})`,
  );
  if (interrupted) lines.push(paint.yellow('interrupted: the figures below are what had happened so far'));
  lines.push(`simulated time ${(s.simTimeNs / 1e9).toFixed(3)} s (capture read by ${(s.sourceEndNs / 1e9).toFixed(3)} s), ${s.steps} steps`);
  const rows: (string | number)[][] = [['fate', 'events']];
  for (const f of FATES) {
    const n = s.fates[f];
    rows.push([f, n]);
    if (f === 'lost_at_shutdown' && n > 0) for (const w of LOST_WHERE) if (s.lostAtShutdownBy[w] > 0) rows.push([`  ${w.replace("_", " ")}`, s.lostAtShutdownBy[w]]);
  }
  const fateTable = table(rows, ['l', 'r']).split('\n');
  lines.push(paint.underline(fateTable[0]!), ...fateTable.slice(1).map((l) => (/^(dropped|lost)/.test(l) && !/ 0$/.test(l) ? paint.red(l) : l)));
  const ls = s.logstash.events;
  lines.push(`logstash: events in ${ls.in}, filtered ${ls.filtered}, out ${ls.out}, duration_in_millis ${ls.duration_in_millis}, queue_push_duration_in_millis ${ls.queue_push_duration_in_millis}`);
  const packetbeat: Record<string, number> = {
    'libbeat.publisher.published_events': c['libbeat.publisher.published_events'],
    'redis.unmatched_responses': c['redis.unmatched_responses'],
    'tcp.dropped_because_of_gaps': c['tcp.dropped_because_of_gaps'],
  };
  lines.push(`packetbeat: ${totalNonZero(packetbeat)}`);
  lines.push(paint.dim(`lockstep:   ${totalNonZero(c)}`));
  lines.push(`replay this run exactly: ${paint.cyan(command)}`);
  return `${lines.join('\n')}\n`;
}
