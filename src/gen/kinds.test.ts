import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DECODED, DecodedPacket, decodePacket, TCP_SYN } from '../decode/decode.js';
import { CaptureReader } from '../pcap/reader.js';
import { generateRedisCapture, type GenOptions } from './redis.js';

const dir = mkdtempSync(join(tmpdir(), 'lockstep-gen-kinds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Segment {
  tsNs: number;
  clientPort: number;
  toServer: boolean;
  flags: number;
  seq: number;
  payload: Buffer;
}

/** A generated capture's segments, in capture order, and its manifest. */
function capture(name: string, o: Partial<GenOptions>) {
  const file = join(dir, `${name}.pcap`);
  const manifest = generateRedisCapture({ transactions: 40, connections: 3, seed: 11, ...o }, file);
  const r = CaptureReader.open(file);
  const p = new DecodedPacket();
  const segments: Segment[] = [];
  for (let rec = r.next(); rec !== null; rec = r.next()) {
    expect(decodePacket(rec.linkType, rec.data, rec.offset, rec.caplen, p)).toBe(DECODED);
    const toServer = p.dstPort === 6379;
    segments.push({
      tsNs: (rec.tsSec - 1482404843) * 1e9 + rec.tsNsec, clientPort: toServer ? p.srcPort : p.dstPort, toServer, flags: p.flags, seq: p.seq,
      payload: Buffer.from(p.buf.subarray(p.payloadOffset, p.payloadOffset + p.payloadLength)),
    });
  }
  r.close();
  return { file, manifest, segments };
}

/** All payload one way, in capture order. */
const wire = (segments: Segment[], toServer: boolean) => Buffer.concat(segments.filter((s) => s.toServer === toServer).map((s) => s.payload)).toString('latin1');

describe('gen redis, the opt-in kinds', () => {
  it('are all off by default, and make the same bytes when given as 0', () => {
    const a = capture('default', {});
    const b = capture('zeros', { unknown: 0, inline: 0, pubsub: 0, monitor: 0, big: 0, reuse: 0, idle: 0 });
    expect(readFileSync(b.file)).toEqual(readFileSync(a.file));
    expect(a.manifest.kinds).toEqual({
      unknown: 0, inline: 0, pubsubConnections: 0, pubsubMessages: 0, monitorConnections: 0, monitorLines: 0, big: 0, reusedConnections: 0, idle: 0,
    });
    expect(a.manifest.unpredicted).toEqual({ reassemble: [], packetbeat: [] });
  });

  it('inline commands go out as lines, not arrays', () => {
    const { manifest, segments } = capture('inline', { inline: 6 });
    expect(manifest.kinds.inline).toBe(6);
    const requests = wire(segments, true);
    const inline = requests.match(/(^|\n)(PING|SET key:\d+ [a-z0-9]+|GET key:\d+|EXISTS key:\d+)\r\n/g) ?? [];
    expect(inline.length).toBe(6);
    expect(manifest.unpredicted).toEqual({ reassemble: [], packetbeat: [] });
  });

  it('unknown and two-word commands are requests like any other to the lossless view', () => {
    const { manifest, segments } = capture('unknown', { unknown: 30 });
    expect(manifest.kinds.unknown).toBe(30);
    expect(manifest.unpredicted).toEqual({ reassemble: [], packetbeat: [] });
    const requests = wire(segments, true);
    // each first word, as its bulk string; 40 plain transactions and 30 of these
    expect(manifest.transactions.reassemble).toBe(70);
    for (const w of ['HSETNX', 'CONFIG', 'CLIENT', 'KEYS']) expect(requests).toContain(`$${w.length}\r\n${w}\r\n`);
  });

  it('pub/sub: confirmations and messages are arrays on RESP2 and pushes on RESP3', () => {
    for (const resp3 of [0, 1]) {
      const { manifest, segments } = capture(`pubsub-${resp3}`, { pubsub: 2, resp3 });
      expect(manifest.kinds.pubsubConnections).toBe(2);
      expect(manifest.connections).toBe(5);
      const replies = wire(segments.filter((s) => s.clientPort >= 40003), false);
      const kind = resp3 ? '>' : '\\*';
      const messages = replies.match(new RegExp(`${kind}[34]\\r\\n\\$\\d\\r\\np?message\\r\\n`, 'g')) ?? [];
      expect(messages.length).toBe(manifest.kinds.pubsubMessages);
      expect(replies).toMatch(new RegExp(`${kind}3\\r\\n\\$\\d+\\r\\np?(un)?subscribe\\r\\n`));
    }
  });

  it('MONITOR: +OK, then the server streams command lines', () => {
    const { manifest, segments } = capture('monitor', { monitor: 1 });
    const replies = wire(segments.filter((s) => s.clientPort === 40003), false);
    expect(replies.startsWith('+OK\r\n')).toBe(true);
    const lines = replies.match(/\+1482404\d{3}\.\d{6} \[\d (lua|10\.1\.0\.\d+:\d+)\]( "[^"\\]*(\\.[^"\\]*)*")+\r\n/g) ?? [];
    expect(lines.length).toBe(manifest.kinds.monitorLines);
    expect(manifest.kinds.monitorLines).toBeGreaterThan(0);
  });

  it("a value of about 10 MiB or more reaches packetbeat 5's stream limit", () => {
    const { manifest, segments } = capture('big', { big: 1, transactions: 4, connections: 1 });
    expect(manifest.kinds.big).toBe(1);
    const both = wire(segments, true) + wire(segments, false);
    const m = /\$(\d{8})\r\n/.exec(both);
    expect(Number(m![1])).toBeGreaterThanOrEqual(10 * 2 ** 20 - 96);
    expect(Number(m![1])).toBeLessThanOrEqual(10 * 2 ** 20 + 64 * 1024);
    expect(manifest.unpredicted.reassemble).toEqual([]);
  });

  it('a reused 4-tuple: a second SYN on the same client port after the first connection closed, with a fresh ISN', () => {
    const { manifest, segments } = capture('reuse', { reuse: 2, connections: 1 });
    expect(manifest.kinds.reusedConnections).toBe(2);
    const syns = segments.filter((s) => s.toServer && s.flags & TCP_SYN);
    expect(syns.map((s) => s.clientPort)).toEqual([40000, 40000, 40000]);
    expect(new Set(syns.map((s) => s.seq)).size).toBe(3);
    // each opens after everything before it on the port
    for (const syn of syns.slice(1)) expect(segments.filter((s) => s.tsNs >= syn.tsNs)[0]).toBe(syn);
    expect(manifest.unpredicted).toEqual({ reassemble: [], packetbeat: ['reusedConnections'] });
  });

  it('idle gaps: nothing on the connection for over 10 s', () => {
    const { manifest, segments } = capture('idle', { idle: 2, connections: 1 });
    expect(manifest.kinds.idle).toBe(2);
    let longest = 0;
    for (let i = 1; i < segments.length; i++) longest = Math.max(longest, segments[i]!.tsNs - segments[i - 1]!.tsNs);
    expect(longest).toBeGreaterThan(10.5e9 - 1);
    expect(manifest.durationNs).toBeGreaterThan(21e9);
  });
});
