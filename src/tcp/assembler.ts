import { formatAddress, TCP_FIN, TCP_RST, TCP_SYN, TCP_ACK, type DecodedPacket } from '../decode/decode.js';
import { seqAdd, seqDiff } from './seq.js';
import {
  CLIENT_TO_SERVER,
  SERVER_TO_CLIENT,
  type CloseReason,
  type Connection,
  type Direction,
  type StreamAnalyzer,
} from './connection.js';
import { newTcpCounters, Stream, type TcpCounters, type TcpMode } from './stream.js';

export interface TcpOptions {
  mode: TcpMode;
  /** Ports of the monitored servers (packetbeat.protocols.redis.ports). */
  ports: readonly number[];
  /**
   * Idle time after which a connection is forgotten, in capture-time
   * nanoseconds; \`Infinity\`: never (packetbeat replaying with \`-t\`, whose
   * stream table expires on the wall clock, which a replay outruns).
   */
  streamTimeoutNs: number;
  maxBufferedBytes: number;
  maxBufferedSegments: number;
  /**
   * Open connections at most: a new one past it closes the least recently
   * seen (`evicted`, counted in `tcp.connections_evicted`), so memory is
   * bounded whatever the capture. packetbeat has no such bound.
   */
  maxConnections: number;
}

export const DEFAULT_TCP_OPTIONS: TcpOptions = {
  mode: 'reassemble',
  ports: [6379],
  // packetbeat's TCP stream expiry (protos/tcp/tcp.go: 10 s)
  streamTimeoutNs: 10_000_000_000,
  maxBufferedBytes: 1024 * 1024,
  maxBufferedSegments: 1024,
  // redis-server's default maxclients (redis.conf): one server's clients fit; a capture past it is warned of
  maxConnections: 10_000,
};

class Conn implements Connection {
  app: unknown = undefined;
  /** `reassemble` mode: the two directions, as fields (no array to load on the way to one); null in `packetbeat` mode. */
  readonly toServer: Stream | null = null;
  readonly toClient: Stream | null = null;
  /** Slot in the assembler's idle order while open; -1 once closed. */
  index = -1;
  hash = 0;
  sawData = false;
  /**
   * `packetbeat` mode: the last sequence seen each way (0: none), on the
   * connection, whose object is already in cache when its segment arrives.
   */
  lastSeqToServer = 0;
  lastSeqToClient = 0;

  /** The addresses as text, made when an event first asks (most connections of a busy capture never write one). */
  private clientText: string | null = null;
  private serverText: string | null = null;

  constructor(
    readonly id: number,
    readonly c0: number, readonly c1: number, readonly c2: number, readonly c3: number,
    readonly clientPort: number,
    readonly s0: number, readonly s1: number, readonly s2: number, readonly s3: number,
    readonly serverPort: number,
    private readonly ipVersion: number,
    analyzer: StreamAnalyzer,
    counters: TcpCounters,
    opts: TcpOptions,
  ) {
    if (opts.mode === 'packetbeat') return;
    this.toServer = new Stream(this, CLIENT_TO_SERVER, analyzer, counters, opts);
    this.toClient = new Stream(this, SERVER_TO_CLIENT, analyzer, counters, opts);
  }

  get clientIp(): string {
    return (this.clientText ??= formatAddress(this.ipVersion, this.c0, this.c1, this.c2, this.c3));
  }

  get serverIp(): string {
    return (this.serverText ??= formatAddress(this.ipVersion, this.s0, this.s1, this.s2, this.s3));
  }
}

/**
 * The TCP layer: finds the connection of each segment (hash table keyed on the
 * client/server 4-tuple, no allocation per packet), feeds its stream, and
 * expires idle connections on capture time (`FlushOlderThan`, never the wall clock).
 */
export class TcpAssembler {
  readonly counters: TcpCounters = newTcpCounters();
  private readonly serverPort = new Uint8Array(65536);
  /**
   * The connections, by open addressing on the 4-tuple's hash (linear
   * probing, deletion by backward shift): a typed array of hashes and an
   * array of connections, no Map lookup and no allocation per packet.
   */
  private slotHash = new Int32Array(1024);
  private slotConn: (Conn | null)[] = new Array<Conn | null>(1024).fill(null);
  /** The last packet's connection: the next packet is often on the same one. */
  private last: Conn | null = null;
  /**
   * Open connections in idle order (least recently seen first), as a list
   * linked by index in typed arrays, with each one's last capture time:
   * moving a connection to the newest end writes no other connection's
   * object (with a thousand connections interleaved, those are cache misses).
   */
  private older = new Int32Array(1024);
  private newer = new Int32Array(1024);
  private seenNs = new Float64Array(1024);
  private byIndex: (Conn | null)[] = new Array<Conn | null>(1024).fill(null);
  private readonly freeIndexes: number[] = [];
  private nextIndex = 0;
  private oldest = -1;
  private newest = -1;
  private nextId = 1;
  private nowNs = -Infinity;
  private readonly opts: TcpOptions;
  private readonly packetbeatMode: boolean;

