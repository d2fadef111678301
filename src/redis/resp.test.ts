import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { encodeCommand, encodeValue, isErrorValue, renderValue, type RespValue } from './encode.js';
import { Arena, RespParser, type RespLimits, type RespMessage, type RespRole } from './resp.js';

/** Feeds `bytes` cut at `cuts` and collects every message (and errors); in place, it checks no segment was written to. */
function parseAll(role: RespRole, bytes: Buffer, cuts: number[] = [], limits?: RespLimits, arena = new Arena(), inPlace = false) {
  const parser = new RespParser(role, arena, limits, inPlace);
  const messages: RespMessage[] = [];
  const errors: string[] = [];
  const points = [...new Set([0, ...cuts.filter((c) => c > 0 && c < bytes.length), bytes.length])].sort((a, b) => a - b);
  const segments: [Buffer, Buffer][] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    // each segment is its own buffer, with junk around it, as the capture buffer would have
    const seg = Buffer.concat([Buffer.from('JUNK'), bytes.subarray(points[i], points[i + 1]), Buffer.from('\r\n+X\r\n')]);
    segments.push([seg, Buffer.from(seg)]);
    parser.feed(seg, 4, points[i + 1]! - points[i]!, i);
    for (;;) {
      const r = parser.next();
      if (r.kind === 'needMore') break;
      // the parser resynchronises after an error: keep reading
      if (r.kind === 'error') {
        errors.push(r.reason);
        continue;
      }
      messages.push(r.message);
    }
  }
  expect(segments.filter(([seg, copy]) => !seg.equals(copy)).length).toBe(0);
  return { messages, errors };
}

const text = fc.string({ unit: fc.constantFrom('a', 'b', 'z', '0', ' ', ':', '-', '\u00e9', '\u4e2d'), maxLength: 12 });
const lineText = text; // no CR/LF in simple strings

const respValue: fc.Arbitrary<RespValue> = fc.letrec<{ v: RespValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ t: fc.constant('simple' as const), s: lineText }),
    fc.record({ t: fc.constant('error' as const), s: lineText }),
    fc.record({ t: fc.constant('int' as const), n: fc.integer() }),
    fc.record({ t: fc.constant('bulk' as const), s: fc.option(fc.string({ maxLength: 40 }), { nil: null }) }),
    fc.record({ t: fc.constant('array' as const), items: fc.option(fc.array(tie('v'), { maxLength: 4 }), { nil: null }) }),
    fc.record({ t: fc.constant('null' as const) }),
    fc.record({ t: fc.constant('bool' as const), b: fc.boolean() }),
    fc.record({ t: fc.constant('double' as const), s: fc.constantFrom('1.5', '-0.25', 'inf', '-inf', 'nan', '3') }),
    fc.record({ t: fc.constant('bignum' as const), s: fc.bigInt().map(String) }),
    fc.record({ t: fc.constant('blobError' as const), s: fc.string({ maxLength: 20 }) }),
    fc.record({ t: fc.constant('verbatim' as const), s: fc.string({ maxLength: 20 }) }),
    fc.record({ t: fc.constant('map' as const), entries: fc.array(fc.tuple(tie('v'), tie('v')), { maxLength: 3 }) }),
    fc.record({ t: fc.constant('set' as const), items: fc.array(tie('v'), { maxLength: 3 }) }),
  ),
})).v;

