/**
 * A streaming RESP2 + RESP3 parser that resumes where it stopped.
 *
 * Segments are copied into an {@link Arena}, an append-only byte slab shared
 * by the parsers of one analyzer, so a message's bytes are contiguous however
 * the stream was split and outlive the capture reader's buffer; the parser
 * only walks structure (numbers, no strings) and a finished message is a view
 * (chunk, offset, size) into the arena. A parser *in place* reads a segment
 * where it lies when nothing of an earlier one is left over (the capture
 * reader never rewrites a buffer it handed out), so a message within one
 * segment is never copied; its owner moves what still views a buffer to the
 * arena before letting the buffer go ({@link RespParser.release},
 * {@link RespMessage.moveTo}). A message's text is decoded lazily, the first
 * time an event needs it, as packetbeat's `redis_parse.go` renders it (`nil`,
 * `[a, b]`, errors as text).
 *
 * What Redis itself accepts, the parser accepts: requests may be inline
 * commands (`PING\r\n`, redis-server's `processInlineBuffer`); a bulk string
 * too large to keep is walked over by its length and kept as a short
 * placeholder; after a parse error the parser resynchronises at the next
 * line boundary where a whole message parses, counting the bytes it skipped.
 */

import { ByteCopier } from '../bytes.js';
import { isCommandName } from './commands.js';

export type RespRole = 'request' | 'response';

export type RespErrorReason = 'bad_type' | 'bad_length' | 'bad_line' | 'too_large' | 'too_deep';

export interface RespLimits {
  /** A message larger than this resets the stream (packetbeat's TCPMaxDataInStream, 10 MiB). */
  maxMessageBytes: number;
  maxDepth: number;
}

export const DEFAULT_RESP_LIMITS: RespLimits = { maxMessageBytes: 10 * 1024 * 1024, maxDepth: 32 };

const CHUNK = 64 * 1024;

/** Every parser's message result, reused (none per parser): a result is read before any parser is called again. */
const RESULT: { kind: 'message'; message: RespMessage } = { kind: 'message', message: undefined as unknown as RespMessage };

/** A parser's frames below the outermost before it first needs any (never written: {@link RespParser.growFrames} replaces them). */
const NO_FRAMES = new Int32Array(0);
const NO_FRAME_TYPES = new Uint8Array(0);

/**
 * Append-only byte slab: bytes go at the end of the current chunk, and a
 * full chunk is left to whatever messages still view it (the garbage
 * collector frees it with the last of them).
 */
export class Arena {
  chunk: Buffer = Buffer.allocUnsafe(CHUNK);
  used = 0;
  readonly copier = new ByteCopier();

  /**
   * Makes room for `n` contiguous bytes at `used`, starting a new chunk if
   * needed: twice `n` for a large message, which then grows into it instead
   * of being copied again at each segment.
   */
  reserve(n: number): void {
    if (this.chunk.length - this.used >= n) return;
    this.chunk = Buffer.allocUnsafe(n <= CHUNK / 2 ? CHUNK : 2 * n);
    this.used = 0;
  }
}

const TYPE_SIMPLE = 0x2b; // +
const TYPE_ERROR = 0x2d; // -
const TYPE_INT = 0x3a; // :
const TYPE_BULK = 0x24; // $
const TYPE_ARRAY = 0x2a; // *
const TYPE_NULL = 0x5f; // _
const TYPE_BOOL = 0x23; // #
const TYPE_DOUBLE = 0x2c; // ,
const TYPE_BIGNUM = 0x28; // (
const TYPE_BLOB_ERROR = 0x21; // !
const TYPE_VERBATIM = 0x3d; // =
const TYPE_MAP = 0x25; // %
const TYPE_SET = 0x7e; // ~
const TYPE_PUSH = 0x3e; // >
const TYPE_ATTRIBUTE = 0x7c; // |

const EMPTY = Buffer.alloc(0);
const CR = 13;
const LF = 10;
// "$" + "-" + 19 digits is already absurd: a length line longer than this is an error, not a wait.
const MAX_HEADER_LINE = 24;

/** What each byte means as a RESP type: 0 not a type, 1 simple line, 2 length-prefixed string, 3 aggregate. */
const TYPE_CLASS = new Uint8Array(256);
for (const t of [TYPE_SIMPLE, TYPE_ERROR, TYPE_INT, TYPE_NULL, TYPE_BOOL, TYPE_DOUBLE, TYPE_BIGNUM]) TYPE_CLASS[t] = 1;
for (const t of [TYPE_BULK, TYPE_BLOB_ERROR, TYPE_VERBATIM]) TYPE_CLASS[t] = 2;
for (const t of [TYPE_ARRAY, TYPE_MAP, TYPE_SET, TYPE_PUSH, TYPE_ATTRIBUTE]) TYPE_CLASS[t] = 3;

/** Bytes an inline command may start with: a letter (a command name), or CR/LF (an empty line Redis ignores). */
const INLINE_START = new Uint8Array(256);
for (let c = 0x41; c <= 0x5a; c++) INLINE_START[c] = INLINE_START[c + 0x20] = 1;
INLINE_START[CR] = INLINE_START[LF] = 1;

const ERROR = 1;
const PUSH = 2;
const REQUEST = 4;
const INLINE = 8;
const NO_REPLY = 16;

