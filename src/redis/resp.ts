/**
 * A streaming RESP2 + RESP3 parser that resumes where it stopped: bytes are fed
 * segment by segment, partial lines and bulk strings are carried over, and the
 * same messages come out however the stream is split. Values are rendered as
 * packetbeat's `redis_parse.go` renders them (`nil`, `[a, b]`, errors as text).
 */

/** A complete RESP message. */
export interface RespMessage {
  /** Capture time (ns) of the segment in which the message began. */
  tsNs: number;
  /** Wire size in bytes (packetbeat's bytes_in / bytes_out). */
  size: number;
  /** A top-level error reply (`-ERR …` or a RESP3 blob error). */
  isError: boolean;
  /** A RESP3 push (`>`): out-of-band, never the answer to a request. */
  isPush: boolean;
  /** Rendered value: a reply as packetbeat shows it, or a request's words joined by spaces. */
  text: string;
  /** Request role, top-level array: its elements (the command's words). */
  args: string[] | null;
}

export type RespResult =
  | { readonly kind: 'message'; readonly message: RespMessage }
  | { readonly kind: 'needMore' }
  | { readonly kind: 'error'; readonly reason: RespErrorReason; readonly detail: string };

export type RespErrorReason = 'bad_type' | 'bad_length' | 'bad_line' | 'too_large' | 'too_deep';

export type RespRole = 'request' | 'response';

export interface RespLimits {
  /** A message larger than this resets the stream (packetbeat's TCPMaxDataInStream, 10 MiB). */
  maxMessageBytes: number;
  maxDepth: number;
}

export const DEFAULT_RESP_LIMITS: RespLimits = { maxMessageBytes: 10 * 1024 * 1024, maxDepth: 32 };

const NEED_MORE: RespResult = { kind: 'needMore' };

const CR = 13;
const LF = 10;
// Longest numeric header line we accept ("$" + "-" + 19 digits is already absurd).
const MAX_HEADER_LINE = 24;

const STATE_TYPE = 0;
const STATE_LINE = 1;
const STATE_BULK = 2;

/** An aggregate being filled: `*` array, `~` set, `>` push, `%` map, `|` attribute. */
interface Frame {
  type: number;
  remaining: number;
  parts: string[];
}

function isTypeByte(b: number): boolean {
  switch (b) {
    case 0x2b: // + simple string
    case 0x2d: // - error
    case 0x3a: // : integer
    case 0x24: // $ bulk string
    case 0x2a: // * array
    case 0x5f: // _ null
    case 0x23: // # boolean
    case 0x2c: // , double
    case 0x28: // ( big number
    case 0x21: // ! blob error
    case 0x3d: // = verbatim string
    case 0x25: // % map
    case 0x7e: // ~ set
    case 0x3e: // > push
    case 0x7c: // | attribute
      return true;
    default:
      return false;
  }
}

export class RespParser {
  /** Position reached by the last {@link parse} call: the next call starts here. */
  pos = 0;
  private state = STATE_TYPE;
  private type = 0;
  private inMessage = false;
  private msgBytes = 0;
  private startTs = 0;
  private isError = false;
  private isPush = false;
  private readonly stack: Frame[] = [];
  /** Carry-over for a line or bulk string split across segments. */
  private acc = Buffer.allocUnsafe(256);
  private accLen = 0;
  private bulkLen = 0;

  constructor(
    readonly role: RespRole,
    private readonly limits: RespLimits = DEFAULT_RESP_LIMITS,
  ) {}

  /** True while a message has begun but not ended. */
  get midMessage(): boolean {
    return this.inMessage;
  }

  /** Forgets any partial message (after a gap or an error). */
  reset(): void {
    this.state = STATE_TYPE;
    this.inMessage = false;
    this.msgBytes = 0;
    this.isError = false;
    this.isPush = false;
    this.stack.length = 0;
    this.accLen = 0;
    if (this.acc.length > 64 * 1024) this.acc = Buffer.allocUnsafe(256);
  }

