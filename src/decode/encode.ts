/** A TCP segment to encode as Ethernet + IPv4/IPv6 + TCP: the pair to {@link decodePacket}. */
export interface SegmentSpec {
  ipVersion: 4 | 6;
  /** Four 32-bit words; IPv4 uses the last (IPv4-mapped layout, as DecodedPacket). */
  src: readonly [number, number, number, number];
  dst: readonly [number, number, number, number];
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window?: number;
  /** VLAN ids to stack as 802.1Q tags (outermost first). */
  vlans?: readonly number[];
  payload: Buffer;
  payloadOffset?: number;
  payloadLength?: number;
}

/** A locally administered MAC derived from the address's last word, so each host keeps one. */
function writeMac(out: Buffer, p: number, lastWord: number): void {
  out[p] = 0x02;
  out[p + 1] = 0x00;
  out.writeUInt32BE(lastWord >>> 0, p + 2);
}

function onesComplementSum(buf: Buffer, from: number, to: number, sum: number): number {
  let i = from;
  for (; i + 1 < to; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (i < to) sum += buf[i]! << 8;
  return sum;
}

function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 65536);
  return ~sum & 0xffff;
}

/** Bytes {@link encodeSegment} will write for this spec. */
export function encodedLength(spec: SegmentSpec): number {
  const len = spec.payloadLength ?? spec.payload.length - (spec.payloadOffset ?? 0);
  return 14 + 4 * (spec.vlans?.length ?? 0) + (spec.ipVersion === 4 ? 20 : 40) + 20 + len;
}

/**
 * Writes an Ethernet frame carrying the segment into `out` at `off`, with
 * correct IPv4 header and TCP checksums; returns its length.
 */
export function encodeSegment(spec: SegmentSpec, out: Buffer, off = 0): number {
  const payloadOffset = spec.payloadOffset ?? 0;
  const payloadLength = spec.payloadLength ?? spec.payload.length - payloadOffset;
  let p = off;
  writeMac(out, p, spec.dst[3]);
  writeMac(out, p + 6, spec.src[3]);
  p += 12;
  for (const vlan of spec.vlans ?? []) {
    out.writeUInt16BE(0x8100, p);
    out.writeUInt16BE(vlan & 0x0fff, p + 2);
    p += 4;
  }
  out.writeUInt16BE(spec.ipVersion === 4 ? 0x0800 : 0x86dd, p);
  p += 2;
  const ip = p;
  const tcpLength = 20 + payloadLength;
  if (spec.ipVersion === 4) {
    out[p] = 0x45;
    out[p + 1] = 0;
    out.writeUInt16BE(20 + tcpLength, p + 2);
    out.writeUInt16BE(0, p + 4); // identification
    out.writeUInt16BE(0x4000, p + 6); // don't fragment
    out[p + 8] = 64;
    out[p + 9] = 6;
    out.writeUInt16BE(0, p + 10);
    out.writeUInt32BE(spec.src[3] >>> 0, p + 12);
    out.writeUInt32BE(spec.dst[3] >>> 0, p + 16);
    out.writeUInt16BE(fold(onesComplementSum(out, ip, ip + 20, 0)), p + 10);
    p += 20;
  } else {
    out.writeUInt32BE(0x60000000, p);
    out.writeUInt16BE(tcpLength, p + 4);
    out[p + 6] = 6;
    out[p + 7] = 64;
    for (let i = 0; i < 4; i++) out.writeUInt32BE(spec.src[i]! >>> 0, p + 8 + 4 * i);
    for (let i = 0; i < 4; i++) out.writeUInt32BE(spec.dst[i]! >>> 0, p + 24 + 4 * i);
    p += 40;
  }
  const tcp = p;
  out.writeUInt16BE(spec.srcPort, p);
  out.writeUInt16BE(spec.dstPort, p + 2);
  out.writeUInt32BE(spec.seq >>> 0, p + 4);
  out.writeUInt32BE(spec.ack >>> 0, p + 8);
  out[p + 12] = 5 << 4;
  out[p + 13] = spec.flags;
  out.writeUInt16BE(spec.window ?? 65535, p + 14);
  out.writeUInt32BE(0, p + 16); // checksum, urgent pointer
  spec.payload.copy(out, p + 20, payloadOffset, payloadOffset + payloadLength);
  p += tcpLength;
  // TCP checksum over the pseudo-header and the segment
  let sum = 6 + tcpLength;
  if (spec.ipVersion === 4) sum = onesComplementSum(out, ip + 12, ip + 20, sum);
  else sum = onesComplementSum(out, ip + 8, ip + 40, sum);
  sum = onesComplementSum(out, tcp, p, sum);
  out.writeUInt16BE(fold(sum), tcp + 16);
  return p - off;
}