/** Redis refuses an inline command line longer than this (`PROTO_INLINE_MAX_SIZE`). */
export const MAX_INLINE_BYTES = 64 * 1024;

/** A complete RESP message: a view of an arena chunk (or, parsed in place, of a read buffer until {@link moveTo}), rendered on demand. */
export class RespMessage {
  /** The next request queued behind this one on its connection (the analyzer's FIFO). */
  nextWaiting: RespMessage | null = null;
  /** {@link isError}, {@link isPush}, a request: bits in one field (600,000 messages a 300k replay; each field is 8 bytes of each). */
  private readonly flags: number;
  private renderedText: string | undefined;
  private parsedArgs: string[] | null | undefined;

  constructor(
    /** The arena chunk (or, parsed in place, the read buffer) holding the message's bytes at `[offset, offset+size)`. */
    public chunk: Buffer,
    public offset: number,
    /** Wire size in bytes (packetbeat's bytes_in / bytes_out). */
    readonly size: number,
    /** Capture time (ns) of the segment in which the message began. */
    readonly tsNs: number,
    isError: boolean,
    isPush: boolean,
    role: RespRole,
    /** {@link INLINE}, {@link NO_REPLY}: bits the parser knows when it emits a request. */
    extra = 0,
  ) {
    this.flags = (isError ? ERROR : 0) | (isPush ? PUSH : 0) | (role === 'request' ? REQUEST : 0) | extra;
  }

  /** Bytes of the message held in the arena: {@link size} but for a {@link LargeRespMessage}. */
  get storedSize(): number {
    return this.size;
  }

  /** Copies the message to `arena` and views it there: the buffer it viewed is let go. */
  moveTo(arena: Arena): void {
    const n = this.storedSize;
    arena.reserve(n);
    arena.copier.copy(this.chunk, this.offset, n, arena.chunk, arena.used);
    this.chunk = arena.chunk;
    this.offset = arena.used;
    arena.used += n;
  }

  /** An inline command (`SET a b\r\n`), not a RESP array. */
  get isInline(): boolean {
    return (this.flags & INLINE) !== 0;
  }

  /**
   * A request Redis answers with nothing: `*0`, `*-1` (or any negative
   * count) and an empty inline line; redis-server's `processInputBuffer`
   * resets the client when `argc == 0`.
   */
  get expectsReply(): boolean {
    return (this.flags & NO_REPLY) === 0;
  }

  /** A top-level error reply (`-ERR …` or a RESP3 blob error). */
  get isError(): boolean {
    return (this.flags & ERROR) !== 0;
  }

  /** A RESP3 push (`>`): out-of-band, never the answer to a request. */
  get isPush(): boolean {
    return (this.flags & PUSH) !== 0;
  }

  get role(): RespRole {
    return (this.flags & REQUEST) !== 0 ? 'request' : 'response';
  }

  /** The value as packetbeat shows it; for a request, its words joined by spaces. */
  get text(): string {
    if (this.renderedText === undefined) {
      const args = this.role === 'request' ? this.args : null;
      if (this.isInline) return (this.renderedText = args!.join(' '));
      this.renderedText = args !== null ? args.join(' ') : renderScalar(this.chunk, this.offset) ?? render(this.chunk, this.offset).text;
    }
    return this.renderedText;
  }

  /** A request's words (the elements of its top-level array, or an inline command's words); null for a reply. */
  get args(): string[] | null {
    if (this.parsedArgs === undefined) {
      this.parsedArgs = null;
      if (this.isInline) {
        this.parsedArgs = inlineArgs(this.chunk, this.offset, this.offset + this.size);
      } else if (this.role === 'request') {
        this.parsedArgs = flatArgs(this.chunk, this.offset);
        if (this.parsedArgs === null) {
          const r = render(this.chunk, this.offset);
          this.parsedArgs = r.parts ?? [r.text];
        }
      }
    }
    return this.parsedArgs;
  }

  /** The request's first word, upper-cased (packetbeat's `method`), interned: no allocation per call. */
  get method(): string {
    return requestMethod(this);
  }
}

/**
 * A message with a bulk string too large to keep (it would make the message
 * larger than {@link RespLimits.maxMessageBytes}): the arena holds the
 * message with that string replaced by `<N bytes not kept>`; {@link size}
 * is still the message's size on the wire.
 */
export class LargeRespMessage extends RespMessage {
  constructor(chunk: Buffer, offset: number, size: number, private readonly stored: number, tsNs: number, isError: boolean, isPush: boolean, role: RespRole, extra: number) {
    super(chunk, offset, size, tsNs, isError, isPush, role, extra);
  }

  override get storedSize(): number {
    return this.stored;
  }
}

export type RespResult =
  | { readonly kind: 'message'; readonly message: RespMessage }
  | { readonly kind: 'needMore' }
  | { readonly kind: 'error'; readonly reason: RespErrorReason; readonly detail: string };

const NEED_MORE: RespResult = { kind: 'needMore' };

const STATE_TYPE = 0;
const STATE_LINE = 1;
const STATE_BULK = 2;
/** An inline command's line, up to its LF. */
const STATE_INLINE = 3;
/** A bulk string too large to keep: its bytes are dropped as they are fed ({@link RespParser.skipRemaining}). */
const STATE_SKIP = 4;
/** After a parse error: looking for the next line boundary where a message starts. */
const STATE_SEEK = 5;

