import type { Clock, Process, Wakeup } from './scheduler.js';

/**
 * The Beats memory queue's buffering (libbeat/publisher/queue/memqueue,
 * eventloop.go bufferingEventLoop): events become visible to consumers a
 * buffer at a time, when `minEvents` have gathered or `timeoutNs` after the
 * buffer's first event; a consumer's get returns events of one buffer only.
 */
export interface FlushRule {
  minEvents: number;
  timeoutNs: number;
}

/**
 * A bounded FIFO between two stages, as SimPy's `Store` with a capacity: a
 * ring of items, the consumers waiting for one (woken first-come
 * first-served with `item`, as threads parked on a Java ArrayBlockingQueue
 * or goroutines on a channel), and the producers blocked on a full store
 * (woken with `room`), whose blocked time is Logstash's `queue_push_duration`.
 * Whether a full store drops or blocks is the producer's choice.
 */
export class Store<T> implements Process {
  /** Items accepted (Logstash's events.in for the first queue). */
  accepted = 0;
  /** Items its producers dropped because it was full (Vector's `drop_newest`; packetbeat 5's `queue_size` channel). */
  dropped = 0;
  /** Items consumers took (Vector's `buffer_sent_events_total`). */
  taken = 0;
  /** Total time producers spent blocked on a full store, ns. */
  pushBlockedNs = 0;
  /**
   * The same, each push's wait truncated to whole ms before it is added:
   * Logstash's `queue_push_duration_in_millis` (JRubyWrappedWriteClientExt
   * incrementTimers: `TimeUnit.MILLISECONDS.convert(System.nanoTime() - start, NANOSECONDS)` per push).
   */
  pushBlockedWholeMs = 0;
  /**
   * The same, each push's wait as the difference of two readings of a
   * millisecond clock (the simulated one, from 0): Logstash 6.0's
   * `queue_push_duration_in_millis` (WrappedWriteClient, `current_time_millis`).
   */
  pushBlockedWallMs = 0;
  /** Deepest the store has been. */
  maxDepth = 0;
  private readonly ring: (T | undefined)[];
  private head = 0;
  private size = 0;
  protected readonly waiters: Process[] = [];
  protected readonly blocked: Process[] = [];
  private readonly blockedSince: number[] = [];
  /** Called with (time, depth) whenever the depth changes (`replay --plot`). */
  onDepth: ((now: number, depth: number) => void) | null = null;
  /** Events taken by consumers and not yet acknowledged (with `ackOnServed`: they still take room). */
  protected unacked = 0;
  // the flush rule's buffers: the remaining sizes of the flushed ones (head first), the current one's
  private readonly flushed: number[] = [];
  private current = 0;
  /** The current buffer was flushed by its timer: it is `flushed`'s last, and what joins it is visible at once. */
  private currentFlushed = false;
  private timerGen = 0;
  private timerOn = false;

  constructor(
    readonly name: string,
    readonly capacity: number,
    protected readonly clock: Clock,
    /** Events visible to consumers a buffer at a time (the Beats memory queue); null: each at once. */
    private readonly flush: FlushRule | null = null,
    /** Room is freed when the consumer acknowledges its batch ({@link ack}), not when it takes it (the Beats memory queue). */
    readonly ackOnServed = false,
  ) {
    this.ring = new Array<T | undefined>(Math.min(capacity, 1 << 16));
  }

  /** For traces: the store as the process its flush timer runs. */
  get stage(): string {
    return this.name;
  }

  get depth(): number {
    return this.size;
  }

  /** No room for another item (events taken and not yet acknowledged take room too, with `ackOnServed`). */
  get full(): boolean {
    return this.size + this.unacked >= this.capacity;
  }

  /** How many events `consumer`'s take may return now (a persisted queue reads for one consumer at a time). */
  takeableBy(_consumer: Process): number {
    return this.takeable;
  }

  /** `consumer` has its batch and serves it: another may read (the persisted queue's readBatch is synchronized). */
  endRead(_consumer: Process, _now: number): void {}

  /** After a put that succeeded, the producer waits for room all the same (the persisted queue writes, then blocks while full). */
  get mustWait(): boolean {
    return false;
  }

  /** How many events one take may return now: all of them, or (with a flush rule) what is left of the oldest flushed buffer. */
  get takeable(): number {
    if (this.flush === null) return this.size;
    return this.flushed.length > 0 ? this.flushed[0]! : 0;
  }

  /** Puts `item` if there is room (waking the first waiting consumer); false when full. */
  tryPut(item: T): boolean {
    if (this.full) return false;
    if (this.size === this.ring.length) this.growRing();
    // head + size < 2 × length: a subtraction, not a division
    let at = this.head + this.size;
    if (at >= this.ring.length) at -= this.ring.length;
    this.ring[at] = item;
    this.size++;
    this.accepted++;
    if (this.size > this.maxDepth) this.maxDepth = this.size;
    this.onDepth?.(this.clock.now, this.size);
    if (this.flush !== null) this.buffered();
    if (this.waiters.length > 0 && this.takeable > 0) this.clock.at(this.clock.now, this.waiters.shift()!, 'item');
    return true;
  }