  constructor(private readonly analyzer: StreamAnalyzer, opts: Partial<TcpOptions> = {}) {
    this.opts = { ...DEFAULT_TCP_OPTIONS, ...opts };
    for (const p of this.opts.ports) this.serverPort[p] = 1;
    this.packetbeatMode = this.opts.mode === 'packetbeat';
  }

  /**
   * Traffic on ports not monitored, by the port its server listens on: a
   * connection opened (a SYN to the port) counts 1 in `opened`; any segment
   * counts 1 in `segments` for the port a SYN went to, else for the lower of
   * its two ports (a capture that starts mid-connection has no SYN). Made on
   * the first such packet.
   */
  private opened: Uint32Array | null = null;
  private segments: Uint32Array | null = null;

  private unmonitored(pkt: DecodedPacket): void {
    if (this.opened === null) {
      this.opened = new Uint32Array(65536);
      this.segments = new Uint32Array(65536);
    }
    const opened = this.opened;
    if ((pkt.flags & (TCP_SYN | TCP_ACK)) === TCP_SYN) opened[pkt.dstPort]!++;
    const server = opened[pkt.dstPort]! > 0 ? pkt.dstPort : opened[pkt.srcPort]! > 0 ? pkt.srcPort : Math.min(pkt.srcPort, pkt.dstPort);
    this.segments![server]!++;
  }

  /** The busiest server ports among those not monitored, by segments; at most `n`, each with the connections opened to it. */
  busiestUnmonitored(n = 3): { port: number; segments: number; opened: number }[] {
    if (this.opened === null) return [];
    const segments = this.segments!;
    const ports: number[] = [];
    for (let p = 0; p < 65536; p++) if (segments[p]! > 0) ports.push(p);
    ports.sort((a, b) => segments[b]! - segments[a]! || a - b);
    return ports.slice(0, n).map((port) => ({ port, segments: segments[port]!, opened: this.opened![port]! }));
  }

  get maxConnections(): number {
    return this.opts.maxConnections;
  }

  process(pkt: DecodedPacket, tsNs: number): void {
    let dir: Direction;
    if (this.serverPort[pkt.dstPort]) dir = CLIENT_TO_SERVER;
    else if (this.serverPort[pkt.srcPort]) dir = SERVER_TO_CLIENT;
    else {
      this.counters['tcp.unmonitored_packets']++;
      this.unmonitored(pkt);
      return;
    }
    if (tsNs > this.nowNs) this.nowNs = tsNs;
    // packetbeat's stream table returns no connection idle past its timeout
    // (libbeat/common/cache.go get: \`!elem.IsExpired(now)\`): expire before the lookup
    if (this.oldest >= 0 && this.seenNs[this.oldest]! < this.nowNs - this.opts.streamTimeoutNs) this.expire(this.nowNs);
    const flags = pkt.flags;
    const len = pkt.payloadLength;
    let conn = this.last !== null && this.matches(this.last, pkt, dir) ? this.last : this.lookup(pkt, dir);
    let created = false;
    if (conn && !this.packetbeatMode && (flags & (TCP_SYN | TCP_ACK)) === TCP_SYN && conn.sawData) {
      // a new connection reuses the 4-tuple. packetbeat 5's tcp.go has no notion of a
      // SYN (protos/tcp/tcp.go:149: a segment without payload or FIN changes nothing), so
      // there the old connection's state and sequence numbers go on
      this.close(conn, 'reused', tsNs);
      conn = null;
    }
    if (!conn) {
      // a segment with nothing to say (a pure ACK, a RST) does not open a connection
      if (len === 0 && (flags & (TCP_SYN | TCP_FIN)) === 0) return;
      conn = this.create(pkt, dir, tsNs);
      created = true;
    } else {
      this.touch(conn);
    }
    this.last = conn;
    this.seenNs[conn.index] = tsNs;
    if (len > 0) conn.sawData = true;
    if (this.packetbeatMode) {
      this.segmentPacketbeat(conn, dir, created, pkt.seq, flags, pkt.buf, pkt.payloadOffset, len, tsNs);
    } else {
      (dir === CLIENT_TO_SERVER ? conn.toServer! : conn.toClient!).segmentReassemble(pkt.seq, flags, pkt.buf, pkt.payloadOffset, len, tsNs);
      if ((flags & TCP_RST) !== 0) this.close(conn, 'rst', tsNs);
      else if (conn.toServer!.finished && conn.toClient!.finished) this.close(conn, 'fin', tsNs);
    }
  }

