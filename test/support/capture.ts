import { readFileSync, writeFileSync } from 'node:fs';
import { encodeCommand } from '../../src/redis/encode.js';
import { TCP_ACK, TCP_PSH } from '../../src/decode/decode.js';
import { encodeSegment } from '../../src/decode/encode.js';
import { CaptureReader } from '../../src/pcap/reader.js';
import { PcapWriter } from '../../src/pcap/writer.js';

/** One scripted segment: capture time (ns after the start), direction, payload. */
export interface ScriptedSegment {
  atNs: number;
  toServer: boolean;
  payload: string | Buffer;
  /** Client port, to script several connections (default 40000). */
  clientPort?: number;
}

/** A small capture built from a script, in memory, for exact hand-checked cases. */
export function scriptedCapture(segments: ScriptedSegment[], port = 6379): CaptureReader {
  return CaptureReader.fromBytes(scriptedPcap(segments, port), 'scripted.pcap');
}

/** The bytes of {@link scriptedCapture}: a little-endian pcap with ns timestamps, Ethernet, IPv4 10.0.0.2 → 10.0.0.1. */
export function scriptedPcap(segments: ScriptedSegment[], port = 6379): Buffer {
  const w = PcapWriter.inMemory({ nanos: true });
  const seqs = new Map<string, number>();
  const frame = Buffer.alloc(70_000);
  const base = 1482404843;
  for (const s of segments) {
    const cp = s.clientPort ?? 40000;
    const payload = typeof s.payload === 'string' ? Buffer.from(s.payload) : s.payload;
    const key = `${cp}:${s.toServer}`;
    const seq = seqs.get(key) ?? (s.toServer ? 1000 : 9000);
    seqs.set(key, seq + payload.length);
    const client = [0, 0, 0xffff, 0x0a000002] as const;
    const server = [0, 0, 0xffff, 0x0a000001] as const;
    const n = encodeSegment(
      {
        ipVersion: 4,
        src: s.toServer ? client : server,
        dst: s.toServer ? server : client,
        srcPort: s.toServer ? cp : port,
        dstPort: s.toServer ? port : cp,
        seq,
        ack: 0,
        flags: TCP_ACK | TCP_PSH,
        payload,
      },
      frame,
    );
    const whole = Math.floor(s.atNs / 1e9);
    w.write(base + whole, s.atNs - whole * 1e9, frame, 0, n);
  }
  w.close();
  return w.bytes();
}

/**
 * Copies a classic pcap to `out` with record `record`'s caplen (1-based) set
 * to `caplen`: a fault at a known place. Returns that record's byte offset.
 */
export function withBadCaplen(file: string, record: number, caplen: number, out: string): number {
  const bytes = readFileSync(file);
  let off = 24;
  for (let i = 1; i < record; i++) off += 16 + bytes.readUInt32LE(off + 8);
  bytes.writeUInt32LE(caplen, off + 8);
  writeFileSync(out, bytes);
  return off;
}

/** `keys.length` pipelined GETs at t=0 and their replies (`0`, `1`, …, as bulk strings) in one segment at 0.5 µs. */
export function pipelinedGets(keys: readonly string[]): ScriptedSegment[] {
  return [
    { atNs: 0, toServer: true, payload: Buffer.concat(keys.map((k) => encodeCommand(['GET', k]))) },
    { atNs: 500, toServer: false, payload: keys.map((_, i) => `$${String(i).length}\r\n${i}\r\n`).join('') },
  ];
}

/** A stage that costs nothing (override what a case needs). */
export { NO_COST as ZERO_COST } from '../../src/sim/cost.js';
