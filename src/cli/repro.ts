import { parseArgs } from 'node:util';
import { runLive } from '../live/live.js';
import { parseWhole, resolveConfig } from '../profiles/index.js';
import { replay as replayOnce, type ReplaySummary } from '../pipeline/replay.js';
import { sweep, withQueueSize } from '../pipeline/sweep.js';
import { withUsage } from './args.js';
import { configFlagsPatch, parseArgsOptions, replayCommand, type Flag } from '../pipeline/replay-line.js';
import { configFlag, optionsUsage, type FlagValues } from './options.js';
import { scenario } from '../gen/scenarios.js';
import { paint } from '../style.js';
import type { Command } from './command.js';

const REPRO_OPTIONS = [
  configFlag('ports'),
  { name: 'runs', value: 'N', help: 'live runs, and simulated runs without jitter (default 3)' },
  { name: 'seeds', value: 'N', help: 'seeded simulated runs, seeds 1 to N (default 5)' },
  { name: 'json', help: 'the result as one JSON object on stdout' },
] as const satisfies readonly Flag[];

export const REPRO_USAGE = `lockstep repro [CAPTURE] [--ports LIST] [--runs N] [--seeds N] [--json]

elastic/beats#3404 start to finish (default: the bundled issue-3404 scenario): live runs on real
threads that disagree, seeded simulated runs that each replay exactly, the simulated run that never
varies, where the lost events went, and the settings that lose nothing.
${optionsUsage(REPRO_OPTIONS)}`;

export interface ReproResult {
  capture: string;
  transactions: number;
  /** Published counts of the live runs (real threads, real clock). */
  live: number[];
  /** Seed → published count, with --jitter 0.5. */
  seeds: Record<string, number>;
  /** Published counts of simulated runs without jitter: all equal. */
  sim: number[];
  lost: { dropped_queue_full: number; lost_at_shutdown: number; in_queue: number; in_flight: number };
  fixes: {
    minQueueSizeNoDrops: number | null;
    minWaitstopNoLossNs: number | null;
    atQueueSize: number;
    lossless: { replay: string; published: number };
    blockDrain: { replay: string; published: number };
    sweepReplays: number;
  };
}