/** What {@link RespParser.step} answers when it changed state and has more to do (a failed resynchronisation try). */
const AGAIN: RespResult = { kind: 'needMore' };

export class RespParser {
  /** Unconsumed bytes (the message in progress) are `chunk[start..end)`, an arena chunk or (in place) a read buffer; scanning has reached `pos`. */
  private chunk: Buffer;
  private start = 0;
  private end = 0;
  private pos = 0;
  private state = STATE_TYPE;
  private type = 0;
  private lineStart = 0;
  /** Bytes of bulk content plus its CRLF still to come. */
  private bulkRemaining = 0;
  /**
   * Per open aggregate: elements still expected, and its type. The
   * outermost is in fields (most messages nest no deeper: a parser, one per
   * direction of every connection, then holds no arrays); deeper ones in
   * arrays made when first needed, grown past the limit while a message too
   * deep is walked.
   */
  private remaining0 = 0;
  private frameType0 = 0;
  private remaining: Int32Array = NO_FRAMES;
  private frameType: Uint8Array = NO_FRAME_TYPES;
  private depth = 0;
  /** The message in progress nests deeper than the limit: it is walked to its end, then skipped whole. */
  private tooDeep = false;
  private inMessage = false;
  private topType = 0;
  private startTs = 0;
  private feedTs = 0;
  /** Bytes of the message in progress not kept in the arena (large bulk strings), for its wire size. */
  private elided = 0;
  /** Bytes of a large bulk string (and its CRLF) still to come, dropped by {@link feed} as they arrive. */
  private skipRemaining = 0;
  /** The dropped bytes did not end in CRLF. */
  private skipBadEnd = false;
  /** The message in progress starts at a resynchronisation point: if it fails, look for the next one. */
  private trial = false;
  /** Bytes skipped to resynchronise after parse errors; the analyzer takes them ({@link takeCounts}). */
  skippedBytes = 0;
  /** Messages over the size limit, kept abbreviated (their large bulk strings walked over by length). */
  largeBulks = 0;

  constructor(
    readonly role: RespRole,
    private readonly arena: Arena = new Arena(),
    private readonly limits: RespLimits = DEFAULT_RESP_LIMITS,
    /** Reads a segment where it lies when nothing is left over: `src` is then never rewritten, and the owner calls {@link release} before letting it go. */
    private readonly inPlace = false,
  ) {
    this.chunk = EMPTY;
  }

  /**
   * A segment's payload `src[off..off+len)` captured at `tsNs`, after the
   * unconsumed bytes: copied (`src` may be rewritten once this returns), or
   * in place read where it lies when nothing is left over. Call {@link next}
   * until it answers needMore.
   */
  feed(src: Buffer, off: number, len: number, tsNs: number): void {
    this.feedTs = tsNs;
    if (this.skipRemaining > 0) {
      // a large bulk string's bytes: walked over, never copied; its last two are its CRLF
      const n = Math.min(len, this.skipRemaining);
      for (let i = Math.max(0, this.skipRemaining - 2); i < n; i++) {
        if (src[off + i] !== (this.skipRemaining - i === 2 ? CR : LF)) this.skipBadEnd = true;
      }
      this.skipRemaining -= n;
      off += n;
      len -= n;
      if (len === 0) return;
    }
    if (this.inPlace && this.start === this.end) {
      const shift = off - this.start;
      this.chunk = src;
      this.start = off;
      this.end = off + len;
      this.pos += shift;
      this.lineStart += shift;
      return;
    }
    const arena = this.arena;
    // the message in progress and the new bytes, contiguous at the arena's tail
    if (this.chunk !== arena.chunk || this.end !== arena.used || arena.chunk.length - arena.used < len) this.moveToArena(len);
    arena.copier.copy(src, off, len, arena.chunk, arena.used);
    arena.used += len;
    this.end += len;
  }

  /** Stops viewing `buf`: the unconsumed bytes in it (a message begun) move to the arena. */
  release(buf: Buffer): void {
    if (this.chunk === buf) this.moveToArena(0);
  }

  /** Forgets everything fed: the parser is dropped (its connection's state goes). */
  dispose(): void {
    // bytes still unaccounted after a parse error never became a message: skipped
    if (this.state === STATE_SEEK || this.trial) this.skippedBytes += this.end - this.start;
    this.reset();
    this.chunk = EMPTY;
    this.start = this.pos = this.end = 0;
  }

  /** Moves the unconsumed bytes to the arena's tail, with room for `extra` more after them. */
  private moveToArena(extra: number): void {
    const arena = this.arena;
    const pending = this.end - this.start;
    arena.reserve(pending + extra);
    const at = arena.used;
    if (pending > 0) arena.copier.copy(this.chunk, this.start, pending, arena.chunk, at);
    arena.used = at + pending;
    const shift = at - this.start;
    this.chunk = arena.chunk;
    this.start = at;
    this.end = at + pending;
    this.pos += shift;
    this.lineStart += shift;
  }

  /** Forgets any partial message and whatever was fed after it (after a gap). */
  reset(): void {
    this.start = this.pos = this.end;
    this.state = STATE_TYPE;
    this.depth = 0;
    this.tooDeep = false;
    this.inMessage = false;
    this.elided = 0;
    this.skipRemaining = 0;
    this.skipBadEnd = false;
    this.trial = false;
  }

