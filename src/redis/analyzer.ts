import type { Equation, ProtocolAnalyzer, TransactionSink } from '../protocols/protocol.js';
import type { CloseReason, Connection, Direction } from '../tcp/connection.js';
import { CLIENT_TO_SERVER } from '../tcp/connection.js';
import { confirmation, confirmationKind, isMonitorLine, isPubSubMessage, PubSubState } from './pubsub.js';
import { Arena, DEFAULT_RESP_LIMITS, RespParser, type RespLimits, type RespMessage } from './resp.js';
import { RedisTransaction } from './transaction.js';

/** Counters of the Redis analyzer, with packetbeat's names where it has them (both views). */
export type RedisCounters = {
  'redis.requests': number;
  'redis.responses': number;
  'redis.transactions': number;
  /** Requests that never got a response, for any reason (sum of the five below). */
  'redis.unmatched_requests': number;
  'redis.unmatched_requests.no_response': number;
  'redis.unmatched_requests.dropped_gap': number;
  'redis.unmatched_requests.queue_limit': number;
  'redis.unmatched_requests.expired': number;
  /** Waiting when their connection was evicted from a full table (`tcp.connections_evicted`). */
  'redis.unmatched_requests.evicted': number;
  'redis.unmatched_responses': number;
  /** Out-of-band server messages: RESP3 pushes (pub/sub, tracking `invalidate`) and, lossless, RESP2 pub/sub messages. */
  'redis.push_messages': number;
  'redis.parse_errors': number;
  'redis.message_too_large': number;
};

export function newRedisCounters(): RedisCounters {
  return {
    'redis.requests': 0,
    'redis.responses': 0,
    'redis.transactions': 0,
    'redis.unmatched_requests': 0,
    'redis.unmatched_requests.no_response': 0,
    'redis.unmatched_requests.dropped_gap': 0,
    'redis.unmatched_requests.queue_limit': 0,
    'redis.unmatched_requests.expired': 0,
    'redis.unmatched_requests.evicted': 0,
    'redis.unmatched_responses': 0,
    'redis.push_messages': 0,
    'redis.parse_errors': 0,
    'redis.message_too_large': 0,
  };
}

/** The lossless view's counters: the shared ones, and what it sees that packetbeat 5 does not. */
export type LosslessCounters = RedisCounters & {
  /** Wire bytes of every request parsed (paired or not); with the skipped bytes, the client's whole payload. */
  'redis.request_bytes': number;
  /** Wire bytes of every server message parsed: replies, pushes, confirmations, the MONITOR feed. */
  'redis.server_bytes': number;
  /** Requests Redis answers with nothing (`*0`, `*-1`, an empty inline line): parsed, never queued. */
  'redis.no_reply_requests': number;
  /** Requests that were inline commands (`PING\r\n`), not RESP arrays. */
  'redis.inline_requests': number;
  /** Pub/sub confirmations after a request's first (SUBSCRIBE a b c: 2), counted, not paired. */
  'redis.pubsub_confirmations': number;
  /** Lines of the MONITOR feed. */
  'redis.monitor_messages': number;
  /** Bytes passed over after parse errors, looking for the next message. */
  'redis.resync_skipped_bytes': number;
  /** Messages over the size limit kept abbreviated (their large bulk strings walked over by length), still paired. */
  'redis.large_messages': number;
};

export function newLosslessCounters(): LosslessCounters {
  return {
    ...newRedisCounters(),
    'redis.request_bytes': 0,
    'redis.server_bytes': 0,
    'redis.no_reply_requests': 0,
    'redis.inline_requests': 0,
    'redis.pubsub_confirmations': 0,
    'redis.monitor_messages': 0,
    'redis.resync_skipped_bytes': 0,
    'redis.large_messages': 0,
  };
}

/**
 * What a Redis view's counters must satisfy: every message parsed is paired,
 * or counted as unmatched (or, in the lossless view, as a request Redis
 * answers with nothing).
 */
export function pairingEquations(view: string, c: Readonly<Record<string, number>>): Equation[] {
  const noReply = c['redis.no_reply_requests'];
  return [
    [`${view}: responses parsed = transactions + unmatched_responses`, c['redis.responses']!, c['redis.transactions']! + c['redis.unmatched_responses']!],
    noReply === undefined
      ? [`${view}: requests parsed = transactions + unmatched_requests`, c['redis.requests']!, c['redis.transactions']! + c['redis.unmatched_requests']!]
      : [
          `${view}: requests parsed = transactions + unmatched_requests + no_reply_requests`,
          c['redis.requests']!,
          c['redis.transactions']! + c['redis.unmatched_requests']! + noReply,
        ],
  ];
}