  /**
   * Parses from `buf[off..end)`. Returns the next complete message, `needMore`
   * once every byte up to `end` is consumed, or an error (the parser is then
   * reset; the caller drops the rest of the segment, as packetbeat does).
   * `pos` tells where to resume.
   */
  parse(buf: Buffer, off: number, end: number, tsNs: number): RespResult {
    let p = off;
    while (p < end) {
      if (this.state === STATE_TYPE) {
        if (!this.inMessage) {
          this.inMessage = true;
          this.msgBytes = 0;
          this.startTs = tsNs;
        }
        const t = buf[p]!;
        if (!isTypeByte(t)) {
          this.pos = p + 1;
          return this.fail('bad_type', `unexpected byte 0x${t.toString(16).padStart(2, '0')} where a RESP type was expected`);
        }
        this.type = t;
        p++;
        this.msgBytes++;
        this.state = STATE_LINE;
        this.accLen = 0;
        continue;
      }
      if (this.state === STATE_LINE) {
        let i = p;
        while (i < end && buf[i] !== LF) i++;
        if (i === end) {
          this.carry(buf, p, end);
          this.msgBytes += end - p;
          p = end;
          if (this.msgBytes > this.limits.maxMessageBytes) return this.tooLarge(p);
          if (this.accLen > MAX_HEADER_LINE && isLengthType(this.type)) {
            this.pos = p;
            return this.fail('bad_length', `length line longer than ${MAX_HEADER_LINE} bytes`);
          }
          break;
        }
        this.msgBytes += i + 1 - p;
        if (this.msgBytes > this.limits.maxMessageBytes) return this.tooLarge(i + 1);
        let r: RespResult | null;
        if (this.accLen === 0) {
          if (i === p || buf[i - 1] !== CR) {
            this.pos = i + 1;
            return this.fail('bad_line', 'line not terminated by CRLF');
          }
          r = this.line(buf, p, i - 1);
        } else {
          this.carry(buf, p, i);
          if (this.acc[this.accLen - 1] !== CR) {
            this.pos = i + 1;
            return this.fail('bad_line', 'line not terminated by CRLF');
          }
          r = this.line(this.acc, 0, this.accLen - 1);
        }
        p = i + 1;
        if (r !== null) {
          this.pos = p;
          return r;
        }
        continue;
      }
      // STATE_BULK: bulkLen content bytes, then CRLF
      const need = this.bulkLen + 2;
      if (this.accLen === 0 && end - p >= need) {
        if (buf[p + this.bulkLen] !== CR || buf[p + this.bulkLen + 1] !== LF) {
          this.pos = p + need;
          return this.fail('bad_line', 'bulk string not followed by CRLF');
        }
        const text = this.bulkText(buf, p, p + this.bulkLen);
        p += need;
        this.msgBytes += need;
        const r = this.value(text);
        if (r !== null) {
          this.pos = p;
          return r;
        }
        continue;
      }
      const take = Math.min(end - p, need - this.accLen);
      this.carry(buf, p, p + take);
      p += take;
      this.msgBytes += take;
      if (this.accLen < need) break;
      if (this.acc[this.bulkLen] !== CR || this.acc[this.bulkLen + 1] !== LF) {
        this.pos = p;
        return this.fail('bad_line', 'bulk string not followed by CRLF');
      }
      const text = this.bulkText(this.acc, 0, this.bulkLen);
      this.accLen = 0;
      const r = this.value(text);
      if (r !== null) {
        this.pos = p;
        return r;
      }
    }
    this.pos = p;
    return NEED_MORE;
  }

