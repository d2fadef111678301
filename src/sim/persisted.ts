import type { Clock, Process } from './scheduler.js';
import { Store } from './store.js';

/** Logstash's persisted queue settings (logstash.yml `queue.*`). */
export interface PersistedRule {
  /** `queue.max_events`: full when this many are unread; 0: no limit. */
  maxEvents: number;
  /** `queue.max_bytes`: full when the pages hold more; 0: no limit. */
  maxBytes: number;
  /** `queue.page_capacity`: the size of a page file. */
  pageCapacity: number;
  /** `queue.checkpoint.writes`: the head page is fsync'd and checkpointed after this many writes; 0: never. */
  checkpointWrites: number;
  /** `queue.checkpoint.acks`: a page is checkpointed once its first unacked event moved this far; 0: never. */
  checkpointAcks: number;
}

/** What a page's checkpoint file says (org.logstash.ackedqueue.Checkpoint). */
interface Checkpoint {
  minSeq: number;
  count: number;
  firstUnacked: number;
}

/** A page file: its events, which are acked, its checkpoint, what was fsync'd. */
interface Page {
  minSeq: number;
  items: unknown[];
  /** Bytes used: the version byte, then each element's seqnum, length, data and checksum. */
  used: number;
  acked: boolean[];
  ackedCount: number;
  /** Index of its first unacked event. */
  firstUnackedAt: number;
  writable: boolean;
  cp: Checkpoint;
  /** Elements surely on disk (fsync'd): a head page's as of its last checkpoint with data; a tail page's all. */
  synced: number;
}

/** MmapPageIOV2: a page starts with a version byte; an element is 8 (seqnum) + 4 (length) + data + 4 (checksum). */
const PAGE_HEADER = 1;
const ELEMENT_OVERHEAD = 16;

/**
 * Logstash's persisted queue (logstash-core/src/main/java/org/logstash/ackedqueue/,
 * Queue.java and Page.java), on lockstep's clock:
 * - `write` always writes, then waits while the queue is full: unread events
 *   ≥ `queue.max_events`, or the pages' bytes (each tail page file whole,
 *   the head page as far as written) > `queue.max_bytes` (Queue.write, isFull);
 * - a write that does not fit the head page beheads it (fsync, checkpoint)
 *   and opens a new page, or purges it instead if all of it was acked;
 * - after writing seqNum, the head page is fsync'd and checkpointed when
 *   seqNum ≥ its last checkpoint's max seqNum + `checkpoint.writes`
 *   (Page.write; a new page's checkpoint is empty, max seqNum −1: the first
 *   page checkpoints at seqNum 1023, a later one at its first write);
 * - `readBatch` is synchronized: one worker reads at a time, a batch comes
 *   from one page (Queue.readPageBatch);
 * - a batch is acked whole (Queue.ack, Page.ack): a page checkpoints once
 *   its first unacked seqNum moved `checkpoint.acks` past its checkpoint's,
 *   or when fully acked (a fully acked tail page is deleted); acking on a
 *   tail page also checkpoints the head page, which fsyncs what it wrote;
 * - a crash loses what is in memory; on recovery each page's events from its
 *   checkpoint's first unacked seqNum on are read again, so those acked since
 *   are delivered twice; after a power loss what was not fsync'd is gone (a
 *   process crash leaves it to the OS, and MmapPageIOV2.recover reads it back).
 * An event's data is its wire bytes (lockstep has no Logstash event to serialize).
 */
export class PersistedQueue<T extends { bytes: number }> extends Store<T> {
  private seq = 0;
  private readonly pages: Page[] = [];
  /** The seqNums of the unread events, in the order they are read (`unread[unreadAt]` is next). */
  private unread: number[] = [];
  private unreadAt = 0;
  /** The worker reading now (readBatch is synchronized), and its batch so far. */
  private reader: Process | null = null;
  private readStart = 0;
  private readCount = 0;
  /** Each worker's batch in hand, as seqNums [first, first + count), until it acks. */
  private readonly batches = new Map<Process, { first: number; count: number }>();

  constructor(name: string, clock: Clock, readonly rule: PersistedRule) {
    // room is the rule's, not a capacity's; acknowledgements are this queue's own
    super(name, Number.MAX_SAFE_INTEGER, clock, null, true);
    this.pages.push(newPage());
  }

  private get headPage(): Page {
    return this.pages[this.pages.length - 1]!;
  }

  /** The bytes isFull compares with `queue.max_bytes`. */
  get persistedBytes(): number {
    return (this.pages.length - 1) * this.rule.pageCapacity + this.headPage.used;
  }

  override get mustWait(): boolean {
    const r = this.rule;
    return (r.maxBytes > 0 && this.persistedBytes > r.maxBytes) || (r.maxEvents > 0 && this.depth >= r.maxEvents);
  }

  override tryPut(item: T): boolean {
    let head = this.headPage;
    const need = ELEMENT_OVERHEAD + item.bytes;
    if (head.items.length > 0 && head.used + need > this.rule.pageCapacity) {
      if (head.ackedCount === head.items.length) this.pages.pop();
      else this.behead(head);
      head = newPage();
      this.pages.push(head);
    }
    const seq = ++this.seq;
    if (head.items.length === 0) head.minSeq = seq;
    head.items.push(item);
    head.acked.push(false);
    this.unread.push(seq);
    head.used += need;
    const w = this.rule.checkpointWrites;
    if (w > 0 && seq >= head.cp.minSeq + head.cp.count - 1 + w) this.checkpoint(head);
    // the worker reading now is the one this event wakes
    this.wakesFirst(this.reader);
    return super.tryPut(item);
  }

