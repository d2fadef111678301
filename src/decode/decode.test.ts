import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { afterAll, describe, expect, it } from 'vitest';
import { LinkType, linkTypeName } from '../pcap/linktype.js';
import { PcapWriter } from '../pcap/writer.js';
import { needTools } from '../../test/support/tools.js';
import { DECODED, DecodedPacket, decodePacket, formatAddress, SkipReasons, skipReason, TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN, type SkipReason } from './decode.js';
import { encodedLength, encodeSegment, type SegmentSpec } from './encode.js';


const scratch = mkdtempSync(join(tmpdir(), 'lockstep-decode-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// ---- frames ----

const ipv4 = (a: number, b: number, c: number, d: number) => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
const mapped = (w: number) => [0, 0, 0xffff, w] as const;

const V4: SegmentSpec = {
  ipVersion: 4,
  src: mapped(ipv4(10, 1, 2, 3)),
  dst: mapped(ipv4(192, 168, 7, 101)),
  srcPort: 51234,
  dstPort: 6379,
  seq: 0xfffffff0,
  ack: 12345,
  flags: TCP_PSH | TCP_ACK,
  payload: Buffer.from('*1\r\n$4\r\nPING\r\n'),
};
const V6: SegmentSpec = {
  ...V4,
  ipVersion: 6,
  src: [0x20010db8, 0, 0, 1],
  dst: [0xfe800000, 0, 0x02000000, 0xfe000001],
  payload: Buffer.from('+PONG\r\n'),
};

/** Ethernet frame of a segment, as encodeSegment writes it. */
function ethernet(spec: SegmentSpec): Buffer {
  const out = Buffer.alloc(encodedLength(spec));
  expect(encodeSegment(spec, out)).toBe(out.length);
  return out;
}

/** The IP packet alone (encodeSegment's frame without its 14-byte Ethernet header). */
const ipPacket = (spec: SegmentSpec) => ethernet({ ...spec, vlans: [] }).subarray(14);

const concat = (parts: Buffer[]) => Buffer.concat(parts);
const be16 = (v: number) => Buffer.from([v >> 8, v & 0xff]);
const be32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
};
const le32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};

const MACS = Buffer.from('02000000000202000000000' + '1', 'hex');
const ethernetOf = (ethertype: number, packet: Buffer) => concat([MACS, be16(ethertype), packet]);
/** Linux cooked v1: packet type, ARPHRD_ETHER, address length, 8 address bytes, protocol. */
const sll = (protocol: number, packet: Buffer) =>
  concat([be16(0), be16(1), be16(6), Buffer.from('0200000000010000', 'hex'), be16(protocol), packet]);
/** Linux cooked v2: protocol, reserved, interface index, ARPHRD_ETHER, packet type, address length, 8 address bytes. */
const sll2 = (protocol: number, packet: Buffer) =>
  concat([be16(protocol), be16(0), be32(3), be16(1), Buffer.from([4, 6]), Buffer.from('0200000000010000', 'hex'), packet]);

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;

// ---- decoding ----

const out = new DecodedPacket();

/**
 * Decodes `frame` placed inside a larger buffer between junk bytes, so a read
 * before `offset` or past `caplen` would show.
 */
function decode(linkType: number, frame: Buffer): 'decoded' | SkipReason {
  const buf = concat([Buffer.alloc(7, 0xaa), frame, Buffer.alloc(64, 0xaa)]);
  const code = decodePacket(linkType, buf, 7, frame.length, out);
  return code === DECODED ? 'decoded' : skipReason(code);
}

interface Segment {
  ipVersion: number;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  payload: Buffer;
}

/** The decoded segment, or the skip reason. */
function decoded(linkType: number, frame: Buffer): Segment | SkipReason {
  const result = decode(linkType, frame);
  if (result !== 'decoded') return result;
  return {
    ipVersion: out.ipVersion,
    src: formatAddress(out.ipVersion, out.src0, out.src1, out.src2, out.src3),
    dst: formatAddress(out.ipVersion, out.dst0, out.dst1, out.dst2, out.dst3),
    srcPort: out.srcPort,
    dstPort: out.dstPort,
    seq: out.seq,
    ack: out.ack,
    flags: out.flags,
    payload: Buffer.from(out.buf.subarray(out.payloadOffset, out.payloadOffset + out.payloadLength)),
  };
}