  /** An event joined the current buffer (eventloop.go handleInsert). */
  private buffered(): void {
    const rule = this.flush!;
    if (this.currentFlushed) {
      // added to a buffer its timer flushed: visible at once; a full one makes way for a new buffer
      if (++this.flushed[this.flushed.length - 1]! >= rule.minEvents) this.currentFlushed = false;
      return;
    }
    if (++this.current < rule.minEvents) {
      // the timer starts with the buffer's first event and is not restarted
      if (!this.timerOn) {
        this.timerOn = true;
        this.clock.at(this.clock.now + rule.timeoutNs, this, 'timeout', ++this.timerGen);
      }
      return;
    }
    this.timerOn = false;
    this.timerGen++;
    this.flushed.push(this.current);
    this.current = 0;
  }

  /** The flush timer: the current buffer becomes visible as it is, and stays the one events join. */
  run(now: number, wakeup: Wakeup, arg: number): void {
    if (wakeup !== 'timeout' || arg !== this.timerGen || !this.timerOn) return;
    this.timerOn = false;
    if (this.current === 0) return;
    this.flushed.push(this.current);
    this.current = 0;
    this.currentFlushed = true;
    if (this.waiters.length > 0) this.clock.at(now, this.waiters.shift()!, 'item');
  }

  /** `consumer` is done with `n` events it took: with `ackOnServed`, their room is free again. */
  ack(n: number, now: number, _consumer?: Process): void {
    if (!this.ackOnServed) return;
    this.unacked -= n;
    for (let i = 0; i < n && this.blocked.length > 0; i++) this.releaseProducer(now);
  }

  /** The first producer blocked on this store has room: its wait is counted and it is woken. */
  protected releaseProducer(now: number): void {
    const since = this.blockedSince.shift()!;
    const blocked = now - since;
    this.pushBlockedNs += blocked;
    this.pushBlockedWholeMs += Math.floor(blocked / 1e6);
    this.pushBlockedWallMs += Math.floor(now / 1e6) - Math.floor(since / 1e6);
    this.clock.at(now, this.blocked.shift()!, 'room');
  }

  /** `producer` waits for room; it is woken with `room` when a consumer takes an item. */
  block(producer: Process, now: number): void {
    this.blocked.push(producer);
    this.blockedSince.push(now);
  }

  /** Takes the oldest item for `consumer`; the caller checks {@link depth} first. Wakes the first blocked producer. */
  take(now: number, _consumer?: Process): T {
    const item = this.ring[this.head]!;
    this.ring[this.head] = undefined;
    if (++this.head === this.ring.length) this.head = 0;
    this.size--;
    this.taken++;
    this.onDepth?.(now, this.size);
    if (this.flush !== null) this.tookFlushed();
    if (this.ackOnServed) {
      this.unacked++;
      return item;
    }
    if (this.blocked.length > 0) this.releaseProducer(now);
    return item;
  }

  /** One event out of the oldest flushed buffer (eventloop.go handleGetRequest, advanceFlushList). */
  private tookFlushed(): void {
    if (--this.flushed[0]! > 0) return;
    this.flushed.shift();
    if (this.flushed.length === 0 && this.currentFlushed) this.currentFlushed = false;
  }

  /** `consumer`, if waiting, is the one the next item wakes (a reader holding a queue's read lock). */
  protected wakesFirst(consumer: Process | null): void {
    if (consumer === null) return;
    const i = this.waiters.indexOf(consumer);
    if (i > 0) this.waiters.unshift(...this.waiters.splice(i, 1));
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
    if (this.takeable > 0 && this.waiters.length > 0) this.clock.at(now, this.waiters.shift()!, 'item');
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
    this.forgetBuffers();
    this.onDepth?.(this.clock.now, 0);
    return out;
  }

  /** The flush rule's buffers and timer, as a new store has them. */
  private forgetBuffers(): void {
    this.flushed.length = 0;
    this.current = 0;
    this.currentFlushed = false;
    this.timerOn = false;
    this.timerGen++;
  }

  /**
   * A crash: what a store in memory holds is `lost`, and nothing is to be
   * read again; a producer waiting for room gets it. (The persisted queue
   * keeps what is on disk.)
   */
  crash(now: number, _powerLoss: boolean): { again: T[]; lost: T[] } {
    const lost: T[] = [];
    for (let i = 0; i < this.size; i++) lost.push(this.ring[(this.head + i) % this.ring.length]!);
    this.replaceItems([], now);
    this.forgetBuffers();
    while (this.blocked.length > 0 && !this.full) this.releaseProducer(now);
    return { again: [], lost };
  }

  /** After a crash: the store holds `items`, oldest first, none taken; its producers and consumers wait as they did. */
  protected replaceItems(items: readonly T[], now: number): void {
    this.ring.fill(undefined);
    this.head = 0;
    this.size = 0;
    this.unacked = 0;
    for (const item of items) {
      if (this.size === this.ring.length) this.growRing();
      this.ring[this.size++] = item;
    }
    if (this.size > this.maxDepth) this.maxDepth = this.size;
    this.onDepth?.(now, this.size);
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