  /**
   * The next complete message, `needMore` once every fed byte is consumed, or
   * an error. After an error the parser looks for the next line boundary
   * where a whole message parses (`\r\n` then a type byte, `*` for a
   * request), and counts the bytes it passed in {@link skippedBytes}. A
   * message result is reused: read it before calling again.
   */
  next(): RespResult {
    for (;;) {
      const r = this.step();
      if (r !== AGAIN) return r;
    }
  }

  private step(): RespResult {
    if (this.state === STATE_SEEK && !this.seek()) return NEED_MORE;
    const b = this.chunk;
    const end = this.end;
    let p = this.pos;
    if (this.state === STATE_SKIP) {
      if (this.skipRemaining > 0) return NEED_MORE;
      if (this.skipBadEnd) return this.fail('bad_line', 'bulk string not followed by CRLF');
      const done = this.valueDone(p);
      if (done !== null) return done;
    }
    if (!this.inMessage && p < end && this.state === STATE_TYPE && (this.role === 'response' || b[p] === TYPE_ARRAY)) {
      const e = scanFlat(b, p, end, this.limits.maxMessageBytes);
      if (e > 0) {
        this.start = p;
        this.startTs = this.feedTs;
        this.topType = b[p]!;
        return this.emit(e);
      }
    }
    while (p < end) {
      if (this.state === STATE_TYPE) {
        const t = b[p]!;
        if (!this.inMessage) {
          this.inMessage = true;
          this.start = p;
          this.topType = 0;
          this.startTs = this.feedTs;
        }
        if (this.depth === 0 && this.role === 'request' && t !== TYPE_ARRAY) {
          // redis-server reads anything but a multibulk as an inline command
          if (!INLINE_START[t]) return this.fail('bad_type', `unexpected byte 0x${t.toString(16).padStart(2, '0')} where a command was expected`);
          this.state = STATE_INLINE;
          this.lineStart = p;
          continue;
        }
        if (TYPE_CLASS[t] === 0) {
          return this.fail('bad_type', `unexpected byte 0x${t.toString(16).padStart(2, '0')} where a RESP type was expected`);
        }
        if (this.depth === 0 && t !== TYPE_ATTRIBUTE && this.topType === 0) this.topType = t;
        this.type = t;
        this.state = STATE_LINE;
        this.lineStart = ++p;
        continue;
      }
      if (this.state === STATE_INLINE) {
        while (p < end && b[p] !== LF) p++;
        if (p === end) {
          if (end - this.start > MAX_INLINE_BYTES) return this.fail('too_large', `inline command longer than ${MAX_INLINE_BYTES} bytes`);
          break;
        }
        p++;
        return this.inline(b, p);
      }
      if (this.state === STATE_LINE) {
        while (p < end && b[p] !== LF) p++;
        if (p === end) {
          if (end - this.start > this.limits.maxMessageBytes) return this.tooLarge();
          if (end - this.lineStart > MAX_HEADER_LINE && TYPE_CLASS[this.type]! >= 2) {
            return this.fail('bad_length', `length line longer than ${MAX_HEADER_LINE} bytes`);
          }
          break;
        }
        if (p === this.lineStart || b[p - 1] !== CR) return this.fail('bad_line', 'line not terminated by CRLF');
        p++;
        if (p - this.start > this.limits.maxMessageBytes) return this.tooLarge();
        const done = this.line(b, this.lineStart, p - 2, p);
        if (done !== null) return done;
        continue;
      }
      // STATE_BULK: content and its CRLF are contiguous in the arena, so only the end needs checking
      if (end - p < this.bulkRemaining) {
        this.bulkRemaining -= end - p;
        p = end;
        break;
      }
      p += this.bulkRemaining;
      this.bulkRemaining = 0;
      if (b[p - 2] !== CR || b[p - 1] !== LF) return this.fail('bad_line', 'bulk string not followed by CRLF');
      const done = this.valueDone(p);
      if (done !== null) return done;
    }
    this.pos = p;
    if (!this.inMessage) this.start = p;
    return NEED_MORE;
  }

