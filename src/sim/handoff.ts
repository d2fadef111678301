import type { Clock, Process } from './scheduler.js';
import { Store } from './store.js';

/**
 * Logstash 6.0's memory queue, a `java.util.concurrent.SynchronousQueue`
 * (logstash-core/lib/logstash/util/wrapped_synchronous_queue.rb at v6.0.0):
 * - it holds nothing: `push` is `put`, which returns once a worker's `poll`
 *   has received the event. Here the event waits in a slot of one and its
 *   producer waits until a worker takes it (released then, its wait counted);
 * - `read_batch` holds the read client's mutex while it polls event by event
 *   (`ReadBatch#read_next`: `@queue.poll(@wait)` up to the batch size,
 *   returning at the first poll that times out), so one worker reads at a
 *   time: the first to take an event reads until its batch is served.
 */
export class HandoffQueue<T> extends Store<T> {
  /** The worker whose read_batch holds the mutex. */
  private reader: Process | null = null;

  constructor(
    name: string,
    clock: Clock,
    /**
     * The producer `offer`s instead (lockstep's `--policy drop`): the event is
     * handed over only if a worker is polling for it now, else it is dropped.
     */
    private readonly offer = false,
  ) {
    super(name, 1, clock);
  }

  /** The producer's put returns only when a worker took the event. */
  override get mustWait(): boolean {
    return !this.offer && this.depth > 0;
  }

  /** A worker is polling: the one whose read holds the mutex, or any when none does. */
  private get polling(): boolean {
    return this.reader === null ? this.waiters.length > 0 : this.waiters.includes(this.reader);
  }

  override get full(): boolean {
    return super.full || (this.offer && !this.polling);
  }

  override tryPut(item: T): boolean {
    // the worker reading now is the one the event wakes
    this.wakesFirst(this.reader);
    return super.tryPut(item);
  }

  override takeableBy(consumer: Process): number {
    return this.reader !== null && this.reader !== consumer ? 0 : this.depth;
  }

  override take(now: number, consumer?: Process): T {
    if (consumer !== undefined) this.reader = consumer;
    return super.take(now, consumer);
  }

  override endRead(consumer: Process, now: number): void {
    if (this.reader !== consumer) return;
    this.reader = null;
    this.wakeAnother(now);
  }

  override crash(now: number, powerLoss: boolean): { again: T[]; lost: T[] } {
    this.reader = null;
    return super.crash(now, powerLoss);
  }
}
