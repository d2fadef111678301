/**
 * Fits a profile's costs to runs a user observed on their own machine: the
 * analyzer's scale to the analysis time their `Uptime:` lines imply, the
 * publishing path's scale (the stages behind the analyzer) to their median
 * published count, and the jitter to the spread of their counts.
 */
import { profileOf, type Costs, type PipelineConfig } from '../profiles/index.js';
import type { CostModel } from '../sim/cost.js';
import { FeedRecording } from './recording.js';
import { Replay, replay } from './replay.js';

export interface Observed {
  /** `libbeat.publisher.published_events` of each run. */
  published: number[];
  /** Each run's `Uptime:` (ns), when the user has them; they set the analyzer's speed. */
  uptimeNs?: number[];
  /** The process's start-up within its uptime (ns). */
  startupNs: number;
}

export interface CalibrateOptions {
  capture: string;
  /** The configuration the observed runs had (queue_size, waitstop, …); its costs are the starting point. */
  base: PipelineConfig;
  observed: Observed;
  /** Seeds to fit the jitter over (default 10). */
  seeds?: number;
  onReplay?: (replays: number) => void;
}

export interface Calibration {
  /** The configuration that reproduces the runs: the base, its costs scaled, the jitter fitted. */
  config: PipelineConfig;
  analyzerScale: number;
  publishScale: number;
  observed: { runs: number; median: number; cvPct: number | null; uptimeMedianNs: number | null };
  /** Without jitter: its published count and uptime; with the jitter, over the seeds. */
  simulated: { published: number; uptimeNs: number; seeds: number[]; seedMedian: number | null; seedCvPct: number | null };
  /** (simulated − observed) / observed, in %. */
  errorPct: { published: number; uptime: number | null; seedMedian: number | null };
  replays: number;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Sample coefficient of variation in %, or null for fewer than two values. */
export function cvPct(xs: readonly number[]): number | null {
  if (xs.length < 2) return null;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1));
  return mean === 0 ? null : (sd / mean) * 100;
}

// whole ns (a per-byte cost to 1/10,000 ns): the replay line says them exactly
const ns = (x: number) => Math.round(x);
const scaled = (m: CostModel, k: number): CostModel => ({
  perPacket: ns(m.perPacket * k),
  perByte: Math.round(m.perByte * k * 1e4) / 1e4,
  perEvent: ns(m.perEvent * k),
  perBatch: ns(m.perBatch * k),
  warmup: ns(m.warmup * k),
});

/** The base's costs with the analyzer's scaled by `a` and every stage behind it by `b`. */
export function scaleCosts(c: Costs, a: number, b: number): Costs {
  return { analyzer: scaled(c.analyzer, a), worker: scaled(c.worker, b), output: scaled(c.output, b) };
}

export function calibrate(o: CalibrateOptions): Calibration {
  const base: PipelineConfig = { ...o.base, jitter: 0 };
  let replays = 0;
  // the replays differ in costs, jitter and seed only: the capture is read once (each replay checks the recording is its own)
  const recording = FeedRecording.forReplays(o.capture, base);
  const run = (c: PipelineConfig) => {
    const r = new Replay(o.capture, c, { recording });
    r.run();
    const s = r.finish();
    o.onReplay?.(++replays);
    return { published: s.counters['libbeat.publisher.published_events'], sourceEndNs: s.sourceEndNs, simTimeNs: s.simTimeNs };
  };
  const shutdown = profileOf(base.profile).topology(base).shutdown;
  const uptime = (simTimeNs: number) => o.observed.startupNs + simTimeNs;

  // the analyzer: its time to read the capture, as the observed uptimes leave it (uptime − start-up − end-of-file sleep − waitstop)
  const uptimes = o.observed.uptimeNs ?? [];
  const analysisNs = uptimes.length > 0 ? median(uptimes) - o.observed.startupNs - shutdown.graceNs - shutdown.afterNs : 0;
  const target = median(o.observed.published);
  const at = (a: number, b: number) => ({ ...base, costs: scaleCosts(o.base.costs, a, b) });
  let analyzerScale = 1;
  let best = { b: 1, published: NaN, gap: Infinity, simTimeNs: 0 };
  // the two fits depend on each other when the stores slow the analyzer (gcSlowdown): a few rounds of each
  const rounds = base.gcSlowdown > 0 ? 3 : 1;
  for (let round = 0; round < rounds; round++) {
    if (analysisNs > 0) {
      const r = run(at(analyzerScale, best.b));
      if (r.sourceEndNs > 0) analyzerScale *= analysisNs / r.sourceEndNs;
    }
    // the publishing path: published falls as its stages slow down; bisect the scale (log) to the observed median
    let lo = Math.log(1 / 256);
    let hi = Math.log(256);
    best = { b: 1, published: NaN, gap: Infinity, simTimeNs: 0 };
    for (let i = 0; i < 40 && hi - lo > 1e-4; i++) {
      const mid = (lo + hi) / 2;
      const b = Math.exp(mid);
      const r = run(at(analyzerScale, b));
      const gap = Math.abs(r.published - target);
      if (gap < best.gap) best = { b, published: r.published, gap, simTimeNs: r.simTimeNs };
      if (gap === 0) break;
      if (r.published > target) lo = mid;
      else hi = mid;
    }
  }
  const fitted = at(analyzerScale, best.b);

  // the jitter: the smallest sigma whose seeds spread as the observed runs do (the spread grows with sigma)
  const observedCv = cvPct(o.observed.published);
  const seedCount = o.seeds ?? 10;
  let jitter = 0;
  let seeds: number[] = [];
  if (observedCv !== null && observedCv > 0) {
    const spread = (sigma: number) => {
      const counts: number[] = [];
      for (let seed = 1; seed <= seedCount; seed++) counts.push(replay(o.capture, { ...fitted, jitter: sigma, seed }, { recording }).counters['libbeat.publisher.published_events']);
      replays += seedCount;
      o.onReplay?.(replays);
      return counts;
    };
    let sLo = 0;
    let sHi = 2;
    for (let i = 0; i < 7; i++) {
      const mid = (sLo + sHi) / 2;
      const counts = spread(mid);
      if ((cvPct(counts) ?? 0) < observedCv) sLo = mid;
      else sHi = mid;
    }
    jitter = Math.round(((sLo + sHi) / 2) * 100) / 100;
    seeds = spread(jitter);
  }
  const config = { ...fitted, jitter, seed: jitter > 0 ? 1 : base.seed };
  const pct = (sim: number, obs: number) => ((sim - obs) / obs) * 100;
  const uptimeMedian = uptimes.length > 0 ? median(uptimes) : null;
  const simUptime = uptime(best.simTimeNs);
  return {
    config,
    analyzerScale,
    publishScale: best.b,
    observed: { runs: o.observed.published.length, median: target, cvPct: observedCv, uptimeMedianNs: uptimeMedian },
    simulated: { published: best.published, uptimeNs: simUptime, seeds, seedMedian: seeds.length > 0 ? median(seeds) : null, seedCvPct: cvPct(seeds) },
    errorPct: {
      published: pct(best.published, target),
      uptime: uptimeMedian === null ? null : pct(simUptime, uptimeMedian),
      seedMedian: seeds.length > 0 ? pct(median(seeds), target) : null,
    },
    replays,
  };
}
