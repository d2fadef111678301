import type { Equation, Transaction } from '../protocols/index.js';
import type { NdjsonWriter } from './ndjson.js';

/** The one fate each transaction gets. */
export const FATES = ['published', 'dropped_queue_full', 'lost_at_shutdown', 'lost_in_crash', 'output_failed', 'filtered'] as const;
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
  readonly fates: FateCounts = { published: 0, dropped_queue_full: 0, lost_at_shutdown: 0, lost_in_crash: 0, output_failed: 0, filtered: 0 };
  /** Events written a second time (a persisted queue's redelivery after a crash): lines beyond `published`. */
  duplicated = 0;
  /** Events that reached the output again, whatever became of them (written: {@link duplicated}; or filtered or failed again). */
  redelivered = 0;
  /** Events counted in published_events, then forgotten by a crash before their fate, and read again (to be counted again). */
  recounted = 0;
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
  /** What identifies a transaction beside its id, as `,"key":value` JSON members (the ledger file's lines). */
  describe: ((tx: Transaction) => string) | null = null;

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

  /** Whether `tx` has its fate already. */
  hasFate(tx: Transaction): boolean {
    return (this.given[tx.id >>> 5]! & (1 << (tx.id & 31))) !== 0;
  }

  /** `tx`, published before, was written again (not a fate: the event keeps its first). */
  duplicate(tx: Transaction, timeNs: number, where: string): void {
    this.duplicated++;
    this.out?.write(`{"id":${tx.id},"fate":"duplicated","time_ns":${timeNs},"where":"${where}","depth":0${this.describe?.(tx) ?? ''}}`);
  }

  /**
   * Shutdown finds `tx` in a store or a stage's hands. An event written
   * before a crash and read again (a persisted queue's) keeps its first
   * fate; if it was counted again, that count is a redelivery's.
   */
  lostAtShutdown(tx: Transaction, timeNs: number, where: string, counted: boolean): void {
    if (!this.hasFate(tx)) this.record(tx, 'lost_at_shutdown', timeNs, where, 0, counted);
    else if (counted) this.redelivered++;
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
    this.out?.write(`{"id":${tx.id},"fate":"${fate}","time_ns":${timeNs},"where":"${where}","depth":${depth}${counted ? ',"counted":true' : ''}${this.describe?.(tx) ?? ''}}`);
  }

  /**
   * The ledger's equations (docs/DESIGN.md), then the protocols' own over
   * their counters; throws {@link LedgerImbalance} naming the first that fails.
   */
  check(analyzed: number, protocols: readonly Equation[], linesWritten: number, publishedEvents: number | null = null): void {
    const f = this.fates;
    const sum = f.published + f.dropped_queue_full + f.lost_at_shutdown + f.lost_in_crash + f.output_failed + f.filtered;
    const equations: Equation[] = [
      ['transactions = published + dropped_queue_full + lost_at_shutdown + lost_in_crash + output_failed + filtered', this.transactions, sum],
      ['transactions = what the analyzers completed', this.transactions, analyzed],
      ...protocols,
      ['lines written = published + duplicated', linesWritten, f.published + this.duplicated],
      // packetbeat counts an event once, before handing it on: what it counted is what was written, or lost or failed after
      // an event read again after a crash is counted again as it reaches the output
      ...(publishedEvents === null
        ? []
        : [['published_events = fates of the events it counted + redelivered + recounted', publishedEvents, this.counted + this.redelivered + this.recounted] as Equation]),
    ];
    for (const [name, left, right] of equations) {
      if (left !== right) throw new LedgerImbalance(`ledger does not balance: ${name} (${left} ≠ ${right})`);
    }
  }
}
