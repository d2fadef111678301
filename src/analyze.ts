import { DECODED, DecodedPacket, decodePacket, newDecodeCounters, skipReason, type DecodeCounters } from './decode/decode.js';
import { CaptureError } from './pcap/errors.js';
import type { CaptureWarning } from './pcap/errors.js';
import { CaptureReader } from './pcap/reader.js';
import { NdjsonWriter } from './pipeline/ndjson.js';
import { RedisAnalyzer, type RedisCounters, type RedisOptions, type RedisSink } from './redis/analyzer.js';
import { EventEncoder } from './redis/event.js';
import { transactionMethod, type TimeBase, type Transaction } from './redis/transaction.js';
import { TcpAssembler, type TcpOptions } from './tcp/assembler.js';
import type { TcpCounters, TcpMode } from './tcp/stream.js';

export type { DecodeCounters };

export interface FeedOptions {
  ports: readonly number[];
  tcp: TcpMode;
  tcpOptions?: Partial<TcpOptions>;
  redis?: Partial<RedisOptions>;
}

/**
 * Capture → decode → TCP → Redis, one packet per {@link step}. The source of
 * every run: `analyze` drains it at once, `replay` paces it on the simulated clock.
 */
export class CaptureFeed {
  readonly reader: CaptureReader;
  readonly tcp: TcpAssembler;
  readonly redis: RedisAnalyzer;
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
  /** The fault that ended reading early, if any. */
  error: CaptureError | null = null;
  private readonly pkt = new DecodedPacket();
  private finished = false;

  constructor(capture: string | CaptureReader, sink: RedisSink, opts: FeedOptions) {
    this.reader = typeof capture === 'string' ? CaptureReader.open(capture) : capture;
    this.redis = new RedisAnalyzer(sink, opts.redis);
    this.tcp = new TcpAssembler(this.redis, { ...opts.tcpOptions, mode: opts.tcp, ports: opts.ports });
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
    if (this.packets === 0) {
      this.base.sec = rec.tsSec;
      this.base.nsec = rec.tsNsec;
    }
    this.packets++;
    this.bytes += rec.caplen;
    this.lastCaplen = rec.caplen;
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

  get warnings(): readonly CaptureWarning[] {
    return this.reader.warnings;
  }

  counters(): Counters {
    return { ...this.decode, ...this.tcp.counters, ...this.redis.counters };
  }
}

export type Counters = DecodeCounters & TcpCounters & RedisCounters;

export interface AnalyzeOptions {
  /** Redis server ports (default 6379). */
  ports?: readonly number[];
  /** TCP mode (default `reassemble`). */
  tcp?: TcpMode;
  /** Write every transaction as an NDJSON line to this file. */
  events?: string;
  /** Called for every transaction, in order. */
  onTransaction?: (tx: Transaction, base: TimeBase) => void;
}

/** What `lockstep analyze` reports: the lossless ground truth of a capture. */
export interface AnalyzeSummary {
  file: string;
  format: 'pcap' | 'pcapng';
  packets: number;
  bytes: number;
  /** Capture time of the first packet (ISO-8601) and the span to the last, in ns. */
  firstPacket: string | null;
  durationNs: number;
  transactions: number;
  byMethod: Record<string, number>;
  counters: Counters;
  warnings: string[];
  /** The fault that ended reading early (everything before it is counted). */
  error: string | null;
}

/** Analyzes a whole capture: every transaction, no queue in the way. */
export function analyze(capture: string, opts: AnalyzeOptions = {}): AnalyzeSummary {
  const byMethod = new Map<string, number>();
  const events = opts.events ? new NdjsonWriter(opts.events) : null;
  const encoder = new EventEncoder();
  let feed: CaptureFeed | null = null;
  const sink: RedisSink = {
    onTransaction(tx) {
      const m = transactionMethod(tx);
      byMethod.set(m, (byMethod.get(m) ?? 0) + 1);
      if (events) encoder.write(tx, feed!.base, events);
      opts.onTransaction?.(tx, feed!.base);
    },
  };
  try {
    feed = new CaptureFeed(capture, sink, { ports: opts.ports ?? [6379], tcp: opts.tcp ?? 'reassemble' });
  } catch (e) {
    events?.discard();
    throw e;
  }
  while (feed.step());
  events?.close();
  const counters = feed.counters();
  return {
    file: capture,
    format: feed.reader.format,
    packets: feed.packets,
    bytes: feed.bytes,
    firstPacket: feed.packets > 0 ? new Date(feed.base.sec * 1000 + Math.floor(feed.base.nsec / 1e6)).toISOString() : null,
    durationNs: feed.maxTsNs,
    transactions: counters['redis.transactions'],
    byMethod: Object.fromEntries([...byMethod.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    counters,
    warnings: feed.reader.warnings.map((w) => w.message),
    error: feed.error?.message ?? null,
  };
}
