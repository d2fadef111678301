import { describe, expect, it } from 'vitest';
import { Scheduler, type Process, type Wakeup } from './scheduler.js';
import { Store } from './store.js';

const MS = 1_000_000;

/** A process that only writes down when, and why, it was woken. */
function recorder(log: string[], name: string): Process {
  return { stage: name, run: (now: number, wakeup: Wakeup) => log.push(`${name} ${wakeup} @${now / MS}ms`) };
}

/** A memory queue of 100 with buffers of 3 and a 10 ms flush timeout, and an output waiting on it that logs its wake-ups. */
function memqueue() {
  const s = new Scheduler();
  const q = new Store<number>('queue', 100, s, { minEvents: 3, timeoutNs: 10 * MS }, true);
  const log: string[] = [];
  const consumer = recorder(log, 'output');
  q.wait(consumer);
  return { s, q, log, consumer };
}

describe('Store as the Beats memory queue (eventloop.go bufferingEventLoop), worked by hand', () => {
  it('shows events a buffer at a time: at flush.min_events, and no sooner', () => {
    const { s, q, log } = memqueue();
    q.tryPut(1);
    q.tryPut(2);
    expect([q.depth, q.takeable]).toEqual([2, 0]);
    q.tryPut(3);
    expect(q.takeable).toBe(3);
    s.runUntil(0);
    // woken once, by the put that completed the buffer
    expect(log).toEqual(['output item @0ms']);
    // the next buffer starts empty and unseen
    q.tryPut(4);
    expect([q.depth, q.takeable]).toEqual([4, 3]);
  });

  it('flush.timeout counts from the buffer\'s first event, is not restarted, and a flushed buffer shows what joins it at once', () => {
    const { s, q, log, consumer } = memqueue();
    q.tryPut(1); // at 0 ms: the timer starts, due at 10 ms
    s.runUntil(4 * MS);
    s.now = 4 * MS;
    q.tryPut(2); // at 4 ms: the timer goes on
    s.runUntil(9 * MS);
    expect(q.takeable).toBe(0);
    s.runUntil(10 * MS);
    expect(q.takeable).toBe(2);
    expect(log).toEqual(['output item @10ms']);
    // still the current buffer, flushed: an event that joins it is visible at once
    s.now = 11 * MS;
    q.tryPut(3);
    expect(q.takeable).toBe(3);
    // the output takes the buffer: the next event starts a new, unseen one, with its own timer (due at 22 ms)
    for (let i = 0; i < 3; i++) q.take(11 * MS);
    s.now = 12 * MS;
    q.tryPut(4);
    expect([q.depth, q.takeable]).toEqual([1, 0]);
    q.wait(consumer);
    s.runUntil(21 * MS);
    expect(q.takeable).toBe(0);
    s.runUntil(22 * MS);
    expect(q.takeable).toBe(1);
    expect(log).toEqual(['output item @10ms', 'output item @22ms']);
  });

  it('one get returns events of one buffer only', () => {
    const s = new Scheduler();
    const q = new Store<number>('queue', 100, s, { minEvents: 2, timeoutNs: 10 * MS }, true);
    for (let i = 1; i <= 5; i++) q.tryPut(i);
    // two full buffers and a third of one: a get sees the first buffer's two
    expect([q.depth, q.takeable]).toEqual([5, 2]);
    q.take(0);
    expect(q.takeable).toBe(1);
    q.take(0);
    expect(q.takeable).toBe(2);
  });

  it('room comes back when the output acknowledges what it took, not when it takes it', () => {
    const s = new Scheduler();
    const q = new Store<number>('queue', 2, s, null, true);
    const log: string[] = [];
    const producer = recorder(log, 'reporter');
    expect([q.tryPut(1), q.tryPut(2)]).toEqual([true, true]);
    q.take(0);
    q.take(0);
    // empty, but both events are still the queue's until acknowledged
    expect([q.depth, q.tryPut(3)]).toEqual([0, false]);
    q.block(producer, 0);
    s.runUntil(0);
    expect(log).toEqual([]);
    q.ack(2, 3 * MS);
    s.runUntil(3 * MS);
    expect(log).toEqual(['reporter room @3ms']);
    expect(q.tryPut(3)).toBe(true);
    // the producer waited 3 ms: queue_push_duration counts it
    expect([q.pushBlockedNs, q.pushBlockedWholeMs]).toEqual([3 * MS, 3]);
  });
});
