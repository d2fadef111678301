import { ConfigError, parseWhole, type PipelineConfig } from '../profiles/index.js';
import { FeedRecording } from './recording.js';
import { Replay, replay } from './replay.js';
import { FIELDS, validateConfig } from '../profiles/index.js';

export interface SweepPoint {
  queueSize: number;
  waitstopNs: number;
  seed: number;
  /** Events written. */
  published: number;
  /** The fates' counts (keys in camelCase, as every key of lockstep's JSON). */
  droppedQueueFull: number;
  lostAtShutdown: number;
  /** What packetbeat's closing line says: libbeat.publisher.published_events. */
  publishedEvents: number;
  /** Counted in published_events and lost at shutdown, never written. */
  publishedNotWritten: number;
}

export interface SweepResult {
  /** `bisection` where queue-full drops are monotone in queue_size (drop policy, costs drawn per slot); `grid` elsewhere. */
  method: 'bisection' | 'grid';
  points: SweepPoint[];
  /** Per waitstop, in the order given: the smallest queue_size without queue-full drops for every seed, null if none in range. */
  minQueueSizeNoDrops: { waitstopNs: number; queueSize: number | null }[];
  /** The smallest waitstop that loses nothing at shutdown at that queue size, for every seed; 0 with `drain`. */
  minWaitstopNoLossNs: number | null;
  /** Queue size at which minWaitstopNoLossNs was measured. */
  minWaitstopAtQueueSize: number;
  replays: number;
  /** A fault in the capture (every replay stopped there; the figures cover what came before it). */
  captureError: string | null;
}

export interface SweepOptions {
  capture: string;
  base: PipelineConfig;
  queueMin: number;
  queueMax: number;
  /** ns */
  waitstops: number[];
  seeds: number[];
  /** Grid points per (waitstop, seed) when bisection does not apply. */
  gridPoints?: number;
  onReplay?: (replays: number) => void;
}

/** `queue_size` as packetbeat reads it: the channel and, where there is one, the pipeline queue. */
export function withQueueSize(c: PipelineConfig, q: number): PipelineConfig {
  return { ...c, queueSize: q, pipelineQueueSize: c.pipelineQueueSize > 0 ? q : 0 };
}

/**
 * The shortest waitstop with which `config` (shutdown `abort`) loses nothing
 * at shutdown: measured on the same run with `drain`, until the last event
 * left the stages an abort stops.
 */
export function drainWaitstopNs(capture: string, config: PipelineConfig, recording?: FeedRecording): number {
  const r = new Replay(capture, { ...config, shutdown: 'drain' }, { recording });
  r.run();
  r.finish();
  return r.minWaitstopNoLossNs();
}

/** Whether `dropped_queue_full` can only fall as queue_size grows (see properties/monotone.test.ts). */
export function dropsMonotone(c: PipelineConfig): boolean {
  // a slowdown by what the stores hold makes the arrivals depend on the queue: the proof no longer applies
  return c.policy === 'drop' && c.drawsPer === 'slot' && c.costs.worker.perByte === 0 && c.costs.output.perByte === 0 && c.gcSlowdown === 0;
}

/** Log-spaced integers from a to b, both included. */
export function logGrid(a: number, b: number, n: number): number[] {
  const out = new Set<number>([a, b]);
  for (let i = 1; i < n - 1; i++) out.add(Math.round(a * (b / a) ** (i / (n - 1))));
  return [...out].sort((x, y) => x - y);
}

/**
 * Drops and losses as a function of queue_size × waitstop × seed, and the
 * smallest settings that lose nothing.
 */
