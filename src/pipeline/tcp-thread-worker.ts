/**
 * The TCP thread: reads a capture, decodes its packets and follows their TCP
 * connections, and writes what the Redis analyzer is to be told (bytes in
 * order, gaps, ends of connections), packet by packet, into the ring a
 * replay reads (`tcp-thread.ts`). The bytes stay where the reader put them,
 * in its pool of shared buffers; the replay says when it is done with one.
 * The record format is in `tcp-records.ts`.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { DECODED, DecodedPacket, decodePacket, newDecodeCounters, skipReason } from '../decode/decode.js';
import { Ring } from '../live/ring.js';
import { CaptureError } from '../pcap/errors.js';
import { CaptureReader } from '../pcap/reader.js';
import { TcpAssembler } from '../tcp/assembler.js';
import type { CloseReason, Connection, Direction, StreamAnalyzer } from '../tcp/connection.js';
import { connRecordBytes, putConn } from './conn-record.js';
import type { SharedBuffer } from './output-records.js';
import { CLOSE_REASONS, DATA_HEADER, Rec, TcpCtl, type Job, type JobEnd, type TcpThreadData } from './tcp-records.js';

/** Bytes of a batch: records are handed over a batch at a time (one store the other core must see). */
const BATCH_BYTES = 32 * 1024;
/** Largest piece of bytes copied into a record (the rest goes in further records). */
const MAX_INLINE = 16 * 1024;
const SLEEP_MS = 50;
/** How long the thread waits for a replay that makes no progress before it drops the job. */
const STALL_MS = 60_000;

class Aborted extends Error {}

/** One job: a capture through decode and TCP, into the ring. */
class JobRun implements StreamAnalyzer {
  private readonly data: Buffer;
  private readonly view: DataView;
  /** The batch being written is `data[start..start+used)`; -1 while none is claimed. */
  private start = -1;
  private used = 0;
  /** Buffers the reader went on in (`buffer` records written). */
  private switches = 0;
  private reader: CaptureReader | null = null;
  private readonly announced: (Buffer | null)[] = [];
  /** Free connection handles, and the next new one. */
  private readonly freeHandles: number[] = [];
  private nextHandle = 0;

  constructor(
    private readonly ring: Ring,
    private readonly control: Int32Array,
    private readonly port: MessagePort,
  ) {
    this.data = ring.data;
    this.view = ring.view;
  }

  run(job: Job): void {
    const decode = newDecodeCounters();
    let tcp: TcpAssembler | null = null;
    const end: JobEnd = { counters: {}, warnings: [], error: null, fatal: null };
    try {
      const reader = CaptureReader.open(job.file);
      this.reader = reader;
      reader.onRewrite = () => this.waitReleased(this.switches);
      reader.onBuffer = (slot, buf) => this.buffer(slot, buf);
      tcp = new TcpAssembler(this, { ...job.tcpOptions, mode: job.mode, ports: job.ports });
      const pkt = new DecodedPacket();
      let baseSec = 0;
      let baseNsec = 0;
      let packets = 0;
      for (;;) {
        let rec;
        try {
          rec = reader.next();
        } catch (e) {
          if (!(e instanceof CaptureError)) throw e;
          end.error = { file: e.file, record: e.record, offset: e.offset, reason: e.reason };
          rec = null;
        }
        if (rec === null) break;
        if (packets++ === 0) {
          baseSec = rec.tsSec;
          baseNsec = rec.tsNsec;
          const b = this.record(24);
          this.data[b] = Rec.base;
          this.view.setFloat64(b + 8, baseSec, true);
          this.view.setFloat64(b + 16, baseNsec, true);
        }
        const tsNs = (rec.tsSec - baseSec) * 1e9 + (rec.tsNsec - baseNsec);
        const at = this.record(16);
        this.data[at] = Rec.packet;
        this.view.setUint32(at + 4, rec.caplen, true);
        this.view.setFloat64(at + 8, tsNs, true);
        const code = decodePacket(rec.linkType, rec.data, rec.offset, rec.caplen, pkt);
        if (code === DECODED) tcp.process(pkt, tsNs);
        else decode[`decode.${skipReason(code)}`]++;
      }
      this.data[this.record(4)] = Rec.eof;
      tcp.closeAll();
      end.warnings = reader.warnings.map((w) => ({ record: w.record, offset: w.offset, message: w.message }));
    } catch (e) {
      if (e instanceof Aborted) {
        // the replay gave up: the pool is not handed on (the replay may still hold its buffers), the file is closed
        if (this.reader !== null) this.reader.onRewrite = null;
        this.reader?.close();
        return;
      }
      if (e instanceof CaptureError && this.reader === null) end.error = { file: e.file, record: e.record, offset: e.offset, reason: e.reason };
      else end.fatal = e instanceof Error ? (e.stack ?? e.message) : String(e);
    }
    end.counters = { ...decode, ...tcp?.counters };
    this.data[this.record(4)] = Rec.end;
    this.port.postMessage(end);
    this.handOver();
    // the pool goes to the next job once the replay is done with all of it
    try {
      this.reader?.close();
    } catch (e) {
      if (!(e instanceof Aborted)) throw e;
    }
  }

  // ---- StreamAnalyzer: what TCP says, as records ----

