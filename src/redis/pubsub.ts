/**
 * Pub/sub and MONITOR on one connection, as redis-server 7 speaks them: what
 * the lossless view needs to tell a reply from a message that answers no
 * request.
 *
 * A `SUBSCRIBE a b c` gets one confirmation per channel (`subscribe a 1`,
 * `subscribe b 2`, …: RESP3 pushes, RESP2 arrays); an argument-less
 * `UNSUBSCRIBE` one per channel the client had, or one `unsubscribe nil n`
 * when it had none (the same for the pattern and shard forms). The request
 * pairs with its first confirmation, and the others are counted
 * (`redis.pubsub_confirmations`): one transaction per command, as Redis's
 * own `INFO commandstats` counts it.
 */

import { lineEnd, parseLength, type RespMessage } from './resp.js';

/** The confirmation words, by kind (1-based: 0 is "not a confirmation"). */
const KINDS = ['', 'subscribe', 'unsubscribe', 'psubscribe', 'punsubscribe', 'ssubscribe', 'sunsubscribe'] as const;
const UNSUBSCRIBE = 2;
const PUNSUBSCRIBE = 4;
const SUNSUBSCRIBE = 6;

/** The confirmation kind a command's replies carry, by method. */
const KIND_OF_METHOD: ReadonlyMap<string, number> = new Map(KINDS.slice(1).map((k, i) => [k.toUpperCase(), i + 1]));

const PUSH = 0x3e; // >
const ARRAY = 0x2a; // *
const BULK = 0x24; // $

/** A pub/sub confirmation's parts: what kind, which channel (null for `unsubscribe nil 0`). */
export interface Confirmation {
  kind: number;
  channel: string | null;
}

/** The bytes of `word` at `b[at..)`, exactly (Redis writes these words in lower case). */
function wordAt(b: Buffer, at: number, word: string): boolean {
  for (let i = 0; i < word.length; i++) if (b[at + i] !== word.charCodeAt(i)) return false;
  return true;
}

/**
 * The confirmation in `m` (`>3` or `*3`, then a bulk `subscribe`…, a channel
 * or nil, an integer), or null. Byte checks first: most replies fail on the
 * first or second line.
 */
export function confirmation(m: RespMessage): Confirmation | null {
  const b = m.chunk;
  let p = m.offset;
  if ((b[p] !== PUSH && b[p] !== ARRAY) || b[p + 1] !== 0x33 || b[p + 2] !== 0x0d) return null;
  p += 4;
  if (b[p] !== BULK) return null;
  let eol = lineEnd(b, p + 1);
  const n = parseLength(b, p + 1, eol);
  if (n === null || n < 9 || n > 12) return null;
  const from = eol + 2;
  let kind = 0;
  for (let k = 1; k < KINDS.length; k++) {
    if (KINDS[k]!.length === n && wordAt(b, from, KINDS[k]!)) kind = k;
  }
  if (kind === 0) return null;
  p = from + n + 2;
  let channel: string | null = null;
  if (b[p] === BULK) {
    eol = lineEnd(b, p + 1);
    const len = parseLength(b, p + 1, eol);
    if (len !== null && len >= 0) channel = b.toString('utf8', eol + 2, eol + 2 + len);
  } else if (b[p] !== 0x5f) return null; // RESP3 null `_`
  return { kind, channel };
}

/** A pub/sub message (`message ch payload`, `pmessage pattern ch payload`, `smessage ch payload`) as a RESP2 array. */
export function isPubSubMessage(m: RespMessage): boolean {
  const b = m.chunk;
  let p = m.offset;
  if (b[p] !== ARRAY) return false;
  p = lineEnd(b, p + 1) + 2;
  if (b[p] !== BULK) return false;
  const eol = lineEnd(b, p + 1);
  const n = parseLength(b, p + 1, eol);
  const from = eol + 2;
  return (n === 7 && wordAt(b, from, 'message')) || (n === 8 && (wordAt(b, from, 'pmessage') || wordAt(b, from, 'smessage')));
}

/** A MONITOR feed line: `+1700000000.123456 [0 127.0.0.1:6379] "GET" "k"`. */
export function isMonitorLine(m: RespMessage): boolean {
  const b = m.chunk;
  const c = b[m.offset + 1]!;
  return b[m.offset] === 0x2b && c >= 0x30 && c <= 0x39;
}

/** Per connection: its subscriptions (from the confirmations seen), the confirmations still due, MONITOR. */
export class PubSubState {
  readonly channels = new Set<string>();
  readonly patterns = new Set<string>();
  readonly shards = new Set<string>();
  /** Confirmations still due to the request already paired, and their kind. */
  due = 0;
  dueKind = 0;
  /** After MONITOR's +OK: the server streams the commands it runs. */
  monitoring = false;

  /** Subscribed to anything: RESP2 then sends `message` arrays that answer no request. */
  get subscribed(): boolean {
    return this.channels.size + this.patterns.size + this.shards.size > 0;
  }

  /**
   * A request's first confirmation arrived: how many more it gets. Explicit
   * names get one each; none means every subscription of that kind, or one
   * `unsubscribe nil` when there is none.
   */
  expect(request: RespMessage, kind: number): void {
    const names = (request.args?.length ?? 1) - 1;
    let total = names;
    if (names === 0) {
      const set = kind === UNSUBSCRIBE ? this.channels : kind === PUNSUBSCRIBE ? this.patterns : kind === SUNSUBSCRIBE ? this.shards : null;
      total = Math.max(1, set?.size ?? 1);
    }
    this.due = total - 1;
    this.dueKind = kind;
  }

  /** Keeps the subscription sets as the confirmations say. */
  apply(c: Confirmation): void {
    if (c.channel === null) return;
    const set = c.kind <= 2 ? this.channels : c.kind <= 4 ? this.patterns : this.shards;
    if (c.kind % 2 === 1) set.add(c.channel);
    else set.delete(c.channel);
  }

  /** RESET (or the state is reused): no subscriptions, no MONITOR. */
  clear(): void {
    this.channels.clear();
    this.patterns.clear();
    this.shards.clear();
    this.due = 0;
    this.dueKind = 0;
    this.monitoring = false;
  }
}

/** The confirmation kind of a (P|S)(UN)SUBSCRIBE request, 0 for any other. */
export function confirmationKind(request: RespMessage): number {
  return KIND_OF_METHOD.get(request.method) ?? 0;
}
