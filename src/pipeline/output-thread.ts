import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { ByteCopier } from '../bytes.js';
import { Ring } from '../live/ring.js';
import { formatEvent, type TimeBase, type Transaction } from '../redis/transaction.js';
import { POOL_SIZE } from '../pcap/reader.js';
import type { RespMessage } from '../redis/resp.js';
import type { Connection } from '../tcp/connection.js';
import { startWorker, workerUrl } from '../worker-url.js';
import { connRecordBytes, putConn } from './conn-record.js';
import { TempFile } from './ndjson.js';
import { Ctl, EVENT_HEADER, Kind, type OutputThreadData, type SharedBuffer } from './output-records.js';

/** The ring's bytes: small enough to stay in the cores' shared cache. */
const RING_BYTES = 1024 * 1024;
/**
 * Records are written straight into the ring, into a place claimed for a
 * batch of them, and handed over a batch at a time: one store the other
 * core must see, at most one wake-up (a system call) per batch.
 */
const BATCH_BYTES = 128 * 1024;
/** Batches waiting in the ring past which the thread is behind: see `byRef`. */
const BEHIND = 2;
/** Largest record: larger events go encoded, in pieces of this size. */
const MAX_RECORD = 32 * 1024;
/** How long the replay waits for a thread that makes no progress before it gives up, ms. */
const STALL_MS = 60_000;
/** How long a new thread may take to start (it takes ~40 ms). */
const START_MS = 10_000;
const SLEEP_MS = 50;

/**
 * A thread that encodes and writes events, started once and kept for every
 * later replay of the process (a sweep runs dozens; starting a thread takes
 * ~40 ms). It is unref'd: an idle thread never keeps the process alive.
 */
class OutputThread {
  readonly ring = Ring.create(2 ** 30, RING_BYTES);
  readonly control = new Int32Array(new SharedArrayBuffer(Ctl.words * 4));
  readonly message = new Uint8Array(new SharedArrayBuffer(1024));
  /** Shared buffers go to the thread this way, each announced by a `share` record. */
  readonly port: MessagePort;
  /** Sessions begun on this thread. */
  sessions = 0;
  private readonly worker: Worker;

  constructor() {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const data: OutputThreadData = { ring: this.ring.buffer, control: this.control.buffer, message: this.message.buffer, port: port2 };
    // what the thread allocates (two messages and an event per line) dies at once: a small young generation
    // costs it no time and the process ~15 MB less memory
    const resourceLimits = { maxYoungGenerationSizeMb: 2 };
    this.worker = startWorker(workerUrl('pipeline/output-thread-worker'), { workerData: data, resourceLimits, transferList: [port2] });
    this.worker.unref();
    // a thread that dies is seen as a stall (the replay's thread never turns its event loop meanwhile)
    this.worker.on('error', () => {});
  }

  /**
   * Blocks until `done()`, sleeping with `sleep` (at most {@link SLEEP_MS})
   * between checks; fails when the thread takes no record for {@link STALL_MS}.
   */
  waitUntil(done: () => boolean, sleep: () => void, what: string): void {
    let popped = this.ring.popped;
    let stalled = 0;
    while (!done()) {
      sleep();
      const started = Atomics.load(this.control, Ctl.ready) !== 0;
      if (this.ring.popped !== popped) {
        popped = this.ring.popped;
        stalled = 0;
      } else if (++stalled * SLEEP_MS > (started ? STALL_MS : START_MS)) {
        throw new Error(
          started
            ? `the output thread took no event for ${STALL_MS / 1000} s while ${what}`
            : `the output thread did not start within ${START_MS / 1000} s (${what})`,
        );
      }
    }
  }
}

const idle: OutputThread[] = [];

/**
 * The events of one replay, written to a file by an output thread: this
 * side writes a record of each published event into a batch in the ring,
 * and hands batches over; the thread encodes and writes them. A record says
 * where the request's and the response's bytes lie in the capture reader's
 * shared buffers, or holds a copy of them (bytes anywhere else, or while the
 * thread is behind). Same bytes as encoding here, in the same order; the
 * file appears under its name only once whole.
 */