export type UnmatchedReason = 'no_response' | 'dropped_gap' | 'queue_limit' | 'expired' | 'evicted';

/** What the analyzer produces, besides counters: transactions and the messages that never became one. */
export interface RedisSink extends TransactionSink {
  onTransaction(tx: RedisTransaction): void;
  onUnmatchedRequest?(conn: Connection, request: RespMessage, reason: UnmatchedReason): void;
  onUnmatchedResponse?(conn: Connection, response: RespMessage): void;
  onParseError?(conn: Connection, dir: Direction, reason: string, tsNs: number): void;
}

export interface RedisOptions extends RespLimits {
  /** Requests waiting for a response per connection (packetbeat 6+'s `queue_max_messages`): a memory bound. */
  queueMaxMessages: number;
  /**
   * Bytes the waiting requests of a connection may hold, a memory bound.
   * packetbeat 6+ has 1 MiB (`queue_max_bytes`) and loses the pairing of a
   * pipelined value past it; the lossless view holds up to three messages at
   * the 10 MiB message limit, so a large SET pipelined with the next command
   * still pairs (a value past the limit is not held at all).
   */
  queueMaxBytes: number;
  /**
   * Messages may view the capture reader's buffers instead of copies
   * ({@link RespParser} in place): for a sink done with each transaction
   * when it returns (`analyze`), or one that says which it still holds
   * (`replay`: {@link TransactionSink.holds}). A released buffer goes back
   * to the reader, so what is still held then is copied to the arena first.
   */
  inPlace: boolean;
}

export const DEFAULT_REDIS_OPTIONS: RedisOptions = {
  ...DEFAULT_RESP_LIMITS,
  queueMaxMessages: 20_000,
  queueMaxBytes: 3 * DEFAULT_RESP_LIMITS.maxMessageBytes,
  inPlace: false,
};

const SIMPLE = 0x2b; // +
const ARRAY = 0x2a; // *
const PUSH = 0x3e; // >

/** Dropped connections' state kept for reuse, at most. */
const MAX_SPARE = 1024;

/** Per-connection state, dropped on a gap as packetbeat drops `conn.data`. */
class RedisConnection {
  /** The two directions' parsers, as fields (no array to load on the way to one), each made when its direction first sends. */
  requests: RespParser | null = null;
  responses: RespParser | null = null;
  /**
   * FIFO of requests awaiting a response, linked through the messages
   * (`first` … `last` by {@link RespMessage.nextWaiting}): no array per
   * connection to grow, and nothing to touch but the messages themselves.
   */
  first: RespMessage | null = null;
  last: RespMessage | null = null;
  queued = 0;
  /** Bytes the waiting requests hold in memory (a value too large to keep is not held, so not counted). */
  queuedBytes = 0;
  /** Pub/sub and MONITOR state, made when the connection first needs it. */
  pubsub: PubSubState | null = null;
  /** In place: the analyzer's {@link RedisAnalyzer.released} count when this state was last given data (then it joined the list of such states). */
  viewing = -1;
  /** In place: the first request queued since the last release, and those after it (what may view a read buffer). */
  since: RespMessage | null = null;

  push(m: RespMessage): void {
    if (this.last === null) this.first = m;
    else this.last.nextWaiting = m;
    this.last = m;
    this.queued++;
    this.queuedBytes += m.storedSize;
    if (this.since === null) this.since = m;
  }

  /** The oldest waiting request; the caller checks {@link queued} first. */
  shift(): RespMessage {
    const m = this.first!;
    this.first = m.nextWaiting;
    if (this.since === m) this.since = this.first;
    m.nextWaiting = null;
    if (this.first === null) this.last = null;
    this.queued--;
    this.queuedBytes -= m.storedSize;
    return m;
  }
}

/**
 * packetbeat's Redis analyzer (protos/redis/redis.go), fed by TCP: a
 * resumable parser per direction, a FIFO of requests per connection, and
 * correlation by order (pipelined requests pair with responses in turn).
 */
