import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { DecodedPacket, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../decode/decode.js';
import { TcpAssembler } from './assembler.js';
import type { CloseReason, Connection, Direction, StreamAnalyzer } from './connection.js';
import type { TcpMode } from './stream.js';

/** Records what TCP hands the analyzer, per direction. */
class Recorder implements StreamAnalyzer {
  readonly data: [string, string] = ['', ''];
  readonly events: string[] = [];
  onData(_c: Connection, dir: Direction, buf: Buffer, off: number, len: number): void {
    this.data[dir] += buf.toString('latin1', off, off + len);
    this.events.push(`data ${dir} ${buf.toString('latin1', off, off + len)}`);
  }
  onGap(_c: Connection, dir: Direction, lost: number): void {
    this.events.push(`gap ${dir} ${lost}`);
  }
  onFin(_c: Connection, dir: Direction): void {
    this.events.push(`fin ${dir}`);
  }
  onClose(c: Connection, reason: CloseReason): void {
    this.events.push(`close ${c.id} ${reason}`);
  }
}

const CLIENT = 0x0a000002;
const SERVER = 0x0a000001;

function segment(toServer: boolean, seq: number, payload: string, flags = TCP_ACK | TCP_PSH, clientPort = 40000): DecodedPacket {
  const p = new DecodedPacket();
  p.ipVersion = 4;
  p.src2 = p.dst2 = 0xffff;
  p.src3 = toServer ? CLIENT : SERVER;
  p.dst3 = toServer ? SERVER : CLIENT;
  p.srcPort = toServer ? clientPort : 6379;
  p.dstPort = toServer ? 6379 : clientPort;
  p.seq = seq >>> 0;
  p.flags = flags;
  p.buf = Buffer.from(`##${payload}##`, 'latin1');
  p.payloadOffset = 2;
  p.payloadLength = payload.length;
  return p;
}

function run(mode: TcpMode, packets: DecodedPacket[], opts = {}) {
  const rec = new Recorder();
  const tcp = new TcpAssembler(rec, { mode, ports: [6379], ...opts });
  packets.forEach((p, i) => tcp.process(p, i * 1000));
  tcp.closeAll();
  return { rec, counters: tcp.counters };
}

describe('TCP, reassemble mode', () => {
  it('delivers out-of-order segments in order', () => {
    const { rec, counters } = run('reassemble', [
      segment(true, 100, '', TCP_SYN),
      segment(true, 107, 'world'),
      segment(true, 101, 'hello '),
    ]);
    expect(rec.data[0]).toBe('hello world');
    expect(counters['tcp.out_of_order_segments']).toBe(1);
    expect(counters['tcp.dropped_because_of_gaps']).toBe(0);
  });

  it('drops retransmissions and trims overlaps, counting the bytes', () => {
    const { rec, counters } = run('reassemble', [
      segment(true, 1000, 'abcdef'),
      segment(true, 1000, 'abcdef'),
      segment(true, 1003, 'defghi'),
    ]);
    expect(rec.data[0]).toBe('abcdefghi');
    expect(counters['tcp.retransmitted_bytes']).toBe(9);
  });

  it('follows sequence numbers across 2^32', () => {
    const { rec } = run('reassemble', [
      segment(true, 0xfffffffc, 'abcd'),
      segment(true, 4, 'ijkl'),
      segment(true, 0, 'efgh'),
    ]);
    expect(rec.data[0]).toBe('abcdefghijkl');
  });

  it('declares a hole a gap only when the connection ends, and delivers what follows it', () => {
    const { rec, counters } = run('reassemble', [
      segment(true, 1, 'aaaa'),
      segment(true, 9, 'cccc'),
      segment(true, 13, '', TCP_FIN | TCP_ACK),
    ]);
    expect(rec.events).toEqual(['data 0 aaaa', 'gap 0 4', 'data 0 cccc', 'fin 0', 'close 1 end_of_capture']);
    expect(counters['tcp.dropped_because_of_gaps']).toBe(1);
    expect(counters['tcp.gap_bytes']).toBe(4);
  });

  it('gives up on a hole when the held bytes exceed the limit', () => {
    const { rec, counters } = run(
      'reassemble',
      [segment(true, 1, 'aa'), segment(true, 5, 'cc'), segment(true, 7, 'dd'), segment(true, 9, 'ee')],
      { maxBufferedBytes: 5 },
    );
    expect(rec.events.slice(0, 4)).toEqual(['data 0 aa', 'gap 0 2', 'data 0 cc', 'data 0 dd']);
    expect(counters['tcp.dropped_because_of_gaps']).toBe(1);
  });

  it('a FIN held behind a hole, then more held than the limit: the hole is given up, the FIN ends the stream, what lies beyond it is dropped (no hang)', () => {
    // shared/repro-inputs/hang-reassemble-held-fin.pcap: held segments past the FIN kept the limit exceeded for ever
    const { rec, counters } = run(
      'reassemble',
      [segment(true, 1, 'aa'), segment(true, 5, 'bb', TCP_FIN | TCP_ACK), segment(true, 8, 'cc'), segment(true, 10, 'dd'), segment(true, 12, 'ee')],
      { maxBufferedBytes: 5 },
    );
    expect(rec.events).toEqual(['data 0 aa', 'gap 0 2', 'data 0 bb', 'fin 0', 'close 1 end_of_capture']);
    // past the FIN: cc and dd held when it came (4 bytes), ee after it (2)
    expect([counters['tcp.dropped_because_of_gaps'], counters['tcp.gap_bytes'], counters['tcp.retransmitted_bytes']]).toEqual([1, 2, 6]);
  });

  it('closes a connection after both FINs, and a RST closes it at once', () => {
    const fin = run('reassemble', [
      segment(true, 1, 'x'),
      segment(true, 2, '', TCP_FIN | TCP_ACK),
      segment(false, 50, 'y'),
      segment(false, 51, '', TCP_FIN | TCP_ACK),
    ]);
    expect(fin.rec.events).toEqual(['data 0 x', 'fin 0', 'data 1 y', 'fin 1', 'close 1 fin']);
    const rst = run('reassemble', [segment(true, 1, 'x'), segment(false, 9, '', TCP_RST)]);
    expect(rst.rec.events).toEqual(['data 0 x', 'close 1 rst']);
  });

  it('expires idle connections on capture time, not the wall clock', () => {
    const rec = new Recorder();
    const tcp = new TcpAssembler(rec, { mode: 'reassemble', ports: [6379], streamTimeoutNs: 10_000 });
    tcp.process(segment(true, 1, 'a', TCP_ACK, 40000), 0);
    tcp.process(segment(true, 1, 'b', TCP_ACK, 40001), 5_000);
    tcp.process(segment(true, 2, 'c', TCP_ACK, 40001), 10_001);
    // the packet that comes 10,001 ns after the first connection's last finds it gone
    expect(rec.events).toEqual(['data 0 a', 'data 0 b', 'close 1 expired', 'data 0 c']);
    expect(tcp.counters['tcp.streams_expired']).toBe(1);
  });

  it('ignores packets of other ports, counted', () => {
    const p = segment(true, 1, 'x');
    p.dstPort = 80;
    const { rec, counters } = run('reassemble', [p]);
    expect(rec.events).toEqual([]);
    expect(counters['tcp.unmonitored_packets']).toBe(1);
  });

  test.prop([
    fc.string({ minLength: 1, maxLength: 200 }),
    fc.array(fc.nat(), { maxLength: 12 }),
    fc.array(fc.nat(), { maxLength: 40 }),
    fc.nat(),
  ])('any arrival order of the segments, with duplicates, gives back the exact byte stream', (text, rawCuts, order, isn) => {
    const cuts = [...new Set([0, ...rawCuts.map((c) => c % text.length), text.length])].sort((a, b) => a - b);
    const segs: DecodedPacket[] = [];
    for (let i = 0; i + 1 < cuts.length; i++) segs.push(segment(true, (isn + 1 + cuts[i]!) >>> 0, text.slice(cuts[i], cuts[i + 1])));
    // arrival: the SYN first, then segments in a shuffled order with some sent twice
    const arrival = [segment(true, isn, '', TCP_SYN)];
    const pool = [...segs];
    for (const o of order) {
      if (pool.length === 0) break;
      arrival.push(pool.splice(o % pool.length, 1)[0]!);
      if (o % 3 === 0) arrival.push(segs[o % segs.length]!);
    }
    arrival.push(...pool);
    const { rec, counters } = run('reassemble', arrival);
    expect(rec.data[0]).toBe(text);
    expect(counters['tcp.dropped_because_of_gaps']).toBe(0);
  });
});

describe('TCP, packetbeat mode (packetbeat 5.x tcp.go)', () => {
  it('treats a segment above the last sequence as a gap, and the late one as a retransmission', () => {
    const { rec, counters } = run('packetbeat', [
      segment(true, 1, 'aaaa'),
      segment(true, 9, 'cccc'),
      segment(true, 5, 'bbbb'),
    ]);
    expect(rec.events).toEqual(['data 0 aaaa', 'gap 0 4', 'data 0 cccc', 'close 1 end_of_capture']);
    expect(counters['tcp.dropped_because_of_gaps']).toBe(1);
    expect(counters['tcp.retransmitted_bytes']).toBe(4);
  });

  it('trims an overlap', () => {
    const { rec, counters } = run('packetbeat', [segment(true, 1, 'abcd'), segment(true, 3, 'cdef')]);
    expect(rec.data[0]).toBe('abcdef');
    expect(counters['tcp.overlap_bytes']).toBe(2);
  });

  it('sees no gap before the direction carried data (lastSeq 0 means "not seen")', () => {
    const { rec, counters } = run('packetbeat', [segment(true, 1, 'aaaa'), segment(false, 900, 'zz'), segment(false, 990, 'yy')]);
    expect(counters['tcp.dropped_because_of_gaps']).toBe(1);
    expect(rec.events).toEqual(['data 0 aaaa', 'data 1 zz', 'gap 1 88', 'data 1 yy', 'close 1 end_of_capture']);
  });

  it('hands a FIN to the analyzer and keeps the connection until it expires', () => {
    const { rec } = run('packetbeat', [segment(true, 1, 'a'), segment(true, 2, '', TCP_FIN | TCP_ACK), segment(false, 5, 'b')]);
    expect(rec.events).toEqual(['data 0 a', 'fin 0', 'data 1 b', 'close 1 end_of_capture']);
  });

  it('goes on with the old state when a SYN reuses the 4-tuple (tcp.go never sees a SYN)', () => {
    // the second connection's first byte (1000) is past the first's last sequence (3: a FIN takes none in tcp.go): a gap of 997
    const { rec, counters } = run('packetbeat', [
      segment(true, 1, 'ab'),
      segment(true, 3, '', TCP_FIN | TCP_ACK),
      segment(true, 999, '', TCP_SYN),
      segment(true, 1000, 'cd'),
    ]);
    expect(rec.events).toEqual(['data 0 ab', 'fin 0', 'gap 0 997', 'data 0 cd', 'close 1 end_of_capture']);
    expect(counters['tcp.connections']).toBe(1);
    expect(counters['tcp.dropped_because_of_gaps']).toBe(1);
    // a new ISN below the last sequence: the new connection's first segment is taken for a retransmission
    const below = run('packetbeat', [segment(true, 5000, 'ab'), segment(true, 99, '', TCP_SYN), segment(true, 100, 'cd')]);
    expect(below.rec.events).toEqual(['data 0 ab', 'close 1 end_of_capture']);
    expect(below.counters['tcp.retransmitted_bytes']).toBe(2);
  });

  it('forgets a connection idle past the timeout before the packet that comes after it, and never with an infinite timeout', () => {
    // 1,000 ns apart; the timeout 1,500 ns: the third packet comes 2,000 ns after the second
    const packets = () => [segment(true, 1, 'a'), segment(true, 2, 'b'), segment(true, 100, 'c')];
    const rec = new Recorder();
    const tcp = new TcpAssembler(rec, { mode: 'packetbeat', ports: [6379], streamTimeoutNs: 1_500 });
    const [a, b, c] = packets();
    tcp.process(a!, 0);
    tcp.process(b!, 1_000);
    tcp.process(c!, 3_000);
    tcp.closeAll();
    // a fresh connection: no last sequence, so no gap
    expect(rec.events).toEqual(['data 0 a', 'data 0 b', 'close 1 expired', 'data 0 c', 'close 2 end_of_capture']);
    const never = new Recorder();
    const tcp2 = new TcpAssembler(never, { mode: 'packetbeat', ports: [6379], streamTimeoutNs: Infinity });
    packets().forEach((p, i) => tcp2.process(p, i * 1e15));
    tcp2.closeAll();
    expect(never.events).toEqual(['data 0 a', 'data 0 b', 'gap 0 97', 'data 0 c', 'close 1 end_of_capture']);
  });
});