export function sweep(o: SweepOptions): SweepResult {
  checkSweepOptions(o);
  const cache = new Map<string, SweepPoint>();
  let replays = 0;
  let captureError: string | null = null;
  // the replays differ in queue sizes, waitstop and seed only: the capture is read once (each replay checks the recording is its own)
  const recording = FeedRecording.forReplays(o.capture, o.base);
  const run = (queueSize: number, waitstop: number, seed: number): SweepPoint => {
    const key = `${queueSize}/${waitstop}/${seed}`;
    let p = cache.get(key);
    if (p === undefined) {
      const s = replay(o.capture, { ...withQueueSize(o.base, queueSize), waitstopNs: waitstop, seed }, { recording });
      captureError ??= s.error;
      replays++;
      o.onReplay?.(replays);
      p = {
        queueSize, waitstopNs: waitstop, seed, published: s.fates.published, droppedQueueFull: s.fates.dropped_queue_full, lostAtShutdown: s.fates.lost_at_shutdown,
        publishedEvents: s.counters['libbeat.publisher.published_events'], publishedNotWritten: s.counters['publisher.published_not_written'],
      };
      cache.set(key, p);
    }
    return p;
  };
  const monotone = dropsMonotone(o.base);
  const minQueueSizeNoDrops: SweepResult['minQueueSizeNoDrops'] = [];
  for (const w of o.waitstops) {
    let worst: number | null = o.queueMin;
    for (const seed of o.seeds) {
      const min = monotone ? bisect(o, w, seed, run) : gridMin(o, w, seed, run);
      worst = worst === null || min === null ? null : Math.max(worst, min);
    }
    minQueueSizeNoDrops.push({ waitstopNs: w, queueSize: worst });
  }
  // the waitstop that loses nothing at shutdown, measured once per seed from a draining run
  const first = minQueueSizeNoDrops[0]!.queueSize;
  const at = first ?? o.queueMax;
  let minWaitstop: number | null = 0;
  if (o.base.shutdown === 'abort') {
    for (const seed of o.seeds) {
      const need = drainWaitstopNs(o.capture, { ...withQueueSize(o.base, at), seed }, recording);
      replays++;
      o.onReplay?.(replays);
      minWaitstop = Math.max(minWaitstop, need);
    }
    // and a replay at that waitstop shows it
    for (const seed of o.seeds) run(at, minWaitstop, seed);
  }
  const points = [...cache.values()].sort((a, b) => a.waitstopNs - b.waitstopNs || a.seed - b.seed || a.queueSize - b.queueSize);
  return {
    method: monotone ? 'bisection' : 'grid', points, minQueueSizeNoDrops, minWaitstopNoLossNs: minWaitstop,
    minWaitstopAtQueueSize: at, replays, captureError,
  };
}

/** The options as the replays will read them, checked before the first: each error names the option. */
function checkSweepOptions(o: SweepOptions): void {
  validateConfig(o.base);
  FIELDS.queueSize('queueMin', o.queueMin);
  FIELDS.queueSize('queueMax', o.queueMax);
  if (o.queueMin > o.queueMax) throw new ConfigError('queueMax', `at least queueMin (${o.queueMin})`, o.queueMax);
  for (const [key, list, check] of [['waitstops', o.waitstops, FIELDS.waitstopNs], ['seeds', o.seeds, FIELDS.seed]] as const) {
    if (!Array.isArray(list) || list.length === 0) throw new ConfigError(key, 'a list of at least one', list);
    for (const v of list) check(key, v);
  }
  if (o.gridPoints !== undefined) parseWhole('gridPoints', o.gridPoints, 2, 10_000);
}

type Run = (queueSize: number, waitstop: number, seed: number) => SweepPoint;

/** Smallest queue size in range with no queue-full drops, by bisection: drops never grow with the queue. */
function bisect(o: SweepOptions, w: number, seed: number, run: Run): number | null {
  if (run(o.queueMax, w, seed).droppedQueueFull > 0) {
    // none in range: the bottom too, so what was found spans the range (and its chart more than one point)
    run(o.queueMin, w, seed);
    return null;
  }
  if (run(o.queueMin, w, seed).droppedQueueFull === 0) return o.queueMin;
  let lo = o.queueMin; // drops
  let hi = o.queueMax; // no drops
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (run(mid, w, seed).droppedQueueFull === 0) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * Where drops may rise again with a bigger queue: walk a log grid down from
 * the top to the first size that drops, then bisect between it and the grid
 * point above (drop-free). Every grid point above the answer is drop-free;
 * that no size below it is, is not proven.
 */
function gridMin(o: SweepOptions, w: number, seed: number, run: Run): number | null {
  const grid = logGrid(o.queueMin, o.queueMax, o.gridPoints ?? 16);
  let min: number | null = null;
  let i = grid.length - 1;
  for (; i >= 0; i--) {
    if (run(grid[i]!, w, seed).droppedQueueFull > 0) break;
    min = grid[i]!;
  }
  // none in range: the bottom too, as bisect does
  if (min === null) run(o.queueMin, w, seed);
  if (min === null || i < 0) return min;
  let lo = grid[i]!; // drops
  let hi = min; // no drops
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (run(mid, w, seed).droppedQueueFull === 0) hi = mid;
    else lo = mid;
  }
  return hi;
}
