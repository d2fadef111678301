import { Random } from './random.js';

/** Simulated time a stage spends on one service, in ns: per packet, per byte, per event, per batch. */
export interface CostModel {
  perPacket: number;
  perByte: number;
  perEvent: number;
  perBatch: number;
  /** Added once, to the stage's first service: what it does before its first event (packetbeat's output opening its file). */
  warmup: number;
}

export interface JitterOptions {
  /** Log-normal spread of each service around its base cost (0 = off). */
  sigma: number;
  /** Spread of the whole run's speed per stage: the machine, other load (log-normal). */
  runSigma: number;
  /** A stall (a GC pause, a slow disk) comes on average once per this much work, ns. */
  stallEveryNs: number;
  /** Mean stall, ns (exponential). */
  stallMeanNs: number;
}

/** A stage that costs nothing (Vector's pump, the Beats memory queue's event loop). */
export const NO_COST: CostModel = { perPacket: 0, perByte: 0, perEvent: 0, perBatch: 0, warmup: 0 };

export const NO_JITTER: JitterOptions = { sigma: 0, runSigma: 0, stallEveryNs: Infinity, stallMeanNs: 0 };

/** What `--jitter SIGMA` turns on: per-service noise SIGMA, run-wide speed SIGMA/10, a ~3 ms stall per ~100 ms of work. */
export function jitterOptions(sigma: number): JitterOptions {
  return { sigma, runSigma: sigma / 10, stallEveryNs: 100_000_000, stallMeanNs: 3_000_000 };
}

/**
 * One stage's clock cost: base cost × (when jitter is on) a run-wide factor ×
 * a per-service log-normal factor, plus rare stalls. Each stage draws from its
 * own stream, and the n-th service always uses the n-th draws (exactly four a
 * service), so a draw belongs to a service slot, never to an event.
 */
export type DrawsPer = 'slot' | 'event';
export const DRAWS_PER: readonly DrawsPer[] = ['slot', 'event'];

export class StageCost {
  private readonly rng: Random | null;
  /** The stream name of `event` draws, made once: not a string per service. */
  private readonly eventStream: string;
  private readonly runFactor: number;
  private served = false;

  constructor(
    readonly stage: string,
    readonly model: CostModel,
    private readonly jitter: JitterOptions,
    private readonly seed: number,
    /**
     * `slot`: the n-th service draws the n-th numbers of the stage's stream.
     * `event`: a service's noise belongs to the event it serves (drawn from
     * the event's id), the setting of Whitt's counterexamples.
     */
    readonly drawsPer: DrawsPer = 'slot',
  ) {
    const on = jitter.sigma > 0 || jitter.runSigma > 0 || jitter.stallEveryNs < Infinity;
    this.rng = on ? new Random(seed, `cost.${stage}`) : null;
    this.eventStream = `cost.${stage}.event`;
    this.runFactor = this.rng && jitter.runSigma > 0 ? Math.exp(jitter.runSigma * this.rng.normal() - (jitter.runSigma * jitter.runSigma) / 2) : 1;
  }

  /** Cost of the next service slot, an integer number of ns. `eventId` keys the draws when they belong to events. */
  next(packets: number, bytes: number, events: number, batches: number, eventId = 0): number {
    const m = this.model;
    let base = m.perPacket * packets + m.perByte * bytes + m.perEvent * events + m.perBatch * batches;
    if (!this.served) {
      this.served = true;
      base += m.warmup;
    }
    let rng = this.rng;
    if (rng === null) return Math.round(base);
    if (this.drawsPer === 'event') rng = new Random(this.seed ^ Math.imul(eventId, 0x9e3779b1), this.eventStream);
    const j = this.jitter;
    const noise = Math.exp(j.sigma * rng.normal() - (j.sigma * j.sigma) / 2);
    const stallDraw = rng.float();
    const stallSize = rng.float();
    // stalls arrive in proportion to the work done, so a stage of many small services stalls no more often
    const stall = stallDraw < base / j.stallEveryNs ? -j.stallMeanNs * Math.log(1 - stallSize) : 0;
    return Math.round(base * this.runFactor * noise + stall);
  }
}