/** What decoding `spec`'s frame must give. */
function segmentOf(spec: SegmentSpec): Segment {
  const from = spec.payloadOffset ?? 0;
  return {
    ipVersion: spec.ipVersion,
    src: formatAddress(spec.ipVersion, ...spec.src),
    dst: formatAddress(spec.ipVersion, ...spec.dst),
    srcPort: spec.srcPort,
    dstPort: spec.dstPort,
    seq: spec.seq >>> 0,
    ack: spec.ack >>> 0,
    flags: spec.flags,
    payload: spec.payload.subarray(from, from + (spec.payloadLength ?? spec.payload.length - from)),
  };
}

/** One frame per link type and IP version, link headers built by hand around encodeSegment's IP packet. */
function linkFrames(): Array<{ name: string; linkType: number; spec: SegmentSpec; frame: Buffer }> {
  const frames: Array<{ name: string; linkType: number; spec: SegmentSpec; frame: Buffer }> = [];
  for (const spec of [V4, V6]) {
    const ip = ipPacket(spec);
    const v = `IPv${spec.ipVersion}`;
    const ethertype = spec.ipVersion === 4 ? ETH_IPV4 : ETH_IPV6;
    const add = (name: string, linkType: number, frame: Buffer) => frames.push({ name: `${name} ${v}`, linkType, spec, frame });
    add('Ethernet', LinkType.ETHERNET, ethernet(spec));
    add('Linux SLL', LinkType.LINUX_SLL, sll(ethertype, ip));
    add('Linux SLL2', LinkType.LINUX_SLL2, sll2(ethertype, ip));
    add('raw IP (101)', LinkType.RAW, ip);
    add('raw IP (12)', LinkType.RAW_OLD, ip);
    add('raw IP (14)', LinkType.RAW_OLD_OPENBSD, ip);
    add(spec.ipVersion === 4 ? 'IPV4 (228)' : 'IPV6 (229)', spec.ipVersion === 4 ? LinkType.IPV4 : LinkType.IPV6, ip);
    // BSD NULL: AF_INET is 2 everywhere; AF_INET6 is 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS), 10 (Linux)
    const families = spec.ipVersion === 4 ? [2] : [24, 28, 30, 10];
    for (const family of families) {
      add(`NULL little-endian family ${family}`, LinkType.NULL, concat([le32(family), ip]));
      add(`NULL big-endian family ${family}`, LinkType.NULL, concat([be32(family), ip]));
    }
    add('LOOP', LinkType.LOOP, concat([be32(spec.ipVersion === 4 ? 2 : 24), ip]));
  }
  return frames;
}