  /**
   * packetbeat 5.x `TCP.Process` (`protos/tcp/tcp.go`) for one direction,
   * exactly: no reordering; a segment ending at or below the last sequence
   * is a retransmission; one starting above it is a gap (the analyzer drops
   * its state); an overlap is trimmed. A last sequence of 0 counts as "not
   * seen", as in packetbeat. `created`: this packet created the connection.
   */
  private segmentPacketbeat(conn: Conn, dir: Direction, created: boolean, seq: number, flags: number, buf: Buffer, off: number, len: number, tsNs: number): void {
    const fin = (flags & TCP_FIN) !== 0;
    if (len === 0 && !fin) return;
    const end = seqAdd(seq, len);
    const last = dir === CLIENT_TO_SERVER ? conn.lastSeqToServer : conn.lastSeqToClient;
    if (len > 0 && last !== 0) {
      if (seqDiff(end, last) <= 0) {
        this.counters['tcp.retransmitted_bytes'] += len;
        return;
      }
      const d = seqDiff(last, seq);
      if (d < 0) {
        if (!created) {
          this.counters['tcp.dropped_because_of_gaps']++;
          this.counters['tcp.gap_bytes'] += -d;
          this.analyzer.onGap(conn, dir, -d, tsNs);
        }
      } else if (d > 0) {
        this.counters['tcp.overlap_bytes'] += d;
        off += d;
        len -= d;
      }
    }
    if (dir === CLIENT_TO_SERVER) conn.lastSeqToServer = end;
    else conn.lastSeqToClient = end;
    if (len > 0) this.analyzer.onData(conn, dir, buf, off, len, tsNs);
    if (fin) this.analyzer.onFin(conn, dir, tsNs);
  }

  /** Forgets connections idle since before `nowNs - streamTimeout`. */
  expire(nowNs: number): void {
    const limit = nowNs - this.opts.streamTimeoutNs;
    while (this.oldest >= 0 && this.seenNs[this.oldest]! < limit) {
      this.counters['tcp.streams_expired']++;
      this.close(this.byIndex[this.oldest]!, 'expired', nowNs);
    }
  }

  /** End of capture: every connection still open is closed, oldest first. */
  closeAll(): void {
    const t = this.nowNs === -Infinity ? 0 : this.nowNs;
    while (this.oldest >= 0) this.close(this.byIndex[this.oldest]!, 'end_of_capture', t);
  }

  private close(conn: Conn, reason: CloseReason, tsNs: number): void {
    if (!this.packetbeatMode) {
      conn.toServer!.flush(tsNs);
      conn.toClient!.flush(tsNs);
    }
    this.unlink(conn);
    this.analyzer.onClose(conn, reason, tsNs);
  }

  private hashOf(c0: number, c1: number, c2: number, c3: number, cp: number, s0: number, s1: number, s2: number, s3: number, sp: number): number {
    let h = Math.imul(c3 ^ 0x9e3779b9, 0x85ebca6b);
    h = Math.imul(h ^ (cp | (sp << 16)), 0xc2b2ae35);
    h = Math.imul(h ^ s3, 0x27d4eb2f);
    h ^= c0 ^ c1 ^ c2 ^ s0 ^ s1 ^ s2;
    return (h ^ (h >>> 15)) & 0x3fffffff;
  }

  private matches(c: Conn, p: DecodedPacket, dir: Direction): boolean {
    return dir === CLIENT_TO_SERVER
      ? c.clientPort === p.srcPort && c.serverPort === p.dstPort && c.c3 === p.src3 && c.s3 === p.dst3 &&
          c.c0 === p.src0 && c.c1 === p.src1 && c.c2 === p.src2 && c.s0 === p.dst0 && c.s1 === p.dst1 && c.s2 === p.dst2
      : c.clientPort === p.dstPort && c.serverPort === p.srcPort && c.c3 === p.dst3 && c.s3 === p.src3 &&
          c.c0 === p.dst0 && c.c1 === p.dst1 && c.c2 === p.dst2 && c.s0 === p.src0 && c.s1 === p.src1 && c.s2 === p.src2;
  }