  /** A complete line `b[from..to)` (CRLF excluded) for the current type; `after` is the next byte's position. */
  private line(b: Buffer, from: number, to: number, after: number): RespResult | null {
    const t = this.type;
    const cls = TYPE_CLASS[t];
    if (cls === 1) {
      if ((t === TYPE_INT || t === TYPE_BIGNUM) && !isInteger(b, from, to)) {
        return this.fail('bad_line', `bad integer ${JSON.stringify(b.toString('latin1', from, Math.min(to, from + 24)))}`);
      }
      if (t === TYPE_BOOL && (to - from !== 1 || (b[from] !== 0x74 && b[from] !== 0x66))) {
        return this.fail('bad_line', 'boolean is neither t nor f');
      }
      if (t === TYPE_NULL && to !== from) return this.fail('bad_line', 'null with bytes between _ and CRLF');
      if (t === TYPE_DOUBLE && !isDouble(b, from, to)) {
        return this.fail('bad_line', `bad double ${JSON.stringify(b.toString('latin1', from, Math.min(to, from + 24)))}`);
      }
      return this.valueDone(after);
    }
    const n = parseLength(b, from, to);
    if (n === null) return this.fail('bad_length', `bad length ${JSON.stringify(b.toString('latin1', from, Math.min(to, from + 24)))}`);
    if (cls === 2) {
      if (n === -1 && t === TYPE_BULK) return this.valueDone(after);
      if (n < 0) return this.fail('bad_length', `bulk length ${n}`);
      if (after - this.start + n + 2 > this.limits.maxMessageBytes) return this.elide(from - 1, after, n);
      this.bulkRemaining = n + 2;
      this.state = STATE_BULK;
      return null;
    }
    if (n === -1 && t === TYPE_ARRAY) return this.valueDone(after);
    const elements = t === TYPE_MAP || t === TYPE_ATTRIBUTE ? n * 2 : n;
    if (n < 0 || elements > this.limits.maxMessageBytes / 3) return this.fail('bad_length', `aggregate length ${n}`);
    if (elements === 0) {
      if (t === TYPE_ATTRIBUTE) {
        this.state = STATE_TYPE;
        return null;
      }
      return this.valueDone(after);
    }
    if (this.depth >= this.limits.maxDepth) {
      // a resynchronisation try fails here: walking each try to its end would be quadratic in a deep message
      if (this.trial) return this.fail('too_deep', `nesting deeper than ${this.limits.maxDepth}`);
      // walked to its end (its size is bounded by the limit on a message's bytes), so the error skips it exactly
      this.tooDeep = true;
    }
    if (this.depth === 0) {
      this.remaining0 = elements;
      this.frameType0 = t;
    } else {
      if (this.depth > this.remaining.length) this.growFrames();
      this.remaining[this.depth - 1] = elements;
      this.frameType[this.depth - 1] = t;
    }
    this.depth++;
    this.state = STATE_TYPE;
    return null;
  }

  /** Room for the frames below the outermost: the limit's worth at first, twice as many each time past it. */
  private growFrames(): void {
    const remaining = new Int32Array(Math.max(this.limits.maxDepth, this.remaining.length * 2));
    remaining.set(this.remaining);
    const frameType = new Uint8Array(remaining.length);
    frameType.set(this.frameType);
    this.remaining = remaining;
    this.frameType = frameType;
  }

  /** A value ended at `p`: it fills the enclosing aggregate, or ends the message. */
  private valueDone(p: number): RespResult | null {
    this.state = STATE_TYPE;
    for (;;) {
      if (this.depth === 0) return this.emit(p);
      const top = this.depth - 1;
      let type: number;
      if (top === 0) {
        if (--this.remaining0 > 0) return null;
        type = this.frameType0;
      } else {
        if (--this.remaining[top - 1]! > 0) return null;
        type = this.frameType[top - 1]!;
      }
      this.depth = top;
      // an attribute describes the value after it and is not an element of its parent
      if (type === TYPE_ATTRIBUTE) return null;
    }
  }

  private emit(p: number, extra = 0): RespResult {
    if (this.tooDeep) return this.skipTooDeep(p);
    const top = this.topType;
    const b = this.chunk;
    const at = this.start;
    // `*0` and `*-1` (any count below 1) ask nothing of Redis
    if (this.role === 'request' && top === TYPE_ARRAY && (b[at + 1] === 0x2d || (b[at + 1] === 0x30 && b[at + 2] === CR))) extra |= NO_REPLY;
    const isError = top === TYPE_ERROR || top === TYPE_BLOB_ERROR;
    const message =
      this.elided === 0
        ? new RespMessage(b, at, p - at, this.startTs, isError, top === TYPE_PUSH, this.role, extra)
        : new LargeRespMessage(b, at, p - at + this.elided, p - at, this.startTs, isError, top === TYPE_PUSH, this.role, extra);
    this.elided = 0;
    this.trial = false;
    this.inMessage = false;
    this.start = this.pos = p;
    RESULT.message = message;
    return RESULT;
  }

  /**
   * The message in progress ended at `p` but nests deeper than the limit:
   * its bytes are skipped, counted, and reported once as an error; parsing
   * goes on right after it. (Never a resynchronisation try: a try fails at
   * the limit.)
   */
  private skipTooDeep(p: number): RespResult {
    this.skippedBytes += p - this.start + this.elided;
    this.tooDeep = false;
    this.elided = 0;
    this.inMessage = false;
    this.start = this.pos = p;
    this.state = STATE_TYPE;
    this.depth = 0;
    return { kind: 'error', reason: 'too_deep', detail: `nesting deeper than ${this.limits.maxDepth}` };
  }

  /** An inline command's line ended at `p` (after its LF): a request, or an error if it names no command. */
  private inline(b: Buffer, p: number): RespResult {
    this.state = STATE_TYPE;
    let from = this.start;
    let to = p - 1;
    if (to > from && b[to - 1] === CR) to--;
    while (from < to && (b[from] === 0x20 || b[from] === 0x09)) from++;
    if (from === to) return this.emit(p, INLINE | NO_REPLY);
    let w = from;
    while (w < to && b[w] !== 0x20 && b[w] !== 0x09) w++;
    if (!isCommandName(b, from, w)) {
      return this.fail('bad_type', `line starting ${JSON.stringify(b.toString('latin1', from, Math.min(w, from + 24)))} is neither RESP nor a Redis command`);
    }
    this.topType = 0;
    return this.emit(p, INLINE);
  }