describe('decodePacket link types', () => {
  for (const { name, linkType, spec, frame } of linkFrames()) {
    it(`decodes ${name}`, () => {
      expect(decoded(linkType, frame)).toEqual(segmentOf(spec));
    });
  }

  it('agrees with tshark on every link type', (ctx) => {
    needTools(ctx, 'mergecap', 'tshark');
    // one pcap per link type, concatenated by mergecap into a pcapng, read by one tshark run
    // Wireshark's NULL dissector knows the BSD values of AF_INET6 (24, 28, 30), not Linux's 10
    const frames = linkFrames().filter((f) => !f.name.includes('family 10'));
    const files = frames.map(({ linkType, frame }, i) => {
      const path = join(scratch, `link-${String(i).padStart(2, '0')}.pcap`);
      const w = PcapWriter.toFile(path, { linkType });
      w.write(1_700_000_000 + i, 0, frame);
      w.close();
      return path;
    });
    const merged = join(scratch, 'links.pcapng');
    const m = spawnSync('mergecap', ['-a', '-w', merged, ...files], { encoding: 'utf8' });
    expect(m.status, m.stderr).toBe(0);
    const fields = ['ip.src', 'ipv6.src', 'ip.dst', 'ipv6.dst', 'tcp.srcport', 'tcp.dstport', 'tcp.seq_raw', 'tcp.ack_raw', 'tcp.flags', 'tcp.len'];
    const r = spawnSync('tshark', ['-n', '-r', merged, '-T', 'fields', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const seen = r.stdout.trimEnd().split('\n').map((line) => {
      const [ip4src, ip6src, ip4dst, ip6dst, sport, dport, seq, ack, flags, len] = line.split('\t');
      return { src: ip4src || ip6src, dst: ip4dst || ip6dst, srcPort: +sport!, dstPort: +dport!, seq: +seq!, ack: +ack!, flags: parseInt(flags!, 16), len: +len! };
    });
    expect(seen).toEqual(
      frames.map(({ linkType, frame }) => {
        const s = decoded(linkType, frame) as Segment;
        return { src: s.src, dst: s.dst, srcPort: s.srcPort, dstPort: s.dstPort, seq: s.seq, ack: s.ack, flags: s.flags, len: s.payload.length };
      }),
    );
  });

  it('skips a link type it does not decode', () => {
    expect(decode(105, ethernet(V4))).toBe('unsupported_linktype'); // IEEE 802.11
    expect(decode(105, Buffer.alloc(0))).toBe('unsupported_linktype');
    expect(linkTypeName(105)).toBe('LINKTYPE_105');
    expect(linkTypeName(LinkType.LINUX_SLL2)).toBe('LINUX_SLL2');
  });

  it('skips what is not IP on every link type', () => {
    const arp = Buffer.from('0001080006040001020000000001c0a80001000000000000c0a80002', 'hex');
    expect(decode(LinkType.ETHERNET, ethernetOf(0x0806, arp))).toBe('non_ip');
    expect(decode(LinkType.ETHERNET, ethernetOf(0x05dc, arp))).toBe('non_ip'); // 802.3 length field
    expect(decode(LinkType.LINUX_SLL, sll(0x0806, arp))).toBe('non_ip');
    expect(decode(LinkType.LINUX_SLL2, sll2(0x0806, arp))).toBe('non_ip');
    expect(decode(LinkType.NULL, concat([le32(7), arp]))).toBe('non_ip');
    expect(decode(LinkType.LOOP, concat([le32(2), ipPacket(V4)]))).toBe('non_ip'); // LOOP is network order only
    expect(decode(LinkType.RAW, Buffer.from([0x50, ...arp]))).toBe('non_ip'); // version 5
  });

  it('decodes stacked 802.1Q, QinQ (88a8) and old QinQ (9100) tags', () => {
    const tagged = ethernet({ ...V4, vlans: [100, 200, 4095] });
    expect(tagged.readUInt16BE(12)).toBe(0x8100);
    expect(decoded(LinkType.ETHERNET, tagged)).toEqual(segmentOf(V4));
    const qinq = ethernet({ ...V6, vlans: [10, 20] });
    qinq.writeUInt16BE(0x88a8, 12);
    expect(decoded(LinkType.ETHERNET, qinq)).toEqual(segmentOf(V6));
    qinq.writeUInt16BE(0x9100, 12);
    expect(decoded(LinkType.ETHERNET, qinq)).toEqual(segmentOf(V6));
  });

  it('skips a tagged frame that carries no IP', () => {
    const frame = ethernet({ ...V4, vlans: [7] });
    frame.writeUInt16BE(0x0806, 16);
    expect(decode(LinkType.ETHERNET, frame)).toBe('non_ip');
  });
});

describe('decodePacket IPv4', () => {
  /** An IPv4 packet with `options` inserted after the fixed header (ihl and total length updated). */
  function withOptions(spec: SegmentSpec, options: Buffer): Buffer {
    const ip = ipPacket(spec);
    const packet = concat([ip.subarray(0, 20), options, ip.subarray(20)]);
    packet[0] = 0x40 | ((20 + options.length) / 4);
    packet.writeUInt16BE(packet.length, 2);
    return packet;
  }

  it('skips IPv4 options (ihl 6 to 15)', () => {
    const recordRoute = Buffer.from([7, 7, 4, 0, 0, 0, 0, 1]); // ihl 7
    for (const options of [Buffer.from([1, 1, 1, 0]), recordRoute, Buffer.alloc(40, 1)]) {
      const frame = ethernetOf(ETH_IPV4, withOptions(V4, options));
      expect(frame[14]! & 0x0f).toBe(5 + options.length / 4);
      expect(decoded(LinkType.ETHERNET, frame)).toEqual(segmentOf(V4));
    }
  });

  it('skips fragments: more-fragments set, or an offset', () => {
    const frame = ethernet(V4);
    const setFrag = (v: number) => frame.writeUInt16BE(v, 14 + 6);
    setFrag(0x2000); // first fragment: MF, offset 0
    expect(decode(LinkType.ETHERNET, frame)).toBe('ipv4_fragment');
    setFrag(0x00b9); // last fragment: offset 185 × 8
    expect(decode(LinkType.ETHERNET, frame)).toBe('ipv4_fragment');
    setFrag(0x2001);
    expect(decode(LinkType.ETHERNET, frame)).toBe('ipv4_fragment');
    setFrag(0x4000); // don't fragment alone: a whole packet
    expect(decode(LinkType.ETHERNET, frame)).toBe('decoded');
    setFrag(0x0000);
    expect(decode(LinkType.ETHERNET, frame)).toBe('decoded');
  });

  it('ends the payload where the IP total length says, not at the Ethernet padding', () => {
    for (const payload of ['', 'ab', '+OK\r\n']) {
      const spec = { ...V4, payload: Buffer.from(payload) };
      const frame = ethernet(spec);
      expect(frame.length).toBeLessThan(60);
      const padded = concat([frame, Buffer.alloc(60 - frame.length, 0xee)]);
      expect(decoded(LinkType.ETHERNET, padded)).toEqual(segmentOf(spec));
    }
    // the same for IPv6's payload length (a frame with a trailer)
    const withTrailer = concat([ethernet(V6), Buffer.from('deadbeef', 'hex')]);
    expect(decoded(LinkType.ETHERNET, withTrailer)).toEqual(segmentOf(V6));
  });

  it('lets the capture decide when the total length is 0 (TSO)', () => {
    const frame = ethernet(V4);
    frame.writeUInt16BE(0, 14 + 2);
    expect(decoded(LinkType.ETHERNET, frame)).toEqual(segmentOf(V4));
    const v6 = ethernet(V6);
    v6.writeUInt16BE(0, 14 + 4);
    expect(decoded(LinkType.ETHERNET, v6)).toEqual(segmentOf(V6));
  });

  it('says truncated when the total length runs past the capture', () => {
    const frame = ethernet(V4);
    frame.writeUInt16BE(frame.length - 14 + 1, 14 + 2);
    expect(decode(LinkType.ETHERNET, frame)).toBe('truncated');
  });

  it('says bad_header for a wrong version, ihl below 5, or a total length below the header', () => {
    const frame = () => ethernet(V4);
    const v6inV4 = frame();
    v6inV4[14] = 0x65;
    expect(decode(LinkType.ETHERNET, v6inV4)).toBe('bad_header');
    const ihl4 = frame();
    ihl4[14] = 0x44;
    expect(decode(LinkType.ETHERNET, ihl4)).toBe('bad_header');
    const shortTotal = frame();
    shortTotal.writeUInt16BE(19, 14 + 2);
    expect(decode(LinkType.ETHERNET, shortTotal)).toBe('bad_header');
    const v4inV6 = ethernet(V6);
    v4inV6[14] = 0x45;
    expect(decode(LinkType.ETHERNET, v4inV6)).toBe('bad_header');
  });

  it('skips UDP and other protocols as non_tcp', () => {
    const frame = ethernet(V4);
    frame[14 + 9] = 17;
    expect(decode(LinkType.ETHERNET, frame)).toBe('non_tcp');
    frame[14 + 9] = 1; // ICMP
    expect(decode(LinkType.ETHERNET, frame)).toBe('non_tcp');
  });

  it('fills every address word again after an IPv6 packet (one DecodedPacket reused)', () => {
    expect(decode(LinkType.ETHERNET, ethernet(V6))).toBe('decoded');
    expect(decode(LinkType.ETHERNET, ethernet(V4))).toBe('decoded');
    expect([out.ipVersion, out.src0, out.src1, out.src2, out.src3]).toEqual([4, 0, 0, 0xffff, ipv4(10, 1, 2, 3)]);
  });
});

describe('decodePacket IPv6', () => {
  const HOP_BY_HOP = 0;
  const ROUTING = 43;
  const FRAGMENT = 44;
  const ESP = 50;
  const AH = 51;
  const DEST_OPTS = 60;
  const UDP = 17;

  /**
   * An IPv6 packet with extension headers of the given types and sizes between
   * the fixed header and the TCP segment (`last` replaces TCP's next-header).
   */
  function withExtensions(spec: SegmentSpec, exts: Array<{ type: number; bytes: number }>, last = 6): Buffer {
    const ip = ipPacket(spec);
    const headers = exts.map(({ type, bytes }, i) => {
      const h = Buffer.alloc(bytes); // zeros: Pad1 options
      h[0] = exts[i + 1]?.type ?? last;
      // length field: 8-byte units beyond the first, AH 4-byte units minus 2, fragment none
      h[1] = type === AH ? bytes / 4 - 2 : type === FRAGMENT ? 0 : bytes / 8 - 1;
      return h;
    });
    const packet = concat([ip.subarray(0, 40), ...headers, ip.subarray(40)]);
    packet[6] = exts[0]?.type ?? last;
    packet.writeUInt16BE(packet.length - 40, 4);
    return packet;
  }

  it('skips hop-by-hop and destination options before TCP', () => {
    const packet = withExtensions(V6, [{ type: HOP_BY_HOP, bytes: 8 }, { type: DEST_OPTS, bytes: 24 }]);
    expect(decoded(LinkType.ETHERNET, ethernetOf(ETH_IPV6, packet))).toEqual(segmentOf(V6));
    expect(decoded(LinkType.RAW, packet)).toEqual(segmentOf(V6));
  });

  it('skips routing and authentication headers (AH counts 4-byte units)', () => {
    const packet = withExtensions(V6, [{ type: ROUTING, bytes: 24 }, { type: AH, bytes: 24 }, { type: DEST_OPTS, bytes: 8 }]);
    expect(decoded(LinkType.ETHERNET, ethernetOf(ETH_IPV6, packet))).toEqual(segmentOf(V6));
  });

  it('skips fragments and ESP, after any extension headers', () => {
    expect(decode(LinkType.RAW, withExtensions(V6, [{ type: FRAGMENT, bytes: 8 }]))).toBe('ipv6_fragment');
    expect(decode(LinkType.RAW, withExtensions(V6, [{ type: HOP_BY_HOP, bytes: 8 }, { type: FRAGMENT, bytes: 8 }]))).toBe('ipv6_fragment');
    expect(decode(LinkType.RAW, withExtensions(V6, [{ type: ESP, bytes: 8 }]))).toBe('ipv6_esp');
  });

  it('skips UDP and ICMPv6 as non_tcp, directly or after options', () => {
    expect(decode(LinkType.RAW, withExtensions(V6, [], UDP))).toBe('non_tcp');
    expect(decode(LinkType.RAW, withExtensions(V6, [], 58))).toBe('non_tcp');
    expect(decode(LinkType.RAW, withExtensions(V6, [{ type: DEST_OPTS, bytes: 8 }], UDP))).toBe('non_tcp');
  });

  it('says truncated when an extension header runs past the packet', () => {
    const packet = withExtensions(V6, [{ type: HOP_BY_HOP, bytes: 8 }]);
    packet[40 + 1] = 200;
    expect(decode(LinkType.RAW, packet)).toBe('truncated');
    const ah = withExtensions(V6, [{ type: AH, bytes: 12 }]);
    ah[40 + 1] = 200;
    expect(decode(LinkType.RAW, ah)).toBe('truncated');
  });

  it('says truncated when the payload length runs past the capture', () => {
    const packet = ipPacket(V6);
    packet.writeUInt16BE(packet.length - 40 + 1, 4);
    expect(decode(LinkType.RAW, packet)).toBe('truncated');
  });
});

describe('decodePacket TCP', () => {
  it('says bad_header for a data offset below 5', () => {
    for (const words of [0, 1, 4]) {
      const frame = ethernet(V4);
      frame[14 + 20 + 12] = words << 4;
      expect(decode(LinkType.ETHERNET, frame)).toBe('bad_header');
    }
  });

  it('skips TCP options (data offset 8)', () => {
    const spec = { ...V4, flags: TCP_SYN };
    const ip = ipPacket(spec);
    // MSS 1460, SACK permitted, NOP, window scale 7, NOP, NOP
    const options = Buffer.from('020405b4' + '0402' + '01' + '030307' + '0101', 'hex');
    expect(options.length).toBe(12);
    const packet = concat([ip.subarray(0, 40), options, ip.subarray(40)]);
    packet[20 + 12] = 8 << 4;
    packet.writeUInt16BE(packet.length, 2);
    expect(decoded(LinkType.RAW, packet)).toEqual(segmentOf(spec));
  });

  it('says truncated when the data offset runs past the packet', () => {
    const packet = ipPacket({ ...V4, payload: Buffer.alloc(0) });
    packet[20 + 12] = 15 << 4; // 60 bytes of header in a 20-byte segment
    expect(decode(LinkType.RAW, packet)).toBe('truncated');
  });
});

describe('decodePacket on truncated and arbitrary input', () => {
  const word = fc.nat({ max: 0xffffffff });
  const specArb: fc.Arbitrary<SegmentSpec> = fc
    .record({
      ipVersion: fc.constantFrom(4 as const, 6 as const),
      src: fc.tuple(word, word, word, word),
      dst: fc.tuple(word, word, word, word),
      srcPort: fc.nat({ max: 65535 }),
      dstPort: fc.nat({ max: 65535 }),
      seq: word,
      ack: word,
      flags: fc.nat({ max: 255 }),
      window: fc.option(fc.nat({ max: 65535 }), { nil: undefined }),
      vlans: fc.array(fc.nat({ max: 4095 }), { maxLength: 3 }),
      payload: fc.uint8Array({ maxLength: 1500 }).map((a) => Buffer.from(a)),
      slice: fc.tuple(fc.nat(), fc.nat()),
    })
    .map(({ slice, src, dst, ...s }) => {
      // IPv4 lives in the last word, in the IPv4-mapped layout DecodedPacket uses
      const v4 = s.ipVersion === 4;
      const from = s.payload.length === 0 ? 0 : slice[0] % s.payload.length;
      const length = slice[1] % (s.payload.length - from + 1);
      return { ...s, src: v4 ? mapped(src[3]) : src, dst: v4 ? mapped(dst[3]) : dst, payloadOffset: from, payloadLength: length };
    });

  /** A frame on some link type; `linkHeader` bytes come before the IP packet. */
  const framed = fc.tuple(specArb, fc.constantFrom(LinkType.ETHERNET, LinkType.LINUX_SLL, LinkType.LINUX_SLL2, LinkType.RAW, LinkType.NULL)).map(([spec, linkType]) => {
    const ip = ipPacket(spec);
    const ethertype = spec.ipVersion === 4 ? ETH_IPV4 : ETH_IPV6;
    const frame =
      linkType === LinkType.ETHERNET ? ethernet(spec)
      : linkType === LinkType.LINUX_SLL ? sll(ethertype, ip)
      : linkType === LinkType.LINUX_SLL2 ? sll2(ethertype, ip)
      : linkType === LinkType.NULL ? concat([le32(spec.ipVersion === 4 ? 2 : 30), ip])
      : ip;
    return { spec, linkType, frame, linkHeader: frame.length - ip.length };
  });

  test.prop([framed], { numRuns: 200 })('gives back every field and the exact payload bytes encodeSegment wrote', ({ spec, linkType, frame }) => {
    expect(decoded(linkType, frame)).toEqual(segmentOf(spec));
  });

  test.prop([framed, fc.nat()], { numRuns: 300 })('says truncated for every prefix cut inside the IP packet', ({ spec, linkType, frame }, cut) => {
    const length = cut % frame.length;
    expect(decode(linkType, frame.subarray(0, length))).toBe('truncated');
    // bytes after the IP packet (padding, a trailer) change nothing
    expect(decoded(linkType, concat([frame, Buffer.alloc(cut % 50, 0xee)]))).toEqual(segmentOf(spec));
  });

  test.prop([framed, fc.nat()], { numRuns: 300 })(
    'with no length in the IP header (TSO), any prefix decodes to a prefix of the payload, or says truncated',
    ({ spec, linkType, frame: original, linkHeader }, cut) => {
      const frame = Buffer.from(original); // generated values are shared while shrinking: change a copy
      const ip = frame.subarray(linkHeader);
      if (spec.ipVersion === 4) ip.writeUInt16BE(0, 2);
      else ip.writeUInt16BE(0, 4);
      const headers = linkHeader + (spec.ipVersion === 4 ? 20 : 40) + 20;
      const length = cut % (frame.length + 1);
      const result = decoded(linkType, frame.subarray(0, length));
      const whole = segmentOf(spec);
      if (length < headers) expect(result).toBe('truncated');
      else expect(result).toEqual({ ...whole, payload: whole.payload.subarray(0, length - headers) });
    },
  );

  const anyLinkType = fc.constantFrom(...Object.values(LinkType), 105);
  test.prop([anyLinkType, fc.uint8Array({ maxLength: 120 }), fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ maxLength: 8 })], { numRuns: 1000 })(
    'never throws on arbitrary bytes, and reads nothing outside [offset, offset+caplen)',
    (linkType, bytes, before, after) => {
      const exact = Buffer.from(bytes);
      const alone = new DecodedPacket();
      const codeAlone = decodePacket(linkType, exact, 0, exact.length, alone);
      const inside = new DecodedPacket();
      const buf = concat([Buffer.from(before), exact, Buffer.from(after)]);
      const codeInside = decodePacket(linkType, buf, before.length, exact.length, inside);
      expect(codeInside).toBe(codeAlone);
      expect(codeAlone === DECODED || skipReason(codeAlone) !== undefined).toBe(true);
      if (codeAlone === DECODED) {
        expect(inside.payloadOffset - before.length).toBe(alone.payloadOffset);
        expect(inside.payloadLength).toBe(alone.payloadLength);
        expect(inside.payloadOffset + inside.payloadLength).toBeLessThanOrEqual(before.length + exact.length);
        expect([inside.srcPort, inside.dstPort, inside.seq, inside.ack, inside.flags]).toEqual([alone.srcPort, alone.dstPort, alone.seq, alone.ack, alone.flags]);
      }
    },
  );
});