  private carry(buf: Buffer, from: number, to: number): void {
    const n = to - from;
    if (this.accLen + n > this.acc.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.acc.length * 2, this.accLen + n));
      this.acc.copy(bigger, 0, 0, this.accLen);
      this.acc = bigger;
    }
    buf.copy(this.acc, this.accLen, from, to);
    this.accLen += n;
  }

  private bulkText(buf: Buffer, from: number, to: number): string {
    // verbatim strings carry a 3-letter format and a colon before the text ("txt:…")
    if (this.type === 0x3d && to - from >= 4 && buf[from + 3] === 0x3a) from += 4;
    return buf.toString('utf8', from, to);
  }

  /** A complete header or simple line `buf[from..to)` (CRLF excluded) for the current type. */
  private line(buf: Buffer, from: number, to: number): RespResult | null {
    const t = this.type;
    switch (t) {
      case 0x2b: // +
        return this.value(buf.toString('utf8', from, to));
      case 0x2d: // -
        if (this.stack.length === 0) this.isError = true;
        return this.value(buf.toString('utf8', from, to));
      case 0x3a: // :
      case 0x28: // (
        if (!isDigits(buf, from, to)) {
          return this.fail('bad_line', `bad integer ${JSON.stringify(buf.toString('latin1', from, Math.min(to, from + 24)))}`);
        }
        return this.value(buf.toString('latin1', from, to));
      case 0x2c: // , double
        return this.value(buf.toString('latin1', from, to));
      case 0x5f: // _ null
        return this.value('nil');
      case 0x23: // # boolean
        if (to - from !== 1 || (buf[from] !== 0x74 && buf[from] !== 0x66)) return this.fail('bad_line', 'boolean is neither t nor f');
        return this.value(buf[from] === 0x74 ? 'true' : 'false');
      default:
        break;
    }
    const n = parseInteger(buf, from, to);
    if (n === null) {
      return this.fail('bad_length', `bad length ${JSON.stringify(buf.toString('latin1', from, Math.min(to, from + 24)))}`);
    }
    if (t === 0x24 || t === 0x3d || t === 0x21) {
      // $ = ! : a length-prefixed string
      if (n === -1 && t === 0x24) return this.value('nil');
      if (n < 0) return this.fail('bad_length', `bulk length ${n}`);
      if (this.msgBytes + n + 2 > this.limits.maxMessageBytes) {
        return this.fail('too_large', `bulk string of ${n} bytes makes the message larger than ${this.limits.maxMessageBytes} bytes`);
      }
      if (t === 0x21 && this.stack.length === 0) this.isError = true;
      this.bulkLen = n;
      this.accLen = 0;
      this.state = STATE_BULK;
      return null;
    }
    // aggregates
    const elements = t === 0x25 || t === 0x7c ? n * 2 : n;
    if (n === -1 && t === 0x2a) return this.value('nil');
    if (n < 0 || elements > this.limits.maxMessageBytes / 3) return this.fail('bad_length', `aggregate length ${n}`);
    if (t === 0x3e && this.stack.length === 0) this.isPush = true;
    if (elements === 0) {
      if (t === 0x7c) {
        this.state = STATE_TYPE;
        return null;
      }
      return this.value(t === 0x25 ? '{}' : '[]');
    }
    if (this.stack.length >= this.limits.maxDepth) return this.fail('too_deep', `nesting deeper than ${this.limits.maxDepth}`);
    this.stack.push({ type: t, remaining: elements, parts: [] });
    this.state = STATE_TYPE;
    return null;
  }

  /** A complete value: fills the enclosing aggregate, or ends the message. */
  private value(text: string): RespResult | null {
    this.state = STATE_TYPE;
    for (;;) {
      const top = this.stack[this.stack.length - 1];
      if (top === undefined) return this.emit(text, null);
      top.parts.push(text);
      if (--top.remaining > 0) return null;
      this.stack.pop();
      switch (top.type) {
        case 0x7c: // attribute: metadata about the value that follows; not part of it
          return null;
        case 0x25: {
          const pairs: string[] = [];
          for (let i = 0; i < top.parts.length; i += 2) pairs.push(`${top.parts[i]}: ${top.parts[i + 1]}`);
          text = `{${pairs.join(', ')}}`;
          break;
        }
        default:
          if (this.stack.length === 0 && this.role === 'request' && top.type === 0x2a) {
            return this.emit(top.parts.join(' '), top.parts);
          }
          text = `[${top.parts.join(', ')}]`;
      }
    }
  }

  private emit(text: string, args: string[] | null): RespResult {
    const message: RespMessage = {
      tsNs: this.startTs,
      size: this.msgBytes,
      isError: this.isError,
      isPush: this.isPush,
      text,
      args: args ?? (this.role === 'request' ? [text] : null),
    };
    this.inMessage = false;
    this.isError = false;
    this.isPush = false;
    this.accLen = 0;
    return { kind: 'message', message };
  }

  private tooLarge(p: number): RespResult {
    this.pos = p;
    return this.fail('too_large', `message larger than ${this.limits.maxMessageBytes} bytes`);
  }

  private fail(reason: RespErrorReason, detail: string): RespResult {
    this.reset();
    return { kind: 'error', reason, detail };
  }
}

function isLengthType(t: number): boolean {
  return t === 0x24 || t === 0x2a || t === 0x25 || t === 0x7e || t === 0x3e || t === 0x7c || t === 0x3d || t === 0x21;
}

function isDigits(buf: Buffer, from: number, to: number): boolean {
  let i = from;
  if (i < to && (buf[i] === 0x2d || buf[i] === 0x2b)) i++;
  if (i === to) return false;
  for (; i < to; i++) if (buf[i]! < 0x30 || buf[i]! > 0x39) return false;
  return true;
}

/** A decimal integer in `buf[from..to)` within ±2^53, or null. No allocation. */
export function parseInteger(buf: Buffer, from: number, to: number): number | null {
  let i = from;
  let neg = false;
  if (i < to && (buf[i] === 0x2d || buf[i] === 0x2b)) {
    neg = buf[i] === 0x2d;
    i++;
  }
  if (i === to || to - i > 16) return null;
  let n = 0;
  for (; i < to; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) return null;
    n = n * 10 + d;
  }
  return neg ? -n : n;
}
