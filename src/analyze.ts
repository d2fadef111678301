import { CaptureFeed, PROTOCOLS, streamTimeout, type Counters } from './feed.js';
import type { CaptureReader } from './pcap/reader.js';
import { DEFAULT_TCP_OPTIONS } from './tcp/assembler.js';
import { NdjsonWriter, stdoutWriter, type BlockWriter } from './pipeline/ndjson.js';
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
  /**
   * Idle time after which a connection is forgotten, in capture-time ns
   * (default: 10 s; with packetbeat's TCP never, as packetbeat under \`-t\`).
   */
  streamTimeoutNs?: number;
  /** Open connections at most; past it the least recently seen is closed (`tcp.connections_evicted`; default 10,000). */
  maxConnections?: number;
  /** Write every transaction as an NDJSON line to this file. */
  events?: string;
  /**
   * Called for every transaction, in order; it may keep them. Without it,
   * messages view the capture reader's buffers instead of copies
   * (`TransactionSink.keepsNone`).
   */
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

/** Events on standard output, with the file writer's close and discard. */
function stdoutEvents(): BlockWriter & { close(): void; discard(): void } {
  const w = stdoutWriter();
  return Object.assign(w, { close: () => w.flush(), discard: () => w.flush() });
}

/** Analyzes a whole capture: every transaction, no queue in the way. */
export function analyze(capture: string | CaptureReader, opts: AnalyzeOptions = {}): AnalyzeSummary {
  const run = startAnalysis(capture, opts);
  while (run.feed.step());
  return run.finish();
}

/**
 * The same, a slice of packets at a time, yielding to the event loop between
 * slices so a signal is heard: when `stop()` says so, reading ends there, the
 * events written so far are kept whole, and the summary covers what was read.
 */
export async function analyzeInterruptible(capture: string, opts: AnalyzeOptions, stop: () => boolean): Promise<AnalyzeSummary & { interrupted: boolean }> {
  const run = startAnalysis(capture, opts);
  for (;;) {
    let more = true;
    for (let i = 0; i < 20_000 && more; i++) more = run.feed.step();
    if (!more) return { ...run.finish(), interrupted: false };
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (stop()) {
      run.feed.stop();
      return { ...run.finish(), interrupted: true };
    }
  }
}

/** An analysis under way: its feed, and what ends it (the events file closed, the summary). */
function startAnalysis(capture: string | CaptureReader, opts: AnalyzeOptions): { feed: CaptureFeed; finish(): AnalyzeSummary } {
  const byMethod = new Map<string, number>();
  // `-`: standard output
  const events = !opts.events ? null : opts.events === '-' ? stdoutEvents() : new NdjsonWriter(opts.events);
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
    keepsNone: opts.onTransaction === undefined,
  };
  try {
    const ports = opts.ports ?? [6379];
    const tcp = opts.tcp ?? (opts.as === 'packetbeat5' ? 'packetbeat' : 'reassemble');
    // no pacing: analyze reads as fast as it can (packetbeat's -t)
    const tcpOptions = {
      streamTimeoutNs: opts.streamTimeoutNs ?? streamTimeout(tcp, true, DEFAULT_TCP_OPTIONS.streamTimeoutNs),
      maxConnections: opts.maxConnections ?? DEFAULT_TCP_OPTIONS.maxConnections,
    };
    feed =
      opts.as === 'packetbeat5'
        ? new CaptureFeed(capture, sink, { ports: [{ protocol: PROTOCOLS.redis5!, ports }], tcp, tcpOptions })
        : new CaptureFeed(capture, sink, { ports, tcp, tcpOptions });
  } catch (e) {
    events?.discard();
    throw e;
  }
  const opened = feed;
  return { feed: opened, finish: () => summarize(opts, opened, events, transactions, byMethod) };
}

function summarize(opts: AnalyzeOptions, feed: CaptureFeed, events: { close(): void } | null, transactions: number, byMethod: Map<string, number>): AnalyzeSummary {
  events?.close();
  const counters = feed.counters();
  return {
    file: feed.file,
    format: feed.reader.format,
    packets: feed.packets,
    bytes: feed.bytes,
    firstPacket: feed.packets > 0 ? new Date(feed.base.sec * 1000 + Math.floor(feed.base.nsec / 1e6)).toISOString() : null,
    durationNs: feed.maxTsNs,
    transactions,
    byMethod: Object.fromEntries([...byMethod.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    counters,
    warnings: [...feed.warnings.map((w) => w.message), ...analysisWarnings(feed.snapped, feed.snappedBytes, counters, opts.as ?? 'lossless')],
    error: feed.error?.message ?? null,
  };
}

/** What packetbeat 5's view of a capture misses or adds, against the lossless view of the same capture. */
export interface ViewDifference {
  /** Transactions on the wire (the lossless view, TCP reassembled). */
  wireTransactions: number;
  /** Per method, transactions on the wire packetbeat 5 does not report (its count is lower). */
  missed: Record<string, number>;
  /** Per method, transactions packetbeat 5 reports beyond the wire's (a request it paired that the wire did not answer, a server array it took for a request). */
  added: Record<string, number>;
  /** Responses nothing asked for, on the wire. */
  wireUnmatchedResponses: number;
}

/** packetbeat 5's view (`pb5`) against the lossless view (`wire`), method by method. */
export function viewDifference(pb5: AnalyzeSummary, wire: AnalyzeSummary): ViewDifference {
  const missed: Record<string, number> = {};
  const added: Record<string, number> = {};
  const methods = [...new Set([...Object.keys(pb5.byMethod), ...Object.keys(wire.byMethod)])].sort();
  for (const m of methods) {
    const d = (wire.byMethod[m] ?? 0) - (pb5.byMethod[m] ?? 0);
    if (d > 0) missed[m] = d;
    else if (d < 0) added[m] = -d;
  }
  return { wireTransactions: wire.transactions, missed, added, wireUnmatchedResponses: wire.counters['redis.unmatched_responses'] ?? 0 };
}

/**
 * What the analysis could not see or had to guess, with its counts: never
 * silence. A snap length shorter than the packets (`tcpdump -s 96`) loses
 * their payload; unparsed bytes, inline commands and values too large to
 * keep are analyzed, but differently from a plain RESP exchange.
 */
export function analysisWarnings(snapped: number, snappedBytes: number, c: Counters, view: 'lossless' | 'packetbeat5' = 'lossless'): string[] {
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
  if (view === 'packetbeat5') {
    // packetbeat 5's own reading: on a message it cannot parse it drops what the direction holds (redis_parse.go)
    if (n('redis.parse_errors') > 0) {
      out.push(`${n('redis.parse_errors')} times packetbeat 5 could not parse a message and dropped what the direction held, or on a parser panic the connection (redis.parse_errors)`);
    }
    if (n('redis.message_too_large') > 0) {
      out.push(`${n('redis.message_too_large')} times a direction passed 10 MiB unparsed and packetbeat 5 dropped the connection's state (redis.message_too_large)`);
    }
    return out;
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
