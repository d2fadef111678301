/**
 * Redis as packetbeat 5.x's own analyzer sees it (`protos/redis/redis.go`,
 * `redis_parse.go`, `libbeat/common/streambuf`; the 5.6 tree in
 * `../shared/oracles/packetbeat5-analyzer`), quirks included — the view the
 * `packetbeat5` profile is to be fed with (issue 14). Where packetbeat is
 * wrong this is wrong the same way; the lossless view (`redis/analyzer.ts`)
 * says what really happened.
 *
 * - A message is a request only by content: a top-level array whose first
 *   element, ASCII-upper-cased, is in the 5.x command table
 *   (`redis_parse.go:47-206`, `HSETINX` included; two-word entries never
 *   match). Anything else, from either side, is a response.
 * - Only `* $ : + -`: any other first byte, an array header cut by the end
 *   of a segment (`parseArray`'s `UntilCRLF` error is not "incomplete"), a
 *   bad length or a bulk string not followed by CRLF drops that direction's
 *   buffered bytes (`doParse`: `conn.streams[dir] = nil`).
 * - An incomplete message is parsed again from its start when more comes.
 * - FIFO pairing; a response with no request waiting is dropped and counted
 *   in `redis.unmatched_responses` (`correlate`). No queue limits.
 * - More than 10 MiB buffered in a direction, or a bulk length that would
 *   make Go panic, drops the whole connection's state (`Parse` returns nil).
 * - The event's client is whoever sent the request; its values are raw
 *   bytes, encoded as Go's `encoding/json` does (see {@link putGoString}).
 */
import { ANALYZER_EVENTS, type EventOptions, type LineBuffer, type Protocol, type ProtocolAnalyzer, type TimeBase, type Transaction, type TransactionEncoder, type TransactionSink } from '../protocols/protocol.js';
import type { CloseReason, Connection, Direction } from '../tcp/connection.js';
import { CLIENT_TO_SERVER } from '../tcp/connection.js';
import { newRedisCounters, pairingEquations, type RedisCounters } from './analyzer.js';
import { Arena } from './resp.js';
import { Pair } from './transaction.js';

/** packetbeat's `tcp.TCPMaxDataInStream`. */
const MAX_DATA_IN_STREAM = 10 * (1 << 20);

/** The 5.x command table, as it is (`redis_parse.go:47-206`). */
const COMMANDS = new Set(
  ('APPEND AUTH BGREWRITEAOF BGSAVE BITCOUNT BITOP BITPOS BLPOP BRPOP BRPOPLPUSH DBSIZE DECR DECRBY DEL DISCARD DUMP ECHO EVAL ' +
    'EVALSHA EXEC EXISTS EXPIRE EXPIREAT FLUSHALL FLUSHDB GET GETBIT GETRANGE GETSET HDEL HEXISTS HGET HGETALL HINCRBY HINCRBYFLOAT ' +
    'HKEYS HLEN HMGET HMSET HSCAN HSET HSETINX HVALS INCR INCRBY INCRBYFLOAT INFO KEYS LASTSAVE LINDEX LINSERT LLEN LPOP LPUSH LPUSHX ' +
    'LRANGE LREM LSET LTRIM MGET MIGRATE MONITOR MOVE MSET MSETNX MULTI OBJECT PERSIST PEXPIRE PEXPIREAT PFADD PFCOUNT PFMERGE PING ' +
    'PSETEX PSUBSCRIBE PTTL PUBLISH PUBSUB PUNSUBSCRIBE QUIT RANDOMKEY RENAME RENAMENX RESTORE RPOP RPOPLPUSH RPUSH RPUSHX SADD SAVE ' +
    'SCAN SCARD SDIFF SDIFFSTORE SELECT SET SETBIT SETEX SETNX SETRANGE SHUTDOWN SINTER SINTERSTORE SISMEMBER SLAVEOF SLOWLOG SMEMBERS ' +
    'SMOVE SORT SPOP SRANDMEMBER SREM SSCAN STRLEN SUBSCRIBE SUNION SUNIONSTORE SYNC TIME TTL TYPE UNSUBSCRIBE UNWATCH WATCH ZADD ZCARD ' +
    'ZCOUNT ZINCRBY ZINTERSTORE ZRANGE ZRANGEBYSCORE ZRANK ZREM ZREMRANGEBYLEX ZREMRANGEBYRANK ZREMRANGEBYSCORE ZREVRANGE ' +
    'ZREVRANGEBYSCORE ZREVRANK ZSCAN ZSCORE ZUNIONSTORE').split(' '),
);
/** Two-word entries are in the table too (`CLIENT KILL`, `CONFIG GET`, …) and set its longest key: 16 bytes (`CONFIG RESETSTAT`). */
const MAX_COMMAND_LEN = 16;