  /**
   * A bulk string whose header ended at `after` claims `n` bytes, more than a
   * message may keep: the header at `header` and the content already fed are
   * replaced by a placeholder bulk string, and the rest of the content is
   * dropped as it is fed. The message keeps its place in the stream, so the
   * request and its reply still pair.
   */
  private elide(header: number, after: number, n: number): RespResult | null {
    if (this.inPlace && this.chunk !== this.arena.chunk) {
      // rewritten below: a read buffer is not the parser's to write
      const from = this.start;
      this.moveToArena(0);
      header += this.start - from;
      after += this.start - from;
    }
    const b = this.chunk;
    const fed = Math.min(this.end - after, n + 2);
    const text = `<${n} bytes not kept>`;
    const placeholder = `$${text.length}\r\n${text}\r\n`;
    if (this.elided === 0) this.largeBulks++;
    this.elided += after - header + n + 2 - placeholder.length;
    const atTail = this.chunk === this.arena.chunk && this.end === this.arena.used;
    if (fed === n + 2) {
      // the whole string was fed (a very large segment): close the hole in place
      if (b[after + n] !== CR || b[after + n + 1] !== LF) return this.fail('bad_line', 'bulk string not followed by CRLF');
      const tail = this.end - (after + n + 2);
      b.copyWithin(header + placeholder.length, after + n + 2, this.end);
      b.write(placeholder, header, 'latin1');
      this.end = header + placeholder.length + tail;
      if (atTail) this.arena.used = this.end;
      this.pos = header + placeholder.length;
      return this.valueDone(this.pos);
    }
    // everything fed from `after` is content: drop it, and the rest as it comes
    if (fed > n && b[after + n] !== CR) this.skipBadEnd = true;
    this.skipRemaining = n + 2 - fed;
    this.end = header;
    if (atTail) this.arena.used = header;
    if (!atTail || this.arena.chunk.length - this.arena.used < placeholder.length) this.moveToArena(placeholder.length);
    this.arena.chunk.write(placeholder, this.end, 'latin1');
    this.end += placeholder.length;
    this.arena.used = this.end;
    this.pos = this.end;
    this.state = STATE_SKIP;
    return NEED_MORE;
  }

  private tooLarge(): RespResult {
    return this.fail('too_large', `message larger than ${this.limits.maxMessageBytes} bytes`);
  }

  /**
   * A parse error at the message starting at {@link start}. On a
   * resynchronisation try it only sends the search on; otherwise it is
   * reported, and the search for the next message starts after that byte.
   */
  private fail(reason: RespErrorReason, detail: string): RespResult {
    const tried = this.trial;
    this.state = STATE_SEEK;
    this.depth = 0;
    this.tooDeep = false;
    this.inMessage = false;
    this.elided = 0;
    this.trial = false;
    this.pos = Math.min(this.start + 1, this.end);
    if (this.skipRemaining > 0) {
      // the dropped bytes of a large string the message held are skipped too
      this.skippedBytes += this.skipRemaining;
      this.skipRemaining = 0;
    }
    this.skipBadEnd = false;
    return tried ? AGAIN : { kind: 'error', reason, detail };
  }

  /**
   * Looks for the next place a message may start: after a CRLF, a byte that
   * starts a RESP value (a reply) or `*` (a request). Bytes before
   * it are skipped and counted. True when one is found (the parser then tries
   * it as a normal message), false when every fed byte was searched.
   */
  private seek(): boolean {
    const b = this.chunk;
    const end = this.end;
    let p = this.pos;
    for (;;) {
      while (p < end && b[p] !== LF) p++;
      if (p + 1 >= end) {
        // keep a last CR and LF: the boundary may be completed by the next segment
        const keep = p < end ? p - 1 : end - 1;
        const from = Math.max(this.start, keep);
        this.skippedBytes += from - this.start;
        this.start = from;
        this.pos = Math.max(from, p);
        return false;
      }
      if (b[p - 1] === CR && p - 1 >= this.start) {
        const c = b[p + 1]!;
        // a request resumes at a multibulk only: a command's words (`$4\r\nPING\r\n`) would read as inline commands
        if (this.role === 'request' ? c === TYPE_ARRAY : TYPE_CLASS[c] !== 0) {
          this.skippedBytes += p + 1 - this.start;
          this.start = this.pos = p + 1;
          this.state = STATE_TYPE;
          this.trial = true;
          return true;
        }
      }
      p++;
    }
  }

  /** The counts since the last call: bytes skipped to resynchronise, large bulk strings. */
  takeCounts(out: { skippedBytes: number; largeBulks: number }): void {
    out.skippedBytes += this.skippedBytes;
    out.largeBulks += this.largeBulks;
    this.skippedBytes = 0;
    this.largeBulks = 0;
  }
}

/**
 * Fast path for the common case: a whole, well-formed RESP2 message in
 * `b[p..end)` that is a scalar or a flat array of scalars (every command, most
 * replies). Returns where it ends, or -1 to leave the message to the state
 * machine, which handles everything else (split, nested, RESP3, malformed).
 */
