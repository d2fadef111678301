import { runLive } from '../live/live.js';
import { jsonLine } from './errors.js';
import { parseWhole, resolveConfig } from '../profiles/index.js';
import { replay as replayOnce, type ReplaySummary } from '../pipeline/replay.js';
import { drainWaitstopNs, sweep, withQueueSize } from '../pipeline/sweep.js';
import { parseWith } from './args.js';
import { configFlagsPatch, parseArgsOptions, replayCommand, type Flag } from '../pipeline/replay-line.js';
import { configFlag, optionsUsage, type FlagValues } from './options.js';
import { scenario, captureName } from '../gen/scenarios.js';
import { paint } from '../style.js';
import type { Command } from './command.js';

/**
 * The jitter of the seeded runs: log-normal sigma 0.8 spreads published_events
 * over seeds 1-20 with a coefficient of variation of 9.9 % on the bundled
 * scenario, as runs of packetbeat 5's real code spread (8-12 %; 12.5-21 % on
 * this machine's loaded cores: golden/oracles/pipeline/).
 */
const SEED_JITTER = 0.8;

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
  /** Seed → published count, with --jitter {@link SEED_JITTER}. */
  seeds: Record<string, number>;
  /** Published counts of simulated runs without jitter: all equal. */
  sim: number[];
  /** Where the run without jitter lost its events: the channel (uncounted), and at exit (counted as published, never written, or not). */
  lost: { droppedQueueFull: number; lostAtShutdown: number; inQueue: number; inPipeline: number; inFlight: number; publishedNotWritten: number };
  fixes: {
    minQueueSizeNoDrops: number | null;
    minWaitstopNoLossNs: number | null;
    atQueueSize: number;
    lossless: { replay: string; published: number };
    /** queue_size of every transaction: the channel cannot fill on any machine; the waitstop its drain needs here, in whole seconds. */
    anyMachine: { queueSize: number; waitstopNs: number; replay: string; published: number };
    blockDrain: { replay: string; published: number };
    sweepReplays: number;
  };
}

export async function runRepro(argv: string[]): Promise<{ code: number }> {
  const parsed = parseWith('repro', { args: argv, allowPositionals: true, strict: true, options: parseArgsOptions(REPRO_OPTIONS) });
  const { positionals } = parsed;
  const values = parsed.values as FlagValues<typeof REPRO_OPTIONS>;
  const bundled = positionals.length === 0 ? scenario('issue-3404') : null;
  const capture = bundled?.capture ?? positionals[0]!;
  const ports = configFlagsPatch(parsed.values).ports ?? bundled?.ports ?? [6379];
  const runs = values.runs !== undefined ? parseWhole('--runs', values.runs, 1, 100) : 3;
  const seeds = values.seeds !== undefined ? parseWhole('--seeds', values.seeds, 1, 1000) : 5;
  const { error, ...result } = await repro(capture, { ports, runs, seeds, say: values.json ? undefined : (line) => process.stdout.write(`${line}\n`) });
  if (values.json) process.stdout.write(jsonLine(result));
  if (error) {
    // every run stopped at the same fault: what came before it is reported above
    process.stderr.write(`lockstep: ${error}\n`);
    return { code: 2 };
  }
  return { code: 0 };
}

/** How {@link repro} runs: the capture's Redis ports, live runs, seeds, and where its story is told. */
export interface ReproOptions {
  /** Default 6379. */
  ports?: number[];
  /** Live runs and simulated runs without jitter (default 3). */
  runs?: number;
  /** Seeded runs, seeds 1..N (default 5). */
  seeds?: number;
  /** Each line of the story, as `lockstep repro` prints it (default: told to nobody). */
  say?: (line: string) => void;
}

/**
 * elastic/beats#3404 start to finish on a capture, as `lockstep repro`:
 * live runs on real threads that disagree, seeded simulated runs that each
 * replay exactly, the run without jitter that never varies, where its lost
 * events went, and the settings that lose nothing. `error`: the capture's
 * fault, if reading stopped at one (every run stopped there).
 */
