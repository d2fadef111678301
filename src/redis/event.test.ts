import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import type { Connection } from '../tcp/connection.js';
import { encodeCommand, encodeValue, type RespValue } from './encode.js';
import { formatEvent } from '../feed.js';
import type { TimeBase } from '../protocols/index.js';
import { EventEncoder } from './event.js';
import { Arena, RespParser, type RespMessage } from './resp.js';
import { RedisTransaction as Transaction } from './transaction.js';

/**
 * The event rendered field by field from the messages' strings, as a plain
 * reference for the encoder, which writes from the bytes and takes this
 * path only for the parts it cannot copy.
 */
function reference(tx: Transaction, base: TimeBase): string {
  const j = (s: string) => JSON.stringify(s);
  const req = tx.request;
  const resp = tx.response;
  const ms = base.sec * 1000 + Math.floor((base.nsec + req.tsNs) / 1e6);
  const c = tx.conn;
  return (
    `{"@timestamp":"${new Date(ms).toISOString()}","bytes_in":${req.size},"bytes_out":${resp.size},` +
    `"client_ip":"${c.clientIp}","client_port":${c.clientPort},"client_proc":"","client_server":"",` +
    `"ip":"${c.serverIp}","method":${j(req.method)},"port":${c.serverPort},"proc":"",` +
    `"query":${j(req.text)},"redis":{"${resp.isError ? 'error' : 'return_value'}":${j(resp.text)}},"resource":${j(req.args?.[1] ?? '')},` +
    `"responsetime":${Math.trunc((resp.tsNs - req.tsNs) / 1e6)},"server":"","status":"${resp.isError ? 'Error' : 'OK'}","type":"redis"}`
  );
}

function message(role: 'request' | 'response', bytes: Buffer, tsNs: number): RespMessage {
  const p = new RespParser(role, new Arena());
  p.feed(bytes, 0, bytes.length, tsNs);
  const r = p.next();
  if (r.kind !== 'message') throw new Error(`not one message: ${r.kind}`);
  return r.message;
}

