/**
 * Traffic `gen redis` makes only when asked (issue 14, differential tests):
 * commands packetbeat 5's table lacks, inline commands, pub/sub, MONITOR,
 * values over packetbeat's 10 MiB stream limit, blocking commands answered
 * late. Each draws from the caller's `Random`, so a kind left off draws nothing.
 */
import { encodeCommand, encodeValue, type RespValue } from '../redis/encode.js';
import type { Random } from '../sim/random.js';

/** A request and what the server answers it with. */
export interface Cmd {
  args: string[];
  reply: RespValue;
  /** Sent as an inline command (`PING\r\n`), as redis-benchmark's `PING_INLINE` does. */
  inline?: boolean;
  /** Replies after `reply`: one confirmation per channel of a SUBSCRIBE. */
  more?: RespValue[];
  /** Wire bytes, made once (a value over 10 MiB is costly to encode). */
  req?: Buffer;
  rep?: Buffer;
}

export function requestBytes(c: Cmd): Buffer {
  return (c.req ??= c.inline ? Buffer.from(`${c.args.join(' ')}\r\n`, 'latin1') : encodeCommand(c.args));
}

export function replyBytes(c: Cmd): Buffer {
  return (c.rep ??= c.more ? Buffer.concat([c.reply, ...c.more].map(encodeValue)) : encodeValue(c.reply));
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const TEXT_BUF = Buffer.alloc(64 * 1024);

/** `n` (≤ 64 Ki) random lower-case letters and digits. */
export function text(rng: Random, n: number): string {
  for (let i = 0; i < n; i++) TEXT_BUF[i] = ALNUM.charCodeAt(rng.u32() % 36);
  return TEXT_BUF.toString('latin1', 0, n);
}

export function nil(resp3: boolean): RespValue {
  return resp3 ? { t: 'null' } : { t: 'bulk', s: null };
}

const bulk = (s: string): RespValue => ({ t: 'bulk', s });
const OK: RespValue = { t: 'simple', s: 'OK' };

/** HELLO's reply: a map on RESP3, the same pairs flattened on RESP2. */
export function helloReply(resp3: boolean): RespValue {
  const entries: [RespValue, RespValue][] = [
    [bulk('server'), bulk('redis')],
    [bulk('version'), bulk('7.0.15')],
    [bulk('proto'), { t: 'int', n: resp3 ? 3 : 2 }],
    [bulk('mode'), bulk('standalone')],
    [bulk('role'), bulk('master')],
    [bulk('modules'), { t: 'array', items: [] }],
  ];
  return resp3 ? { t: 'map', entries } : { t: 'array', items: entries.flat() };
}

/**
 * A command packetbeat 5 misreads: one missing from its 5.x table (a
 * request it takes for a response), a two-word table entry (whose first
 * word alone never matches), a known command in lower case, or a reply
 * that starts with a command word (which it takes for a request).
 */
export function unknownCommand(rng: Random, resp3: boolean): Cmd {
  const key = `key:${rng.int(0, 9999)}`;
  switch (rng.int(0, 14)) {
    case 0: return { args: ['HSETNX', `hash:${rng.int(0, 99)}`, 'field', text(rng, 8)], reply: { t: 'int', n: rng.int(0, 1) } };
    case 1: return { args: ['UNLINK', key], reply: { t: 'int', n: rng.int(0, 1) } };
    case 2: return { args: ['HELLO'], reply: helloReply(resp3) };
    case 3: return { args: ['LATENCY', 'LATEST'], reply: { t: 'array', items: [] } };
    case 4: return { args: ['GETDEL', key], reply: rng.chance(0.5) ? bulk(text(rng, rng.int(1, 40))) : nil(resp3) };
    case 5: return { args: ['XADD', `stream:${rng.int(0, 9)}`, '*', 'f', text(rng, 6)], reply: bulk(`1482404843${rng.int(100, 999)}-0`) };
    // known, but its value holds what Go's encoding/json escapes or replaces (HTML, controls, invalid UTF-8)
    case 13: return rawSet(key, rng);
    case 6: return { args: ['CONFIG', 'GET', 'maxmemory'], reply: { t: 'array', items: [bulk('maxmemory'), bulk('0')] } };
    // the reply's first word is SAVE: packetbeat 5 takes it for a request
    case 7: return { args: ['CONFIG', 'GET', 'save'], reply: { t: 'array', items: [bulk('save'), bulk('3600 1 300 100 60 10000')] } };
    case 8: return { args: ['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru'], reply: OK };
    case 9: {
      const n = rng.int(1, 3);
      let list = '';
      for (let i = 0; i < n; i++) list += `id=${i + 3} addr=10.1.0.${i + 2}:${40000 + i} laddr=10.0.0.1:6379 fd=${i + 8} name= age=${rng.int(0, 99)} idle=0 flags=N db=0 cmd=client|list\n`;
      return { args: ['CLIENT', 'LIST'], reply: bulk(list) };
    }
    case 10: return { args: ['CLIENT', 'SETNAME', `app-${rng.int(0, 99)}`], reply: OK };
    case 11: return { args: ['SCRIPT', 'LOAD', 'return 1'], reply: bulk('e0e1f9fabfc9d4800c877a703b823ac0578ff8db') };
    // KEYS is known; its reply starts with a command word
    case 12: return { args: ['KEYS', '*'], reply: { t: 'array', items: [bulk(rng.pick(['set', 'get', 'ping', 'info'])), bulk(key)] } };
    default: return { args: [rng.pick(['get', 'Get', 'incr']), key], reply: { t: 'int', n: rng.int(0, 99) } };
  }
}

/** Bytes a JSON encoder must escape or replace: HTML, controls, DEL, U+2028, invalid and cut UTF-8. */
const ODD_BYTES = [
  '<b>&amp;</b>', 'tab\tback\b', 'bell\u0007nul\u0000', 'line\u2028sep', 'naïve 😀', 'quote"back\\slash', 'del\u007f',
].map((s) => Buffer.from(s, 'utf8')).concat([Buffer.from([0x80, 0xff, 0xc3, 0x28, 0xe2, 0x82]), Buffer.from([0xed, 0xa0, 0x80, 0xf4, 0x90, 0x80, 0x80])]);

/** A SET whose value holds {@link ODD_BYTES} (the request written from bytes: RespValue strings are UTF-8). */
function rawSet(key: string, rng: Random): Cmd {
  const value = Buffer.concat([rng.pick(ODD_BYTES), Buffer.from(text(rng, rng.int(0, 4)), 'latin1'), rng.pick(ODD_BYTES)]);
  const head = Buffer.from(`*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${value.length}\r\n`, 'latin1');
  return { args: ['SET', key, '(bytes)'], reply: OK, req: Buffer.concat([head, value, Buffer.from('\r\n')]) };
}

/** A command sent inline (no array), as telnet and redis-benchmark's `*_INLINE` tests send them. */
export function inlineCommand(rng: Random): Cmd {
  const key = `key:${rng.int(0, 9999)}`;
  switch (rng.int(0, 3)) {
    case 0: return { args: ['PING'], reply: { t: 'simple', s: 'PONG' }, inline: true };
    case 1: return { args: ['SET', key, text(rng, rng.int(1, 20))], reply: OK, inline: true };
    case 2: return { args: ['GET', key], reply: bulk(text(rng, rng.int(1, 20))), inline: true };
    default: return { args: ['EXISTS', key], reply: { t: 'int', n: rng.int(0, 1) }, inline: true };
  }
}

/** packetbeat's `tcp.TCPMaxDataInStream`. */
const TEN_MIB = 10 * (1 << 20);

/**
 * A SET of a value of about 10 MiB or more, or a GET answered with one:
 * from 96 bytes under packetbeat's limit (the message, with its header, may
 * or may not pass it) to 64 KiB over it.
 */
export function bigValueCommand(rng: Random): Cmd {
  // half of them within a few dozen bytes of the limit, where the message's header decides
  const n = rng.chance(0.5) ? rng.int(TEN_MIB - 96, TEN_MIB + 16) : rng.int(TEN_MIB + 16, TEN_MIB + 64 * 1024);
  // a random block repeated: cheap to make, and no two captures' values alike
  const block = text(rng, 4096);
  const value = block.repeat(Math.ceil(n / 4096)).slice(0, n);
  const key = `big:${rng.int(0, 999)}`;
  return rng.chance(0.5) ? { args: ['SET', key, value], reply: OK } : { args: ['GET', key], reply: bulk(value) };
}

/** A BLPOP the server answers when a value arrives (the caller delays the answer). */
export function blockingPop(rng: Random): Cmd {
  const list = `queue:${rng.int(0, 9)}`;
  return { args: ['BLPOP', list, '0'], reply: { t: 'array', items: [bulk(list), bulk(text(rng, rng.int(4, 40)))] } };
}

/** A pub/sub message: an array on RESP2, a push on RESP3. */
function pubsubValue(resp3: boolean, items: RespValue[]): RespValue {
  return resp3 ? { t: 'push', items } : { t: 'array', items };
}

/** A connection's pub/sub session: (P)SUBSCRIBE, what the server sends it, and (P)UNSUBSCRIBE. */
export interface PubsubSession {
  subscribe: Cmd;
  /** Each is one burst of messages from the server. */
  messages: Buffer[][];
  unsubscribe: Cmd;
}

export function pubsubSession(rng: Random, resp3: boolean): PubsubSession {
  const pattern = rng.chance(0.3);
  const n = rng.int(1, 3);
  const channels: string[] = [];
  for (let i = 0; i < n; i++) channels.push(pattern ? `news.${text(rng, 3)}.*` : `chan:${rng.int(0, 99)}`);
  const [sub, unsub] = pattern ? ['psubscribe', 'punsubscribe'] : ['subscribe', 'unsubscribe'];
  const confirm = (kind: string, ch: string, count: number) => pubsubValue(resp3, [bulk(kind), bulk(ch), { t: 'int', n: count }]);
  const subs = channels.map((ch, i) => confirm(sub, ch, i + 1));
  const unsubs = channels.map((ch, i) => confirm(unsub, ch, n - 1 - i));
  const messages: Buffer[][] = [];
  const bursts = rng.int(1, 5);
  for (let b = 0; b < bursts; b++) {
    const burst: Buffer[] = [];
    const k = rng.int(1, 3);
    for (let i = 0; i < k; i++) {
      const ch = rng.pick(channels);
      const payload = bulk(text(rng, rng.int(1, 60)));
      const items = pattern ? [bulk('pmessage'), bulk(ch), bulk(ch.replace('*', text(rng, 4))), payload] : [bulk('message'), bulk(ch), payload];
      burst.push(encodeValue(pubsubValue(resp3, items)));
    }
    messages.push(burst);
  }
  return {
    subscribe: { args: [sub.toUpperCase(), ...channels], reply: subs[0]!, more: subs.slice(1) },
    messages,
    unsubscribe: { args: [unsub.toUpperCase()], reply: unsubs[0]!, more: unsubs.slice(1) },
  };
}

/** What MONITOR streams: `+<unix time> [db client] "command" "arg" ...`, arguments quoted as Redis's `sdscatrepr` does. */
export function monitorLine(rng: Random, startTime: number): Buffer {
  const sec = startTime + rng.int(0, 9);
  const usec = String(rng.int(0, 999_999)).padStart(6, '0');
  const who = rng.chance(0.1) ? 'lua' : `10.1.0.${rng.int(2, 200)}:${40000 + rng.int(0, 999)}`;
  const words = [rng.pick(['GET', 'SET', 'INCR', 'HSET', 'PUBLISH']), `key:${rng.int(0, 9999)}`];
  const extra = rng.int(0, 2);
  for (let i = 0; i < extra; i++) {
    // now and then what sdscatrepr escapes: quotes, backslashes, control and high bytes
    words.push(rng.chance(0.3) ? rng.pick(['say \\"hi\\"', 'a\\\\b', 'x\\r\\n', '\\xff\\x00', 'tab\\t']) : text(rng, rng.int(1, 24)));
  }
  return encodeValue({ t: 'simple', s: `${sec}.${usec} [${rng.int(0, 3)} ${who}] ${words.map((w) => `"${w}"`).join(' ')}` });
}