export async function repro(capture: string, opts: ReproOptions = {}): Promise<ReproResult & { error: string | null }> {
  const ports = opts.ports ?? [6379];
  const runs = opts.runs ?? 3;
  const seedCount = opts.seeds ?? 5;
  const say = (line = '') => opts.say?.(line);
  const base = resolveConfig('packetbeat5', [{ ports }]);

  say(paint.bold(`elastic/beats#3404, reproduced on ${captureName(capture)}`));
  say(`packetbeat 5.x, -t, queue_size ${base.queueSize}, -waitstop 0. The report's three runs published 13,859, 14,619 and 15,006 events.`);
  say();
  say(paint.bold('1. Live: the analyzer, the channel, the publisher, the pipeline queue and the output on real threads and the real clock'));
  const live: number[] = [];
  let transactions = 0;
  for (let i = 0; i < runs; i++) {
    const r = await runLive(capture, { ports, tcp: base.tcp, queueSize: base.queueSize, waitstopMs: 0 });
    transactions = r.transactions;
    live.push(r.published);
    say(`   run ${i + 1}: wrote ${r.published} of ${r.transactions}, published_events=${r.publishedEvents} (dropped when the channel was full: ${r.droppedQueueFull}; at exit, still in the channel: ${r.lostInChannel}, counted but unwritten: ${r.publishedNotWritten})`);
  }
  const distinct = new Set(live).size;
  const verdict =
    live.length === 1
      ? 'One run cannot show runs differing (give --runs 3)'
      : distinct === live.length
        ? paint.yellow('Every run differs')
        : distinct > 1
          ? paint.yellow(`${distinct} different counts in ${live.length} runs`)
          : `These ${live.length} runs happened to agree`;
  say(`   ${verdict}, and none of them can be replayed: the loss depends on how the threads were scheduled.`);
  say();

  say(paint.bold('2. Seeded: each seed is one possible real run, and it replays exactly'));
  const seeds: Record<string, number> = {};
  for (let seed = 1; seed <= seedCount; seed++) {
    const c = { ...base, jitter: SEED_JITTER, seed };
    const s = replayOnce(capture, c);
    seeds[String(seed)] = s.fates.published;
    say(`   seed ${seed}: published ${s.fates.published}`);
  }
  say(`   replay any of them: ${paint.dim(replayCommand(capture, { ...base, jitter: SEED_JITTER, seed: 1 }).replace(/--seed 1\b/, '--seed N'))}`);
  const again = replayOnce(capture, { ...base, jitter: SEED_JITTER, seed: 1 });
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
  const by = summary!.lostAtShutdownBy;
  const notWritten = summary!.counters['publisher.published_not_written'];
  const lost = {
    droppedQueueFull: f.dropped_queue_full,
    lostAtShutdown: f.lost_at_shutdown,
    inQueue: by.queue,
    inPipeline: by.pipeline,
    inFlight: by.in_flight,
    publishedNotWritten: notWritten,
  };
  const pc = summary!.counters;
  say(paint.bold('4. Where the lost events went (the ledger of run 3)'));
  say(`   ${summary!.transactions} transactions: ${f.published} written, ${f.dropped_queue_full} dropped while the capture was read, because the queue_size channel was full;`);
  say(
    f.lost_at_shutdown === 0
      ? `   none lost at exit: the 300 ms packetbeat sleeps at the end of the file let the channel and the worker queue drain.`
      : `   ${f.lost_at_shutdown} lost at exit (${by.queue} in the channel, ${by.pipeline} in the worker queue, ${by.in_flight} in a goroutine's hands), ${notWritten} of them counted as published and never written.`,
  );
  say(`   packetbeat counted none of the ${f.dropped_queue_full} dropped${notWritten > 0 ? `, and counted ${notWritten} it never wrote` : ''}; its closing line only had`);
  say(`   libbeat.publisher.published_events=${pc['libbeat.publisher.published_events']} redis.unmatched_responses=${pc['redis.unmatched_responses']} tcp.dropped_because_of_gaps=${pc['tcp.dropped_because_of_gaps']}`);
  say();

  say(paint.bold('5. Settings that lose nothing'));
  const sw = sweep({ capture, base, queueMin: 1, queueMax: 200_000, waitstops: [0], seeds: [0] });
  const minQ = sw.minQueueSizeNoDrops[0]!.queueSize ?? null;
  // packetbeat 5's -waitstop is whole seconds (an int flag): the shortest it accepts that covers the drain
  const need = sw.minWaitstopNoLossNs ?? 0;
  const lossless = { ...withQueueSize(base, sw.minWaitstopAtQueueSize), waitstopNs: Math.ceil(need / 1e9) * 1e9 };
  const losslessRun = replayOnce(capture, lossless);
  // packetbeat 6+ reading a file blocks instead of dropping; its shutdown_timeout must outlast the drain
  const pb6 = resolveConfig('packetbeat6', [{ ports }]);
  const blockDrain = { ...pb6, waitstopNs: drainWaitstopNs(capture, pb6) };
  const blockRun = replayOnce(capture, blockDrain);
  const how =
    sw.method === 'bisection'
      ? `is the smallest with no queue-full drops (bisection, ${sw.replays} replays)`
      : `is the smallest with no queue-full drops that a log grid, then bisection below its first drop-free point, found (drops need not fall as the queue grows here, so a smaller one is not ruled out; ${sw.replays} replays)`;
  say(`   queue_size ${minQ ?? '> 200000'} ${how};`);
  say(
    `   with it, -waitstop ${lossless.waitstopNs / 1e9} loses nothing at exit (the drain takes ${(need / 1e9).toFixed(3)} s after the 300 ms sleep; packetbeat takes whole seconds): ` +
      `published ${losslessRun.fates.published} of ${losslessRun.transactions}`,
  );
  say(`   ${paint.dim(replayCommand(capture, lossless))}`);
  // the smallest drop-free queue depends on how fast the analyzer outruns the output, so on the machine: one that
  // holds every transaction of the capture cannot fill anywhere, and the drain after the file is what the waitstop covers
  const total = summary!.transactions;
  const everything = withQueueSize(base, Math.max(1, total));
  const anyMachine = { ...everything, waitstopNs: Math.max(1, Math.ceil(drainWaitstopNs(capture, everything) / 1e9)) * 1e9 };
  const anyMachineRun = replayOnce(capture, anyMachine);
  say(
    `   that queue_size is this model's, at the report machine's costs; queue_size ${total} (every transaction) cannot fill on any machine, ` +
      `and -waitstop ${anyMachine.waitstopNs / 1e9} covers the drain at these costs: published ${anyMachineRun.fates.published} of ${anyMachineRun.transactions}`,
  );
  say(`   ${paint.dim(replayCommand(capture, anyMachine))}`);
  say(`   or packetbeat 6+, which blocks instead of dropping when it reads a file, with shutdown_timeout ${(blockDrain.waitstopNs / 1e9).toFixed(3)} s (its memory queue shows the output a last, short buffer only at flush.timeout): published ${blockRun.fates.published} of ${blockRun.transactions}`);
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
      minWaitstopNoLossNs: sw.minWaitstopNoLossNs,
      atQueueSize: sw.minWaitstopAtQueueSize,
      lossless: { replay: replayCommand(capture, lossless), published: losslessRun.fates.published },
      anyMachine: { queueSize: total, waitstopNs: anyMachine.waitstopNs, replay: replayCommand(capture, anyMachine), published: anyMachineRun.fates.published },
      blockDrain: { replay: replayCommand(capture, blockDrain), published: blockRun.fates.published },
      sweepReplays: sw.replays,
    },
  };
  return { ...result, error: summary!.error };
}

export const command: Command = { usage: REPRO_USAGE, run: runRepro };
