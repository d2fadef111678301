import { DECODED, DecodedPacket, decodePacket, newDecodeCounters, skipReason, type DecodeCounters } from './decode/decode.js';
import { CaptureError } from './pcap/errors.js';
import type { CaptureWarning } from './pcap/errors.js';
import { CaptureReader } from './pcap/reader.js';
import { analyzersFor, Encoders, type Equation, type PortMap, type Protocol, type ProtocolAnalyzer, type TimeBase, type Transaction, type TransactionSink } from './protocols/index.js';
import { redisPacketbeat5 } from './redis/packetbeat5.js';
import { redis } from './redis/protocol.js';
import { TcpAssembler, type TcpOptions } from './tcp/assembler.js';
import type { TcpCounters, TcpMode } from './tcp/stream.js';

export type { DecodeCounters };

export interface FeedOptions {
  /** Redis server ports (packetbeat.protocols.redis.ports), or which protocol each port speaks. */
  ports: readonly number[] | PortMap;
  tcp: TcpMode;
  tcpOptions?: Partial<TcpOptions>;
}

/**
 * How long an idle connection is kept, in capture time. packetbeat's stream
 * table (protos/tcp/tcp.go:245 PutWithTimeout, the protocol's
 * `transaction_timeout`) expires on the wall clock: replaying at capture pace
 * that is capture time, but a \`-t\` replay outruns it, so with packetbeat's
 * TCP at top speed nothing expires.
 */
export function streamTimeout(tcp: TcpMode, topspeed: boolean, timeoutNs: number): number {
  return tcp === 'packetbeat' && topspeed ? Infinity : timeoutNs;
}

/** Every protocol lockstep analyzes, by name; `redis5` is Redis as packetbeat 5's own analyzer sees it. */
export const PROTOCOLS: Readonly<Record<string, Protocol>> = { redis, redis5: redisPacketbeat5 };

const shared = new Encoders(PROTOCOLS);

/** One transaction's event as a string, without its newline. */
export function formatEvent(tx: Transaction, base: TimeBase): string {
  return shared.format(tx, base);
}

/** Every counter of a run's capture side: decode, TCP, and each protocol's (`redis.*`). */
export type Counters = DecodeCounters & TcpCounters & Record<string, number>;

/** What a replay reads of its capture, a packet per {@link step}: a {@link CaptureFeed}, or a recording of one played again. */
export interface Feed {
  /** Time of the first packet; event times are relative to it. */
  readonly base: TimeBase;
  readonly file: string;
  readonly packets: number;
  /** Captured bytes read so far. */
  readonly bytes: number;
  /** Capture time of the last packet read, ns since the first, and its captured length. */
  readonly lastTsNs: number;
  readonly lastCaplen: number;
  /** Transactions the analyzers completed. */
  readonly transactions: number;
  readonly error: CaptureError | null;
  readonly warnings: readonly CaptureWarning[];
  step(): boolean;
  stop(): void;
  counters(): Counters;
  equations(): Equation[];
}

/**
 * Capture → decode → TCP → protocol analyzers, one packet per {@link step}.
 * The source of every run: `analyze` drains it at once, `replay` paces it on
 * the simulated clock.
 */
export class CaptureFeed implements Feed {
  readonly reader: CaptureReader;
  readonly tcp: TcpAssembler;
  readonly analyzers: readonly ProtocolAnalyzer[];
  readonly decode: DecodeCounters = newDecodeCounters();
  /** Time of the first packet; event times are relative to it. */
  readonly base: TimeBase = { sec: 0, nsec: 0 };
  packets = 0;
  bytes = 0;
  /** Capture time of the last packet read, ns since the first. */
  lastTsNs = 0;
  /** The latest capture time seen (packets need not be in time order), ns since the first. */
  maxTsNs = 0;
  /** Captured length of the last packet read. */
  lastCaplen = 0;
  /** Packets cut short by the snap length (caplen < length on the wire), and the bytes they lack. */
  snapped = 0;
  snappedBytes = 0;
  /** The fault that ended reading early, if any. */
  error: CaptureError | null = null;
  /** Transactions the analyzers completed, all protocols together. */
  transactions = 0;
  private readonly pkt = new DecodedPacket();
  private finished = false;
  /** The read buffer of the last packet: when the reader goes on to another, the analyzers release it and the reader loads into it again. */
  private buffer: Buffer | null = null;

  private readonly protocols: readonly Protocol[];
  /** Every monitored port, all protocols together. */
  private readonly ports: readonly number[];

