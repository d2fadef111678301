import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { encodeCommand, encodeValue, type RespValue } from '../redis/encode.js';
import { Arena, RespParser, type RespMessage } from '../redis/resp.js';
import { formatEvent, type Transaction } from '../redis/transaction.js';
import type { Connection } from '../tcp/connection.js';
import { EventEncoder } from './event-encoder.js';

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
    'writes exactly the bytes formatEvent gives, whatever the words and the reply',
    (args, value, reqTs, wait) => {
      const tx: Transaction = {
        id: 1,
        conn,
        request: message('request', encodeCommand(args), reqTs),
        response: message('response', encodeValue(value), reqTs + wait),
      };
      const base = { sec: 1482404843, nsec: 123_456_789 };
      const out = Buffer.alloc(EventEncoder.bound(tx));
      const end = new EventEncoder().encode(tx, base, out, 0);
      expect(out.toString('utf8', 0, end)).toBe(formatEvent(tx, base));
      JSON.parse(out.toString('utf8', 0, end));
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
    'writes an array reply as formatEvent does',
    (args, value) => {
      const tx: Transaction = { id: 1, conn, request: message('request', encodeCommand(args), 0), response: message('response', encodeValue(value), 1_000_000) };
      const base = { sec: 1482404843, nsec: 0 };
      const out = Buffer.alloc(EventEncoder.bound(tx));
      const end = new EventEncoder().encode(tx, base, out, 0);
      expect(out.toString('utf8', 0, end)).toBe(formatEvent(tx, base));
    },
  );
});