export class RedisAnalyzer implements ProtocolAnalyzer {
  readonly counters: LosslessCounters = newLosslessCounters();
  private nextTxId = 1;
  private readonly opts: RedisOptions;
  private readonly arena = new Arena();
  /**
   * State of dropped connections, reused for new ones: a capture with many
   * short connections then leaves no garbage per connection to pile up in
   * the old generation (~1 KiB each) until a full collection.
   */
  private readonly spare: RedisConnection[] = [];
  /** In place: buffers released so far, and the connections given data since the last release. */
  private released = 0;
  private readonly viewers: RedisConnection[] = [];
  /** In place, for a sink that {@link TransactionSink.holds} some: the transactions made since the last release, `made[0 .. madeCount)` (slots reused, emptied at release). */
  private readonly made: (RedisTransaction | undefined)[] = [];
  private madeCount = 0;

  private readonly tracksMade: boolean;

  constructor(private readonly sink: RedisSink, opts: Partial<RedisOptions> = {}) {
    this.opts = { ...DEFAULT_REDIS_OPTIONS, ...opts };
    this.tracksMade = this.opts.inPlace && sink.holds !== undefined;
  }

  /**
   * In place, the capture reader is done with `buf`: what still views it
   * (requests waiting, a message begun) moves to the arena, and the reader
   * may load into it again.
   */
  release(buf: Buffer): void {
    for (const s of this.viewers) {
      s.requests?.release(buf);
      s.responses?.release(buf);
      for (let m = s.since; m !== null; m = m.nextWaiting) if (m.chunk === buf) m.moveTo(this.arena);
      s.since = null;
    }
    this.viewers.length = 0;
    for (let i = 0; i < this.madeCount; i++) {
      const tx = this.made[i]!;
      this.made[i] = undefined;
      if (!this.sink.holds!(tx)) continue;
      if (tx.request.chunk === buf) tx.request.moveTo(this.arena);
      if (tx.response.chunk === buf) tx.response.moveTo(this.arena);
    }
    this.madeCount = 0;
    this.released++;
  }

  private state(conn: Connection): RedisConnection {
    let s = conn.app as RedisConnection | undefined;
    if (s === undefined) {
      s = this.spare.pop() ?? new RedisConnection();
      conn.app = s;
    }
    return s;
  }

  onData(conn: Connection, dir: Direction, buf: Buffer, offset: number, length: number, tsNs: number): void {
    const s = this.state(conn);
    if (this.opts.inPlace && s.viewing !== this.released) {
      s.viewing = this.released;
      this.viewers.push(s);
    }
    const parser =
      dir === CLIENT_TO_SERVER
        ? (s.requests ??= new RespParser('request', this.arena, this.opts, this.opts.inPlace))
        : (s.responses ??= new RespParser('response', this.arena, this.opts, this.opts.inPlace));
    parser.feed(buf, offset, length, tsNs);
    for (;;) {
      const r = parser.next();
      if (r.kind === 'needMore') break;
      if (r.kind === 'error') {
        // unlike packetbeat, which drops the rest of the segment, the parser resynchronises at the next message
        this.counters['redis.parse_errors']++;
        if (r.reason === 'too_large') this.counters['redis.message_too_large']++;
        this.sink.onParseError?.(conn, dir, `${r.reason}: ${r.detail}`, tsNs);
        continue;
      }
      if (dir === CLIENT_TO_SERVER) this.request(conn, s, r.message);
      else this.response(conn, s, r.message);
    }
    if (parser.skippedBytes !== 0 || parser.largeBulks !== 0) this.takeCounts(parser);
  }

  private readonly taken = { skippedBytes: 0, largeBulks: 0 };

  private takeCounts(parser: RespParser): void {
    const t = this.taken;
    t.skippedBytes = t.largeBulks = 0;
    parser.takeCounts(t);
    this.counters['redis.resync_skipped_bytes'] += t.skippedBytes;
    this.counters['redis.large_messages'] += t.largeBulks;
  }

  private request(conn: Connection, s: RedisConnection, m: RespMessage): void {
    this.counters['redis.requests']++;
    this.counters['redis.request_bytes'] += m.size;
    if (m.isInline) this.counters['redis.inline_requests']++;
    if (!m.expectsReply) {
      this.counters['redis.no_reply_requests']++;
      return;
    }
    s.push(m);
    while (s.queued > this.opts.queueMaxMessages || (s.queuedBytes > this.opts.queueMaxBytes && s.queued > 1)) {
      this.unmatched(conn, s.shift(), 'queue_limit');
    }
  }