function scanFlat(b: Buffer, p: number, end: number, maxBytes: number): number {
  const start = p;
  let values = 1;
  let first = true;
  while (values > 0) {
    if (p >= end) return -1;
    const t = b[p]!;
    let q = p + 1;
    while (q < end && b[q] !== LF) q++;
    if (q >= end || q === p + 1 || b[q - 1] !== CR) return -1;
    if (t === TYPE_BULK) {
      const n = parseLength(b, p + 1, q - 1);
      if (n === null || n < -1) return -1;
      p = n === -1 ? q + 1 : q + 3 + n;
      if (n >= 0 && (p > end || b[p - 2] !== CR || b[p - 1] !== LF)) return -1;
    } else if (t === TYPE_ARRAY && first) {
      const n = parseLength(b, p + 1, q - 1);
      if (n === null || n < -1 || n > maxBytes / 3) return -1;
      if (n > 0) values += n;
      p = q + 1;
    } else if (t === TYPE_SIMPLE || t === TYPE_ERROR || (t === TYPE_INT && isInteger(b, p + 1, q - 1))) {
      p = q + 1;
    } else {
      return -1;
    }
    if (p - start > maxBytes) return -1;
    values--;
    first = false;
  }
  return p;
}

/** RESP3's double: `[+-]digits[.digits][(e|E)[+-]digits]`, or `inf`, `-inf`, `nan` (what redis-server writes). */
function isDouble(b: Buffer, from: number, to: number): boolean {
  const s = b.toString('latin1', from, Math.min(to, from + 400));
  return to - from <= 400 && DOUBLE.test(s);
}
const DOUBLE = /^(?:[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|[+-]?inf|-?nan)$/;

function isInteger(b: Buffer, from: number, to: number): boolean {
  let i = from;
  if (i < to && (b[i] === 0x2d || b[i] === 0x2b)) i++;
  if (i === to) return false;
  for (; i < to; i++) if (b[i]! < 0x30 || b[i]! > 0x39) return false;
  return true;
}

/** A decimal length in `b[from..to)` (at most 16 digits, so exact), or null. No allocation. */
export function parseLength(b: Buffer, from: number, to: number): number | null {
  let i = from;
  let neg = false;
  if (i < to && b[i] === 0x2d) {
    neg = true;
    i++;
  }
  if (i === to || to - i > 16) return null;
  let n = 0;
  for (; i < to; i++) {
    const d = b[i]! - 0x30;
    if (d < 0 || d > 9) return null;
    n = n * 10 + d;
  }
  return neg ? -n : n;
}

// ---- lazy rendering of a complete, already validated message ----

interface Rendered {
  text: string;
  /** Elements of a top-level array (a request's words). */
  parts: string[] | null;
  next: number;
}

/** The CR ending the line at `p`. Messages are whole when rendered; the bound only keeps a bug from looping for ever. */
export function lineEnd(b: Buffer, p: number): number {
  // the line ends at its CRLF, as the parser reads it (it scans to the LF and checks the CR before it):
  // a bare CR inside a line is the line's (stopping at the first CR desynchronised the walk from the parse)
  const end = b.length;
  while (p < end && b[p] !== LF) p++;
  return p < end ? p - 1 : end;
}

/** The common replies (simple, error, integer, bulk), rendered without the general walk; null for the rest. */
function renderScalar(b: Buffer, p: number): string | null {
  const t = b[p]!;
  if (t === TYPE_SIMPLE || t === TYPE_ERROR) return b.toString('utf8', p + 1, lineEnd(b, p + 1));
  if (t === TYPE_INT) return b.toString('latin1', p + 1, lineEnd(b, p + 1));
  if (t === TYPE_BULK) {
    const eol = lineEnd(b, p + 1);
    const n = parseLength(b, p + 1, eol)!;
    return n < 0 ? 'nil' : b.toString('utf8', eol + 2, eol + 2 + n);
  }
  return null;
}

/** A command as clients send it, an array of bulk strings, split into its words; null for anything else. */
function flatArgs(b: Buffer, p: number): string[] | null {
  if (b[p] !== TYPE_ARRAY) return null;
  let eol = lineEnd(b, p + 1);
  const count = parseLength(b, p + 1, eol)!;
  if (count <= 0) return null;
  const args = new Array<string>(count);
  p = eol + 2;
  for (let i = 0; i < count; i++) {
    if (b[p] !== TYPE_BULK) return null;
    eol = lineEnd(b, p + 1);
    const n = parseLength(b, p + 1, eol)!;
    if (n < 0) return null;
    args[i] = b.toString('utf8', eol + 2, eol + 2 + n);
    p = eol + 4 + n;
  }
  return args;
}

/**
 * An inline command's words, as redis-server's `sdssplitargs` splits them:
 * blanks separate words, "double quotes" take C escapes (\\n, \\xHH…),
 * 'single quotes' only \\'. Unbalanced quotes (which Redis refuses) give the
 * raw words.
 */
export function inlineArgs(b: Buffer, from: number, to: number): string[] {
  let end = to;
  if (end > from && b[end - 1] === LF) end--;
  if (end > from && b[end - 1] === CR) end--;
  const line = b.toString('utf8', from, end);
  const words: string[] = [];
  let i = 0;
  const n = line.length;
  const blank = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\f';
  while (i < n) {
    while (i < n && blank(line[i]!)) i++;
    if (i === n) break;
    let word = '';
    let quote = '';
    for (; i < n; i++) {
      const c = line[i]!;
      if (quote === '"') {
        if (c === '\\' && i + 1 < n) {
          const e = line[++i]!;
          if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(line.slice(i + 1, i + 3))) {
            word += String.fromCharCode(parseInt(line.slice(i + 1, i + 3), 16));
            i += 2;
          } else word += ({ n: '\n', r: '\r', t: '\t', b: '\b', a: '\x07' } as Record<string, string>)[e] ?? e;
        } else if (c === '"') {
          quote = '';
          i++;
          break;
        } else word += c;
      } else if (quote === "'") {
        if (c === '\\' && line[i + 1] === "'") {
          word += "'";
          i++;
        } else if (c === "'") {
          quote = '';
          i++;
          break;
        } else word += c;
      } else if (blank(c)) break;
      else if ((c === '"' || c === "'") && word === '') quote = c;
      else word += c;
    }
    if (quote !== '') return line.split(/[ \t]+/).filter((w) => w !== '');
    words.push(word);
  }
  return words;
}