const EMPTY = Buffer.alloc(0);
const NIL = Buffer.from('nil');
const EMPTY_ARRAY = Buffer.from('[]');
const SPACE = Buffer.from(' ');
const COMMA = Buffer.from(', ');

/** `isRedisCommand` on `b[from..to)`: ASCII-upper-cased, in the table. */
function isCommand(b: Buffer, from: number, to: number): boolean {
  if (to - from > MAX_COMMAND_LEN || from < 0) return false;
  let upper = '';
  for (let i = from; i < to; i++) {
    const c = b[i]!;
    upper += String.fromCharCode(c >= 0x61 && c <= 0x7a ? c - 32 : c);
  }
  return COMMANDS.has(upper);
}

/** What parsing one message from the start of a direction's bytes gives. */
type Parsed =
  | { kind: 'message'; end: number; value: Buffer; isError: boolean; isRequest: boolean; method: Buffer; path: Buffer }
  | { kind: 'incomplete' }
  /** Not RESP as packetbeat 5 reads it: the direction's bytes are dropped. */
  | { kind: 'error' }
  /** What makes Go panic in `CollectWithSuffix` (a negative length): `logp.Recover`, then the connection's state is dropped. */
  | { kind: 'panic' };

const INCOMPLETE = { kind: 'incomplete' } as const;
const ERROR = { kind: 'error' } as const;
const PANIC = { kind: 'panic' } as const;

/**
 * One value of `b[p..end)` (`dispatch`), or why not. A scalar's bytes are
 * `b[from..to)` (-1 for nil and arrays). Without `build`, values are not
 * rendered (EMPTY): the analyzer only needs where a message ends and what it is.
 */
type Value = Whole | typeof INCOMPLETE | typeof ERROR | typeof PANIC;
type Whole = { value: Buffer; next: number; isError: boolean; from: number; to: number };

/** `streambuf.UntilCRLF` from `p`: the index of the CR of the first CRLF, or -1 when there is none yet. */
function crlf(b: Buffer, p: number, end: number): number {
  for (let i = p; i < end; i++) {
    if (b[i] !== 0x0d) continue;
    if (i + 1 >= end) return -1;
    if (b[i + 1] === 0x0a) return i;
  }
  return -1;
}

/** `streambuf.IntASCII(false)` on `b[from..to)` of a fixed buffer: a sign, at least one digit, anything after ignored; null on error. */
function intASCII(b: Buffer, from: number, to: number): number | null {
  let i = from;
  if (i >= to) return null;
  const signed = b[i] === 0x2d;
  if (signed || b[i] === 0x2b) i++;
  if (i >= to) return null;
  let n = 0;
  const start = i;
  while (i < to && b[i]! >= 0x30 && b[i]! <= 0x39) n = n * 10 + (b[i++]! - 0x30);
  if (i === start) return null;
  return signed ? -n : n;
}

interface Top {
  isRequest: boolean;
  method: Buffer;
  path: Buffer;
}

function parseString(b: Buffer, p: number, end: number, build: boolean): Value {
  const cr = crlf(b, p, end);
  if (cr < 0) return INCOMPLETE;
  const after = cr + 2;
  if (cr - p === 3 && b[p + 1] === 0x2d && b[p + 2] === 0x31) return { value: NIL, next: after, isError: false, from: -1, to: -1 };
  const n = intASCII(b, p + 1, cr);
  if (n === null) return ERROR;
  // CollectWithSuffix(n, "\r\n") from `after`
  if (n + 2 > end - after) return INCOMPLETE;
  const at = after + n;
  // Go slices its buffer, which begins at the message, from `at`: before it is out of range
  if (at < origin) return PANIC;
  const suffix = b[at] === 0x0d && b[at + 1] === 0x0a;
  if (!suffix) return ERROR;
  if (n < 0) return PANIC; // b.data[mark : mark+n] with n < 0
  return { value: build ? b.subarray(after, at) : EMPTY, next: at + 2, isError: false, from: after, to: at };
}

/** An array being parsed: `count` elements, `i` of them read (the walk keeps these on its own stack, not the machine's). */
interface ArrayFrame {
  count: number;
  i: number;
  /** The top-level array's elements, rendered (deeper arrays render into the walk's `pieces`). */
  content: Buffer[];
  /** The first element's bytes, when it is a scalar: a command word is one. */
  firstFrom: number;
  firstTo: number;
}