  constructor(capture: string | CaptureReader, sink: TransactionSink, opts: FeedOptions) {
    const map: PortMap = isPortMap(opts.ports) ? opts.ports : [{ protocol: redis, ports: opts.ports }];
    this.protocols = map.map((m) => m.protocol);
    const counted: TransactionSink = {
      onTransaction: (tx) => {
        this.transactions++;
        sink.onTransaction(tx);
      },
      keepsNone: sink.keepsNone,
      holds: sink.holds?.bind(sink),
    };
    const { analyzers, stream, ports } = analyzersFor(map, counted);
    this.ports = ports;
    this.reader = typeof capture === 'string' ? CaptureReader.open(capture) : capture;
    this.analyzers = analyzers;
    this.tcp = new TcpAssembler(stream, { ...opts.tcpOptions, mode: opts.tcp, ports });
  }

  /** Reads and analyzes one packet. False at the end of the capture (or at a fault: see {@link error}). */
  step(): boolean {
    if (this.finished) return false;
    let rec;
    try {
      rec = this.reader.next();
    } catch (e) {
      if (!(e instanceof CaptureError)) throw e;
      this.error = e;
      rec = null;
    }
    if (rec === null) {
      this.finish();
      return false;
    }
    if (rec.data !== this.buffer) {
      const done = this.buffer;
      this.buffer = rec.data;
      if (done !== null) {
        for (const a of this.analyzers) a.release?.(done);
        this.reader.recycle(done);
      }
    }
    if (this.packets === 0) {
      this.base.sec = rec.tsSec;
      this.base.nsec = rec.tsNsec;
    }
    this.packets++;
    this.bytes += rec.caplen;
    this.lastCaplen = rec.caplen;
    if (rec.caplen < rec.origLen) {
      this.snapped++;
      this.snappedBytes += rec.origLen - rec.caplen;
    }
    const tsNs = (rec.tsSec - this.base.sec) * 1e9 + (rec.tsNsec - this.base.nsec);
    this.lastTsNs = tsNs;
    if (tsNs > this.maxTsNs) this.maxTsNs = tsNs;
    const code = decodePacket(rec.linkType, rec.data, rec.offset, rec.caplen, this.pkt);
    if (code === DECODED) this.tcp.process(this.pkt, tsNs);
    else this.decode[`decode.${skipReason(code)}`]++;
    return true;
  }

  private finish(): void {
    this.finished = true;
    this.tcp.closeAll();
    this.reader.close();
  }

  stop(): void {
    if (this.finished) return;
    this.finished = true;
    this.reader.close();
  }

  get file(): string {
    return this.reader.file;
  }

  /**
   * The capture's warnings, and one more when the ports given found no
   * traffic at all while other TCP ports had some: which ones were busiest.
   */
  get warnings(): readonly CaptureWarning[] {
    const evicted = this.tcp.counters['tcp.connections_evicted'];
    const w =
      evicted === 0
        ? this.reader.warnings
        : [
            ...this.reader.warnings,
            {
              record: 0,
              offset: 0,
              message:
                `${evicted} connections closed early: more than ${this.tcp.maxConnections} were open at once, and each time the least recently seen went ` +
                `(tcp.connections_evicted; requests they still waited on are redis.unmatched_requests.evicted); packetbeat keeps them all — raise --max-connections`,
            },
          ];
    if (!this.finished || this.tcp.counters['tcp.connections'] > 0) return w;
    const busiest = this.tcp.busiestUnmonitored();
    if (busiest.length === 0) return w;
    const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
    const list = busiest.map((b) => `${b.port} (${plural(b.segments, 'segment')}${b.opened > 0 ? `, ${plural(b.opened, 'connection')} opened` : ''})`).join(', ');
    const message = `no TCP traffic on port${this.ports.length === 1 ? '' : 's'} ${this.ports.join(',')}; the busiest server ports in the capture: ${list} — give --ports ${busiest[0]!.port}?`;
    return [...w, { record: 0, offset: 0, message }];
  }

  counters(): Counters {
    const out: Counters = { ...this.decode, ...this.tcp.counters };
    for (const a of this.analyzers) for (const [k, v] of Object.entries(a.counters)) out[k] = (out[k] ?? 0) + v;
    return out;
  }

  /** What each protocol's counters must satisfy (the ledger checks them at the end of a run). */
  equations(): Equation[] {
    const c = this.counters();
    return this.protocols.flatMap((p) => p.equations(c));
  }


}

function isPortMap(p: FeedOptions['ports']): p is PortMap {
  return p.length > 0 && typeof p[0] === 'object';
}

