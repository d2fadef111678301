import { describe, expect, it } from 'vitest';
import { pipelinedGets, scriptedCapture, ZERO_COST } from '../../test/support/capture.js';
import { Replay } from '../pipeline/replay.js';
import { resolveConfig, type ConfigPatch } from '../profiles/index.js';

const ZERO = ZERO_COST;
const MS = 1_000_000;
const KEYS = 'abcdefghij'.split('');

/** Ten pipelined GETs at t=0, their ten replies in one segment at 0.5 µs: ten events at 2 µs. */
const TEN = pipelinedGets(KEYS);

/** Logstash with the persisted queue: one worker, batches of 2 taken at once, 1 ms an event; checkpoint.acks 4, no write checkpoints. */
function run(patch: ConfigPatch) {
  const c = resolveConfig('logstash', [
    {
      tcp: 'reassemble', queueType: 'persisted', workers: 1, batchSize: 2, batchDelayNs: 0, checkpointWrites: 0, checkpointAcks: 4,
      costs: { analyzer: { ...ZERO, perPacket: 1000 }, worker: { ...ZERO, perEvent: MS } },
    },
    patch,
  ]);
  const r = new Replay(scriptedCapture(TEN), c, { output: { kind: 'memory' } });
  const fates: string[] = [];
  const record = r.ledger.record.bind(r.ledger);
  r.ledger.record = (tx, fate, time, where, depth, counted) => {
    fates.push(`${tx.id} ${fate} @${time} ${where}`);
    record(tx, fate, time, where, depth, counted);
  };
  const duplicate = r.ledger.duplicate.bind(r.ledger);
  r.ledger.duplicate = (tx, time, where) => {
    fates.push(`${tx.id} duplicated @${time} ${where}`);
    duplicate(tx, time, where);
  };
  r.run();
  return { summary: r.finish(), fates };
}

describe("Logstash's persisted queue", () => {
  it('without a crash: batches of 2 every 2 ms, each event written once', () => {
    const { summary, fates } = run({});
    expect(fates).toEqual(KEYS.map((_, i) => `${i + 1} published @${(2 * Math.floor(i / 2) + 2) * MS + 2000} worker.1`));
    expect(summary.fates).toMatchObject({ published: 10, lost_in_crash: 0 });
  });

  it('a crash reads again from the checkpoint: what was acked since is written twice', () => {
    // acks: [1,2] at 2.002 ms (first unacked 3: not 4 past the checkpoint's 0), [3,4] at 4.002 ms (5 ≥ 0 + 4:
    // checkpoint, first unacked 5), [5,6] at 6.002 ms (7 < 5 + 4: none). The crash at 7 ms, with [7,8] in service:
    // recovery reads 5..10 again; 5 and 6 were written already
    const { summary, fates } = run({ crashAtNs: 7 * MS });
    expect(fates).toEqual([
      '1 published @2002000 worker.1',
      '2 published @2002000 worker.1',
      '3 published @4002000 worker.1',
      '4 published @4002000 worker.1',
      '5 published @6002000 worker.1',
      '6 published @6002000 worker.1',
      '5 duplicated @9000000 worker.1',
      '6 duplicated @9000000 worker.1',
      '7 published @11000000 worker.1',
      '8 published @11000000 worker.1',
      '9 published @13000000 worker.1',
      '10 published @13000000 worker.1',
    ]);
    expect(summary.fates).toMatchObject({ published: 10, lost_in_crash: 0 });
    expect(summary.duplicated).toBe(2);
    expect(summary.counters['output.lines_written']).toBe(12);
  });

  it('after a power loss, what was never fsync\'d is gone; after a process crash the OS kept it, and all of it is read again', () => {
    // at 3 ms nothing was checkpointed (no write checkpoints; the first ack checkpoint is at 4.002 ms): [3,4] in service
    const power = run({ crashAtNs: 3 * MS, crashPowerLoss: true });
    expect(power.fates).toEqual([
      '1 published @2002000 worker.1',
      '2 published @2002000 worker.1',
      // 3 and 4, in the worker's hands, were on no disk either
      '3 lost_in_crash @3000000 in_flight',
      '4 lost_in_crash @3000000 in_flight',
      ...[5, 6, 7, 8, 9, 10].map((id) => `${id} lost_in_crash @3000000 queue`),
    ]);
    expect(power.summary.duplicated).toBe(0);
    // a process crash: the page holds all ten, its checkpoint says nothing was acked: 1 and 2 are written twice
    const proc = run({ crashAtNs: 3 * MS });
    expect(proc.fates.filter((f) => f.includes('duplicated'))).toEqual(['1 duplicated @5000000 worker.1', '2 duplicated @5000000 worker.1']);
    expect(proc.summary.fates).toMatchObject({ published: 10, lost_in_crash: 0 });
  });

  it('queue.max_events: the write happens, then the writer waits while the unread events reach the limit', () => {
    // max 3 unread: 1, 2, 3 written at 2 µs, the third fills it; the worker takes [1,2] at once, so 4 and 5 follow
    // (5 fills it again); from then each batch taken lets two more in
    const { summary } = run({ queueMaxEvents: 3 });
    expect(summary.fates.published).toBe(10);
    expect(summary.counters['publisher.queue_max_depth']).toBe(3);
    expect(summary.shipper['events.queue_push_duration_in_millis']).toBe(2 + 2 + 2);
  });
});
