import { statSync } from 'node:fs';
import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import { CaptureFeed, type Counters, type Feed, type FeedOptions } from '../analyze.js';
import { Ring } from '../live/ring.js';
import { CaptureError, type CaptureWarning } from '../pcap/errors.js';
import { POOL_SIZE } from '../pcap/reader.js';
import { RedisAnalyzer, type RedisSink } from '../redis/analyzer.js';
import type { TimeBase } from '../redis/transaction.js';
import type { Connection, Direction } from '../tcp/connection.js';
import { startWorker, workerUrl } from '../worker-url.js';
import { connRecordLength, getConn } from './conn-record.js';
import type { SharedBuffer } from './output-records.js';
import { ALL_RELEASED, CLOSE_REASONS, DATA_HEADER, Rec, TcpCtl, type Job, type JobEnd, type TcpThreadData } from './tcp-records.js';

/** The ring's bytes: more than the records of one of the reader's buffers (~200 KB for 512 KB of small packets), so the thread can run a buffer ahead. */
const RING_BYTES = 2 * 1024 * 1024;
const SLEEP_MS = 50;
/** How long the replay waits for a thread that sends nothing before it gives up, ms. */
const STALL_MS = 60_000;
/**
 * Captures from this size on are read with a TCP thread when a replay does
 * not say, unless its events go to a file. Below it, starting the thread
 * (~40 ms, once a process) costs more than it saves. With events to a file,
 * the output thread has the second core already: a third thread took as
 * long (300k capture, 30 alternated runs: best 565 against 494 ms, median
 * 637 against 689 ms); without one, replays took 30% less (best 356 against
 * 496 ms, median 437 against 637 ms).
 */
export const TCP_THREAD_MIN_BYTES = 16 * 1024 * 1024;

/**
 * A thread that reads captures, decodes them and follows TCP for replays,
 * started once and kept for every later replay of the process, as the output
 * thread is. Unref'd: an idle thread never keeps the process alive.
 */
class TcpThread {
  readonly ring = Ring.create(2 ** 30, RING_BYTES);
  readonly control = new Int32Array(new SharedArrayBuffer(TcpCtl.words * 4));
  /** Jobs go to the thread, and pool buffers and jobs' ends come back, this way. */
  readonly port: MessagePort;
  private readonly worker: Worker;

  constructor() {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const data: TcpThreadData = { ring: this.ring.buffer, control: this.control.buffer, port: port2 };
    this.worker = startWorker(workerUrl('pipeline/tcp-thread-worker'), { workerData: data, resourceLimits: { maxYoungGenerationSizeMb: 2 }, transferList: [port2] });
    this.worker.unref();
    // a thread that dies is seen as a stall (the replay's thread never turns its event loop meanwhile)
    this.worker.on('error', () => {});
  }

  /** A thread given up on mid-job: told to stop, and not used again. */
  abandon(): void {
    Atomics.store(this.control, TcpCtl.abort, 1);
    Atomics.notify(this.control, TcpCtl.released);
    this.ring.wake();
    void this.worker.terminate();
  }
}

const idle: TcpThread[] = [];

/** Whether a replay of `capture` reads it with a TCP thread: as asked, else by its size and where its events go. */
export function wantsTcpThread(capture: string, asked: boolean | undefined, output: string): boolean {
  if (asked !== undefined) return asked;
  if (output === 'file') return false;
  try {
    return statSync(capture).size >= TCP_THREAD_MIN_BYTES;
  } catch {
    return false; // the feed on this thread says why it cannot be read
  }
}

/**
 * A {@link CaptureFeed} split over two threads: a TCP thread reads the
 * capture, decodes it and follows TCP (`tcp-thread-worker.ts`); this one
 * runs the Redis analyzer on what it hands over, packet by packet. Same
 * transactions, same counters, same packets and times as a `CaptureFeed`.
 * Bytes stay in the reader's shared buffers; a buffer is let go (its
 * messages kept copied out, the output thread done with it) when the
 * thread turns to the one before it.
 */
