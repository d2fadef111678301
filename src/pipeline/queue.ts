import type { Transaction } from '../redis/transaction.js';
import type { Process, Scheduler } from '../sim/scheduler.js';

/** Tokens a process is scheduled with when a queue wakes it. */
export const WAKE = 0;
export const RESUME = -2;

/**
 * A bounded FIFO between two stages: a ring of events, the consumers waiting
 * for one (woken first-come first-served, as threads parked on a Java
 * ArrayBlockingQueue or goroutines on a channel), and the producers blocked on
 * a full queue, whose blocked time is Logstash's `queue_push_duration`.
 */
export class BoundedQueue {
  /** Events accepted (Logstash's events.in for the first queue). */
  accepted = 0;
  /** Total time producers spent blocked on a full queue, ns. */
  pushBlockedNs = 0;
  /** Deepest the queue has been. */
  maxDepth = 0;
  private readonly ring: (Transaction | undefined)[];
  private head = 0;
  private size = 0;
  private readonly waiters: Process[] = [];
  private readonly blocked: Process[] = [];
  private readonly blockedSince: number[] = [];
  /** Called with (time, depth) whenever the depth changes (`replay --plot`). */
  onDepth: ((now: number, depth: number) => void) | null = null;

  constructor(
    readonly name: string,
    readonly capacity: number,
    private readonly scheduler: Scheduler,
  ) {
    this.ring = new Array<Transaction | undefined>(Math.min(capacity, 1 << 16));
  }

  get depth(): number {
    return this.size;
  }

  /** Puts `tx` if there is room (waking the first waiting consumer); false when full. */
  tryPut(tx: Transaction): boolean {
    if (this.size >= this.capacity) return false;
    if (this.size === this.ring.length) this.growRing();
    // head + size < 2 × length: a subtraction, not a division
    let at = this.head + this.size;
    if (at >= this.ring.length) at -= this.ring.length;
    this.ring[at] = tx;
    this.size++;
    this.accepted++;
    if (this.size > this.maxDepth) this.maxDepth = this.size;
    this.onDepth?.(this.scheduler.now, this.size);
    if (this.waiters.length > 0) this.scheduler.at(this.scheduler.now, this.waiters.shift()!, WAKE);
    return true;
  }

  /** `producer` waits for room; it is resumed (token RESUME) when a consumer takes an event. */
  block(producer: Process, now: number): void {
    this.blocked.push(producer);
    this.blockedSince.push(now);
  }

  /** Takes the oldest event; the caller checks {@link depth} first. Resumes the first blocked producer. */
  take(now: number): Transaction {
    const tx = this.ring[this.head]!;
    this.ring[this.head] = undefined;
    if (++this.head === this.ring.length) this.head = 0;
    this.size--;
    this.onDepth?.(now, this.size);
    if (this.blocked.length > 0) {
      this.pushBlockedNs += now - this.blockedSince.shift()!;
      this.scheduler.at(now, this.blocked.shift()!, RESUME);
    }
    return tx;
  }

  /** A consumer parks until an event arrives (token WAKE). */
  wait(consumer: Process): void {
    if (!this.waiters.includes(consumer)) this.waiters.push(consumer);
  }

  unwait(consumer: Process): void {
    const w = this.waiters;
    const i = w.indexOf(consumer);
    if (i < 0) return;
    // not splice: it makes an array of what it removes, once per service
    for (let k = i + 1; k < w.length; k++) w[k - 1] = w[k]!;
    w.length--;
  }

  /** Events still here while consumers wait: wake the next one too. */
  wakeAnother(now: number): void {
    if (this.size > 0 && this.waiters.length > 0) this.scheduler.at(now, this.waiters.shift()!, WAKE);
  }

  /** Everything still queued, oldest first; the queue is left empty (shutdown). */
  drain(): Transaction[] {
    const out: Transaction[] = [];
    while (this.size > 0) {
      out.push(this.ring[this.head]!);
      this.ring[this.head] = undefined;
      this.head = (this.head + 1) % this.ring.length;
      this.size--;
    }
    this.blocked.length = 0;
    this.blockedSince.length = 0;
    this.onDepth?.(this.scheduler.now, 0);
    return out;
  }

  private growRing(): void {
    const n = Math.min(this.capacity, this.ring.length * 2);
    const items: (Transaction | undefined)[] = [];
    for (let i = 0; i < this.size; i++) items.push(this.ring[(this.head + i) % this.ring.length]);
    this.ring.length = n;
    for (let i = 0; i < n; i++) this.ring[i] = items[i];
    this.head = 0;
  }
}