export async function runRepro(argv: string[]): Promise<{ code: number }> {
  const parsed = withUsage('repro', () => parseArgs({ args: argv, allowPositionals: true, strict: true, options: parseArgsOptions(REPRO_OPTIONS) }));
  const { positionals } = parsed;
  const values = parsed.values as FlagValues<typeof REPRO_OPTIONS>;
  const bundled = positionals.length === 0 ? scenario('issue-3404') : null;
  const capture = bundled?.capture ?? positionals[0]!;
  const ports = configFlagsPatch(parsed.values).ports ?? bundled?.ports ?? [6379];
  const runs = values.runs !== undefined ? parseWhole('--runs', values.runs, 1, 100) : 3;
  const seedCount = values.seeds !== undefined ? parseWhole('--seeds', values.seeds, 1, 1000) : 5;
  const out = values.json ? null : process.stdout;
  const say = (s = '') => out?.write(`${s}\n`);
  const base = resolveConfig('packetbeat5', [{ ports }]);

  say(paint.bold(`elastic/beats#3404, reproduced on ${capture}`));
  say(`packetbeat 5.x, -t, queue_size ${base.queueSize}, -waitstop 0. The report's three runs published 13,859, 14,619 and 15,006 events.`);
  say();
  say(paint.bold('1. Live: the same stages on real threads and the real clock'));
  const live: number[] = [];
  let transactions = 0;
  for (let i = 0; i < runs; i++) {
    const r = await runLive(capture, { ports, tcp: base.tcp, queueSize: base.queueSize, waitstopMs: 0 });
    transactions = r.transactions;
    live.push(r.published);
    say(`   run ${i + 1}: published ${r.published} of ${r.transactions} (dropped when the channel was full: ${r.droppedQueueFull}, still queued at exit: ${r.lostAtShutdown})`);
  }
  say(`   ${new Set(live).size > 1 ? paint.yellow('Every run differs') : 'These runs happened to agree'}, and none of them can be replayed: the loss depends on how the threads were scheduled.`);
  say();

  say(paint.bold('2. Seeded: each seed is one possible real run, and it replays exactly'));
  const seeds: Record<string, number> = {};
  for (let seed = 1; seed <= seedCount; seed++) {
    const c = { ...base, jitter: 0.5, seed };
    const s = replayOnce(capture, c);
    seeds[String(seed)] = s.fates.published;
    say(`   seed ${seed}: published ${s.fates.published}`);
  }
  say(`   replay any of them: ${paint.dim(replayCommand(capture, { ...base, jitter: 0.5, seed: 1 }).replace(/--seed 1\b/, '--seed N'))}`);
  const again = replayOnce(capture, { ...base, jitter: 0.5, seed: 1 });
  say(`   seed 1 again: published ${again.fates.published} — ${again.fates.published === seeds['1'] ? 'the same, to the event' : paint.red('DIFFERENT: a determinism bug')}`);
  say();

  say(paint.bold('3. Simulated without jitter: the same count every time'));
  const sim: number[] = [];
  let summary: ReplaySummary | null = null;
  for (let i = 0; i < runs; i++) {
    summary = replayOnce(capture, base);
    sim.push(summary.fates.published);
  }
  say(`   ${sim.map((n, i) => `run ${i + 1}: ${n}`).join(',  ')}`);
  say();

  const f = summary!.fates;
  const lost = {
    dropped_queue_full: f.dropped_queue_full,
    lost_at_shutdown: f.lost_at_shutdown,
    in_queue: summary!.lostAtShutdownBy.queue,
    in_flight: summary!.lostAtShutdownBy.in_flight,
  };
  say(paint.bold('4. Where the lost events went (the ledger of run 3)'));
  say(`   ${summary!.transactions} transactions: ${f.published} published, ${f.dropped_queue_full} dropped because the queue_size channel was full,`);
  say(`   ${f.lost_at_shutdown} still queued when packetbeat exited (${lost.in_queue} in the channel, ${lost.in_flight} in the publisher's hands).`);
  say(`   packetbeat counted none of the ${f.dropped_queue_full + f.lost_at_shutdown} lost; its closing line only had`);
  say(`   libbeat.publisher.published_events=${summary!.counters['libbeat.publisher.published_events']} redis.unmatched_responses=${summary!.counters['redis.unmatched_responses']} tcp.dropped_because_of_gaps=${summary!.counters['tcp.dropped_because_of_gaps']}`);
  say();

  say(paint.bold('5. Settings that lose nothing'));
  const sw = sweep({ capture, base, queueMin: 1, queueMax: 200_000, waitstops: [0], seeds: [0] });
  const minQ = sw.minQueueSizeNoDrops['0'] ?? null;
  const lossless = { ...withQueueSize(base, sw.minWaitstopAtQueueSize), waitstopNs: sw.minWaitstopNoLoss ?? 0 };
  const losslessRun = replayOnce(capture, lossless);
  const blockDrain = { ...base, policy: 'block' as const, shutdown: 'drain' as const };
  const blockRun = replayOnce(capture, blockDrain);
  say(`   queue_size ${minQ ?? '> 200000'} is the smallest with no queue-full drops (bisection, ${sw.replays} replays);`);
  say(`   with it, -waitstop ${((sw.minWaitstopNoLoss ?? 0) / 1e9).toFixed(3)} s is the shortest that loses nothing at exit: published ${losslessRun.fates.published} of ${losslessRun.transactions}`);
  say(`   ${paint.dim(replayCommand(capture, lossless))}`);
  say(`   or block instead of dropping and drain at exit (packetbeat 6+ reading a file, Logstash): published ${blockRun.fates.published} of ${blockRun.transactions}`);
  say(`   ${paint.dim(replayCommand(capture, blockDrain))}`);

  const result: ReproResult = {
    capture,
    transactions: transactions || summary!.transactions,
    live,
    seeds,
    sim,
    lost,
    fixes: {
      minQueueSizeNoDrops: minQ,
      minWaitstopNoLossNs: sw.minWaitstopNoLoss,
      atQueueSize: sw.minWaitstopAtQueueSize,
      lossless: { replay: replayCommand(capture, lossless), published: losslessRun.fates.published },
      blockDrain: { replay: replayCommand(capture, blockDrain), published: blockRun.fates.published },
      sweepReplays: sw.replays,
    },
  };
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  if (summary!.error) {
    // every run stopped at the same fault: what came before it is reported above
    process.stderr.write(`lockstep: ${summary!.error}\n`);
    return { code: 2 };
  }
  return { code: 0 };
}

export const command: Command = { usage: REPRO_USAGE, run: runRepro };