export class ThreadedFeed implements Feed {
  readonly redis: RedisAnalyzer;
  readonly base: TimeBase = { sec: 0, nsec: 0 };
  packets = 0;
  bytes = 0;
  lastTsNs = 0;
  lastCaplen = 0;
  error: CaptureError | null = null;
  warnings: readonly CaptureWarning[] = [];
  /** The reader's pool buffers, by slot, as the thread announced them. */
  readonly pool: Buffer[] = [];
  beforeRewrite: ((buf: Buffer) => void) | null = null;
  private thread: TcpThread | null;
  private readonly data: Buffer;
  private readonly view: DataView;
  /** The batch being read is `data[at..end)`; `end` -1 while none is held. */
  private at = 0;
  private end = -1;
  /** Whether messages may be views of bytes in the held batch: they are copied out before it goes back. */
  private viewsInBatch = false;
  /** What the analyzer is told to keep copied out of when a buffer goes: the pool, and the ring. */
  private readonly viewed: Buffer[];
  private served = 0;
  /** Open connections, by handle. */
  private readonly conns: (Connection | null)[] = [];
  private jobEnd: JobEnd | null = null;
  private finished = false;

  constructor(
    readonly file: string,
    sink: RedisSink,
    private readonly opts: FeedOptions,
  ) {
    this.redis = new RedisAnalyzer(sink, opts.redis);
    this.redis.trackViews = true;
    const t = idle.pop() ?? new TcpThread();
    this.thread = t;
    this.data = t.ring.data;
    this.view = t.ring.view;
    this.viewed = [t.ring.data];
    Atomics.store(t.control, TcpCtl.abort, 0);
    const job: Job = { file, ports: opts.ports, mode: opts.tcp, ...(opts.tcpOptions ? { tcpOptions: opts.tcpOptions } : {}) };
    t.port.postMessage(job);
    // a capture that does not open fails here, as a CaptureFeed's constructor does
    this.next();
    if (this.data[this.at] === Rec.end) {
      this.ended();
      if (this.error !== null) throw this.error;
    }
  }

  step(): boolean {
    if (this.finished) return false;
    const d = this.data;
    const v = this.view;
    // what comes before the packet: the reader's turn to a buffer, the first packet's time
    for (;;) {
      if (this.at >= this.end) this.next();
      const kind = d[this.at]!;
      if (kind === Rec.packet) break;
      if (kind === Rec.eof || kind === Rec.end) {
        this.finishing();
        return false;
      }
      this.serve(kind);
    }
    const at = this.at;
    const caplen = v.getUint32(at + 4, true);
    const tsNs = v.getFloat64(at + 8, true);
    this.at = at + 16;
    this.packets++;
    this.bytes += caplen;
    this.lastCaplen = caplen;
    this.lastTsNs = tsNs;
    // what TCP made of it: everything up to the next packet or the capture's end
    for (;;) {
      if (this.at >= this.end) this.next();
      const kind = d[this.at]!;
      if (kind === Rec.packet || kind === Rec.eof || kind === Rec.end) return true;
      this.serve(kind);
    }
  }

  /** The capture's end: connections closed by it, then the thread's account. */
  private finishing(): void {
    this.finished = true;
    if (this.data[this.at] === Rec.eof) this.at += 4;
    for (;;) {
      if (this.at >= this.end) this.next();
      const kind = this.data[this.at]!;
      if (kind === Rec.end) break;
      this.serve(kind);
    }
    this.ended();
  }

  /** Serves the record at `at` (anything but a packet, `eof` or `end`) and moves past it. */
  private serve(kind: number): void {
    const d = this.data;
    const v = this.view;
    const at = this.at;
    if (kind === Rec.data) {
      const where = d[at + 2]!;
      const length = v.getUint32(at + 12, true);
      const conn = this.conns[v.getUint32(at + 4, true)]!;
      const tsNs = v.getFloat64(at + 16, true);
      if (where === 0) {
        this.viewsInBatch = true;
        this.at = at + ((DATA_HEADER + length + 3) & ~3);
        this.redis.onData(conn, d[at + 1] as Direction, d, at + DATA_HEADER, length, tsNs);
      } else {
        this.at = at + DATA_HEADER;
        this.redis.onData(conn, d[at + 1] as Direction, this.pool[where - 1]!, v.getUint32(at + 8, true), length, tsNs);
      }
    } else if (kind === Rec.conn) {
      this.conns[v.getUint32(at + 4, true)] = getConn(d, v, at);
      this.at = at + ((connRecordLength(v, at) + 3) & ~3);
    } else if (kind === Rec.buffer) {
      this.at = at + 4;
      this.buffer(d[at + 1]!, d[at + 2] === 1);
    } else if (kind === Rec.gap) {
      this.at = at + 24;
      this.redis.onGap(this.conns[v.getUint32(at + 4, true)]!, d[at + 1] as Direction, v.getFloat64(at + 8, true), v.getFloat64(at + 16, true));
    } else if (kind === Rec.fin) {
      this.at = at + 16;
      this.redis.onFin(this.conns[v.getUint32(at + 4, true)]!, d[at + 1] as Direction, v.getFloat64(at + 8, true));
    } else if (kind === Rec.close) {
      this.at = at + 16;
      const h = v.getUint32(at + 4, true);
      this.redis.onClose(this.conns[h]!, CLOSE_REASONS[d[at + 1]!]!, v.getFloat64(at + 8, true));
      this.conns[h] = null;
    } else if (kind === Rec.base) {
      this.at = at + 24;
      this.base.sec = v.getFloat64(at + 8, true);
      this.base.nsec = v.getFloat64(at + 16, true);
    } else {
      throw new Error(`TCP thread: unknown record kind ${kind} at ${at}`);
    }
  }

