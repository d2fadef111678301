/** RESP values and their wire encoding: the pair to {@link RespParser}, used by `gen` and by round-trip properties. */

export type RespValue =
  | { t: 'simple'; s: string }
  | { t: 'error'; s: string }
  | { t: 'int'; n: number }
  | { t: 'bulk'; s: string | null }
  | { t: 'array'; items: RespValue[] | null }
  // RESP3
  | { t: 'null' }
  | { t: 'bool'; b: boolean }
  | { t: 'double'; s: string }
  | { t: 'bignum'; s: string }
  | { t: 'blobError'; s: string }
  | { t: 'verbatim'; s: string }
  | { t: 'map'; entries: [RespValue, RespValue][] }
  | { t: 'set'; items: RespValue[] }
  | { t: 'push'; items: RespValue[] };

/** A command as redis-cli sends it: an array of bulk strings. */
export function encodeCommand(args: readonly string[]): Buffer {
  let s = `*${args.length}\r\n`;
  for (const a of args) s += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
  return Buffer.from(s, 'utf8');
}

export function encodeValue(v: RespValue): Buffer {
  return Buffer.from(encodeToString(v), 'utf8');
}

function bulk(prefix: string, s: string): string {
  return `${prefix}${Buffer.byteLength(s)}\r\n${s}\r\n`;
}

function encodeToString(v: RespValue): string {
  switch (v.t) {
    case 'simple': return `+${v.s}\r\n`;
    case 'error': return `-${v.s}\r\n`;
    case 'int': return `:${v.n}\r\n`;
    case 'bulk': return v.s === null ? '$-1\r\n' : bulk('$', v.s);
    case 'array':
      return v.items === null ? '*-1\r\n' : `*${v.items.length}\r\n${v.items.map(encodeToString).join('')}`;
    case 'null': return '_\r\n';
    case 'bool': return `#${v.b ? 't' : 'f'}\r\n`;
    case 'double': return `,${v.s}\r\n`;
    case 'bignum': return `(${v.s}\r\n`;
    case 'blobError': return bulk('!', v.s);
    case 'verbatim': return bulk('=', `txt:${v.s}`);
    case 'map':
      return `%${v.entries.length}\r\n${v.entries.map(([k, x]) => encodeToString(k) + encodeToString(x)).join('')}`;
    case 'set': return `~${v.items.length}\r\n${v.items.map(encodeToString).join('')}`;
    case 'push': return `>${v.items.length}\r\n${v.items.map(encodeToString).join('')}`;
  }
}

/** How packetbeat shows a reply in `redis.return_value` / `redis.error`. */
export function renderValue(v: RespValue): string {
  switch (v.t) {
    case 'simple':
    case 'error':
    case 'double':
    case 'bignum':
    case 'blobError':
    case 'verbatim':
      return v.s;
    case 'int': return String(v.n);
    case 'bulk': return v.s ?? 'nil';
    case 'array':
      return v.items === null ? 'nil' : `[${v.items.map(renderValue).join(', ')}]`;
    case 'null': return 'nil';
    case 'bool': return v.b ? 'true' : 'false';
    case 'map': return `{${v.entries.map(([k, x]) => `${renderValue(k)}: ${renderValue(x)}`).join(', ')}}`;
    case 'set':
    case 'push':
      return `[${v.items.map(renderValue).join(', ')}]`;
  }
}

/** True for replies packetbeat reports with `status: Error`. */
export function isErrorValue(v: RespValue): boolean {
  return v.t === 'error' || v.t === 'blobError';
}