/** A scalar, a nil or an empty array at `b[p..end)` — anything but an array with elements — or why not. */
function scalar(b: Buffer, p: number, end: number, build: boolean): Value {
  switch (b[p]) {
    case 0x24: // $
      return parseString(b, p, end, build);
    case 0x3a: // :  (not checked to be an integer: packetbeat only logs it)
    case 0x2b: // +
    case 0x2d: {
      // -
      const cr = crlf(b, p, end);
      if (cr < 0) return INCOMPLETE;
      return { value: build ? b.subarray(p + 1, cr) : EMPTY, next: cr + 2, isError: b[p] === 0x2d, from: p + 1, to: cr };
    }
    default:
      return ERROR;
  }
}

/**
 * An array's header at `b[p..end)`: its element count, where its elements
 * begin, or the nil / empty value it is, or why not. A header not whole yet
 * is an error to packetbeat 5, not a wait (`parseArray` returns ok=false).
 */
function arrayHeader(b: Buffer, p: number, end: number): Value | { count: number; next: number } {
  const cr = crlf(b, p, end);
  if (cr < 0) return ERROR;
  const after = cr + 2;
  const len = cr - p;
  if (len === 3 && b[p + 1] === 0x2d && b[p + 2] === 0x31) return { value: NIL, next: after, isError: false, from: -1, to: -1 };
  if (len === 2 && b[p + 1] === 0x30) return { value: EMPTY_ARRAY, next: after, isError: false, from: -1, to: -1 };
  const count = intASCII(b, p + 1, cr);
  if (count === null) return ERROR;
  if (count < 0) return { value: NIL, next: after, isError: false, from: -1, to: -1 };
  if (count === 0) return { value: EMPTY_ARRAY, next: after, isError: false, from: -1, to: -1 };
  return { count, next: after };
}

/** A deeper array's `content`: never pushed to (it renders into the walk's `pieces`). */
const NO_CONTENT: Buffer[] = [];
const OPEN = Buffer.from('[');
const CLOSE = Buffer.from(']');

/**
 * packetbeat's recursive `dispatch` / `parseArray` walked with a stack of
 * its own, so no nesting a capture holds overflows the machine's (Go's
 * grows to 1 GB; a 10 MiB stream nests 2.6 million arrays). An array below
 * the top renders as `[a, b]`; the top one, when its first word is a
 * command, as its words joined by spaces. Deeper arrays render into one
 * list of pieces, joined once per top-level element, so the rendering is
 * linear in the message, not quadratic in its depth.
 */
function dispatch(b: Buffer, start: number, end: number, top: Top, build: boolean): Value {
  const stack: ArrayFrame[] = [];
  const pieces: Buffer[] = [];
  let p = start;
  for (;;) {
    if (p >= end) return INCOMPLETE;
    let v: Value;
    if (b[p] === 0x2a) {
      const h = arrayHeader(b, p, end);
      if ('count' in h) {
        if (build && stack.length > 0) pieces.push(OPEN);
        stack.push({ count: h.count, i: 0, content: stack.length === 0 ? [] : NO_CONTENT, firstFrom: -1, firstTo: -1 });
        p = h.next;
        continue;
      }
      v = h;
    } else v = scalar(b, p, end, build);
    if (!('value' in v)) return v;
    let w: Whole = v;
    // a value is whole: it is an element of the array above, which may be whole too
    for (;;) {
      const f = stack[stack.length - 1];
      if (f === undefined) return w;
      if (f.i === 0) {
        f.firstFrom = w.from;
        f.firstTo = w.to;
      }
      if (build) {
        // a scalar's value is its own; a deeper array's is in `pieces` already
        if (w.from !== -2) pieces.push(w.value);
        if (stack.length === 1) {
          f.content.push(pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces));
          pieces.length = 0;
        }
      }
      p = w.next;
      if (++f.i < f.count) {
        if (build && stack.length > 1) pieces.push(COMMA);
        break;
      }
      stack.pop();
      if (stack.length > 0) {
        if (build) pieces.push(CLOSE);
        // from -2: rendered into `pieces`
        w = { value: EMPTY, next: p, isError: false, from: -2, to: -2 };
      } else w = topArray(b, f, p, top, build);
    }
  }
}

