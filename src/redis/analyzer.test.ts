import { describe, expect, it } from 'vitest';
import { DecodedPacket, TCP_ACK, TCP_PSH } from '../decode/decode.js';
import { TcpAssembler } from '../tcp/assembler.js';
import type { TcpMode } from '../tcp/stream.js';
import { RedisAnalyzer, type UnmatchedReason } from './analyzer.js';
import { encodeCommand, encodeValue } from './encode.js';
import { formatEvent } from '../feed.js';
import type { RedisTransaction as Transaction } from './transaction.js';

/** A scripted exchange on one connection: client and server segments at given capture times (ms). */
class Session {
  private cseq = 1000;
  private sseq = 5000;
  readonly txs: Transaction[] = [];
  readonly unmatched: UnmatchedReason[] = [];
  readonly redis: RedisAnalyzer;
  readonly tcp: TcpAssembler;

  constructor(mode: TcpMode = 'reassemble', opts = {}) {
    this.redis = new RedisAnalyzer(
      { onTransaction: (tx) => this.txs.push(tx), onUnmatchedRequest: (_c, _m, reason) => this.unmatched.push(reason) },
      opts,
    );
    this.tcp = new TcpAssembler(this.redis, { mode, ports: [6379] });
  }

  send(toServer: boolean, ms: number, bytes: Buffer, opts: { skip?: boolean } = {}): void {
    const p = new DecodedPacket();
    p.src2 = p.dst2 = 0xffff;
    p.src3 = toServer ? 0xc0a80002 : 0xc0a80001;
    p.dst3 = toServer ? 0xc0a80001 : 0xc0a80002;
    p.srcPort = toServer ? 52000 : 6379;
    p.dstPort = toServer ? 6379 : 52000;
    p.seq = toServer ? this.cseq : this.sseq;
    p.flags = TCP_ACK | TCP_PSH;
    p.buf = bytes;
    p.payloadOffset = 0;
    p.payloadLength = bytes.length;
    if (toServer) this.cseq += bytes.length;
    else this.sseq += bytes.length;
    if (!opts.skip) this.tcp.process(p, ms * 1e6);
  }

  request(ms: number, ...commands: string[][]): void {
    this.send(true, ms, Buffer.concat(commands.map(encodeCommand)));
  }

  end(): void {
    this.tcp.closeAll();
  }
}

const BASE = { sec: 1482404843, nsec: 0 };