export class ThreadedEventWriter {
  private readonly file: TempFile;
  private readonly thread: OutputThread;
  private readonly session: number;
  /** Per connection id: 1 once the thread knows the connection. */
  private sent = new Uint8Array(1024);
  private baseSec = NaN;
  private baseNsec = NaN;
  /** The ring's bytes; the batch being gathered is `batch[start..start+used)`, records as `output-records.ts` says, each after its u32 length. */
  private readonly batch: Buffer;
  private readonly view: DataView;
  /** Where the batch's place in the ring starts; -1 while none is claimed. */
  private start = -1;
  private used = 0;
  private open = true;
  private readonly copier = new ByteCopier();
  /** The ring's count of the batch being gathered (counters wrap: compared by difference). */
  private batchNo: number;
  /** Per slot: the buffer of the pool the thread was told of, and the last batch that refers to it. */
  private readonly told: (Buffer | null)[] = new Array<Buffer | null>(POOL_SIZE).fill(null);
  private readonly lastBatch = new Int32Array(POOL_SIZE);
  /**
   * Whether this batch's events may refer to the pool's bytes. Reading them
   * there costs the thread more than reading copies in the ring (they are
   * cold in its cache): when the thread is behind, its time is what counts,
   * and events are copied.
   */
  private byRef = true;
  /** Messages the thread read where they lie, not copied. */
  byReference = 0;
  /** Times the capture reader waited for the thread before it wrote over a buffer (see {@link beforeRewrite}). */
  rewriteWaits = 0;
  /** The slot the reader writes over next, once its pool is full (it takes them in turn). */
  private rewriteNext = 0;

  /**
   * Events' bytes that lie in a buffer of `pool` (the capture reader's, on
   * shared memory) are read there by the thread, not copied: ask
   * {@link beforeRewrite} before any of them is written over.
   */
  constructor(
    readonly path: string,
    private readonly base: TimeBase,
    private readonly pool: readonly Buffer[] = [],
  ) {
    this.file = new TempFile(path);
    this.thread = idle.pop() ?? new OutputThread();
    this.batch = this.thread.ring.data;
    this.view = this.thread.ring.view;
    this.session = ++this.thread.sessions;
    this.batchNo = (this.thread.ring.pushed + 1) | 0;
    Atomics.store(this.thread.control, Ctl.failed, 0);
    const at = this.record(8);
    this.batch[at] = Kind.begin;
    this.view.setInt32(at + 4, this.file.fd, true);
  }

  publish(tx: Transaction): void {
    const conn = tx.conn;
    if (conn.id >= this.sent.length || this.sent[conn.id] === 0) this.sendConn(conn);
    if (this.base.sec !== this.baseSec || this.base.nsec !== this.baseNsec) this.sendBase();
    const req = tx.request;
    const resp = tx.response;
    const reqSlot = this.slotOf(req.chunk);
    const respSlot = this.slotOf(resp.chunk);
    const reqPart = reqSlot < 0 ? req.size : 4;
    const length = EVENT_HEADER + reqPart + (respSlot < 0 ? resp.size : 4);
    if (length > MAX_RECORD) {
      this.sendBytes(Buffer.from(`${formatEvent(tx, this.base)}\n`));
      return;
    }
    const at = this.record(length);
    const b = this.batch;
    const v = this.view;
    b[at] = Kind.event;
    b[at + 1] = resp.isError ? 1 : 0;
    b[at + 2] = reqSlot + 1;
    b[at + 3] = respSlot + 1;
    v.setUint32(at + 4, conn.id, true);
    v.setUint32(at + 8, req.size, true);
    v.setUint32(at + 12, resp.size, true);
    v.setFloat64(at + 16, req.tsNs, true);
    v.setFloat64(at + 24, resp.tsNs, true);
    this.part(req, reqSlot, at + EVENT_HEADER);
    this.part(resp, respSlot, at + EVENT_HEADER + reqPart);
  }

  /** A message's part of an event record at `at`: where its bytes are in the slot's buffer, or (slot -1) the bytes. */
  private part(m: RespMessage, slot: number, at: number): void {
    if (slot < 0) this.copier.copy(m.chunk, m.offset, m.size, this.batch, at);
    else {
      this.view.setUint32(at, m.offset, true);
      this.lastBatch[slot] = this.batchNo;
      this.byReference++;
    }
  }

  /** The slot of `chunk` if it is a buffer of the pool (telling the thread of it the first time), else -1. */
  private slotOf(chunk: Buffer): number {
    const pool = this.pool;
    if (!this.byRef) return -1;
    for (let k = 0; k < pool.length; k++) {
      if (pool[k] !== chunk) continue;
      // no event refers to the buffer written over next: the thread has time to be done with each before its turn
      if (k === this.rewriteNext && pool.length === POOL_SIZE) return -1;
      if (this.told[k] !== chunk) this.share(k, chunk);
      return k;
    }
    return -1;
  }

  private share(slot: number, chunk: Buffer): void {
    const shared: SharedBuffer = { buffer: chunk.buffer as SharedArrayBuffer, byteOffset: chunk.byteOffset, length: chunk.length };
    this.thread.port.postMessage(shared);
    this.told[slot] = chunk;
    this.lastBatch[slot] = (this.batchNo - 1) | 0; // nothing read there yet
    const at = this.record(4);
    this.batch[at] = Kind.share;
    this.batch[at + 1] = slot;
  }