  private response(conn: Connection, s: RedisConnection, m: RespMessage): void {
    this.counters['redis.server_bytes'] += m.size;
    const first = m.chunk[m.offset];
    const ps = s.pubsub;
    // pub/sub confirmations (`>3 subscribe …`, RESP2 `*3 subscribe …`): the first answers the request, the rest are counted
    if (first === PUSH || first === ARRAY) {
      const c = confirmation(m);
      if (c !== null) {
        if (ps !== null && ps.due > 0 && c.kind === ps.dueKind) {
          ps.due--;
          ps.apply(c);
          this.counters['redis.pubsub_confirmations']++;
          return;
        }
        if (s.queued > 0 && confirmationKind(s.first!) === c.kind) {
          const state = (s.pubsub ??= new PubSubState());
          state.expect(s.first!, c.kind);
          state.apply(c);
          this.pair(conn, s, m);
          return;
        }
        if (first === PUSH) s.pubsub?.apply(c);
      }
    }
    if (m.isPush || (ps !== null && first === ARRAY && ps.subscribed && isPubSubMessage(m))) {
      this.counters['redis.push_messages']++;
      return;
    }
    if (ps !== null && ps.monitoring && isMonitorLine(m)) {
      this.counters['redis.monitor_messages']++;
      return;
    }
    const request = this.pair(conn, s, m);
    if (request !== null && first === SIMPLE) this.modeChange(s, request, m);
  }

  /** Pairs a response with the oldest waiting request (the request, or null when none waits). */
  private pair(conn: Connection, s: RedisConnection, m: RespMessage): RespMessage | null {
    this.counters['redis.responses']++;
    if (s.queued === 0) {
      this.counters['redis.unmatched_responses']++;
      this.sink.onUnmatchedResponse?.(conn, m);
      return null;
    }
    const request = s.shift();
    this.counters['redis.transactions']++;
    const tx = new RedisTransaction(this.nextTxId++, conn, request, m);
    if (this.tracksMade) this.made[this.madeCount++] = tx;
    this.sink.onTransaction(tx);
    return request;
  }

  /** MONITOR answered +OK starts the feed; RESET answered +RESET ends it and every subscription. */
  private modeChange(s: RedisConnection, request: RespMessage, m: RespMessage): void {
    const b = m.chunk;
    const at = m.offset;
    if (m.size === 5 && b[at + 1] === 0x4f && b[at + 2] === 0x4b && request.method === 'MONITOR') {
      (s.pubsub ??= new PubSubState()).monitoring = true;
    } else if (m.size === 8 && b[at + 1] === 0x52 && request.method === 'RESET') {
      s.pubsub?.clear();
    }
  }

  private unmatched(conn: Connection, m: RespMessage, reason: UnmatchedReason): void {
    this.counters['redis.unmatched_requests']++;
    this.counters[`redis.unmatched_requests.${reason}`]++;
    this.sink.onUnmatchedRequest?.(conn, m, reason);
  }

  private dropState(conn: Connection, reason: UnmatchedReason): void {
    const s = conn.app as RedisConnection | undefined;
    if (s === undefined) return;
    while (s.queued > 0) this.unmatched(conn, s.shift(), reason);
    for (const parser of [s.requests, s.responses]) {
      if (parser === null) continue;
      parser.dispose();
      this.takeCounts(parser);
    }
    s.pubsub = null;
    s.since = null;
    conn.app = undefined;
    if (this.spare.length < MAX_SPARE) this.spare.push(s);
  }

  /** packetbeat's redis GapInStream answers drop=true: the connection's state goes. */
  onGap(conn: Connection, _dir: Direction, _lostBytes: number, _tsNs: number): void {
    this.dropState(conn, 'dropped_gap');
  }

  onFin(_conn: Connection, _dir: Direction, _tsNs: number): void {
    // packetbeat's redis ReceivedFin keeps the state: responses may still follow a client's FIN
  }

  onClose(conn: Connection, reason: CloseReason, _tsNs: number): void {
    this.dropState(conn, reason === 'expired' || reason === 'evicted' ? reason : 'no_response');
  }
}
