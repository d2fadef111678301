import type { Clock, Process } from './scheduler.js';

/**
 * A bounded FIFO between two stages, as SimPy's `Store` with a capacity: a
 * ring of items, the consumers waiting for one (woken first-come
 * first-served with `item`, as threads parked on a Java ArrayBlockingQueue
 * or goroutines on a channel), and the producers blocked on a full store
 * (woken with `room`), whose blocked time is Logstash's `queue_push_duration`.
 * Whether a full store drops or blocks is the producer's choice.
 */
export class Store<T> {
  /** Items accepted (Logstash's events.in for the first queue). */
  accepted = 0;
  /** Total time producers spent blocked on a full store, ns. */
  pushBlockedNs = 0;
  /**
   * The same, each push's wait truncated to whole ms before it is added:
   * Logstash's `queue_push_duration_in_millis` (JRubyWrappedWriteClientExt
   * incrementTimers: `TimeUnit.MILLISECONDS.convert(System.nanoTime() - start, NANOSECONDS)` per push).
   */
  pushBlockedWholeMs = 0;
  /** Deepest the store has been. */
  maxDepth = 0;
  private readonly ring: (T | undefined)[];
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
    private readonly clock: Clock,
  ) {
    this.ring = new Array<T | undefined>(Math.min(capacity, 1 << 16));
  }

  get depth(): number {
    return this.size;
  }

  /** Puts `item` if there is room (waking the first waiting consumer); false when full. */
  tryPut(item: T): boolean {
    if (this.size >= this.capacity) return false;
    if (this.size === this.ring.length) this.growRing();
    // head + size < 2 × length: a subtraction, not a division
    let at = this.head + this.size;
    if (at >= this.ring.length) at -= this.ring.length;
    this.ring[at] = item;
    this.size++;
    this.accepted++;
    if (this.size > this.maxDepth) this.maxDepth = this.size;
    this.onDepth?.(this.clock.now, this.size);
    if (this.waiters.length > 0) this.clock.at(this.clock.now, this.waiters.shift()!, 'item');
    return true;
  }

  /** `producer` waits for room; it is woken with `room` when a consumer takes an item. */
  block(producer: Process, now: number): void {
    this.blocked.push(producer);
    this.blockedSince.push(now);
  }

  /** Takes the oldest item; the caller checks {@link depth} first. Wakes the first blocked producer. */
  take(now: number): T {
    const item = this.ring[this.head]!;
    this.ring[this.head] = undefined;
    if (++this.head === this.ring.length) this.head = 0;
    this.size--;
    this.onDepth?.(now, this.size);
    if (this.blocked.length > 0) {
      const blocked = now - this.blockedSince.shift()!;
      this.pushBlockedNs += blocked;
      this.pushBlockedWholeMs += Math.floor(blocked / 1e6);
      this.clock.at(now, this.blocked.shift()!, 'room');
    }
    return item;
  }

  /** A consumer parks until an item arrives (woken with `item`). */
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

  /** Items still here while consumers wait: wake the next one too. */
  wakeAnother(now: number): void {
    if (this.size > 0 && this.waiters.length > 0) this.clock.at(now, this.waiters.shift()!, 'item');
  }

  /** Everything still stored, oldest first; the store is left empty (shutdown). */
  drain(): T[] {
    const out: T[] = [];
    while (this.size > 0) {
      out.push(this.ring[this.head]!);
      this.ring[this.head] = undefined;
      this.head = (this.head + 1) % this.ring.length;
      this.size--;
    }
    this.blocked.length = 0;
    this.blockedSince.length = 0;
    this.onDepth?.(this.clock.now, 0);
    return out;
  }

  private growRing(): void {
    const n = Math.min(this.capacity, this.ring.length * 2);
    const items: (T | undefined)[] = [];
    for (let i = 0; i < this.size; i++) items.push(this.ring[(this.head + i) % this.ring.length]);
    this.ring.length = n;
    for (let i = 0; i < n; i++) this.ring[i] = items[i];
    this.head = 0;
  }
}