  /**
   * The capture reader is about to write over `buf`: if events the thread
   * has not written yet read bytes there, hand them over and wait until it
   * has. It seldom has to: the last such event was made before the reader
   * turned to the buffer before this one, and handed over then, and only
   * while the thread was not behind.
   */
  beforeRewrite(buf: Buffer): void {
    const slot = this.pool.indexOf(buf);
    if (slot < 0) return;
    this.rewriteNext = (slot + 1) % POOL_SIZE;
    // a batch can hold more than a buffer's worth of events: the thread gets them now, not at the next rewrite
    this.handOver();
    if (this.told[slot] !== buf) return;
    const last = this.lastBatch[slot]!;
    const ring = this.thread.ring;
    if (((ring.popped - last) | 0) >= 0) return;
    this.rewriteWaits++;
    this.wait(() => ((ring.popped - last) | 0) >= 0, () => ring.waitForPopped(last, SLEEP_MS), `writing ${this.path}`);
  }

  /** Waits until the thread wrote everything, then renames the file into place (once). */
  close(): void {
    if (!this.open) return;
    this.open = false;
    this.batch[this.record(4)] = Kind.end;
    this.handOver();
    const t = this.thread;
    const done = () => Atomics.load(t.control, Ctl.sessionsDone) >= this.session;
    this.wait(done, () => Atomics.wait(t.control, Ctl.sessionsDone, this.session - 1, SLEEP_MS), `writing ${this.path}`);
    idle.push(t);
    if (Atomics.load(t.control, Ctl.failed) !== 0) {
      this.file.discard();
      // as the write on this thread would have thrown it: the CLI names the file and the code
      const [code, text] = Buffer.from(t.message.subarray(0, Atomics.load(t.control, Ctl.messageLength))).toString().split('\t');
      throw Object.assign(new Error(text), { code: code || 'EIO', path: this.path });
    }
    this.file.commit();
  }

  private sendConn(conn: Connection): void {
    if (conn.id >= this.sent.length) {
      const bigger = new Uint8Array(Math.max(this.sent.length * 2, conn.id + 1));
      bigger.set(this.sent);
      this.sent = bigger;
    }
    this.sent[conn.id] = 1;
    const at = this.record(connRecordBytes(conn));
    this.batch[at] = Kind.conn;
    putConn(this.batch, this.view, at, conn);
  }

  private sendBase(): void {
    this.baseSec = this.base.sec;
    this.baseNsec = this.base.nsec;
    const at = this.record(20);
    this.batch[at] = Kind.base;
    this.view.setFloat64(at + 4, this.baseSec, true);
    this.view.setFloat64(at + 12, this.baseNsec, true);
  }

  private sendBytes(bytes: Buffer): void {
    for (let from = 0; from < bytes.length; from += MAX_RECORD - 4) {
      const piece = bytes.subarray(from, Math.min(bytes.length, from + MAX_RECORD - 4));
      const at = this.record(4 + piece.length);
      this.batch[at] = Kind.bytes;
      this.batch.set(piece, at + 4);
    }
  }

  /** Room for a record of `length` bytes in the batch (handing the batch over first if it is full); where to write it. */
  private record(length: number): number {
    if (this.used + 4 + length > BATCH_BYTES) this.handOver();
    if (this.start < 0) this.claim();
    const at = this.start + this.used;
    this.view.setUint32(at, length, true);
    this.used += 4 + length;
    return at + 4;
  }

  /** Claims the ring's room for a batch, waiting for it if the thread is behind. */
  private claim(): void {
    const ring = this.thread.ring;
    this.start = ring.claim(BATCH_BYTES);
    if (this.start >= 0) return;
    this.wait(
      () => (this.start = ring.claim(BATCH_BYTES)) >= 0,
      () => ring.waitForRoom(BATCH_BYTES, SLEEP_MS),
      `waiting for room to write ${this.path}`,
    );
  }

  /** {@link OutputThread.waitUntil}; when it gives up, the file is discarded and the writer closed. */
  private wait(done: () => boolean, sleep: () => void, what: string): void {
    try {
      this.thread.waitUntil(done, sleep, what);
    } catch (err) {
      this.open = false;
      this.file.discard();
      throw err;
    }
  }

  /** Shows the batch to the thread: its length, as much as it holds of the room claimed. */
  private handOver(): void {
    if (this.start < 0) return;
    const ring = this.thread.ring;
    this.view.setInt32(this.start - 4, this.used, true);
    ring.publish(this.used);
    ring.flush();
    this.start = -1;
    this.used = 0;
    this.batchNo = (this.batchNo + 1) | 0;
    this.byRef = ring.size <= BEHIND;
  }
}