  /**
   * The reader went on in the buffer at `slot`: the buffer after it, which
   * it writes over next, is let go now (whatever is kept of it copied out),
   * a buffer's worth of packets before the thread needs it.
   */
  private buffer(slot: number, fresh: boolean): void {
    if (fresh) {
      const s = this.receive() as SharedBuffer;
      const buf = Buffer.from(s.buffer, s.byteOffset, s.length);
      const old = this.pool[slot];
      this.pool[slot] = buf;
      if (old === undefined) this.viewed.push(buf);
      else this.viewed[this.viewed.indexOf(old)] = buf;
    }
    const next = this.pool[(slot + 1) % POOL_SIZE];
    if (next !== undefined) this.letGo(next);
    Atomics.store(this.thread!.control, TcpCtl.released, ++this.served);
    Atomics.notify(this.thread!.control, TcpCtl.released);
  }

  private letGo(buf: Buffer): void {
    this.beforeRewrite?.(buf);
    this.redis.release(buf, this.viewed);
  }

  /** The job's end: its account, every buffer let go, the thread back to the idle ones. */
  private ended(): void {
    const t = this.thread!;
    const end = this.receive() as JobEnd;
    this.jobEnd = end;
    this.finished = true;
    this.warnings = end.warnings;
    if (end.error !== null) this.error = new CaptureError(end.error.file, end.error.record, end.error.offset, end.error.reason);
    for (const buf of this.pool) this.letGo(buf);
    this.giveBack();
    Atomics.store(t.control, TcpCtl.released, ALL_RELEASED);
    Atomics.notify(t.control, TcpCtl.released);
    this.thread = null;
    idle.push(t);
    if (end.fatal !== null) throw new Error(`the TCP thread failed on ${this.file}: ${end.fatal}`);
  }

  /** Hands the held batch back to the thread, the analyzer's views of it copied out first. */
  private giveBack(): void {
    if (this.end < 0) return;
    if (this.viewsInBatch) {
      this.redis.release(this.data, this.viewed);
      this.viewsInBatch = false;
    }
    this.thread!.ring.release();
    this.end = -1;
  }

  /** The next batch, waiting for the thread if it has not written it yet. */
  private next(): void {
    this.giveBack();
    const ring = this.thread!.ring;
    let at = ring.peek();
    let waited = 0;
    while (at < 0) {
      if (waited > STALL_MS) {
        this.stop();
        throw new Error(`the TCP thread sent nothing for ${STALL_MS / 1000} s while reading ${this.file}`);
      }
      ring.waitForData(SLEEP_MS);
      waited += SLEEP_MS;
      at = ring.peek();
    }
    this.at = at;
    this.end = at + ring.peekedLength;
  }

  /** The next message from the thread (sent before the record that announces it). */
  private receive(): unknown {
    const m = receiveMessageOnPort(this.thread!.port);
    if (m === undefined) throw new Error('TCP thread: a record announced a message that is not there');
    return m.message;
  }

  counters(): Counters {
    return { ...(this.jobEnd?.counters ?? this.countersSoFar()), ...this.redis.counters } as Counters;
  }

  /**
   * Decode and TCP counters of a feed stopped early: the thread is ahead,
   * so the packets read so far are decoded and followed again, here.
   */
  private countersSoFar(): Record<string, number> {
    const sink: RedisSink = {
      onTransaction(tx) {
        tx.request.finish();
        tx.response.finish();
      },
    };
    const again = new CaptureFeed(this.file, sink, this.opts);
    for (let i = 0; i < this.packets && again.step(); i++);
    again.stop();
    this.warnings = again.warnings;
    this.jobEnd = { counters: { ...again.decode, ...again.tcp.counters }, warnings: [], error: null, fatal: null };
    return this.jobEnd.counters;
  }

  stop(): void {
    if (this.finished) return;
    this.finished = true;
    const t = this.thread!;
    this.thread = null;
    t.abandon();
  }
}