/**
 * Renders the value at `p` as packetbeat does. Attributes before a value are
 * skipped. `depth` bounds the walk as the parser bounds nesting
 * ({@link DEFAULT_RESP_LIMITS}.maxDepth): a message the parser took never
 * goes deeper, and anything that would renders as nothing instead of
 * exhausting the stack.
 */
function render(b: Buffer, p: number, depth = 0): Rendered {
  if (depth > DEFAULT_RESP_LIMITS.maxDepth) return { text: '', parts: null, next: b.length };
  const t = b[p]!;
  const eol = lineEnd(b, p + 1);
  const after = eol + 2;
  switch (t) {
    case TYPE_SIMPLE:
    case TYPE_ERROR:
      return { text: b.toString('utf8', p + 1, eol), parts: null, next: after };
    case TYPE_INT:
    case TYPE_DOUBLE:
    case TYPE_BIGNUM:
      return { text: b.toString('latin1', p + 1, eol), parts: null, next: after };
    case TYPE_NULL:
      return { text: 'nil', parts: null, next: after };
    case TYPE_BOOL:
      return { text: b[p + 1] === 0x74 ? 'true' : 'false', parts: null, next: after };
    case TYPE_BULK:
    case TYPE_BLOB_ERROR:
    case TYPE_VERBATIM: {
      const n = parseLength(b, p + 1, eol)!;
      if (n < 0) return { text: 'nil', parts: null, next: after };
      let from = after;
      // verbatim strings carry a 3-letter format and a colon before the text ("txt:…")
      if (t === TYPE_VERBATIM && n >= 4 && b[from + 3] === 0x3a) from += 4;
      return { text: b.toString('utf8', from, after + n), parts: null, next: after + n + 2 };
    }
    default: {
      const n = parseLength(b, p + 1, eol)!;
      if (n < 0) return { text: 'nil', parts: null, next: after };
      const count = t === TYPE_MAP || t === TYPE_ATTRIBUTE ? 2 * n : n;
      const parts: string[] = [];
      let q = after;
      for (let i = 0; i < count && q < b.length; i++) {
        const r = render(b, q, depth + 1);
        parts.push(r.text);
        q = r.next;
      }
      if (t === TYPE_ATTRIBUTE) return render(b, q, depth + 1);
      if (t === TYPE_MAP) {
        const pairs: string[] = [];
        for (let i = 0; i < parts.length; i += 2) pairs.push(`${parts[i]}: ${parts[i + 1]}`);
        return { text: `{${pairs.join(', ')}}`, parts: null, next: q };
      }
      return { text: `[${parts.join(', ')}]`, parts: t === TYPE_ARRAY ? parts : null, next: q };
    }
  }
}

// ---- interned methods ----

interface Interned {
  bytes: Buffer;
  method: string;
}

/** Interned methods keyed by length and upper-cased first byte; a key holds a handful at most. */
const methods = new Map<number, Interned[]>();
let internedCount = 0;

function upper(c: number): number {
  return c >= 0x61 && c <= 0x7a ? c - 32 : c;
}

export function requestMethod(m: RespMessage): string {
  const b = m.chunk;
  let p = m.offset;
  if (b[p] === TYPE_ARRAY) {
    p = lineEnd(b, p + 1) + 2;
    if (p < m.offset + m.size && b[p] === TYPE_BULK) {
      const eol = lineEnd(b, p + 1);
      const n = parseLength(b, p + 1, eol);
      if (n !== null && n >= 0 && n <= 64) {
        const from = eol + 2;
        const key = n > 0 ? (n << 8) | upper(b[from]!) : 0;
        const bucket = methods.get(key);
        if (bucket) {
          for (let k = 0; k < bucket.length; k++) {
            const e = bucket[k]!.bytes;
            let i = 1;
            while (i < n && e[i] === upper(b[from + i]!)) i++;
            if (i >= n) return bucket[k]!.method;
          }
        }
        const method = b.toString('utf8', from, from + n).toUpperCase();
        const bytes = Buffer.alloc(n);
        for (let i = 0; i < n; i++) bytes[i] = upper(b[from + i]!);
        if (internedCount < 4096) {
          internedCount++;
          if (bucket) bucket.push({ bytes, method });
          else methods.set(key, [{ bytes, method }]);
        }
        return method;
      }
    }
  }
  return (m.args?.[0] ?? '').toUpperCase();
}
