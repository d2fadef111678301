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
});