/** The top-level array `f`, whole and ending at `next`: a request when its first word is a command. */
function topArray(b: Buffer, f: ArrayFrame, next: number, top: Top, build: boolean): Whole {
  const content = f.content;
  // a nil first element renders "nil", which is no command either
  if (isCommand(b, f.firstFrom, f.firstTo)) {
    top.isRequest = true;
    if (!build) return { value: EMPTY, next, isError: false, from: -1, to: -1 };
    top.method = content[0]!;
    top.path = content.length > 1 ? content[1]! : EMPTY;
    let contentLen = 0;
    for (const c of content) contentLen += c.length;
    return { value: contentLen > 1 ? join(content, SPACE) : content[0]!, next, isError: false, from: -1, to: -1 };
  }
  if (!build) return { value: EMPTY, next, isError: false, from: -1, to: -1 };
  return { value: Buffer.concat([OPEN, join(content, COMMA), CLOSE]), next, isError: false, from: -1, to: -1 };
}

function join(parts: Buffer[], sep: Buffer): Buffer {
  const out: Buffer[] = [];
  parts.forEach((part, i) => {
    if (i > 0) out.push(sep);
    out.push(part);
  });
  return Buffer.concat(out);
}

/**
 * `parser.parse`: one whole message from `b[start..end)` (`end` in the
 * result is where it ends in `b`). Its top-level error
 * flag is only a `-` reply's (an array's never is). With `build` false the
 * value, method and path are left EMPTY (views of `b` otherwise).
 */
export function parseMessage(b: Buffer, end = b.length, build = true, start = 0): Parsed {
  if (!build) {
    const e = scanWhole(b, start, end);
    if (e > 0) return { kind: 'message', end: e, value: EMPTY, isError: b[start] === 0x2d, isRequest: scannedRequest, method: EMPTY, path: EMPTY };
  }
  const top: Top = { isRequest: false, method: EMPTY, path: EMPTY };
  origin = start;
  const v = dispatch(b, start, end, top, build);
  if (!('value' in v)) return v;
  return { kind: 'message', end: v.next, value: v.value, isError: b[start] === 0x2d, ...top };
}

/** Where the message {@link parseMessage} is parsing begins in its buffer (it is not reentrant). */
let origin = 0;

/** Whether the message {@link scanWhole} found last is a request. */
let scannedRequest = false;