describe('encodeSegment checksums', () => {
  /** Ones' complement sum of 16-bit words, folded: 0xffff over data that includes a correct checksum. */
  function onesSum(...parts: Buffer[]): number {
    const b = concat(parts.map((p) => (p.length % 2 ? concat([p, Buffer.alloc(1)]) : p)));
    let sum = 0;
    for (let i = 0; i < b.length; i += 2) sum += b.readUInt16BE(i);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    return sum;
  }

  function checksumsHold(spec: SegmentSpec): void {
    const ip = ipPacket(spec);
    const tcp = ip.subarray(spec.ipVersion === 4 ? 20 : 40);
    if (spec.ipVersion === 4) {
      expect(onesSum(ip.subarray(0, 20))).toBe(0xffff);
      expect(onesSum(ip.subarray(12, 20), be16(6), be16(tcp.length), tcp)).toBe(0xffff);
    } else {
      expect(onesSum(ip.subarray(8, 40), be32(tcp.length), be32(6), tcp)).toBe(0xffff);
    }
  }

  it('writes correct IPv4 header and TCP checksums (odd payloads included)', () => {
    for (const payload of ['', 'a', 'ab', '*1\r\n$4\r\nPING\r\n', 'x'.repeat(1459)]) {
      checksumsHold({ ...V4, payload: Buffer.from(payload) });
      checksumsHold({ ...V6, payload: Buffer.from(payload) });
    }
    checksumsHold({ ...V4, src: mapped(0xffffffff), dst: mapped(0xffffffff), srcPort: 65535, dstPort: 65535, seq: 0xffffffff, ack: 0xffffffff, flags: 0xff, payload: Buffer.alloc(1000, 0xff) });
  });

  it('writes checksums tshark calls good', (ctx) => {
    needTools(ctx, 'tshark');
    const path = join(scratch, 'checksums.pcap');
    const w = PcapWriter.toFile(path);
    const specs: SegmentSpec[] = [
      V4,
      V6,
      { ...V4, payload: Buffer.from('odd') },
      { ...V4, vlans: [42], flags: TCP_SYN, payload: Buffer.alloc(0) },
      { ...V6, vlans: [1, 2], flags: TCP_FIN | TCP_ACK, payload: Buffer.alloc(1401, 0xff) },
      { ...V4, src: mapped(0xffffffff), seq: 0xffffffff, payload: Buffer.alloc(999, 0xa5) },
    ];
    specs.forEach((s, i) => w.write(1_700_000_000, i, ethernet(s)));
    // a control with both checksums broken, to show tshark really checks them
    const broken = ethernet(V4);
    broken[14 + 10] ^= 0xff;
    broken[14 + 20 + 16] ^= 0xff;
    w.write(1_700_000_001, 0, broken);
    w.close();
    // status names, not numbers: the enum's numbers differ between Wireshark versions' docs
    const good = 'tcp.checksum.status == "Good" && (ipv6 || ip.checksum.status == "Good")';
    const r = spawnSync(
      'tshark',
      ['-n', '-r', path, '-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE', '-Y', good, '-T', 'fields', '-e', 'frame.number'],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').map(Number)).toEqual(specs.map((_, i) => i + 1));
  });
});

describe('skip reasons', () => {
  it('names each code once, in order', () => {
    expect(SkipReasons.map((_, i) => skipReason(i + 1))).toEqual([
      'unsupported_linktype', 'non_ip', 'non_tcp', 'truncated', 'bad_header', 'ipv4_fragment', 'ipv6_fragment', 'ipv6_esp',
    ]);
  });
});

describe('formatAddress', () => {
  const v6 = (text: string) => {
    // expand a full 8-group address into four words
    const g = text.split(':').map((h) => parseInt(h, 16));
    expect(g).toHaveLength(8);
    return [((g[0]! << 16) | g[1]!) >>> 0, ((g[2]! << 16) | g[3]!) >>> 0, ((g[4]! << 16) | g[5]!) >>> 0, ((g[6]! << 16) | g[7]!) >>> 0] as const;
  };

  it('prints IPv4 as a dotted quad', () => {
    expect(formatAddress(4, 0, 0, 0xffff, ipv4(10, 0, 0, 1))).toBe('10.0.0.1');
    expect(formatAddress(4, 0, 0, 0xffff, 0xffffffff)).toBe('255.255.255.255');
    expect(formatAddress(4, 0, 0, 0xffff, 0)).toBe('0.0.0.0');
  });

  it.each([
    ['0:0:0:0:0:0:0:1', '::1'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['2001:0db8:0:0:0:0:0:1', '2001:db8::1'],
    ['ff02:0:0:0:0:1:ff00:1', 'ff02::1:ff00:1'], // a run in the middle
    ['2001:0db8:0001:00ab:0000:0cde:0f00:000f', '2001:db8:1:ab:0:cde:f00:f'], // leading zeros go; a lone zero stays
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // equal runs: the first
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // the longest, wherever it is
    ['FE80:0:0:0:0200:5EFF:FE00:5301', 'fe80::200:5eff:fe00:5301'], // lower case
  ])('prints %s as %s (RFC 5952)', (full, text) => {
    expect(formatAddress(6, ...v6(full))).toBe(text);
  });

  const group = fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(1, 0xffff, 0xdb8) }, { weight: 1, arbitrary: fc.nat({ max: 0xffff }) });
  test.prop([fc.array(group, { minLength: 8, maxLength: 8 })], { numRuns: 500 })(
    'prints IPv6 as the WHATWG URL serializer does (the same RFC 5952 choices)',
    (g) => {
      const words = [0, 2, 4, 6].map((i) => ((g[i]! << 16) | g[i + 1]!) >>> 0) as [number, number, number, number];
      const url = new URL(`http://[${g.map((x) => x.toString(16)).join(':')}]/`);
      expect(`[${formatAddress(6, ...words)}]`).toBe(url.hostname);
    },
  );
});