  onData(conn: Connection, dir: Direction, buf: Buffer, offset: number, length: number, tsNs: number): void {
    const slot = this.reader!.pool.indexOf(buf);
    if (slot >= 0) {
      this.dataHeader(this.connRecord(Rec.data, dir, conn, DATA_HEADER), slot + 1, offset, length, tsNs);
      return;
    }
    // bytes the reader will not rewrite (its first buffer, one made for a long record) or TCP's own: copied, in pieces
    let from = 0;
    do {
      const n = Math.min(MAX_INLINE, length - from);
      const at = this.connRecord(Rec.data, dir, conn, DATA_HEADER + n);
      this.dataHeader(at, 0, 0, n, tsNs);
      buf.copy(this.data, at + DATA_HEADER, offset + from, offset + from + n);
      from += n;
    } while (from < length);
  }

  onGap(conn: Connection, dir: Direction, lostBytes: number, tsNs: number): void {
    const at = this.connRecord(Rec.gap, dir, conn, 24);
    this.view.setFloat64(at + 8, lostBytes, true);
    this.view.setFloat64(at + 16, tsNs, true);
  }

  onFin(conn: Connection, dir: Direction, tsNs: number): void {
    this.view.setFloat64(this.connRecord(Rec.fin, dir, conn, 16) + 8, tsNs, true);
  }

  onClose(conn: Connection, reason: CloseReason, tsNs: number): void {
    this.view.setFloat64(this.connRecord(Rec.close, CLOSE_REASONS.indexOf(reason), conn, 16) + 8, tsNs, true);
    this.freeHandles.push(conn.app as number);
    conn.app = undefined;
  }

  /** Room for a record of `length` bytes about `conn` (announced first if new), its kind, byte 1 and handle written; where it starts. */
  private connRecord(kind: number, byte1: number, conn: Connection, length: number): number {
    const h = this.handle(conn);
    const at = this.record(length);
    this.data[at] = kind;
    this.data[at + 1] = byte1;
    this.view.setUint32(at + 4, h, true);
    return at;
  }

  /** The rest of a `data` record's header at `at`. */
  private dataHeader(at: number, where: number, offset: number, length: number, tsNs: number): void {
    const v = this.view;
    this.data[at + 2] = where;
    v.setUint32(at + 8, offset, true);
    v.setUint32(at + 12, length, true);
    v.setFloat64(at + 16, tsNs, true);
  }

  /** The connection's handle, announcing it with a `conn` record the first time. */
  private handle(conn: Connection): number {
    const known = conn.app;
    if (known !== undefined) return known as number;
    const h = this.freeHandles.pop() ?? this.nextHandle++;
    conn.app = h;
    const at = this.record(connRecordBytes(conn));
    this.data[at] = Rec.conn;
    this.view.setUint32(at + 4, h, true);
    putConn(this.data, this.view, at, conn);
    return h;
  }

  /** The reader goes on in its pool's buffer at `slot`. */
  private buffer(slot: number, buf: Buffer): void {
    const fresh = this.announced[slot] !== buf;
    const at = this.record(4);
    this.data[at] = Rec.buffer;
    this.data[at + 1] = slot;
    this.data[at + 2] = fresh ? 1 : 0;
    if (fresh) {
      this.announced[slot] = buf;
      const shared: SharedBuffer = { buffer: buf.buffer as SharedArrayBuffer, byteOffset: buf.byteOffset, length: buf.length };
      this.port.postMessage(shared);
    }
    this.switches++;
  }

  /** Waits until the replay has served `count` `buffer` records (so let go of the buffer the reader writes over next). */
  private waitReleased(count: number): void {
    if (Atomics.load(this.control, TcpCtl.released) >= count) return;
    this.handOver();
    this.waitUntil(() => Atomics.load(this.control, TcpCtl.released) >= count, () => {
      const now = Atomics.load(this.control, TcpCtl.released);
      if (now < count) Atomics.wait(this.control, TcpCtl.released, now, SLEEP_MS);
    });
  }

  /** Room for a record of `length` bytes (a multiple of 4 after padding) in the batch; where it starts. */
  private record(length: number): number {
    const n = (length + 3) & ~3;
    if (this.used + n > BATCH_BYTES) this.handOver();
    if (this.start < 0) this.claim();
    const at = this.start + this.used;
    this.used += n;
    return at;
  }

  private claim(): void {
    const ring = this.ring;
    this.start = ring.claim(BATCH_BYTES);
    if (this.start >= 0) return;
    this.waitUntil(
      () => (this.start = ring.claim(BATCH_BYTES)) >= 0,
      () => ring.waitForRoom(BATCH_BYTES, SLEEP_MS),
    );
  }

  /** Shows the batch to the replay. */
  private handOver(): void {
    if (this.start < 0) return;
    this.view.setInt32(this.start - 4, this.used, true);
    this.ring.publish(this.used);
    this.ring.flush();
    this.start = -1;
    this.used = 0;
  }

  /** Sleeps until `done()`; gives the job up when the replay aborts it or makes no progress for {@link STALL_MS}. */
  private waitUntil(done: () => boolean, sleep: () => void): void {
    let waited = 0;
    while (!done()) {
      if (Atomics.load(this.control, TcpCtl.abort) !== 0 || waited > STALL_MS) throw new Aborted();
      sleep();
      waited += SLEEP_MS;
    }
  }
}

if (parentPort !== null) {
  const d = workerData as TcpThreadData;
  const ring = Ring.attach(d.ring);
  const control = new Int32Array(d.control);
  d.port.on('message', (job: Job) => {
    Atomics.store(control, TcpCtl.released, 0);
    new JobRun(ring, control, d.port).run(job);
  });
}