/** A length line's digits `b[from..to)`, only digits and at most 15 of them; -1 for anything else. */
function digits(b: Buffer, from: number, to: number): number {
  if (to <= from || to - from > 15) return -1;
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = b[i]! - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/**
 * The common case, without the general walk: a whole, plain message at
 * `b[start..end)` — a simple, error or integer line, a bulk string, or an
 * array of bulk strings — where it ends, or -1 to leave it to
 * {@link dispatch}, which decides everything else (cut, nested, nil, odd
 * lengths, not RESP) exactly as packetbeat does. A message both read whole
 * reads the same either way.
 */
function scanWhole(b: Buffer, start: number, end: number): number {
  const t = b[start];
  const cr = crlf(b, start, end);
  if (cr < 0) return -1;
  scannedRequest = false;
  if (t === 0x2b || t === 0x2d || t === 0x3a) return cr + 2;
  if (t === 0x24) {
    const n = digits(b, start + 1, cr);
    const at = cr + 2 + n;
    return n >= 0 && at + 2 <= end && b[at] === 0x0d && b[at + 1] === 0x0a ? at + 2 : -1;
  }
  if (t !== 0x2a) return -1;
  const e = bulkArray(b, start, end, null);
  if (e > 0) scannedRequest = isCommand(b, firstWordFrom, firstWordTo);
  return e;
}

/** Where the first word {@link bulkArray} walked lies. */
let firstWordFrom = -1;
let firstWordTo = -1;

/**
 * A whole array of bulk strings at `b[start..end)` (each length plain
 * digits, each followed by CRLF): where it ends, or -1 for anything else.
 * Each word's `[from, to)` is pushed on `words` when one is given.
 */
function bulkArray(b: Buffer, start: number, end: number, words: number[] | null): number {
  if (b[start] !== 0x2a) return -1;
  const cr = crlf(b, start, end);
  if (cr < 0) return -1;
  const count = digits(b, start + 1, cr);
  if (count <= 0) return -1;
  let p = cr + 2;
  for (let i = 0; i < count; i++) {
    if (p >= end || b[p] !== 0x24) return -1;
    const lcr = crlf(b, p, end);
    if (lcr < 0) return -1;
    const n = digits(b, p + 1, lcr);
    const at = lcr + 2 + n;
    if (n < 0 || at + 2 > end || b[at] !== 0x0d || b[at + 1] !== 0x0a) return -1;
    if (i === 0) {
      firstWordFrom = lcr + 2;
      firstWordTo = at;
    }
    words?.push(lcr + 2, at);
    p = at + 2;
  }
  return p;
}

/** A complete message, kept until it is paired: a copy of its bytes in an arena, rendered when its event is written. */
interface Message {
  tsNs: number;
  dir: Direction;
  /** The message's bytes are `chunk[offset..offset+size)` (`size`: packetbeat's bytes_in / bytes_out). */
  chunk: Buffer;
  offset: number;
  readonly size: number;
  isError: boolean;
}

/** A whole message's rendering: its value, and for a request its method and path (`resource`). */
function render(m: Message): { value: Buffer; method: Buffer; path: Buffer } {
  const r = parseMessage(m.chunk, m.offset + m.size, true, m.offset);
  if (r.kind !== 'message') throw new Error('a complete message no longer parses');
  return r;
}

/** A request and its response, as packetbeat 5 pairs them: one `type: redis` event. */
export class Packetbeat5Transaction extends Pair<Message> {
  get protocol(): 'redis5' {
    return 'redis5';
  }

  private renderedMethod: string | undefined;

  /** `bytes.ToUpper` of the request's first word (ASCII: it matched the command table). */
  get method(): string {
    if (this.renderedMethod === undefined) {
      const q = this.request;
      const words = flatWords(q);
      const word = words !== null ? q.chunk.subarray(words[0], words[1]) : render(q).method;
      this.renderedMethod = word.toString('latin1').toUpperCase();
    }
    return this.renderedMethod;
  }

  /** packetbeat 5's `path`: its `resource`. */
  get resource(): string {
    return render(this.request).path.toString('latin1');
  }
}

/** A connection's state: the two directions' unparsed bytes and the FIFOs of `redisConnectionData`. */
class State {
  /** Each direction's unparsed bytes are `pending[dir][0..pendingBytes[dir])`; the buffer doubles as it fills. */
  readonly pending: [Buffer, Buffer] = [EMPTY, EMPTY];
  readonly pendingBytes = [0, 0];
  /** When the message in progress in each direction began (`newMessage(pkt.Ts)`), or -1 for none. */
  readonly startTs = [-1, -1];
  readonly requests: Message[] = [];
}

/** packetbeat 5's Redis analyzer on TCP's streams (TCP in `packetbeat` mode, as `protos/tcp/tcp.go`). */
export class Packetbeat5Analyzer implements ProtocolAnalyzer {
  readonly counters: RedisCounters = newRedisCounters();
  private nextId = 1;
  /** Where complete messages are copied: they outlive the segment they came in. */
  private readonly arena = new Arena();

  constructor(private readonly sink: TransactionSink) {}

  private state(conn: Connection): State {
    let s = conn.app as State | undefined;
    if (s === undefined) {
      s = new State();
      conn.app = s;
    }
    return s;
  }

  onData(conn: Connection, dir: Direction, buf: Buffer, offset: number, length: number, tsNs: number): void {
    const s = this.state(conn);
    // stream.Append, then the 10 MiB bound drops the whole connection
    const have = s.pendingBytes[dir]!;
    if (have + length > MAX_DATA_IN_STREAM) {
      this.counters['redis.message_too_large']++;
      this.dropConnection(conn, 'dropped_gap');
      return;
    }
    if (s.startTs[dir] < 0) s.startTs[dir] = tsNs;
    // with nothing pending, the segment is parsed where it lies (valid during this call); what is left is copied after
    let bytes: Buffer;
    let at: number;
    if (have === 0) {
      bytes = buf;
      at = offset;
    } else {
      this.append(s, dir, buf, offset, length);
      bytes = s.pending[dir];
      at = 0;
    }
    const end = have === 0 ? offset + length : have + length;
    while (at < end) {
      if (s.startTs[dir] < 0) s.startTs[dir] = tsNs;
      const m = parseMessage(bytes, end, false, at);
      if (m.kind === 'incomplete') break;
      if (m.kind === 'error') {
        // the direction's stream is dropped with all it buffered; the next segment starts afresh
        this.counters['redis.parse_errors']++;
        s.pendingBytes[dir] = 0;
        s.startTs[dir] = -1;
        return;
      }
      if (m.kind === 'panic') {
        this.counters['redis.parse_errors']++;
        this.dropConnection(conn, 'dropped_gap');
        return;
      }
      const size = m.end - at;
      const arena = this.arena;
      arena.reserve(size);
      arena.copier.copy(bytes, at, size, arena.chunk, arena.used);
      const msg: Message = { tsNs: s.startTs[dir], dir, chunk: arena.chunk, offset: arena.used, size, isError: m.isError };
      arena.used += size;
      s.startTs[dir] = -1;
      at = m.end;
      if (m.isRequest) {
        this.counters['redis.requests']++;
        s.requests.push(msg);
      } else {
        this.counters['redis.responses']++;
        const request = s.requests.shift();
        if (request === undefined) this.counters['redis.unmatched_responses']++;
        else {
          this.counters['redis.transactions']++;
          this.sink.onTransaction(new Packetbeat5Transaction(this.nextId++, conn, request, msg));
        }
      }
    }
    // what is left stays pending: copied out of the caller's segment, or moved to the front (messages were copied out)
    if (bytes === buf) {
      s.pendingBytes[dir] = 0;
      if (at < end) this.append(s, dir, buf, at, end - at);
    } else {
      if (at > 0) s.pending[dir].copyWithin(0, at, end);
      s.pendingBytes[dir] = end - at;
    }
  }

  /** Copies `src[from..from+length)` after a direction's pending bytes; the buffer doubles as it fills. */
  private append(s: State, dir: Direction, src: Buffer, from: number, length: number): void {
    const have = s.pendingBytes[dir]!;
    if (have + length > s.pending[dir].length) {
      // sized to what it holds (small ones share Node's pool): a connection that sent a few bytes holds a few bytes
      const bigger = Buffer.allocUnsafe(Math.max(64, 2 * (have + length)));
      s.pending[dir].copy(bigger, 0, 0, have);
      s.pending[dir] = bigger;
    }
    src.copy(s.pending[dir], have, from, from + length);
    s.pendingBytes[dir] = have + length;
  }

  /** `GapInStream` answers drop: TCP drops the connection's state (`conn.data = nil`). */
  onGap(conn: Connection, _dir: Direction, _lostBytes: number, _tsNs: number): void {
    this.dropConnection(conn, 'dropped_gap');
  }

  onFin(_conn: Connection, _dir: Direction, _tsNs: number): void {
    // ReceivedFin keeps the state
  }

  onClose(conn: Connection, reason: CloseReason, _tsNs: number): void {
    // packetbeat 5 never closes a connection under -t: requests still waiting are only counted here
    this.dropConnection(conn, reason === 'evicted' ? 'evicted' : 'no_response');
  }

  private dropConnection(conn: Connection, reason: 'dropped_gap' | 'no_response' | 'evicted'): void {
    const s = conn.app as State | undefined;
    if (s === undefined) return;
    this.counters['redis.unmatched_requests'] += s.requests.length;
    this.counters[`redis.unmatched_requests.${reason}`] += s.requests.length;
    conn.app = undefined;
  }
}

// ---- the event, as Go's encoding/json writes packetbeat's map ----

const HEX = '0123456789abcdef';

/**
 * `encodeState.string` of Go 1.x with HTML escaping on (`json.NewEncoder`),
 * written into `out` at `p` (room for 6 bytes per byte of `b`, plus 2):
 * `"` and `\` escaped, `\n` `\r` `\t` short, other controls and `< > &` as
 * `\u00xx`, U+2028 and U+2029 escaped, each byte of invalid UTF-8 (overlong,
 * surrogates, above U+10FFFF, cut short) as `\ufffd`, DEL as it is.
 * Returns where it ends.
 */
export function putGoString(out: Buffer, p: number, b: Buffer, from = 0, to = b.length): number {
  out[p] = 0x22;
  p = putGoChars(out, p + 1, b, from, to);
  out[p] = 0x22;
  return p + 1;
}

/** {@link putGoString}'s escaping of `b[from..to)`, without the quotes. */
function putGoChars(out: Buffer, p: number, b: Buffer, from: number, to: number): number {
  let i = from;
  while (i < to) {
    const c = b[i]!;
    if (c < 0x80) {
      if (c >= 0x20 && c !== 0x22 && c !== 0x5c && c !== 0x3c && c !== 0x3e && c !== 0x26) out[p++] = c;
      else {
        out[p++] = 0x5c;
        if (c === 0x22 || c === 0x5c) out[p++] = c;
        else if (c === 0x0a) out[p++] = 0x6e;
        else if (c === 0x0d) out[p++] = 0x72;
        else if (c === 0x09) out[p++] = 0x74;
        else {
          out[p++] = 0x75;
          out[p++] = 0x30;
          out[p++] = 0x30;
          out[p++] = HEX.charCodeAt(c >> 4);
          out[p++] = HEX.charCodeAt(c & 15);
        }
      }
      i++;
      continue;
    }
    const n = utf8Length(b, i, to);
    if (n === 0) {
      p += out.write('\\ufffd', p, 'latin1');
      i++;
      continue;
    }
    if (n === 3 && c === 0xe2 && b[i + 1] === 0x80 && (b[i + 2] === 0xa8 || b[i + 2] === 0xa9)) {
      p += out.write(b[i + 2] === 0xa8 ? '\\u2028' : '\\u2029', p, 'latin1');
    } else {
      for (let k = 0; k < n; k++) out[p++] = b[i + k]!;
    }
    i += n;
  }
  return p;
}

/** The length of the valid UTF-8 sequence at `b[i]` (`utf8.DecodeRune`'s accept ranges), or 0. */
function utf8Length(b: Buffer, i: number, to: number): number {
  const c = b[i]!;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < to && b[i + k]! >= lo && b[i + k]! <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

/** A message that is an array of bulk strings (what {@link scanWhole} reads whole): each word's `[from, to)` in its chunk, or null. */
function flatWords(m: Message): number[] | null {
  const words: number[] = [];
  return bulkArray(m.chunk, m.offset, m.offset + m.size, words) > 0 ? words : null;
}

/** Writes \`head\` and a copy of the JSON value at \`out[from, to)\`. */
function putField(out: Buffer, p: number, head: string, from: number, to: number): number {
  p += out.write(head, p, 'latin1');
  return p + out.copy(out, p, from, to);
}

/** A string as Go's json.Marshal writes it. */
function goJson(text: string): string {
  const b = Buffer.from(text, 'utf8');
  const out = Buffer.allocUnsafe(6 * b.length + 2);
  return out.toString('utf8', 0, putGoString(out, 0, b));
}

/** A request's query from its words: joined by spaces, or its first word alone when they hold at most one byte (`contentLen > 1`). */
function putQuery(out: Buffer, p: number, b: Buffer, words: number[]): number {
  let contentLen = 0;
  for (let i = 0; i < words.length; i += 2) contentLen += words[i + 1]! - words[i]!;
  if (contentLen <= 1) return putGoString(out, p, b, words[0]!, words[1]!);
  out[p++] = 0x22;
  for (let i = 0; i < words.length; i += 2) {
    if (i > 0) out[p++] = 0x20;
    p = putGoChars(out, p, b, words[i]!, words[i + 1]!);
  }
  out[p++] = 0x22;
  return p;
}

/** Where {@link scalarValue}'s value ends. */
let scalarEnd = 0;

/** A line or bulk string reply's value: where it starts in its chunk (its end in {@link scalarEnd}), or -1 for anything else. */
function scalarValue(m: Message): number {
  const b = m.chunk;
  const t = b[m.offset];
  const end = m.offset + m.size;
  const cr = crlf(b, m.offset, end);
  if (t === 0x2b || t === 0x2d || t === 0x3a) {
    scalarEnd = cr;
    return m.offset + 1;
  }
  if (t !== 0x24) return -1;
  const n = digits(b, m.offset + 1, cr);
  if (n < 0) return -1;
  scalarEnd = cr + 2 + n;
  return cr + 2;
}

/** The analyzer oracle's line for a transaction (`cmd/pbh`: the event after `normalizeTransAddr`, keys sorted). */
export class Packetbeat5Encoder implements TransactionEncoder {
  private scratch = Buffer.allocUnsafe(64 * 1024);
  /** `"beat":{…},` when a shipper publishes the events, else empty. */
  private readonly beat: string;
  /** The shipper's name as a JSON string: `client_server`/`server` of a loopback address; `""` without a shipper. */
  private readonly serverName: string;
  private readonly sendRequest: boolean;
  private readonly sendResponse: boolean;

  constructor(options: EventOptions = ANALYZER_EVENTS) {
    const s = options.shipper;
    // Go's json.Marshal sorts a map's keys: hostname, name, version
    this.beat = s ? `"beat":{"hostname":${goJson(s.hostname)},"name":${goJson(s.name)},"version":${goJson(s.version)}},` : '';
    this.serverName = s ? goJson(s.name) : '""';
    this.sendRequest = options.sendRequest;
    this.sendResponse = options.sendResponse;
    this.valueBytesPerByte = 6 * 2 * (this.sendRequest || this.sendResponse ? 2 : 1);
    this.fixedBytes = 1024 + this.beat.length + 2 * this.serverName.length;
  }

  /** {@link bound}'s terms, known once the options are. */
  private readonly valueBytesPerByte: number;
  private readonly fixedBytes: number;

  /** The line's start up to the timestamp's second, kept while the second lasts. */
  private second = NaN;
  private secondPrefix = '';

  /** Writes the line into `out` from `p` (room for {@link bound} bytes); returns where it ends. */
  private encode(t: Packetbeat5Transaction, base: TimeBase, out: Buffer, p: number): number {
    const q = t.request;
    const r = t.response;
    const c = t.conn;
    // the client is whoever sent the request
    const fromClient = q.dir === CLIENT_TO_SERVER;
    const ms = base.sec * 1000 + Math.floor((base.nsec + q.tsNs) / 1e6);
    const second = Math.floor(ms / 1000);
    if (second !== this.second) {
      this.second = second;
      this.secondPrefix = `{"@timestamp":"${new Date(second * 1000).toISOString().slice(0, 20)}`;
    }
    const frac = ms - second * 1000;
    const clientIp = fromClient ? c.clientIp : c.serverIp;
    const serverIp = fromClient ? c.serverIp : c.clientIp;
    p += out.write(
      `${this.secondPrefix}${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}Z",${this.beat}"bytes_in":${q.size},"bytes_out":${r.size},` +
        `"client_ip":"${clientIp}","client_port":${fromClient ? c.clientPort : c.serverPort},"client_proc":"","client_server":${this.nameOf(clientIp)},` +
        `"ip":"${serverIp}","method":"${t.method}","port":${fromClient ? c.serverPort : c.clientPort},"proc":"","query":`,
      p,
      'latin1',
    );
    // the common request, an array of bulk strings, is written from its bytes; anything else is rendered first
    const words = flatWords(q);
    let rendered: ReturnType<typeof render> | null = null;
    const query = p;
    if (words !== null) p = putQuery(out, p, q.chunk, words);
    else {
      rendered = render(q);
      p = putGoString(out, p, rendered.value);
    }
    const queryEnd = p;
    p += out.write(`,"redis":{"${r.isError ? 'error' : 'return_value'}":`, p, 'latin1');
    const value = p;
    const scalar = scalarValue(r);
    p = scalar >= 0 ? putGoString(out, p, r.chunk, scalar, scalarEnd) : putGoString(out, p, render(r).value);
    const valueEnd = p;
    // send_request / send_response (protos/redis/redis.go:308-313): the request's and the response's message, as query and return value say them
    out[p++] = 0x7d; // the end of "redis"
    if (this.sendRequest) p = putField(out, p, ',"request":', query, queryEnd);
    p += out.write(',"resource":', p, 'latin1');
    if (words !== null) p = words.length > 2 ? putGoString(out, p, q.chunk, words[2]!, words[3]!) : putGoString(out, p, EMPTY);
    else p = putGoString(out, p, rendered!.path);
    if (this.sendResponse) p = putField(out, p, ',"response":', value, valueEnd);
    // int32(resp.ts.Sub(requ.ts).Nanoseconds() / 1e6): Go's division truncates toward zero
    const responsetime = Math.trunc((r.tsNs - q.tsNs) / 1e6) | 0;
    p += out.write(`,"responsetime":${responsetime},"server":${this.nameOf(serverIp)},"status":"${r.isError ? 'Error' : 'OK'}","type":"redis"}`, p, 'latin1');
    return p;
  }

  /**
   * The publisher's name for an address (libbeat/publisher/publish.go:128
   * GetServerName): the shipper's own for a loopback one (Go's
   * \`IP.IsLoopback\`: 127.0.0.0/8, ::1), none for any other (topology is deprecated).
   */
  private nameOf(ip: string): string {
    return ip.startsWith('127.') || ip === '::1' ? this.serverName : '""';
  }

  /** At most 6 bytes a byte of the rendered values (whose joins never outgrow twice the message), twice with send_request/send_response, plus the fixed text. */
  private bound(t: Packetbeat5Transaction): number {
    return this.valueBytesPerByte * (t.request.size + t.response.size) + this.fixedBytes;
  }

  write(tx: Transaction, base: TimeBase, w: LineBuffer): void {
    const t = tx as Packetbeat5Transaction;
    const buf = w.reserve(this.bound(t));
    w.commitLine(this.encode(t, base, buf, w.offset));
  }

  format(tx: Transaction, base: TimeBase): string {
    const t = tx as Packetbeat5Transaction;
    const n = this.bound(t);
    if (n > this.scratch.length) this.scratch = Buffer.allocUnsafe(n);
    return this.scratch.toString('utf8', 0, this.encode(t, base, this.scratch, 0));
  }
}

/** Redis as packetbeat 5's analyzer sees it (TCP in `packetbeat` mode). */
export const redisPacketbeat5: Protocol = {
  name: 'redis5',
  defaultPorts: [6379],
  analyzer: (sink) => new Packetbeat5Analyzer(sink),
  encoder: (options) => new Packetbeat5Encoder(options),
  equations: (c) => pairingEquations('redis (packetbeat 5)', c),
};
