import { viewOf } from '../bytes.js';
import { LinkType } from '../pcap/linktype.js';

/**
 * Why a packet was not handed to TCP. Every skipped packet is counted under
 * one of these names (`decode.<reason>`), never thrown.
 */
export const SkipReasons = [
  'unsupported_linktype',
  'non_ip',
  'non_tcp',
  'truncated',
  'bad_header',
  'ipv4_fragment',
  'ipv6_fragment',
  'ipv6_esp',
] as const;
export type SkipReason = (typeof SkipReasons)[number];

/** Result codes of {@link decodePacket}: 0 is a TCP segment, others index {@link SkipReasons} + 1. */
export const DECODED = 0;
const UNSUPPORTED_LINKTYPE = 1;
const NON_IP = 2;
const NON_TCP = 3;
const TRUNCATED = 4;
const BAD_HEADER = 5;
const IPV4_FRAGMENT = 6;
const IPV6_FRAGMENT = 7;
const IPV6_ESP = 8;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

/**
 * A decoded TCP segment. One instance is reused for every packet: numbers, not
 * objects. Addresses are four 32-bit words; IPv4 is stored IPv4-mapped
 * (::ffff:a.b.c.d) so one comparison serves both families.
 */
export class DecodedPacket {
  ipVersion = 4;
  src0 = 0; src1 = 0; src2 = 0; src3 = 0;
  dst0 = 0; dst1 = 0; dst2 = 0; dst3 = 0;
  srcPort = 0;
  dstPort = 0;
  seq = 0;
  ack = 0;
  flags = 0;
  /** TCP payload: `buf[payloadOffset .. payloadOffset+payloadLength)`, a view into the reader's buffer. */
  buf: Buffer = Buffer.alloc(0);
  payloadOffset = 0;
  payloadLength = 0;
}

/**
 * The buffer being decoded, read as numbers: a DataView read compiles to one
 * load. Made again only when the buffer changes (the capture reader's few
 * buffers: once per read), never per packet.
 */
let viewed: Buffer | null = null;
let view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

function u16(b: Buffer, p: number): number {
  if (b !== viewed) see(b);
  return view.getUint16(p);
}

function u32(b: Buffer, p: number): number {
  if (b !== viewed) see(b);
  return view.getUint32(p);
}

function see(b: Buffer): void {
  viewed = b;
  view = viewOf(b);
}

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_VLAN = 0x8100;
const ETH_QINQ = 0x88a8;
const ETH_VLAN_OLD = 0x9100;

/**
 * Decodes link, network and transport headers of one packet into `out`.
 * Checks the length before every read; returns {@link DECODED} or a skip code
 * (use {@link skipReason} to name it).
 */
export function decodePacket(linkType: number, buf: Buffer, offset: number, caplen: number, out: DecodedPacket): number {
  const end = offset + caplen;
  let p = offset;
  let ethertype = 0;
  switch (linkType) {
    case LinkType.ETHERNET: {
      if (end - p < 14) return TRUNCATED;
      ethertype = u16(buf, p + 12);
      p += 14;
      while (ethertype === ETH_VLAN || ethertype === ETH_QINQ || ethertype === ETH_VLAN_OLD) {
        if (end - p < 4) return TRUNCATED;
        ethertype = u16(buf, p + 2);
        p += 4;
      }
      break;
    }
    case LinkType.LINUX_SLL: {
      if (end - p < 16) return TRUNCATED;
      ethertype = u16(buf, p + 14);
      p += 16;
      break;
    }
    case LinkType.LINUX_SLL2: {
      if (end - p < 20) return TRUNCATED;
      ethertype = u16(buf, p);
      p += 20;
      break;
    }
    case LinkType.RAW:
    case LinkType.RAW_OLD:
    case LinkType.RAW_OLD_OPENBSD:
    case LinkType.IPV4:
    case LinkType.IPV6: {
      if (end - p < 1) return TRUNCATED;
      const v = buf[p]! >> 4;
      ethertype = v === 4 ? ETH_IPV4 : v === 6 ? ETH_IPV6 : 0;
      break;
    }
    case LinkType.NULL:
    case LinkType.LOOP: {
      if (end - p < 4) return TRUNCATED;
      // NULL stores the address family in the writer's byte order; LOOP in network order.
      let family = u32(buf, p);
      if (linkType === LinkType.NULL && (family & 0xffff) === 0) family = buf.readUInt32LE(p);
      p += 4;
      ethertype = family === 2 ? ETH_IPV4 : family === 10 || family === 24 || family === 28 || family === 30 ? ETH_IPV6 : 0;
      break;
    }
    default:
      return UNSUPPORTED_LINKTYPE;
  }
  if (ethertype === ETH_IPV4) return decodeIPv4(buf, p, end, out);
  if (ethertype === ETH_IPV6) return decodeIPv6(buf, p, end, out);
  return NON_IP;
}

