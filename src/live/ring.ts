/**
 * A single-producer single-consumer queue of byte records over a
 * `SharedArrayBuffer`: the channel between live mode's analyzer (main thread)
 * and its output (a worker thread). Like packetbeat 5.x's publisher channel it
 * holds at most `capacity` events and a push into a full queue fails at once.
 *
 * Layout: a control block of `Int32Array` words, then a byte ring whose size is
 * a power of two. A record is a 4-byte length and its bytes, padded to 4; a
 * record never wraps: when it does not fit before the end, a {@link WRAP}
 * marker fills the rest and it starts again at 0.
 *
 * Counters only grow (modulo 2^32): the producer owns `head` and `headBytes`,
 * the consumer `tail` and `tailBytes`; each reads the other's with
 * `Atomics.load`. The producer writes a record's bytes before it stores `head`,
 * and the consumer copies them out before it stores `tail`; `Atomics` are
 * sequentially consistent, so neither sees the other's half-written bytes.
 */
export class Ring {
  /** Events the ring holds at most (packetbeat's `queue_size`). */
  readonly capacity: number;
  /** Size of the byte ring: a power of two. */
  readonly byteCapacity: number;
  readonly buffer: SharedArrayBuffer;
  private readonly ctl: Int32Array;
  /** The byte ring: records are written here in place ({@link claim}) and read in place ({@link peek}). */
  private readonly data: Buffer;
  private readonly view: DataView;
  private readonly mask: number;
  // the producer's own counters (the consumer's are in ctl)
  private head = 0;
  private headBytes = 0;
  // the consumer's copy of the record it popped last
  private out = Buffer.allocUnsafe(1024);
  // the record the consumer peeked at: where its bytes counter starts, and its length
  private peekTailBytes = 0;
  /** Length of the record {@link peek} found. */
  private peekedLength = 0;