  private behead(page: Page): void {
    this.checkpoint(page);
    page.writable = false;
  }

  /** Page.checkpoint: a head page written since its last checkpoint is fsync'd first. */
  private checkpoint(page: Page): void {
    if (page.writable && page.items.length > page.cp.count) page.synced = page.items.length;
    page.cp = { minSeq: page.minSeq, count: page.items.length, firstUnacked: firstUnacked(page) };
  }

  private pageOf(seq: number): Page | undefined {
    return this.pages.find((p) => seq >= p.minSeq && seq < p.minSeq + p.items.length);
  }

  /** One worker reads at a time, and a batch comes from one page. */
  override takeableBy(consumer: Process): number {
    if (this.reader !== null && this.reader !== consumer) return 0;
    if (this.unreadAt >= this.unread.length) return 0;
    const next = this.unread[this.unreadAt]!;
    const page = this.pageOf(next)!;
    if (this.reader === consumer && this.pageOf(this.readStart) !== page) return 0;
    return Math.min(this.depth, page.minSeq + page.items.length - next);
  }

  override take(now: number, consumer?: Process): T {
    const seq = this.unread[this.unreadAt++]!;
    if (this.unreadAt > 4096 && this.unreadAt * 2 > this.unread.length) {
      this.unread = this.unread.slice(this.unreadAt);
      this.unreadAt = 0;
    }
    if (consumer !== undefined && this.reader !== consumer) {
      this.reader = consumer;
      this.readStart = seq;
      this.readCount = 0;
    }
    this.readCount++;
    const item = super.take(now);
    // readPageBatch: a read from a queue full by max_events signals the writer
    if (this.blocked.length > 0 && !this.mustWait) this.releaseProducer(now);
    return item;
  }

  override endRead(consumer: Process, now: number): void {
    if (this.reader !== consumer) return;
    this.batches.set(consumer, { first: this.readStart, count: this.readCount });
    this.reader = null;
    this.wakeAnother(now);
  }

  /** Queue.ack: the consumer's whole batch, a run of seqNums on one page. */
  override ack(_n: number, now: number, consumer?: Process): void {
    const batch = consumer === undefined ? undefined : this.batches.get(consumer);
    if (batch === undefined) return;
    this.batches.delete(consumer!);
    this.unacked -= batch.count;
    const page = this.pageOf(batch.first)!;
    for (let s = batch.first; s < batch.first + batch.count; s++) page.acked[s - page.minSeq] = true;
    page.ackedCount += batch.count;
    while (page.firstUnackedAt < page.items.length && page.acked[page.firstUnackedAt]) page.firstUnackedAt++;
    const a = this.rule.checkpointAcks;
    if (page.ackedCount === page.items.length) {
      if (page.writable) this.checkpoint(page);
      else this.pages.splice(this.pages.indexOf(page), 1);
    } else if (a > 0 && firstUnacked(page) >= page.cp.firstUnacked + a) {
      this.checkpoint(page);
    }
    if (!page.writable) this.checkpoint(this.headPage);
    if (this.blocked.length > 0 && !this.mustWait) this.releaseProducer(now);
  }

  /**
   * A crash, then Logstash's recovery (Queue.open): each page keeps what is
   * on disk, its events from its checkpoint's first unacked seqNum on are to
   * be read again, in order (`again`: unread, or delivered twice if acked
   * since); written, unacked and not on disk is `lost`. Batches in the
   * workers' hands are forgotten; the writer, if waiting, waits on.
   */
  override crash(now: number, powerLoss: boolean): { again: T[]; lost: T[] } {
    const again: T[] = [];
    const lost: T[] = [];
    const kept: Page[] = [];
    const unread: number[] = [];
    for (const page of this.pages) {
      const onDisk = powerLoss ? page.synced : page.items.length;
      const from = Math.max(page.cp.firstUnacked, page.minSeq) - page.minSeq;
      for (let i = onDisk; i < page.items.length; i++) if (!page.acked[i]) lost.push(page.items[i] as T);
      page.items.length = onDisk;
      if (from >= onDisk) continue;
      for (let i = from; i < onDisk; i++) {
        again.push(page.items[i] as T);
        unread.push(page.minSeq + i);
      }
      page.acked = page.items.map((_, i) => i < from);
      page.ackedCount = from;
      page.firstUnackedAt = from;
      page.used = PAGE_HEADER + page.items.reduce((b: number, x) => b + ELEMENT_OVERHEAD + (x as T).bytes, 0);
      page.writable = false;
      page.synced = onDisk;
      page.cp = { minSeq: page.minSeq, count: onDisk, firstUnacked: page.minSeq + from };
      kept.push(page);
    }
    this.pages.length = 0;
    this.pages.push(...kept, newPage());
    const last = kept[kept.length - 1];
    if (last !== undefined) this.seq = last.minSeq + last.items.length - 1;
    this.unread = unread;
    this.unreadAt = 0;
    this.reader = null;
    this.batches.clear();
    this.replaceItems(again, now);
    if (this.blocked.length > 0 && !this.mustWait) this.releaseProducer(now);
    return { again, lost };
  }
}

function newPage(): Page {
  return { minSeq: 0, items: [], used: PAGE_HEADER, acked: [], ackedCount: 0, firstUnackedAt: 0, writable: true, cp: { minSeq: 0, count: 0, firstUnacked: 0 }, synced: 0 };
}

function firstUnacked(page: Page): number {
  return page.minSeq + page.firstUnackedAt;
}