describe('RespParser', () => {
  it('parses the replies packetbeat shows in its system tests', () => {
    const parts = [
      '+OK\r\n', '$5\r\nhello\r\n', '$-1\r\n', ':42\r\n', '*2\r\n$1\r\na\r\n$-1\r\n', '*0\r\n', '*-1\r\n',
      '-ERR Operation against a key holding the wrong kind of value\r\n',
    ];
    const wire = Buffer.from(parts.join(''));
    const { messages, errors } = parseAll('response', wire);
    expect(errors).toEqual([]);
    expect(messages.map((m) => m.text)).toEqual([
      'OK', 'hello', 'nil', '42', '[a, nil]', '[]', 'nil',
      'ERR Operation against a key holding the wrong kind of value',
    ]);
    expect(messages.map((m) => m.isError)).toEqual([false, false, false, false, false, false, false, true]);
    expect(messages.map((m) => m.size)).toEqual([5, 11, 5, 5, 16, 4, 5, 62]);
    expect(messages.map((m) => m.size)).toEqual(parts.map((p) => p.length));
  });

  it('gives a request its words, method first, in their original case', () => {
    const { messages } = parseAll('request', encodeCommand(['set', 'key3', 'value 3']));
    expect(messages).toHaveLength(1);
    expect(messages[0]!.args).toEqual(['set', 'key3', 'value 3']);
    expect(messages[0]!.text).toBe('set key3 value 3');
    expect(messages[0]!.size).toBe(encodeCommand(['set', 'key3', 'value 3']).length);
  });

  it('renders RESP3 types', () => {
    const wire = Buffer.from('_\r\n#t\r\n#f\r\n,3.25\r\n(12345678901234567890\r\n=15\r\ntxt:Some string\r\n%1\r\n+k\r\n:1\r\n~2\r\n:1\r\n:2\r\n!9\r\nERR oops!\r\n');
    const { messages, errors } = parseAll('response', wire);
    expect(errors).toEqual([]);
    expect(messages.map((m) => m.text)).toEqual(['nil', 'true', 'false', '3.25', '12345678901234567890', 'Some string', '{k: 1}', '[1, 2]', 'ERR oops!']);
    expect(messages.at(-1)!.isError).toBe(true);
  });

  it('skips attributes and marks pushes', () => {
    const wire = Buffer.from('|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*2\r\n:2039123\r\n:9543892\r\n>2\r\n+invalidate\r\n*1\r\n+k\r\n');
    const { messages } = parseAll('response', wire);
    expect(messages.map((m) => [m.text, m.isPush])).toEqual([
      ['[2039123, 9543892]', false],
      ['[invalidate, [k]]', true],
    ]);
    expect(messages[0]!.size).toBe(wire.indexOf('>'));
  });

  it('takes the 64-bit integers Redis sends', () => {
    const { messages, errors } = parseAll('response', Buffer.from(':-9223372036854775808\r\n'));
    expect(errors).toEqual([]);
    expect(messages[0]!.text).toBe('-9223372036854775808');
  });

  it.each([
    ['*2147483647\r\n', 'bad_length'],
    ['$-7\r\n', 'bad_length'],
    ['$99999999999999999999\r\n', 'bad_length'],
    ['*1x\r\n', 'bad_length'],
    [':12a\r\n', 'bad_line'],
    ['hello\r\n', 'bad_type'],
    ['+OK\n', 'bad_line'],
    ['$3\r\nabcXY', 'bad_line'],
    ['#x\r\n', 'bad_line'],
  ])('rejects %j as %s without allocating for the claimed length', (wire, reason) => {
    const { messages, errors } = parseAll('response', Buffer.from(wire));
    expect(messages).toEqual([]);
    expect(errors).toEqual([reason]);
  });

  it('rejects nesting deeper than the limit: the message is walked to its end and skipped whole, however deep and however split', () => {
    const deep = Buffer.from('*1\r\n'.repeat(40) + ':1\r\n');
    expect(parseAll('response', deep).errors).toEqual(['too_deep']);
    // what follows it is the next message, not a resynchronisation inside it
    for (const levels of [33, 1000, 100_000]) {
      const wire = Buffer.from('*1\r\n'.repeat(levels) + '*2\r\n:1\r\n+x\r\n' + '+OK\r\n');
      for (const cuts of [[], [7], [3, 1001, 2002, 40_000]]) {
        const parser = new RespParser('response');
        const texts: string[] = [];
        const errors: string[] = [];
        let from = 0;
        for (const to of [...cuts.filter((c) => c < wire.length), wire.length]) {
          parser.feed(wire, from, to - from, 0);
          from = to;
          for (let r = parser.next(); r.kind !== 'needMore'; r = parser.next()) {
            if (r.kind === 'error') errors.push(r.reason);
            else texts.push(r.message.text);
          }
        }
        expect([errors, texts, parser.skippedBytes]).toEqual([['too_deep'], ['OK'], wire.length - 5]);
      }
    }
    // a fault deep inside: one error, and the search for the next message tries each nested header only to the limit
    // (walking each try to its end took 0.6 s at 8,000 levels, and grew with the square)
    const faulty = Buffer.from('*1\r\n'.repeat(100_000) + '*1\r\r\n' + '+OK\r\n');
    const parser = new RespParser('response');
    parser.feed(faulty, 0, faulty.length, 0);
    const seen: string[] = [];
    const started = performance.now();
    for (let r = parser.next(); r.kind !== 'needMore'; r = parser.next()) seen.push(r.kind === 'error' ? r.reason : r.message.text);
    expect([seen, parser.skippedBytes]).toEqual([['bad_length', 'OK'], faulty.length - 5]);
    expect(performance.now() - started).toBeLessThan(5_000);
    const ok = Buffer.from('*1\r\n'.repeat(32) + ':1\r\n');
    expect(parseAll('response', ok).messages[0]!.text).toBe('['.repeat(32) + '1' + ']'.repeat(32));
  });

  it('walks over a bulk string larger than the limit by its length, keeping a placeholder, however it is split', () => {
    const limits = { maxMessageBytes: 64, maxDepth: 8 };
    const set = encodeCommand(['SET', 'k', 'x'.repeat(100)]);
    const wire = Buffer.concat([set, encodeCommand(['GET', 'k'])]);
    for (const [cuts, inPlace] of [[], [20], [20, 40, 60, 80, 100], [set.length - 1], [set.length - 2, set.length]].flatMap((c) => [[c, false], [c, true]] as const)) {
      // in place, a string whole in one segment is not cut out of the read buffer (parseAll checks it is unchanged)
      const { messages, errors } = parseAll('request', wire, cuts, limits, new Arena(), inPlace);
      expect(errors).toEqual([]);
      expect(messages.map((m) => [m.text, m.size, m.method])).toEqual([
        ['SET k <100 bytes not kept>', set.length, 'SET'],
        ['GET k', 20],
      ].map(([t, n]) => [t, n, String(t).split(' ')[0]]));
      expect(messages[0]!.storedSize).toBeLessThan(64);
    }
    // a bulk reply: counted once, followed by the next reply
    const parser = new RespParser('response', new Arena(), limits);
    const reply = Buffer.concat([encodeValue({ t: 'bulk', s: 'y'.repeat(1000) }), Buffer.from('+OK\r\n')]);
    const got: string[] = [];
    for (let i = 0; i < reply.length; i += 7) {
      parser.feed(reply, i, Math.min(7, reply.length - i), i);
      for (let r = parser.next(); r.kind === 'message'; r = parser.next()) got.push(`${r.message.text}/${r.message.size}`);
    }
    expect(got).toEqual(['<1000 bytes not kept>/1009', 'OK/5']);
    expect(parser.largeBulks).toBe(1);
    // a string not ended by CRLF is an error, and the parser carries on after it
    expect(parseAll('response', Buffer.from(`$70\r\n${'z'.repeat(70)}XX+OK\r\n`), [30], limits)).toMatchObject({ errors: ['bad_line'] });
  });

  it('takes inline commands as requests, words as redis-server splits them', () => {
    const wire = Buffer.from('PING\r\nset a "b c"\r\n\r\nget \'x\\\'y\'\n*1\r\n$4\r\nPING\r\n');
    for (const cuts of [[], [2], [5, 6, 7, 20, 21]]) {
      const { messages, errors } = parseAll('request', wire, cuts);
      expect(errors).toEqual([]);
      expect(messages.map((m) => [m.args, m.method, m.isInline, m.expectsReply, m.size])).toEqual([
        [['PING'], 'PING', true, true, 6],
        [['set', 'a', 'b c'], 'SET', true, true, 13],
        [[], '', true, false, 2],
        [['get', "x'y"], 'GET', true, true, 11],
        [['PING'], 'PING', false, true, 14],
      ]);
      expect(messages[1]!.text).toBe('set a b c');
    }
    // a line whose first word is no command is not taken for one (a request direction picked up mid-value)
    expect(parseAll('request', Buffer.from('lue\r\n*1\r\n$4\r\nPING\r\n'))).toMatchObject({ errors: ['bad_type'] });
    expect(parseAll('request', Buffer.from('lue\r\n*1\r\n$4\r\nPING\r\n')).messages.map((m) => m.text)).toEqual(['PING']);
  });

  it('marks *0 and *-1 requests as expecting no reply', () => {
    const { messages } = parseAll('request', Buffer.from('*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n'));
    expect(messages.map((m) => [m.size, m.expectsReply])).toEqual([[4, false], [5, false], [14, true]]);
  });

  it.each([
    ['_x\r\n', 'bad_line'],
    ['_ \r\n', 'bad_line'],
    [',\r\n', 'bad_line'],
    [',1.\r\n', 'bad_line'],
    [',abc\r\n', 'bad_line'],
    [',1e\r\n', 'bad_line'],
    [',infinity\r\n', 'bad_line'],
  ])('rejects the RESP3 line %j as %s', (wire, reason) => {
    expect(parseAll('response', Buffer.from(wire)).errors).toEqual([reason]);
  });

  it('accepts every double redis-server writes', () => {
    const values = ['0', '-1.5', '3.1415926535897931', '1e+20', '1.2E-7', 'inf', '-inf', 'nan', '+2'];
    const { messages, errors } = parseAll('response', Buffer.from(values.map((v) => `,${v}\r\n`).join('') + '_\r\n'));
    expect(errors).toEqual([]);
    expect(messages.map((m) => m.text)).toEqual([...values, 'nil']);
  });

  it('resynchronises after a parse error at the next message that parses, counting the bytes skipped', () => {
    // a capture that starts mid-reply: the tail of a bulk string, then whole replies
    const tail = 'ue-of-a-long-value\r\n:notanint\r\n';
    const wire = Buffer.from(`${tail}+OK\r\n$3\r\nabc\r\n`);
    for (const cuts of [[], [1], [19, 20, 21], [tail.length - 1, tail.length + 1]]) {
      const parser = new RespParser('response', new Arena());
      const texts: string[] = [];
      const errors: string[] = [];
      const points = [...new Set([0, ...cuts, wire.length])].sort((a, b) => a - b);
      for (let i = 0; i + 1 < points.length; i++) {
        parser.feed(wire, points[i]!, points[i + 1]! - points[i]!, i);
        for (let r = parser.next(); r.kind !== 'needMore'; r = parser.next()) {
          if (r.kind === 'error') errors.push(r.reason);
          else texts.push(r.message.text);
        }
      }
      expect([texts, errors, parser.skippedBytes]).toEqual([['OK', 'abc'], ['bad_type'], tail.length]);
    }
    // junk that never reaches a boundary is counted when the parser is dropped
    const parser = new RespParser('response', new Arena());
    const junk = Buffer.from('xyz\r\n:1');
    parser.feed(junk, 0, junk.length, 0);
    expect(parser.next()).toMatchObject({ kind: 'error' });
    expect(parser.next()).toMatchObject({ kind: 'needMore' });
    parser.dispose();
    expect(parser.skippedBytes).toBe(junk.length);
  });

  it('stamps a message with the time of the segment it began in', () => {
    const wire = encodeValue({ t: 'bulk', s: 'abcdefghij' });
    const { messages } = parseAll('response', Buffer.concat([wire, wire]), [3, wire.length + 1]);
    expect(messages.map((m) => m.tsNs)).toEqual([0, 1]);
  });

  test.prop([fc.array(respValue, { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 12 }), fc.boolean()])(
    'encode → parse is the identity under every segmentation, copied or in place',
    (values, rawCuts, inPlace) => {
      const encoded = values.map(encodeValue);
      const wire = Buffer.concat(encoded);
      const cuts = rawCuts.map((c) => c % (wire.length + 1));
      const { messages, errors } = parseAll('response', wire, cuts, undefined, new Arena(), inPlace);
      expect(errors).toEqual([]);
      expect(messages.map((m) => m.text)).toEqual(values.map(renderValue));
      expect(messages.map((m) => m.size)).toEqual(encoded.map((e) => e.length));
      expect(messages.map((m) => m.isError)).toEqual(values.map(isErrorValue));
    },
  );

  test.prop([fc.array(fc.array(fc.string({ maxLength: 30 }), { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 6 })])(
    'byte-at-a-time parsing of pipelined commands equals parsing them whole',
    (commands) => {
      const wire = Buffer.concat(commands.map(encodeCommand));
      const whole = parseAll('request', wire);
      const bytewise = parseAll('request', wire, Array.from({ length: wire.length }, (_, i) => i));
      expect(whole.messages.map((m) => m.args)).toEqual(commands);
      expect(bytewise.messages.map((m) => [m.args, m.size])).toEqual(whole.messages.map((m) => [m.args, m.size]));
    },
  );

  test.prop([fc.array(respValue, { minLength: 1, maxLength: 4 }), fc.array(respValue, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 10 })])(
    'parsers sharing one arena, fed in turns mid-message, give what each gives alone',
    (a, b, rawCuts) => {
      const wa = Buffer.concat(a.map(encodeValue));
      const wb = Buffer.concat(b.map(encodeValue));
      const arena = new Arena();
      const pa = new RespParser('response', arena);
      const pb = new RespParser('response', arena);
      const got: [string[], string[]] = [[], []];
      const cuts = [...new Set(rawCuts.map((c) => c % (Math.max(wa.length, wb.length) + 1)))].sort((x, y) => x - y);
      let prev = 0;
      for (const cut of [...cuts, Infinity]) {
        for (const [i, p, w] of [[0, pa, wa], [1, pb, wb]] as const) {
          const from = Math.min(prev, w.length);
          const to = Math.min(cut, w.length);
          if (to <= from) continue;
          p.feed(w, from, to - from, 0);
          for (let r = p.next(); r.kind === 'message'; r = p.next()) got[i].push(r.message.text);
        }
        prev = cut;
      }
      expect(got).toEqual([a.map(renderValue), b.map(renderValue)]);
    },
  );

  it('keeps messages intact across arena chunks (views stay valid after the arena moves on)', () => {
    const values = Array.from({ length: 40 }, (_, i) => ({ t: 'bulk' as const, s: String(i % 10).repeat(100_000 + i) }));
    const wire = Buffer.concat(values.map(encodeValue));
    const cuts = Array.from({ length: Math.ceil(wire.length / 1448) }, (_, i) => i * 1448);
    const { messages, errors } = parseAll('response', wire, cuts);
    expect(errors).toEqual([]);
    expect(messages.map((m) => m.text)).toEqual(values.map(renderValue));
  });
});