  private lookup(p: DecodedPacket, dir: Direction): Conn | null {
    const h =
      dir === CLIENT_TO_SERVER
        ? this.hashOf(p.src0, p.src1, p.src2, p.src3, p.srcPort, p.dst0, p.dst1, p.dst2, p.dst3, p.dstPort)
        : this.hashOf(p.dst0, p.dst1, p.dst2, p.dst3, p.dstPort, p.src0, p.src1, p.src2, p.src3, p.srcPort);
    const mask = this.slotHash.length - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const c = this.slotConn[i]!;
      if (c === null) return null;
      if (this.slotHash[i] === h && this.matches(c, p, dir)) return c;
    }
  }

  /** Adds `conn` (not yet given an index, so not yet counted open) to the table. */
  private insert(conn: Conn): void {
    if ((this.open() + 1) * 2 > this.slotHash.length) {
      // grow and rehash: at most half full keeps probes short
      const old = this.slotConn;
      this.slotHash = new Int32Array(old.length * 2);
      this.slotConn = new Array<Conn | null>(old.length * 2).fill(null);
      for (const c of old) if (c !== null) this.place(c);
    }
    this.place(conn);
  }

  private place(conn: Conn): void {
    const mask = this.slotHash.length - 1;
    let i = conn.hash & mask;
    while (this.slotConn[i] !== null) i = (i + 1) & mask;
    this.slotHash[i] = conn.hash;
    this.slotConn[i] = conn;
  }

  private remove(conn: Conn): void {
    const mask = this.slotHash.length - 1;
    let i = conn.hash & mask;
    while (this.slotConn[i] !== conn) {
      if (this.slotConn[i] === null) return;
      i = (i + 1) & mask;
    }
    this.slotConn[i] = null;
    // backward shift: pull later entries of the probe run into the hole unless their home lies after it
    for (let j = (i + 1) & mask; this.slotConn[j] !== null; j = (j + 1) & mask) {
      const home = this.slotHash[j]! & mask;
      const stays = i <= j ? home > i && home <= j : home > i || home <= j;
      if (stays) continue;
      this.slotHash[i] = this.slotHash[j]!;
      this.slotConn[i] = this.slotConn[j]!;
      this.slotConn[j] = null;
      i = j;
    }
  }

  private create(p: DecodedPacket, dir: Direction, tsNs: number): Conn {
    const toServer = dir === CLIENT_TO_SERVER;
    const c0 = toServer ? p.src0 : p.dst0, c1 = toServer ? p.src1 : p.dst1;
    const c2 = toServer ? p.src2 : p.dst2, c3 = toServer ? p.src3 : p.dst3;
    const s0 = toServer ? p.dst0 : p.src0, s1 = toServer ? p.dst1 : p.src1;
    const s2 = toServer ? p.dst2 : p.src2, s3 = toServer ? p.dst3 : p.src3;
    const cp = toServer ? p.srcPort : p.dstPort;
    const sp = toServer ? p.dstPort : p.srcPort;
    if (this.open() >= this.opts.maxConnections) {
      this.counters['tcp.connections_evicted']++;
      this.close(this.byIndex[this.oldest]!, 'evicted', tsNs);
    }
    const conn = new Conn(this.nextId++, c0, c1, c2, c3, cp, s0, s1, s2, s3, sp, p.ipVersion, this.analyzer, this.counters, this.opts);
    conn.hash = this.hashOf(c0, c1, c2, c3, cp, s0, s1, s2, s3, sp);
    this.insert(conn);
    let i = this.freeIndexes.pop();
    if (i === undefined) {
      i = this.nextIndex++;
      if (i === this.older.length) this.growIndexes();
    }
    conn.index = i;
    this.byIndex[i] = conn;
    this.appendNewest(i);
    this.counters['tcp.connections']++;
    return conn;
  }

  /** Connections open now (each holds an index). */
  private open(): number {
    return this.nextIndex - this.freeIndexes.length;
  }

  private growIndexes(): void {
    const n = this.older.length * 2;
    const older = new Int32Array(n);
    const newer = new Int32Array(n);
    const seenNs = new Float64Array(n);
    older.set(this.older);
    newer.set(this.newer);
    seenNs.set(this.seenNs);
    this.older = older;
    this.newer = newer;
    this.seenNs = seenNs;
    const byIndex = new Array<Conn | null>(n).fill(null);
    for (let i = 0; i < this.byIndex.length; i++) byIndex[i] = this.byIndex[i]!;
    this.byIndex = byIndex;
  }

  private appendNewest(i: number): void {
    this.older[i] = this.newest;
    this.newer[i] = -1;
    if (this.newest >= 0) this.newer[this.newest] = i;
    else this.oldest = i;
    this.newest = i;
  }

  private touch(conn: Conn): void {
    const i = conn.index;
    if (this.newest === i) return;
    this.detachIdle(i);
    this.appendNewest(i);
  }

  private detachIdle(i: number): void {
    const o = this.older[i]!;
    const n = this.newer[i]!;
    if (o >= 0) this.newer[o] = n;
    else this.oldest = n;
    if (n >= 0) this.older[n] = o;
    else this.newest = o;
  }

  private unlink(conn: Conn): void {
    const i = conn.index;
    this.detachIdle(i);
    this.byIndex[i] = null;
    this.freeIndexes.push(i);
    conn.index = -1;
    this.remove(conn);
    if (this.last === conn) this.last = null;
  }
}