describe('RedisAnalyzer', () => {
  it('writes packetbeat 5.x events: SET key3 → OK, and LLEN on a string → status Error', () => {
    const s = new Session();
    s.request(0, ['set', 'key3', 'value 3']);
    s.send(false, 1.5, Buffer.from('+OK\r\n'));
    s.request(10, ['LLEN', 'key3']);
    s.send(false, 12.9, Buffer.from('-ERR Operation against a key holding the wrong kind of value\r\n'));
    s.end();
    expect(s.txs.map((tx) => formatEvent(tx, BASE))).toEqual([
      '{"@timestamp":"2016-12-22T11:07:23.000Z","bytes_in":36,"bytes_out":5,"client_ip":"192.168.0.2","client_port":52000,' +
        '"client_proc":"","client_server":"","ip":"192.168.0.1","method":"SET","port":6379,"proc":"","query":"set key3 value 3",' +
        '"redis":{"return_value":"OK"},"resource":"key3","responsetime":1,"server":"","status":"OK","type":"redis"}',
      '{"@timestamp":"2016-12-22T11:07:23.010Z","bytes_in":24,"bytes_out":62,"client_ip":"192.168.0.2","client_port":52000,' +
        '"client_proc":"","client_server":"","ip":"192.168.0.1","method":"LLEN","port":6379,"proc":"","query":"LLEN key3",' +
        '"redis":{"error":"ERR Operation against a key holding the wrong kind of value"},"resource":"key3","responsetime":2,' +
        '"server":"","status":"Error","type":"redis"}',
    ]);
    expect(s.txs.map((tx) => tx.id)).toEqual([1, 2]);
  });

  it('pairs pipelined requests with responses in order, however the bytes are split', () => {
    const s = new Session();
    s.request(0, ['INCR', 'a'], ['INCR', 'b'], ['GET', 'c']);
    const replies = Buffer.concat([encodeValue({ t: 'int', n: 1 }), encodeValue({ t: 'int', n: 7 }), encodeValue({ t: 'bulk', s: null })]);
    s.send(false, 1, replies.subarray(0, 6));
    s.send(false, 2, replies.subarray(6));
    s.end();
    expect(s.txs.map((tx) => [tx.request.text, tx.response.text])).toEqual([
      ['INCR a', '1'],
      ['INCR b', '7'],
      ['GET c', 'nil'],
    ]);
    // the second response began in the first segment: its time is that segment's
    expect(s.txs.map((tx) => tx.response.tsNs / 1e6)).toEqual([1, 1, 2]);
  });

  it('counts a response with no request as unmatched, and a request with no response at the end', () => {
    const s = new Session();
    s.send(false, 0, Buffer.from('+OK\r\n'));
    s.request(1, ['PING']);
    s.end();
    expect(s.redis.counters['redis.unmatched_responses']).toBe(1);
    expect(s.redis.counters['redis.unmatched_requests']).toBe(1);
    expect(s.unmatched).toEqual(['no_response']);
    expect(s.txs).toEqual([]);
  });

  it('evicts the oldest request beyond queue_max_messages, counted as unmatched', () => {
    const s = new Session('reassemble', { queueMaxMessages: 2 });
    s.request(0, ['GET', 'a'], ['GET', 'b'], ['GET', 'c']);
    s.send(false, 1, Buffer.from('$1\r\nb\r\n$1\r\nc\r\n'));
    s.end();
    expect(s.unmatched).toEqual(['queue_limit']);
    expect(s.txs.map((tx) => tx.request.text)).toEqual(['GET b', 'GET c']);
  });

  it('drops the connection state on a gap, as packetbeat (GapInStream → drop)', () => {
    const s = new Session('packetbeat');
    s.request(0, ['GET', 'a']);
    s.send(false, 1, Buffer.from('$3\r\nabc\r\n'));
    s.request(2, ['GET', 'big']);
    s.send(false, 3, Buffer.from('$10\r\n01234'), { skip: true }); // lost
    s.send(false, 4, Buffer.from('56789\r\n'));
    s.request(5, ['PING']);
    s.send(false, 6, Buffer.from('+PONG\r\n'));
    s.end();
    expect(s.txs.map((tx) => tx.request.text)).toEqual(['GET a', 'PING']);
    expect(s.unmatched).toEqual(['dropped_gap']);
    expect(s.redis.counters['redis.parse_errors']).toBe(1);
    expect(s.tcp.counters['tcp.dropped_because_of_gaps']).toBe(1);
  });

  it('gives a connection whose state was dropped a clean state, not the leftovers of the one it reuses', () => {
    const s = new Session('packetbeat');
    s.request(0, ['GET', 'a']);
    s.send(false, 1, Buffer.from('$3\r\nabc\r\n'));
    s.send(true, 2, Buffer.from('*2\r\n$3\r\nGET\r\n$1\r\n')); // a request in progress…
    s.send(false, 3, Buffer.from('+X\r\n'), { skip: true }); // …when the server's side has a gap: the state goes
    s.send(false, 4, Buffer.from(':1\r\n'));
    s.send(true, 5, Buffer.from('b\r\n')); // the rest of the dropped request: garbage to a fresh parser
    s.request(6, ['PING']);
    s.send(false, 7, Buffer.from('+PONG\r\n'));
    s.end();
    expect(s.txs.map((tx) => [tx.request.text, tx.response.text])).toEqual([
      ['GET a', 'abc'],
      ['PING', 'PONG'],
    ]);
    expect(s.redis.counters['redis.unmatched_responses']).toBe(1);
    expect(s.redis.counters['redis.parse_errors']).toBe(1);
  });

  it('does not pair RESP3 pushes with requests', () => {
    const s = new Session();
    s.request(0, ['GET', 'k']);
    s.send(false, 1, Buffer.from('>2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n$1\r\nv\r\n'));
    s.end();
    expect(s.txs.map((tx) => tx.response.text)).toEqual(['v']);
    expect(s.redis.counters['redis.push_messages']).toBe(1);
  });

  it('pairs a RESP3 SUBSCRIBE with its first confirmation and counts the others, so later replies pair with their requests', () => {
    const s = new Session();
    const push = (kind: string, ch: string | null, n: number) =>
      `>3\r\n$${kind.length}\r\n${kind}\r\n${ch === null ? '_' : `$${ch.length}\r\n${ch}`}\r\n:${n}\r\n`;
    s.request(0, ['SUBSCRIBE', 'a', 'b', 'c'], ['PSUBSCRIBE', 'p*']);
    s.send(false, 1, Buffer.from(push('subscribe', 'a', 1) + push('subscribe', 'b', 2) + push('subscribe', 'c', 3) + push('psubscribe', 'p*', 4)));
    s.send(false, 2, Buffer.from('>3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nhi\r\n'));
    s.request(3, ['GET', 'k'], ['UNSUBSCRIBE'], ['UNSUBSCRIBE'], ['PING']);
    s.send(false, 4, Buffer.from('$1\r\nv\r\n' + push('unsubscribe', 'c', 3) + push('unsubscribe', 'a', 2) + push('unsubscribe', 'b', 1)));
    s.send(false, 5, Buffer.from(push('unsubscribe', null, 1) + '+PONG\r\n'));
    s.end();
    expect(s.txs.map((tx) => [tx.request.text, tx.response.text])).toEqual([
      ['SUBSCRIBE a b c', '[subscribe, a, 1]'],
      ['PSUBSCRIBE p*', '[psubscribe, p*, 4]'],
      ['GET k', 'v'],
      ['UNSUBSCRIBE', '[unsubscribe, c, 3]'],
      ['UNSUBSCRIBE', '[unsubscribe, nil, 1]'],
      ['PING', 'PONG'],
    ]);
    const c = s.redis.counters;
    expect([c['redis.pubsub_confirmations'], c['redis.push_messages'], c['redis.unmatched_responses'], c['redis.unmatched_requests']]).toEqual([4, 1, 0, 0]);
  });

  it('in RESP2 subscribe mode, confirmations pair as in RESP3 and messages answer no request', () => {
    const s = new Session();
    const arr = (...w: (string | number)[]) => `*${w.length}\r\n${w.map((x) => (typeof x === 'number' ? `:${x}\r\n` : `$${x.length}\r\n${x}\r\n`)).join('')}`;
    s.request(0, ['SUBSCRIBE', 'a', 'b']);
    s.send(false, 1, Buffer.from(arr('subscribe', 'a', 1) + arr('subscribe', 'b', 2)));
    s.send(false, 2, Buffer.from(arr('message', 'a', 'hello') + arr('message', 'b', 'subscribe')));
    s.request(3, ['PING'], ['UNSUBSCRIBE', 'a', 'b']);
    s.send(false, 4, Buffer.from(arr('pong', '') + arr('unsubscribe', 'a', 1) + arr('unsubscribe', 'b', 0)));
    // out of subscribe mode, an array that looks like a message is a reply again
    s.request(5, ['LRANGE', 'l', '0', '-1']);
    s.send(false, 6, Buffer.from(arr('message', 'x', 'y')));
    s.end();
    expect(s.txs.map((tx) => [tx.request.text, tx.response.text])).toEqual([
      ['SUBSCRIBE a b', '[subscribe, a, 1]'],
      ['PING', '[pong, ]'],
      ['UNSUBSCRIBE a b', '[unsubscribe, a, 1]'],
      ['LRANGE l 0 -1', '[message, x, y]'],
    ]);
    expect([s.redis.counters['redis.pubsub_confirmations'], s.redis.counters['redis.push_messages']]).toEqual([2, 2]);
  });

  it('counts the MONITOR feed apart from replies', () => {
    const s = new Session();
    s.request(0, ['MONITOR']);
    s.send(false, 1, Buffer.from('+OK\r\n+1700000000.123456 [0 127.0.0.1:5000] "SET" "a" "1"\r\n+1700000000.2 [0 lua] "GET" "a"\r\n'));
    s.request(2, ['RESET']);
    s.send(false, 3, Buffer.from('+RESET\r\n'));
    s.end();
    expect(s.txs.map((tx) => tx.method)).toEqual(['MONITOR', 'RESET']);
    expect([s.redis.counters['redis.monitor_messages'], s.redis.counters['redis.unmatched_responses']]).toEqual([2, 0]);
  });

  it('expects no reply to *0 and *-1, and takes inline commands as requests', () => {
    const s = new Session();
    s.send(true, 0, Buffer.from('*0\r\nPING\r\n*-1\r\nset a "b c"\r\n\r\n'));
    s.send(false, 1, Buffer.from('+PONG\r\n+OK\r\n'));
    s.end();
    expect(s.txs.map((tx) => [tx.method, tx.request.text, tx.response.text])).toEqual([
      ['PING', 'PING', 'PONG'],
      ['SET', 'set a b c', 'OK'],
    ]);
    const c = s.redis.counters;
    expect([c['redis.requests'], c['redis.no_reply_requests'], c['redis.inline_requests'], c['redis.unmatched_requests']]).toEqual([5, 3, 3, 0]);
  });

  it('pairs a value larger than the message limit with its reply, holding none of it', () => {
    const s = new Session('reassemble', { maxMessageBytes: 1024 });
    const big = encodeCommand(['SET', 'big', 'v'.repeat(5000)]);
    for (let i = 0; i < big.length; i += 1000) s.send(true, 0, big.subarray(i, i + 1000));
    s.send(false, 1, Buffer.from('+OK\r\n'));
    s.request(2, ['GET', 'big']);
    const reply = encodeValue({ t: 'bulk', s: 'v'.repeat(5000) });
    for (let i = 0; i < reply.length; i += 1000) s.send(false, 3, reply.subarray(i, i + 1000));
    s.request(4, ['PING']);
    s.send(false, 5, Buffer.from('+PONG\r\n'));
    s.end();
    expect(s.txs.map((tx) => [tx.request.text, tx.response.text, tx.request.size, tx.response.size])).toEqual([
      ['SET big <5000 bytes not kept>', 'OK', big.length, 5],
      ['GET big', '<5000 bytes not kept>', 22, reply.length],
      ['PING', 'PONG', 14, 7],
    ]);
    expect([s.redis.counters['redis.large_messages'], s.redis.counters['redis.parse_errors']]).toEqual([2, 0]);
  });

  it('resynchronises after a parse error: a capture that starts mid-reply keeps the replies after it', () => {
    const s = new Session();
    s.send(false, 0, Buffer.from('alue-of-a-reply-begun-before-the-capture\r\n'));
    s.request(1, ['GET', 'a'], ['GET', 'b']);
    s.send(false, 2, Buffer.from('junk\r\n$1\r\n1\r\n$1\r\n2\r\n'));
    s.end();
    expect(s.txs.map((tx) => [tx.request.text, tx.response.text])).toEqual([
      ['GET a', '1'],
      ['GET b', '2'],
    ]);
    const c = s.redis.counters;
    expect([c['redis.parse_errors'], c['redis.resync_skipped_bytes']]).toEqual([1, 42 + 6]);
  });
});
