import type { Equation, Transaction } from '../protocols/index.js';
import type { NdjsonWriter } from './ndjson.js';

/** The one fate each transaction gets. */
export const FATES = ['published', 'dropped_queue_full', 'lost_at_shutdown', 'output_failed', 'filtered'] as const;
export type Fate = (typeof FATES)[number];

/**
 * Where an event was when shutdown lost it: in one of the topology's stores,
 * or `in_flight` in a stage's hands. These three are always counted (zero
 * when a profile has no such store); a profile's other stores add theirs.
 */
export const LOST_WHERE = ['queue', 'pipeline', 'in_flight'] as const;

export type FateCounts = Record<Fate, number>;
export type LostCounts = Record<(typeof LOST_WHERE)[number], number> & Record<string, number>;

/** An equation of DESIGN.md's ledger that did not balance: a bug in lockstep, never in the input. */
export class LedgerImbalance extends Error {
  override readonly name = 'LedgerImbalance';
}

/**
 * The fate of every transaction: counted, checked to be given once, and
 * (with `--ledger FILE`) written as one NDJSON line each.
 */
export class Ledger {
  readonly fates: FateCounts = { published: 0, dropped_queue_full: 0, lost_at_shutdown: 0, output_failed: 0, filtered: 0 };
  readonly lostAtShutdownBy: LostCounts = { queue: 0, pipeline: 0, in_flight: 0 };
  /** Transactions seen (each must get exactly one fate). */
  transactions = 0;
  /** Fates given to events packetbeat had already counted in `published_events` (published, and what was lost or failed after). */
  counted = 0;
  /** Of those, events lost at shutdown: counted as published, never written. */
  countedLost = 0;
  /** One bit per transaction id: set once it has its fate. */
  private given = new Int32Array(1024);

  /** `stores`: the topology's stores, where shutdown may lose events. */
  constructor(
    private readonly out: NdjsonWriter | null,
    stores: readonly string[] = [],
  ) {
    for (const s of stores) this.lostAtShutdownBy[s] ??= 0;
  }

  /** A transaction entered the pipeline. */
  admit(tx: Transaction): void {
    this.transactions++;
    if (tx.id >>> 5 >= this.given.length) {
      const bigger = new Int32Array(Math.max(this.given.length * 2, (tx.id >>> 5) + 1));
      bigger.set(this.given);
      this.given = bigger;
    }
  }

  /** `counted`: the event had been counted in `published_events` before this fate. */
  record(tx: Transaction, fate: Fate, timeNs: number, where: string, depth: number, counted = false): void {
    const bit = 1 << (tx.id & 31);
    if ((this.given[tx.id >>> 5]! & bit) !== 0) throw new LedgerImbalance(`transaction ${tx.id} was given a second fate (${fate} at ${timeNs} ns)`);
    this.given[tx.id >>> 5]! |= bit;
    this.fates[fate]++;
    if (fate === 'lost_at_shutdown') this.lostAtShutdownBy[where]++;
    if (counted) {
      this.counted++;
      if (fate === 'lost_at_shutdown') this.countedLost++;
    }
    this.out?.write(`{"id":${tx.id},"fate":"${fate}","time_ns":${timeNs},"where":"${where}","depth":${depth}${counted ? ',"counted":true' : ''}}`);
  }

  /**
   * The ledger's equations (docs/DESIGN.md), then the protocols' own over
   * their counters; throws {@link LedgerImbalance} naming the first that fails.
   */
  check(analyzed: number, protocols: readonly Equation[], linesWritten: number, publishedEvents: number | null = null): void {
    const f = this.fates;
    const sum = f.published + f.dropped_queue_full + f.lost_at_shutdown + f.output_failed + f.filtered;
    const equations: Equation[] = [
      ['transactions = published + dropped_queue_full + lost_at_shutdown + output_failed + filtered', this.transactions, sum],
      ['transactions = what the analyzers completed', this.transactions, analyzed],
      ...protocols,
      ['lines written = published', linesWritten, f.published],
      // packetbeat counts an event once, before handing it on: what it counted is what was written, or lost or failed after
      ...(publishedEvents === null ? [] : [['published_events = fates of the events it counted', publishedEvents, this.counted] as Equation]),
    ];
    for (const [name, left, right] of equations) {
      if (left !== right) throw new LedgerImbalance(`ledger does not balance: ${name} (${left} ≠ ${right})`);
    }
  }
}
