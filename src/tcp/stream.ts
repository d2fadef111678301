import { TCP_FIN, TCP_SYN } from '../decode/decode.js';
import type { Connection, Direction, StreamAnalyzer } from './connection.js';
import { seqAdd, seqDiff } from './seq.js';

export type TcpMode = 'reassemble' | 'packetbeat';
export const TCP_MODES: readonly TcpMode[] = ['reassemble', 'packetbeat'];

/** Counters of the TCP layer, with packetbeat's name where it has one. */
export interface TcpCounters {
  'tcp.dropped_because_of_gaps': number;
  'tcp.gap_bytes': number;
  'tcp.retransmitted_bytes': number;
  'tcp.overlap_bytes': number;
  'tcp.out_of_order_segments': number;
  'tcp.connections': number;
  'tcp.streams_expired': number;
  /** Connections closed early because the table was full (`TcpOptions.maxConnections`). */
  'tcp.connections_evicted': number;
  'tcp.unmonitored_packets': number;
}

export function newTcpCounters(): TcpCounters {
  return {
    'tcp.dropped_because_of_gaps': 0,
    'tcp.gap_bytes': 0,
    'tcp.retransmitted_bytes': 0,
    'tcp.overlap_bytes': 0,
    'tcp.out_of_order_segments': 0,
    'tcp.connections': 0,
    'tcp.streams_expired': 0,
    'tcp.connections_evicted': 0,
    'tcp.unmonitored_packets': 0,
  };
}

/** A segment held back until the bytes before it arrive (reassemble mode). */
interface Pending {
  seq: number;
  data: Buffer;
  fin: boolean;
  tsNs: number;
}

/** What a stream holding nothing points at: never pushed to. */
const NONE_HELD: Pending[] = [];

export interface StreamLimits {
  /** Out-of-order bytes held per direction before the first hole is declared a gap. */
  maxBufferedBytes: number;
  maxBufferedSegments: number;
}

/**
 * One direction of a connection in `reassemble` mode: segments ahead of the
 * expected sequence are held (bounded) and delivered in order; a hole
 * becomes a gap only when it can no longer be filled (limits reached,
 * connection closed or expired). The `packetbeat` mode keeps only a number
 * per direction, on the connection (`TcpAssembler`).
 */
export class Stream {
  /** The next expected sequence. */
  private seq = 0;
  private hasSeq = false;
  finished = false;
  /** Segments held, or the shared empty {@link NONE_HELD} (most streams never hold one: no array each). */
  private pending: Pending[] = NONE_HELD;
  private pendingBytes = 0;

  constructor(
    private readonly conn: Connection,
    private readonly dir: Direction,
    private readonly analyzer: StreamAnalyzer,
    private readonly counters: TcpCounters,
    private readonly limits: StreamLimits,
  ) {}

  /** Reassembling mode: deliver in order, hold what is early. */
  segmentReassemble(seq: number, flags: number, buf: Buffer, off: number, len: number, tsNs: number): void {
    if (this.finished) {
      if (len > 0) this.counters['tcp.retransmitted_bytes'] += len;
      return;
    }
    const fin = (flags & TCP_FIN) !== 0;
    if (flags & TCP_SYN) {
      seq = seqAdd(seq, 1);
      if (!this.hasSeq) {
        this.seq = seq;
        this.hasSeq = true;
      }
    }
    if (len === 0 && !fin) return;
    if (!this.hasSeq) {
      // capture started mid-stream: the first segment seen defines the start
      this.seq = seq;
      this.hasSeq = true;
    }
    const ahead = seqDiff(seq, this.seq);
    if (ahead > 0) {
      this.hold(seq, buf, off, len, fin, tsNs);
      return;
    }
    this.accept(seq, buf, off, len, fin, tsNs);
    this.drain();
  }

  /** A segment at or below the expected sequence: trim what was seen, deliver the rest. */
  private accept(seq: number, buf: Buffer, off: number, len: number, fin: boolean, tsNs: number): void {
    const seen = -seqDiff(seq, this.seq);
    if (seen >= len) {
      this.counters['tcp.retransmitted_bytes'] += len;
      if (fin && seen === len) this.deliverFin(tsNs);
      return;
    }
    if (seen > 0) this.counters['tcp.retransmitted_bytes'] += seen;
    const n = len - seen;
    this.seq = seqAdd(this.seq, n);
    this.analyzer.onData(this.conn, this.dir, buf, off + seen, n, tsNs);
    if (fin) this.deliverFin(tsNs);
  }

  private deliverFin(tsNs: number): void {
    if (this.finished) return;
    this.finished = true;
    this.seq = seqAdd(this.seq, 1);
    // nothing follows a FIN: what is still held beyond it is never delivered (nor waited for)
    for (const p of this.pending) this.counters['tcp.retransmitted_bytes'] += p.data.length;
    this.pending.length = 0;
    this.pendingBytes = 0;
    this.analyzer.onFin(this.conn, this.dir, tsNs);
  }

  private hold(seq: number, buf: Buffer, off: number, len: number, fin: boolean, tsNs: number): void {
    this.counters['tcp.out_of_order_segments']++;
    const p: Pending = { seq, data: Buffer.from(buf.subarray(off, off + len)), fin, tsNs };
    // keep `pending` sorted by distance from the expected sequence; arrivals are mostly in order
    const rel = seqDiff(seq, this.seq);
    if (this.pending === NONE_HELD) this.pending = [];
    let i = this.pending.length;
    while (i > 0 && seqDiff(this.pending[i - 1]!.seq, this.seq) > rel) i--;
    this.pending.splice(i, 0, p);
    this.pendingBytes += len;
    while (
      this.pending.length > 0 &&
      (this.pendingBytes > this.limits.maxBufferedBytes || this.pending.length > this.limits.maxBufferedSegments)
    ) {
      this.skipHole(tsNs);
    }
  }

  private drain(): void {
    while (this.pending.length > 0 && !this.finished) {
      const p = this.pending[0]!;
      if (seqDiff(p.seq, this.seq) > 0) return;
      this.pending.shift();
      this.pendingBytes -= p.data.length;
      this.accept(p.seq, p.data, 0, p.data.length, p.fin, p.tsNs);
    }
  }

  /** Declares the first hole lost and delivers what follows it. */
  private skipHole(tsNs: number): void {
    const p = this.pending[0]!;
    const lost = seqDiff(p.seq, this.seq);
    if (lost > 0) {
      this.counters['tcp.dropped_because_of_gaps']++;
      this.counters['tcp.gap_bytes'] += lost;
      this.analyzer.onGap(this.conn, this.dir, lost, tsNs);
      this.seq = p.seq;
    }
    this.drain();
  }

  /** The connection ends: holes still open will never be filled. */
  flush(tsNs: number): void {
    while (this.pending.length > 0 && !this.finished) this.skipHole(tsNs);
    this.pending.length = 0;
    this.pendingBytes = 0;
  }
}
