import { CaptureFeed, PROTOCOLS, type Counters } from './feed.js';
import { NdjsonWriter } from './pipeline/ndjson.js';
import { Encoders, type TimeBase, type Transaction, type TransactionSink } from './protocols/index.js';
import type { TcpMode } from './tcp/stream.js';

export { CaptureFeed, type Counters, type DecodeCounters } from './feed.js';

export interface AnalyzeOptions {
  /** Redis server ports (default 6379). */
  ports?: readonly number[];
  /** TCP mode (default `reassemble`; `packetbeat` with `as: 'packetbeat5'`). */
  tcp?: TcpMode;
  /**
   * `lossless` (default): Redis as it is on the wire. `packetbeat5`: as
   * packetbeat 5's own analyzer sees it (`redis/packetbeat5.ts`), its
   * events byte for byte.
   */
  as?: 'lossless' | 'packetbeat5';
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
  const encoders = new Encoders(PROTOCOLS);
  let feed: CaptureFeed | null = null;
  let transactions = 0;
  const sink: TransactionSink = {
    onTransaction(tx) {
      transactions++;
      const m = tx.method;
      byMethod.set(m, (byMethod.get(m) ?? 0) + 1);
      if (events) encoders.write(tx, feed!.base, events);
      opts.onTransaction?.(tx, feed!.base);
    },
  };
  try {
    const ports = opts.ports ?? [6379];
    feed =
      opts.as === 'packetbeat5'
        ? new CaptureFeed(capture, sink, { ports: [{ protocol: PROTOCOLS.redis5!, ports }], tcp: opts.tcp ?? 'packetbeat' })
        : new CaptureFeed(capture, sink, { ports, tcp: opts.tcp ?? 'reassemble' });
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
    transactions,
    byMethod: Object.fromEntries([...byMethod.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    counters,
    warnings: [...feed.reader.warnings.map((w) => w.message), ...analysisWarnings(feed.snapped, feed.snappedBytes, counters)],
    error: feed.error?.message ?? null,
  };
}

/**
 * What the analysis could not see or had to guess, with its counts: never
 * silence. A snap length shorter than the packets (`tcpdump -s 96`) loses
 * their payload; unparsed bytes, inline commands and values too large to
 * keep are analyzed, but differently from a plain RESP exchange.
 */
export function analysisWarnings(snapped: number, snappedBytes: number, c: Counters): string[] {
  const out: string[] = [];
  const n = (k: string) => c[k] ?? 0;
  if (snapped > 0) {
    out.push(
      `${snapped} packets cut short by the snap length (caplen < length; ${snappedBytes} bytes not captured): ` +
        `their payload is missing, so the Redis messages in them could not be seen ` +
        `(decode.truncated=${n('decode.truncated')}, tcp.dropped_because_of_gaps=${n('tcp.dropped_because_of_gaps')}, ` +
        `redis.unmatched_requests=${n('redis.unmatched_requests')}, redis.unmatched_responses=${n('redis.unmatched_responses')}); capture with a larger -s`,
    );
  }
  if (n('redis.parse_errors') > 0) {
    out.push(
      `${n('redis.parse_errors')} Redis parse errors: ${n('redis.resync_skipped_bytes')} bytes skipped to resynchronise at the next message ` +
        `(redis.resync_skipped_bytes; ${n('redis.message_too_large')} of the errors were messages over the size limit)`,
    );
  }
  if (n('redis.inline_requests') > 0) {
    out.push(`${n('redis.inline_requests')} inline commands (not RESP, e.g. redis-benchmark's PING_INLINE) read as requests by their words (redis.inline_requests)`);
  }
  if (n('redis.large_messages') > 0) {
    out.push(`${n('redis.large_messages')} messages over the 10 MiB limit: their large values were walked over by length and not kept (events show "<N bytes not kept>"); still paired (redis.large_messages)`);
  }
  return out;
}