function decodeIPv4(buf: Buffer, p: number, end: number, out: DecodedPacket): number {
  if (end - p < 20) return TRUNCATED;
  const vihl = buf[p]!;
  if (vihl >> 4 !== 4) return BAD_HEADER;
  const ihl = (vihl & 0x0f) * 4;
  if (ihl < 20) return BAD_HEADER;
  const totalLength = u16(buf, p + 2);
  // 0 is a TSO capture (see ipEnd below), not a length shorter than the header
  if (totalLength !== 0 && totalLength < ihl) return BAD_HEADER;
  if (end - p < ihl) return TRUNCATED;
  const frag = u16(buf, p + 6);
  if ((frag & 0x3fff) !== 0) return IPV4_FRAGMENT; // MF set or offset != 0
  if (buf[p + 9] !== 6) return NON_TCP;
  out.ipVersion = 4;
  out.src0 = 0; out.src1 = 0; out.src2 = 0xffff; out.src3 = u32(buf, p + 12);
  out.dst0 = 0; out.dst1 = 0; out.dst2 = 0xffff; out.dst3 = u32(buf, p + 16);
  // Ethernet pads short frames: the IP total length, not the capture, says where the packet ends.
  // TSO captures may carry a total length of 0; then the capture decides.
  const ipEnd = totalLength === 0 ? end : p + totalLength;
  if (ipEnd > end) return TRUNCATED;
  return decodeTCP(buf, p + ihl, ipEnd, out);
}

function decodeIPv6(buf: Buffer, p: number, end: number, out: DecodedPacket): number {
  if (end - p < 40) return TRUNCATED;
  if (buf[p]! >> 4 !== 6) return BAD_HEADER;
  const payloadLength = u16(buf, p + 4);
  let next = buf[p + 6]!;
  out.ipVersion = 6;
  out.src0 = u32(buf, p + 8); out.src1 = u32(buf, p + 12);
  out.src2 = u32(buf, p + 16); out.src3 = u32(buf, p + 20);
  out.dst0 = u32(buf, p + 24); out.dst1 = u32(buf, p + 28);
  out.dst2 = u32(buf, p + 32); out.dst3 = u32(buf, p + 36);
  const ipEnd = payloadLength === 0 ? end : p + 40 + payloadLength;
  if (ipEnd > end) return TRUNCATED;
  p += 40;
  for (;;) {
    switch (next) {
      case 6:
        return decodeTCP(buf, p, ipEnd, out);
      case 0: // hop-by-hop
      case 43: // routing
      case 60: // destination options
        if (ipEnd - p < 8) return TRUNCATED;
        next = buf[p]!;
        p += (buf[p + 1]! + 1) * 8;
        if (p > ipEnd) return TRUNCATED;
        continue;
      case 51: // authentication header: length in 4-byte units, minus 2
        if (ipEnd - p < 8) return TRUNCATED;
        next = buf[p]!;
        p += (buf[p + 1]! + 2) * 4;
        if (p > ipEnd) return TRUNCATED;
        continue;
      case 44:
        return IPV6_FRAGMENT;
      case 50:
        return IPV6_ESP;
      default:
        return NON_TCP;
    }
  }
}

function decodeTCP(buf: Buffer, p: number, end: number, out: DecodedPacket): number {
  if (end - p < 20) return TRUNCATED;
  const dataOffset = (buf[p + 12]! >> 4) * 4;
  if (dataOffset < 20) return BAD_HEADER;
  if (end - p < dataOffset) return TRUNCATED;
  out.srcPort = u16(buf, p);
  out.dstPort = u16(buf, p + 2);
  out.seq = u32(buf, p + 4);
  out.ack = u32(buf, p + 8);
  out.flags = buf[p + 13]!;
  out.buf = buf;
  out.payloadOffset = p + dataOffset;
  out.payloadLength = end - p - dataOffset;
  return DECODED;
}

export type DecodeCounters = Record<`decode.${(typeof SkipReasons)[number]}`, number>;

/** A counter per reason a packet is skipped, all zero. */
export function newDecodeCounters(): DecodeCounters {
  const c = {} as DecodeCounters;
  for (const r of SkipReasons) c[`decode.${r}`] = 0;
  return c;
}

export function skipReason(code: number): SkipReason {
  return SkipReasons[code - 1]!;
}

/** Formats an address held as four words: dotted quad for IPv4-mapped, RFC 5952 text for IPv6. */
export function formatAddress(ipVersion: number, w0: number, w1: number, w2: number, w3: number): string {
  if (ipVersion === 4) return `${w3 >>> 24}.${(w3 >>> 16) & 255}.${(w3 >>> 8) & 255}.${w3 & 255}`;
  const groups = [w0 >>> 16, w0 & 0xffff, w1 >>> 16, w1 & 0xffff, w2 >>> 16, w2 & 0xffff, w3 >>> 16, w3 & 0xffff];
  // longest run of at least two zero groups becomes "::" (first one on ties)
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
