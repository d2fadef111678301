import { describe, expect, it } from 'vitest';
import type { Transaction } from '../protocols/index.js';
import { Ledger, LedgerImbalance } from './ledger.js';

/** The ledger reads a transaction's id only. */
const tx = (id: number) => ({ id }) as unknown as Transaction;

describe('Ledger', () => {
  it('takes one fate per transaction, across word boundaries and growth, and refuses a second', () => {
    const ledger = new Ledger(null);
    const ids = [1, 2, 31, 32, 33, 63, 64, 1023, 1024, 32_767, 32_768, 100_001];
    for (const id of ids) ledger.admit(tx(id));
    for (const id of ids) ledger.record(tx(id), id % 2 === 0 ? 'published' : 'dropped_queue_full', id, 'queue', 0);
    expect(ledger.transactions).toBe(ids.length);
    expect(ledger.fates).toEqual({ published: 5, dropped_queue_full: 7, lost_at_shutdown: 0, lost_in_crash: 0, output_failed: 0, filtered: 0 });
    for (const id of ids) {
      expect(() => ledger.record(tx(id), 'lost_at_shutdown', 7, 'queue', 0)).toThrow(
        new LedgerImbalance(`transaction ${id} was given a second fate (lost_at_shutdown at 7 ns)`),
      );
    }
    // neighbours of the ids given a fate are still free
    for (const id of [3, 30, 34, 65, 1022, 1025, 100_000, 100_002]) {
      ledger.admit(tx(id));
      ledger.record(tx(id), 'filtered', 0, 'worker.1', 0);
    }
    expect(ledger.fates.filtered).toBe(8);
  });
});

describe('Ledger: where shutdown loses events', () => {
  it('counts the three usual places always, and any other store of the topology', () => {
    const ledger = new Ledger(null, ['reporter', 'queue']);
    expect(ledger.lostAtShutdownBy).toEqual({ queue: 0, pipeline: 0, in_flight: 0, reporter: 0 });
    for (const id of [1, 2, 3]) ledger.admit(tx(id));
    ledger.record(tx(1), 'lost_at_shutdown', 5, 'reporter', 0);
    ledger.record(tx(2), 'lost_at_shutdown', 5, 'in_flight', 0);
    ledger.record(tx(3), 'published', 5, 'worker.1', 0);
    expect(ledger.lostAtShutdownBy).toEqual({ queue: 0, pipeline: 0, in_flight: 1, reporter: 1 });
    expect(ledger.fates.lost_at_shutdown).toBe(2);
  });
});