  private constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.ctl = new Int32Array(buffer, 0, CTL_WORDS);
    this.capacity = this.ctl[CAPACITY];
    this.byteCapacity = this.ctl[BYTE_CAPACITY];
    this.mask = this.byteCapacity - 1;
    this.data = Buffer.from(buffer, CTL_BYTES, this.byteCapacity);
    this.view = new DataView(buffer, CTL_BYTES, this.byteCapacity);
    this.head = Atomics.load(this.ctl, HEAD);
    this.headBytes = Atomics.load(this.ctl, HEAD_BYTES);
  }

  /**
   * A new ring for `capacity` events. `byteCapacity` (rounded up to a power
   * of two) bounds the bytes they may take together; by default 1 KiB per
   * event, at least 1 MiB, at most 256 MiB. A push that finds the bytes full
   * fails as a full queue does; a record may take up to half of them.
   */
  static create(capacity: number, byteCapacity?: number): Ring {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_CAPACITY) {
      throw new RangeError(`Expected \`capacity\` to be an integer from 1 to ${MAX_CAPACITY}, got \`${capacity}\``);
    }
    const wanted = byteCapacity ?? Math.min(Math.max(capacity * 1024, 1 << 20), 1 << 28);
    if (!Number.isInteger(wanted) || wanted < 16 || wanted > 1 << 30) {
      throw new RangeError(`Expected \`byteCapacity\` to be an integer from 16 to ${1 << 30}, got \`${wanted}\``);
    }
    const bytes = 2 ** Math.ceil(Math.log2(wanted));
    const buffer = new SharedArrayBuffer(CTL_BYTES + bytes);
    const ctl = new Int32Array(buffer, 0, CTL_WORDS);
    ctl[CAPACITY] = capacity;
    ctl[BYTE_CAPACITY] = bytes;
    return new Ring(buffer);
  }

  /** The same ring seen from another thread (the buffer came through `workerData`). */
  static attach(buffer: SharedArrayBuffer): Ring {
    return new Ring(buffer);
  }

  /** Events in the ring now (pushed, not yet popped). */
  get size(): number {
    return (Atomics.load(this.ctl, HEAD) - Atomics.load(this.ctl, TAIL)) | 0;
  }

  /** Events pushed so far. */
  get pushed(): number {
    return Atomics.load(this.ctl, HEAD) >>> 0;
  }

  /** Events popped so far. */
  get popped(): number {
    return Atomics.load(this.ctl, TAIL) >>> 0;
  }

  // ---- producer ----

  /** Appends a copy of `record`; false if the ring is full (the caller counts the drop). */
  tryPush(record: Uint8Array): boolean {
    const at = this.claim(record.length);
    if (at < 0) return false;
    this.data.set(record, at);
    this.publish(record.length);
    this.flush();
    return true;
  }

  /** {@link tryPush} of a string's UTF-8 bytes, encoded straight into the ring. */
  tryPushText(text: string): boolean {
    const length = Buffer.byteLength(text, 'utf8');
    const at = this.claim(length);
    if (at < 0) return false;
    this.data.write(text, at, length, 'utf8');
    this.publish(length);
    this.flush();
    return true;
  }

  /**
   * Room for a record of `length` bytes: where to write it in {@link data},
   * or -1 if the ring is full. Writes the length (and a wrap marker); write
   * the bytes, then {@link publish} it.
   */
  private claim(length: number): number {
    const need = recordBytes(length);
    // a record after a wrap marker may take twice its size: half the ring always fits an empty one
    if (need > this.byteCapacity / 2) {
      throw new RangeError(
        `A record of ${length} bytes is too large for a ring of ${this.byteCapacity} bytes (at most ${this.byteCapacity / 2 - 4})`,
      );
    }
    const skip = this.fits(need);
    if (skip < 0) return FULL;
    if (skip > 0) {
      // the rest of the ring is a multiple of 4, so the marker fits
      this.view.setInt32(this.headBytes & this.mask, WRAP, true);
      this.headBytes = (this.headBytes + skip) | 0;
    }
    const start = this.headBytes & this.mask;
    this.view.setInt32(start, length, true);
    return start + 4;
  }

  /** Bytes to skip to the start of the ring before `need` more fit (0 or the rest of the ring), or -1 if they do not. */
  private fits(need: number): number {
    if (((this.head - Atomics.load(this.ctl, TAIL)) | 0) >= this.capacity) return FULL;
    const untilEnd = this.byteCapacity - (this.headBytes & this.mask);
    const skip = need > untilEnd ? untilEnd : 0;
    const used = (this.headBytes - Atomics.load(this.ctl, TAIL_BYTES)) >>> 0;
    return used + skip + need > this.byteCapacity ? FULL : skip;
  }

  /** Ends the record {@link claim} placed. The consumer sees it after the next {@link flush}. */
  private publish(length: number): void {
    this.headBytes = (this.headBytes + recordBytes(length)) | 0;
    this.head = (this.head + 1) | 0;
  }

  /** Shows the consumer every record published so far, waking it if it sleeps. */
  private flush(): void {
    Atomics.store(this.ctl, HEAD_BYTES, this.headBytes);
    Atomics.store(this.ctl, HEAD, this.head);
    if (Atomics.load(this.ctl, CONSUMER_WAITING) !== 0) Atomics.notify(this.ctl, HEAD);
  }

  /** Wakes a consumer sleeping in {@link waitForData} and a producer in {@link pushWaiting} (to see a stop flag, say). */
  wake(): void {
    Atomics.notify(this.ctl, HEAD);
    Atomics.notify(this.ctl, TAIL);
  }

  /**
   * Pushes `record`, waiting while the ring is full, as a blocking Go channel
   * send does; false if `stopped()` says so first (the record is not pushed).
   * Only where blocking is allowed: a worker thread.
   */
  pushWaiting(record: Uint8Array, stopped: () => boolean): boolean {
    for (;;) {
      // read before the try: a pop between the try and the wait changes it, and the wait returns at once
      const tail = Atomics.load(this.ctl, TAIL);
      if (this.tryPush(record)) return true;
      if (stopped()) return false;
      Atomics.store(this.ctl, PRODUCER_WAITING, 1);
      Atomics.wait(this.ctl, TAIL, tail, 50);
      Atomics.store(this.ctl, PRODUCER_WAITING, 0);
    }
  }

  // ---- consumer ----

  /**
   * Takes the oldest record out of the ring, or null if it is empty. The
   * bytes are a view of a buffer the next `pop` reuses: its slot is free for
   * the producer as soon as this returns, as a Go channel's is on receive.
   */
  pop(): Uint8Array | null {
    const at = this.peek();
    if (at < 0) return null;
    const length = this.peekedLength;
    if (this.out.length < length) this.out = Buffer.allocUnsafe(Math.max(length, this.out.length * 2));
    this.data.copy(this.out, 0, at, at + length);
    this.release();
    return this.out.subarray(0, length);
  }

  /**
   * Where the oldest record's bytes are in {@link data} (its length in
   * {@link peekedLength}), or -1 if the ring is empty. The record stays, and
   * its bytes stay put, until {@link release}.
   */
  private peek(): number {
    if (Atomics.load(this.ctl, HEAD) === Atomics.load(this.ctl, TAIL)) return -1;
    let tailBytes = Atomics.load(this.ctl, TAIL_BYTES);
    let at = tailBytes & this.mask;
    let length = this.view.getInt32(at, true);
    if (length === WRAP) {
      tailBytes = (tailBytes + this.byteCapacity - at) | 0;
      at = 0;
      length = this.view.getInt32(0, true);
    }
    this.peekTailBytes = tailBytes;
    this.peekedLength = length;
    return at + 4;
  }

  /** Frees the record {@link peek} found. */
  private release(): void {
    Atomics.store(this.ctl, TAIL_BYTES, (this.peekTailBytes + recordBytes(this.peekedLength)) | 0);
    Atomics.store(this.ctl, TAIL, (Atomics.load(this.ctl, TAIL) + 1) | 0);
    if (Atomics.load(this.ctl, PRODUCER_WAITING) !== 0) Atomics.notify(this.ctl, TAIL);
  }

  /**
   * Sleeps until the ring is not empty, {@link wake} is called, or
   * `timeoutMs` passes. Only where blocking is allowed: a worker thread.
   */
  waitForData(timeoutMs: number): void {
    Atomics.store(this.ctl, CONSUMER_WAITING, 1);
    // the producer stores its head before it reads the flag: a flush after this load wakes the wait below
    const head = Atomics.load(this.ctl, HEAD);
    if (head === Atomics.load(this.ctl, TAIL)) Atomics.wait(this.ctl, HEAD, head, timeoutMs);
    Atomics.store(this.ctl, CONSUMER_WAITING, 0);
  }
}

/** Largest `capacity`: counters are 32-bit and compared by difference. */
const MAX_CAPACITY = 2 ** 30;
/** Length word of the filler that sends the reader back to offset 0. */
const WRAP = -1;
/** What {@link Ring.claim} returns when the record does not fit. */
const FULL = -1;

// control words; the producer's and the consumer's counters sit on different cache lines
const HEAD = 0;
const HEAD_BYTES = 1;
const TAIL = 16;
const TAIL_BYTES = 17;
/** Set while the consumer sleeps in {@link Ring.waitForData}. */
const CONSUMER_WAITING = 18;
/** Set while the producer sleeps in {@link Ring.pushWaiting}. */
const PRODUCER_WAITING = 19;
const CAPACITY = 32;
const BYTE_CAPACITY = 33;
const CTL_WORDS = 48;
const CTL_BYTES = CTL_WORDS * 4;

function recordBytes(length: number): number {
  return 4 + ((length + 3) & ~3);
}
