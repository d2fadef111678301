import type { Connection, StreamAnalyzer } from '../tcp/connection.js';

/**
 * What a protocol analyzer completes and the pipeline moves: one packetbeat
 * transaction (a request and its response), whatever the protocol. Queues,
 * the ledger and the outputs read only these fields.
 */
export interface Transaction {
  /** Stable id: 1-based, in the order transactions complete in the capture. */
  readonly id: number;
  /** The protocol that made it (its encoder writes it). */
  readonly protocol: string;
  readonly conn: Connection;
  /** Request and response bytes on the wire: what a per-byte cost charges. */
  readonly bytes: number;
  /** What packetbeat's `method` field says (Redis: the command, upper-cased); `--drop-method` matches it. */
  readonly method: string;
  /** Capture time of its request, ns since the first packet (its event's `@timestamp`). */
  readonly tsNs: number;
  /** What packetbeat's `resource` field says (Redis: the key). */
  readonly resource: string;
}

/** Capture time origin: the first packet's absolute time. Event times are relative to it. */
export interface TimeBase {
  sec: number;
  nsec: number;
}

/** An event's `@timestamp` (libbeat's `common.Time`: 2006-01-02T15:04:05.000Z) for a time `relNs` after `base`. */
export function eventTimestamp(base: TimeBase, relNs: number): string {
  return new Date(base.sec * 1000 + Math.floor((base.nsec + relNs) / 1e6)).toISOString();
}

/** Where an analyzer hands what it completes. */
export interface TransactionSink {
  onTransaction(tx: Transaction): void;
  /**
   * Done with each transaction when {@link onTransaction} returns (it keeps
   * none, as `analyze`): an analyzer may then give it views of the capture
   * reader's buffers instead of copies, and those buffers are loaded again
   * once released, so a transaction kept anyway would read other bytes.
   */
  readonly keepsNone?: boolean;
  /**
   * For a sink that keeps some transactions a while (a replay's queues):
   * whether it still holds `tx`, that is, will read its messages again.
   * Given, an analyzer may hand out views of the capture reader's buffers
   * and copy, when a buffer is released, the messages of the transactions
   * the sink still holds (the rest were written or dropped already).
   */
  holds?(tx: Transaction): boolean;
}

/** A protocol's analyzer on TCP's streams, with its own counters (every name present from the start). */
export interface ProtocolAnalyzer extends StreamAnalyzer {
  readonly counters: Readonly<Record<string, number>>;
}

/** Where lines are written in place (the pipeline's `BlockWriter`). */
export interface LineBuffer {
  /** A buffer with room for `bound` bytes from {@link offset}. */
  reserve(bound: number): Buffer;
  readonly offset: number;
  /** The line written ends at `end`. */
  commitLine(end: number): void;
}

/** Writes a protocol's transactions as packetbeat's NDJSON events. */
export interface TransactionEncoder {
  /** Appends the event as one line to `w`. */
  write(tx: Transaction, base: TimeBase, w: LineBuffer): void;
  /** The event as a string, without its newline. */
  format(tx: Transaction, base: TimeBase): string;
}

/**
 * What the shipper adds to each event after the analyzer, as packetbeat 5's
 * publisher does (publish/publish.go normalizeTransAddr; libbeat's client
 * adds \`beat\`). An encoder without them writes the events as the analyzer
 * emits them.
 */
export interface EventOptions {
  /** \`beat: {hostname, name, version}\`; the name is also \`client_server\`/\`server\` of a loopback address. */
  shipper: { name: string; hostname: string; version: string } | null;
  /** packetbeat's \`send_request\` / \`send_response\`: the request / response as rendered, as \`request\` / \`response\`. */
  sendRequest: boolean;
  sendResponse: boolean;
}

export const ANALYZER_EVENTS: EventOptions = { shipper: null, sendRequest: false, sendResponse: false };

/** One of the ledger's equations: its text, and its two sides. */
export type Equation = readonly [name: string, left: number, right: number];

/**
 * A protocol above TCP: an analyzer, the events it makes, its counters and
 * what they must satisfy. Adding one is a folder (`src/redis/` is the first)
 * and a line in `src/protocols/index.ts`.
 */
export interface Protocol {
  /** packetbeat's name (`packetbeat.protocols.<name>.ports`). */
  readonly name: string;
  readonly defaultPorts: readonly number[];
  analyzer(sink: TransactionSink): ProtocolAnalyzer;
  /** Its events' encoder; a protocol whose events have no shipper fields ignores `options`. */
  encoder(options: EventOptions): TransactionEncoder;
  /** What its counters must satisfy, given how many transactions the pipeline was given. */
  equations(counters: Readonly<Record<string, number>>): Equation[];
}