const conn: Connection = { id: 1, clientIp: '10.1.0.2', clientPort: 40001, serverIp: '10.0.0.1', serverPort: 7101, app: undefined };
const anyText = fc.string({ unit: fc.oneof(fc.constantFrom('a', 'Z', ' ', '"', '\\', '\n', '\u0001', '\u007f', '\u00e9', '\u2028', '\u{1f600}'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), maxLength: 20 });
const reply: fc.Arbitrary<RespValue> = fc.oneof(
  anyText.map((s) => ({ t: 'bulk' as const, s })),
  fc.constant({ t: 'bulk' as const, s: null }),
  fc.stringMatching(/^[ -~]{0,12}$/).map((s) => ({ t: 'simple' as const, s })),
  fc.stringMatching(/^[ -~]{0,12}$/).map((s) => ({ t: 'error' as const, s })),
  fc.integer().map((n) => ({ t: 'int' as const, n })),
  fc.array(anyText.map((s) => ({ t: 'bulk' as const, s })), { maxLength: 3 }).map((items) => ({ t: 'array' as const, items })),
  // what the direct path renders (scalars, nil) and what it leaves to the string path (nested, RESP3, a null array)
  fc
    .array(
      fc.oneof(
        anyText.map((s) => ({ t: 'bulk' as const, s })),
        fc.constant({ t: 'bulk' as const, s: null }),
        fc.integer().map((n) => ({ t: 'int' as const, n })),
        fc.stringMatching(/^[ -~]{0,12}$/).map((s) => ({ t: 'simple' as const, s })),
        fc.stringMatching(/^[ -~]{0,12}$/).map((s) => ({ t: 'error' as const, s })),
        fc.array(anyText.map((s) => ({ t: 'bulk' as const, s })), { maxLength: 2 }).map((items) => ({ t: 'array' as const, items })),
        fc.constant({ t: 'null' as const }),
        fc.constant({ t: 'array' as const, items: null }),
      ),
      { maxLength: 5 },
    )
    .map((items) => ({ t: 'array' as const, items })),
  fc.constant({ t: 'array' as const, items: null }),
  fc.constant({ t: 'null' as const }),
);

describe('EventEncoder', () => {
  test.prop([fc.array(anyText, { minLength: 1, maxLength: 4 }), reply, fc.nat({ max: 5_000_000_000 }), fc.nat({ max: 2_000_000_000 })])(
    'writes exactly the reference rendering\'s bytes, whatever the words and the reply',
    (args, value, reqTs, wait) => {
      const tx = new Transaction(1, conn, message('request', encodeCommand(args), reqTs), message('response', encodeValue(value), reqTs + wait));
      const base = { sec: 1482404843, nsec: 123_456_789 };
      const out = Buffer.alloc(EventEncoder.bound(tx));
      const end = new EventEncoder().encode(tx, base, out, 0);
      expect(out.toString('utf8', 0, end)).toBe(reference(tx, base));
      expect(formatEvent(tx, base)).toBe(reference(tx, base));
      JSON.parse(out.toString('utf8', 0, end));
    },
  );

  // long enough for the 8-byte check: bytes copied as they are, and at most one to escape or not ASCII
  // (a character, or a byte that is not UTF-8 on its own), anywhere
  const longBytes = fc
    .tuple(
      fc.string({ unit: fc.constantFrom('a', 'Z', '~', ' ', '!', '#', '[', ']', '\u007f'), minLength: 40, maxLength: 300, size: 'max' }),
      fc.option(
        fc.oneof(
          fc.constantFrom('"', '\\', '\n', '\t', '\u0000', '\u0001', '\u001f', '\u00e9', '\u{1f600}').map((c) => Buffer.from(c)),
          fc.constantFrom(0x80, 0xc3, 0xff).map((b) => Buffer.from([b])),
        ),
      ),
      fc.nat(),
      fc.boolean(),
    )
    .map(([text, odd, at, nearEnd]) => {
      const plain = Buffer.from(text);
      // near the end half the time: the last bytes, under 8, are checked one at a time
      const k = nearEnd ? plain.length - (at % 8) : at % (plain.length + 1);
      return odd === null ? plain : Buffer.concat([plain.subarray(0, k), odd, plain.subarray(k)]);
    });
  test.prop([fc.array(longBytes, { minLength: 1, maxLength: 3 }), longBytes], { numRuns: 500 })(
    'escapes a long word or value wherever its byte to escape is',
    (words, value) => {
      const bulk = (b: Buffer) => Buffer.concat([Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n')]);
      const request = Buffer.concat([Buffer.from(`*${words.length}\r\n`), ...words.map(bulk)]);
      const tx = new Transaction(1, conn, message('request', request, 0), message('response', bulk(value), 1_000_000));
      const base = { sec: 1482404843, nsec: 0 };
      const out = Buffer.alloc(EventEncoder.bound(tx));
      const end = new EventEncoder().encode(tx, base, out, 0);
      // bytes, not text: decoding would turn a byte copied as it is into the U+FFFD the string path writes
      expect(out.subarray(0, end).toString('hex')).toBe(Buffer.from(reference(tx, base)).toString('hex'));
    },
  );

  // ASCII words and items, so that the bytes path renders the array (packetbeat's `[a, b, nil]`), not the string path
  const ascii = fc.stringMatching(/^[ -~\t\n"\\]{0,12}$/);
  const item: fc.Arbitrary<RespValue> = fc.oneof(
    ascii.map((s) => ({ t: 'bulk' as const, s })),
    fc.constant({ t: 'bulk' as const, s: null }),
    fc.integer().map((n) => ({ t: 'int' as const, n })),
    fc.stringMatching(/^[ -~]{0,12}$/).map((s) => ({ t: 'simple' as const, s })),
    fc.stringMatching(/^[ -~]{0,12}$/).map((s) => ({ t: 'error' as const, s })),
  );
  const array = fc.oneof(
    { weight: 8, arbitrary: fc.array(item, { maxLength: 6 }).map((items) => ({ t: 'array' as const, items })) },
    { weight: 1, arbitrary: fc.constant({ t: 'array' as const, items: null }) },
    { weight: 1, arbitrary: fc.array(fc.oneof(item, fc.array(item, { maxLength: 2 }).map((items) => ({ t: 'array' as const, items }))), { maxLength: 3 }).map((items) => ({ t: 'array' as const, items })) },
  );
  test.prop([fc.array(ascii.filter((w) => w.length > 0), { minLength: 1, maxLength: 3 }), array], { numRuns: 300 })(
    'writes an array reply as the reference does',
    (args, value) => {
      const tx = new Transaction(1, conn, message('request', encodeCommand(args), 0), message('response', encodeValue(value), 1_000_000));
      const base = { sec: 1482404843, nsec: 0 };
      const out = Buffer.alloc(EventEncoder.bound(tx));
      const end = new EventEncoder().encode(tx, base, out, 0);
      expect(out.toString('utf8', 0, end)).toBe(reference(tx, base));
    },
  );

  test('a connection with the id of one seen before (another capture) gets its own addresses', () => {
    const encoder = new EventEncoder();
    const base = { sec: 1482404843, nsec: 0 };
    const tx = (c: Connection) =>
      new Transaction(1, c, message('request', encodeCommand(['GET', 'k']), 0), message('response', encodeValue({ t: 'bulk', s: 'v' }), 2_000_000));
    const other: Connection = { ...conn, clientIp: '192.168.7.9', clientPort: 51234, serverPort: 6379 };
    expect(encoder.format(tx(conn), base)).toBe(reference(tx(conn), base));
    expect(encoder.format(tx(other), base)).toBe(reference(tx(other), base));
    expect(encoder.format(tx(other), base)).toContain('"client_ip":"192.168.7.9","client_port":51234');
  });
});
