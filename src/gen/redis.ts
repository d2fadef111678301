import { writeWhole } from '../pipeline/ndjson.js';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN } from '../decode/decode.js';
import { encodedLength, encodeSegment, type SegmentSpec } from '../decode/encode.js';
import { MAX_CAPLEN } from '../pcap/reader.js';
import { ConfigError } from '../profiles/values.js';
import { PcapWriter } from '../pcap/writer.js';
import { encodeValue, type RespValue } from '../redis/encode.js';
import { Random } from '../sim/random.js';
import {
  bigValueCommand, blockingPop, inlineCommand, monitorLine, nil, pubsubSession, replyBytes, requestBytes, text, unknownCommand, type Cmd,
} from './kinds.js';

/** What `lockstep gen redis` makes. Same options → same bytes. */
export interface GenOptions {
  /** Request/response pairs in the capture, besides those the faults below add. */
  transactions: number;
  connections: number;
  /** Largest pipelined batch (1 = no pipelining). */
  pipeline: number;
  port: number;
  seed: number;
  /** Transactions per second: sets the capture's duration. */
  rate: number;
  /** Responses at the start whose requests were sent before the capture began. */
  midstream: number;
  /** Lost segments: the first segment of a connection's last (two-segment) response is missing. */
  gaps: number;
  /** Data segments sent again (spurious retransmissions). */
  retransmissions: number;
  /** Segments captured twice in a row. */
  duplicates: number;
  /** Two-segment responses whose segments arrive swapped. */
  reorder: number;
  /** Share of connections that speak RESP3 (HELLO 3). */
  resp3: number;
  /** Requests still unanswered when the capture ends. */
  tail: number;
  /** Pad with pure ACKs (and size the workload) to exactly this many packets. */
  packets?: number;
  /** Capture start, seconds since the epoch. */
  startTime: number;
  ipv6: boolean;
  nanos: boolean;
  mss: number;
  /**
   * `redis`: today's commands, some of them missing from packetbeat 5's
   * command table (FLUSHSLOTS, LATENCY DOCTOR). `packetbeat5`: only commands
   * in that table, so packetbeat 5 pairs every request (the same draws: only
   * those two commands differ).
   */
  commands: 'redis' | 'packetbeat5';
  /**
   * Commands packetbeat 5 misreads (`gen/kinds.ts`): not in its table
   * (HSETNX, UNLINK, HELLO, …), two-word (CONFIG GET, CLIENT LIST, …), known
   * ones in lower case, replies starting with a command word; each put in a
   * random exchange's batch.
   */
  unknown: number;
  /** Inline commands (`PING\r\n`, `SET k v\r\n`), each put in a random exchange's batch. */
  inline: number;
  /** Extra connections that (P)SUBSCRIBE, get messages (arrays; pushes on RESP3) and unsubscribe. */
  pubsub: number;
  /** Extra connections that send MONITOR and get the server's command lines. */
  monitor: number;
  /** Exchanges with a value of about 10 MiB or more, at and over packetbeat's stream limit (a SET's, or a GET's reply). */
  big: number;
  /** Extra connections, each on the 4-tuple of an earlier, closed one (SYN, fresh ISNs, FIN). */
  reuse: number;
  /** Idle gaps over 10 s: a BLPOP answered 10.5–20 s later, or a connection idle that long before a request. */
  idle: number;
}

export const GEN_DEFAULTS: GenOptions = {
  transactions: 1000,
  connections: 8,
  pipeline: 1,
  port: 6379,
  seed: 1,
  rate: 2400,
  midstream: 0,
  gaps: 0,
  retransmissions: 0,
  duplicates: 0,
  reorder: 0,
  resp3: 0,
  tail: 0,
  startTime: 1482404843, // 2016-12-22T11:07:23Z, the capture in elastic/beats#3404
  ipv6: false,
  nanos: false,
  mss: 1448,
  commands: 'redis',
  unknown: 0,
  inline: 0,
  pubsub: 0,
  monitor: 0,
  big: 0,
  reuse: 0,
  idle: 0,
};

/**
 * The capture of elastic/beats#3404: 72,257 packets, Redis on port 7101,
 * about ten seconds from many connections, 23 responses whose requests came
 * before the capture started, and 4 lost segments.
 */
export const PRESETS: Record<string, Partial<GenOptions>> = {
  'issue-3404': {
    packets: 72_257,
    port: 7101,
    connections: 120,
    pipeline: 1,
    rate: 2800,
    midstream: 23,
    gaps: 4,
    retransmissions: 6,
    duplicates: 3,
    seed: 3404,
    // the report's redis.unmatched_responses=23 and tcp.dropped_because_of_gaps=4 are packetbeat 5's own counts
    commands: 'packetbeat5',
  },
};

type Fault = 'none' | 'gap' | 'reorder';

interface Exchange {
  cmds: Cmd[];
  fault: Fault;
  retransmit: boolean;
  duplicate: boolean;
  padAck: boolean;
  push: RespValue | null;
  /** A server-only exchange (`cmds` empty): what the server sends unasked (pub/sub messages, MONITOR lines). */
  unasked: Buffer[];
  /** Extra idle time before the request, and before the response (a blocking command). */
  idleNs: number;
  serviceNs: number;
}

/** The opt-in kinds that add connections. */
type ExtraKind = 'pubsub' | 'monitor' | 'reuse';

interface ConnPlan {
  idx: number;
  /** The client address and port it uses (`idx`, unless it reuses an earlier connection's). */
  client: number;
  /** The connection whose 4-tuple this one reuses: it starts after that one's FIN. */
  after: ConnPlan | null;
  /** When its last packet is sent (set by the layout). */
  endNs: number;
  /** An extra connection of an opt-in kind. */
  kind: ExtraKind | null;
  resp3: boolean;
  midstream: RespValue[];
  exchanges: Exchange[];
  tail: Cmd[];
}

/** What went into a capture, and so what `analyze` must find in it, per TCP mode. */
/** The manifest's shape: a cached scenario whose manifest is older is made again. */
export const MANIFEST_VERSION = 2;

export interface GenManifest {
  generator: string;
  version: number;
  options: GenOptions;
  packets: number;
  connections: number;
  durationNs: number;
  transactions: { reassemble: number; packetbeat: number };
  byMethod: { reassemble: Record<string, number>; packetbeat: Record<string, number> };
  unmatchedResponses: number;
  unmatchedRequests: { reassemble: number; packetbeat: number };
  gaps: { reassemble: number; packetbeat: number };
  parseErrors: { reassemble: number; packetbeat: number };
  pushMessages: number;
  retransmissions: number;
  duplicates: number;
  reordered: number;
  paddingAcks: number;
  /** The opt-in kinds that went in (reused connections can be fewer than asked: only closed ones are reused). */
  kinds: {
    unknown: number;
    inline: number;
    pubsubConnections: number;
    pubsubMessages: number;
    monitorConnections: number;
    monitorLines: number;
    big: number;
    reusedConnections: number;
    idle: number;
  };
  /**
   * Kinds in this capture whose effect on the lossless view the counts above
   * do not predict, per TCP mode: the counts take every request as answered by
   * its replies, which those kinds break (`expectManifest` refuses such a
   * capture). Unknown commands are predicted (the lossless view pairs by
   * direction); reused 4-tuples too in `reassemble` mode, where a SYN opens a
   * new connection.
   */
  unpredicted: { reassemble: string[]; packetbeat: string[] };
  /**
   * What packetbeat 5's own analyzer finds in it (`analyze --as packetbeat5`,
   * TCP as packetbeat): the packetbeat-mode counts above, when the capture
   * holds nothing packetbeat 5 reads otherwise; `unpredicted` names what it
   * does hold (RESP3 replies, commands missing from its table, the opt-in
   * kinds), and then the three counts are not a prediction.
   */
  packetbeat5: { events: number; unmatchedResponses: number; gaps: number; unpredicted: string[] };
}

/** Kinds whose effect on the lossless view a manifest does not predict, per TCP mode (see {@link GenManifest.unpredicted}). */
const UNPREDICTED: Record<'reassemble' | 'packetbeat', readonly (keyof GenManifest['kinds'])[]> = {
  // pub/sub and MONITOR: the lossless view pairs a (P)SUBSCRIBE with its first confirmation and counts
  // the feed apart, which these counts do not model yet; idle gaps depend on capture-time expiry
  reassemble: ['pubsubConnections', 'monitorConnections', 'idle'],
  // and in packetbeat mode a reused 4-tuple goes on with the old connection's sequence numbers (tcp.go never sees the SYN)
  packetbeat: ['pubsubConnections', 'monitorConnections', 'idle', 'reusedConnections'],
};

// ---- workload ----

function valueSize(rng: Random, mss: number): number {
  return rng.chance(0.06) ? rng.int(mss + 64, 2 * mss + 600) : rng.int(8, 96);
}

function command(rng: Random, resp3: boolean, mss: number, commands: GenOptions['commands']): Cmd {
  const key = `key:${rng.int(0, 9999)}`;
  const r = rng.float();
  if (r < 0.3) return { args: ['SET', key, text(rng, valueSize(rng, mss))], reply: { t: 'simple', s: 'OK' } };
  if (r < 0.52) return { args: ['GET', key], reply: { t: 'bulk', s: text(rng, valueSize(rng, mss)) } };
  if (r < 0.57) return { args: ['GET', `missing:${rng.int(0, 999)}`], reply: nil(resp3) };
  if (r < 0.65) return { args: ['INCR', `counter:${rng.int(0, 99)}`], reply: { t: 'int', n: rng.int(1, 100000) } };
  if (r < 0.7) return { args: ['LPUSH', `list:${rng.int(0, 99)}`, text(rng, 12)], reply: { t: 'int', n: rng.int(1, 500) } };
  if (r < 0.74) {
    const n = rng.int(0, 4);
    const items: RespValue[] = [];
    for (let i = 0; i < n; i++) items.push({ t: 'bulk', s: text(rng, 12) });
    return { args: ['LRANGE', `list:${rng.int(0, 99)}`, '0', String(n - 1)], reply: { t: 'array', items } };
  }
  if (r < 0.78) return { args: ['HSET', `hash:${rng.int(0, 99)}`, 'field', text(rng, 10)], reply: { t: 'int', n: rng.int(0, 1) } };
  if (r < 0.81) {
    const pairs: [RespValue, RespValue][] = [];
    const n = rng.int(1, 3);
    for (let i = 0; i < n; i++) pairs.push([{ t: 'bulk', s: `f${i}` }, { t: 'bulk', s: text(rng, 8) }]);
    const reply: RespValue = resp3 ? { t: 'map', entries: pairs } : { t: 'array', items: pairs.flat() };
    return { args: ['HGETALL', `hash:${rng.int(0, 99)}`], reply };
  }
  if (r < 0.84) {
    return {
      args: ['MGET', key, `missing:${rng.int(0, 99)}`, `key:${rng.int(0, 9999)}`],
      reply: { t: 'array', items: [{ t: 'bulk', s: text(rng, 10) }, nil(resp3), { t: 'bulk', s: text(rng, 10) }] },
    };
  }
  if (r < 0.87) return { args: ['DEL', key], reply: { t: 'int', n: rng.int(0, 1) } };
  if (r < 0.89) return { args: ['EXPIRE', key, '60'], reply: { t: 'int', n: 1 } };
  if (r < 0.91) {
    return {
      args: ['LLEN', key],
      reply: { t: 'error', s: 'WRONGTYPE Operation against a key holding the wrong kind of value' },
    };
  }
  if (r < 0.94) return { args: ['PING'], reply: { t: 'simple', s: 'PONG' } };
  if (r < 0.95) {
    if (commands === 'packetbeat5') return { args: ['SETEX', key, 'soon', 'v'], reply: { t: 'error', s: 'ERR value is not an integer or out of range' } };
    return {
      args: ['FLUSHSLOTS', key],
      reply: { t: 'error', s: `ERR unknown command 'FLUSHSLOTS', with args beginning with: '${key}' ` },
    };
  }
  if (r < 0.97) {
    const score = `${rng.int(0, 999)}.5`;
    return { args: ['ZSCORE', `zset:${rng.int(0, 9)}`, 'member'], reply: resp3 ? { t: 'double', s: score } : { t: 'bulk', s: score } };
  }
  if (r < 0.99) {
    const items: RespValue[] = [{ t: 'bulk', s: text(rng, 6) }, { t: 'bulk', s: text(rng, 6) }];
    return { args: ['SMEMBERS', `set:${rng.int(0, 9)}`], reply: resp3 ? { t: 'set', items } : { t: 'array', items } };
  }
  if (commands === 'packetbeat5') return { args: ['INFO', 'latencystats'], reply: { t: 'bulk', s: '# Latencystats' } };
  return {
    args: ['LATENCY', 'DOCTOR'],
    reply: resp3 ? { t: 'verbatim', s: 'Dave, no latency spike was observed.' } : { t: 'bulk', s: 'Dave, no latency spike was observed.' },
  };
}

const HELLO: Cmd = {
  args: ['HELLO', '3'],
  reply: {
    t: 'map',
    entries: [
      [{ t: 'bulk', s: 'server' }, { t: 'bulk', s: 'redis' }],
      [{ t: 'bulk', s: 'version' }, { t: 'bulk', s: '7.0.15' }],
      [{ t: 'bulk', s: 'proto' }, { t: 'int', n: 3 }],
      [{ t: 'bulk', s: 'mode' }, { t: 'bulk', s: 'standalone' }],
      [{ t: 'bulk', s: 'role' }, { t: 'bulk', s: 'master' }],
      [{ t: 'bulk', s: 'modules' }, { t: 'array', items: [] }],
    ],
  },
};

const PING: Cmd = { args: ['PING'], reply: { t: 'simple', s: 'PONG' } };

/** A GET answered by a bulk string that needs exactly two segments; its value starts the second one mid-string. */
function bigGet(rng: Random, mss: number): Cmd {
  return { args: ['GET', `big:${rng.int(0, 999)}`], reply: { t: 'bulk', s: text(rng, rng.int(mss + 16, 2 * mss - 64)) } };
}

function newExchange(cmds: Cmd[], fault: Fault = 'none'): Exchange {
  return { cmds, fault, retransmit: false, duplicate: false, padAck: false, push: null, unasked: [], idleNs: 0, serviceNs: 0 };
}

function newConn(idx: number, resp3: boolean, kind: ExtraKind | null = null): ConnPlan {
  return { idx, client: idx, after: null, endNs: 0, kind, resp3, midstream: [], exchanges: [], tail: [] };
}

/** Distinct random indices, in increasing order. */
function choose(rng: Random, n: number, k: number): number[] {
  const picked = new Set<number>();
  const want = Math.min(k, n);
  while (picked.size < want) picked.add(rng.int(0, n - 1));
  return [...picked].sort((a, b) => a - b);
}

function plan(o: GenOptions, transactions: number): ConnPlan[] {
  const rng = new Random(o.seed, 'gen.workload');
  const faults = new Random(o.seed, 'gen.faults');
  const conns: ConnPlan[] = [];
  for (let i = 0; i < o.connections; i++) {
    conns.push(newConn(i, faults.chance(o.resp3)));
  }
  for (let i = 0; i < o.midstream; i++) {
    conns[i % conns.length]!.midstream.push({ t: 'simple', s: 'OK' });
  }
  for (const c of conns) if (c.resp3 && c.midstream.length === 0) c.exchanges.push(newExchange([HELLO]));
  let count = conns.reduce((n, c) => n + c.exchanges.length, 0);
  while (count < transactions) {
    const c = conns[rng.u32() % conns.length]!;
    const k = o.pipeline > 1 && rng.chance(0.35) ? rng.int(2, Math.min(o.pipeline, transactions - count)) : 1;
    const cmds: Cmd[] = [];
    for (let i = 0; i < k; i++) cmds.push(command(rng, c.resp3, o.mss, o.commands));
    const ex = newExchange(cmds);
    if (c.resp3 && rng.chance(0.05)) {
      ex.push = { t: 'push', items: [{ t: 'bulk', s: 'invalidate' }, { t: 'array', items: [{ t: 'bulk', s: cmds[0]!.args[1] ?? 'key' }] }] };
    }
    c.exchanges.push(ex);
    count += k;
  }
  // faults: reordered responses anywhere, lost segments on a connection's last exchange
  // packetbeat only sees a gap once the direction has carried data (tcp.go: lastSeq != 0), so a
  // faulty response always follows an earlier one: a PING is added where the connection has none
  const ensureEarlierReply = (c: ConnPlan): void => {
    if (c.midstream.length === 0 && c.exchanges.length === 0) c.exchanges.push(newExchange([PING]));
  };
  for (let i = 0; i < o.reorder; i++) {
    const c = conns[faults.u32() % conns.length]!;
    ensureEarlierReply(c);
    const first = c.midstream.length > 0 ? 0 : 1;
    c.exchanges.splice(faults.int(first, c.exchanges.length), 0, newExchange([bigGet(faults, o.mss)], 'reorder'));
  }
  const open = choose(faults, conns.length, o.tail > 0 ? Math.min(o.tail, conns.length) : 0);
  for (let i = 0; i < o.tail; i++) conns[open[i % open.length]!]!.tail.push(command(faults, conns[open[i % open.length]!]!.resp3, o.mss, o.commands));
  const closed = conns.filter((c) => c.tail.length === 0);
  for (const i of choose(faults, closed.length, o.gaps)) {
    ensureEarlierReply(closed[i]!);
    closed[i]!.exchanges.push(newExchange([bigGet(faults, o.mss)], 'gap'));
  }
  const plain: Exchange[] = [];
  for (const c of conns) for (const e of c.exchanges) if (e.fault === 'none') plain.push(e);
  for (const i of choose(faults, plain.length, o.retransmissions)) plain[i]!.retransmit = true;
  for (const i of choose(faults, plain.length, o.duplicates)) plain[i]!.duplicate = true;
  addKinds(o, conns, new Random(o.seed, 'gen.kinds'));
  return conns;
}

const S = 1_000_000_000;

/**
 * The opt-in kinds, after everything else is planned and from a stream of
 * their own, so that a capture without them is the same bytes as before they existed.
 */
function addKinds(o: GenOptions, conns: ConnPlan[], rng: Random): void {
  const base = conns.slice();
  // where a new exchange may go in a connection: anywhere before a lost segment's, which stays last
  const insertAt = (c: ConnPlan): number => {
    const n = c.exchanges.length;
    return rng.int(0, n > 0 && c.exchanges[n - 1]!.fault === 'gap' ? n - 1 : n);
  };
  const intoBatch = (make: (resp3: boolean) => Cmd): void => {
    const c = base[rng.u32() % base.length]!;
    const open = c.exchanges.filter((e) => e.fault === 'none');
    const cmd = make(c.resp3);
    if (open.length === 0) c.exchanges.splice(insertAt(c), 0, newExchange([cmd]));
    else {
      const ex = rng.pick(open);
      ex.cmds.splice(rng.int(0, ex.cmds.length), 0, cmd);
    }
  };
  for (let i = 0; i < o.unknown; i++) intoBatch((resp3) => unknownCommand(rng, resp3));
  for (let i = 0; i < o.inline; i++) intoBatch(() => inlineCommand(rng));
  for (let i = 0; i < o.big; i++) {
    const c = base[rng.u32() % base.length]!;
    // half the time pipelined with a command after it, whose bytes share the value's last segment
    const cmds = [bigValueCommand(rng)];
    if (rng.chance(0.5)) cmds.push(command(rng, c.resp3, o.mss, o.commands));
    c.exchanges.splice(insertAt(c), 0, newExchange(cmds));
  }
  for (let i = 0; i < o.idle; i++) {
    const c = base[rng.u32() % base.length]!;
    const wait = rng.int(10.5 * S, 20 * S);
    const open = c.exchanges.filter((e) => e.fault === 'none' && e.idleNs === 0);
    if (open.length > 0 && rng.chance(0.5)) {
      const ex = rng.pick(open);
      ex.idleNs = wait;
    } else {
      const ex = newExchange([blockingPop(rng)]);
      ex.serviceNs = wait;
      c.exchanges.splice(insertAt(c), 0, ex);
    }
  }
  const hello = (c: ConnPlan) => {
    if (c.resp3) c.exchanges.push(newExchange([HELLO]));
  };
  for (let i = 0; i < o.pubsub; i++) {
    const c = newConn(conns.length, rng.chance(o.resp3), 'pubsub');
    hello(c);
    const session = pubsubSession(rng, c.resp3);
    c.exchanges.push(newExchange([session.subscribe]));
    for (const burst of session.messages) {
      const ex = newExchange([]);
      ex.unasked = burst;
      c.exchanges.push(ex);
    }
    c.exchanges.push(newExchange([session.unsubscribe]));
    if (rng.chance(0.5)) c.exchanges.push(newExchange([PING]));
    conns.push(c);
  }
  for (let i = 0; i < o.monitor; i++) {
    const c = newConn(conns.length, rng.chance(o.resp3), 'monitor');
    hello(c);
    c.exchanges.push(newExchange([{ args: ['MONITOR'], reply: { t: 'simple', s: 'OK' } }]));
    const bursts = rng.int(1, 5);
    for (let b = 0; b < bursts; b++) {
      const ex = newExchange([]);
      const k = rng.int(1, 3);
      for (let j = 0; j < k; j++) ex.unasked.push(monitorLine(rng, o.startTime));
      c.exchanges.push(ex);
    }
    conns.push(c);
  }
  for (let i = 0; i < o.reuse; i++) {
    const closed = conns.filter((c) => c.tail.length === 0);
    if (closed.length === 0) break;
    const first = closed[rng.u32() % closed.length]!;
    // the last connection on that 4-tuple so far
    let prev = first;
    for (const c of conns) if (c.client === first.client) prev = c;
    const c = newConn(conns.length, rng.chance(o.resp3), 'reuse');
    c.client = first.client;
    c.after = prev;
    hello(c);
    const k = rng.int(1, 4);
    for (let j = 0; j < k; j++) c.exchanges.push(newExchange([command(rng, c.resp3, o.mss, o.commands)]));
    conns.push(c);
  }
}

// ---- packets ----

interface Packet {
  ts: number;
  conn: number;
  order: number;
  toServer: boolean;
  flags: number;
  seq: number;
  ack: number;
  payload: Buffer;
  off: number;
  len: number;
}

const EMPTY = Buffer.alloc(0);

/**
 * How many array header lines (`*N\r\n`, at any depth) of `data`, whole RESP
 * messages, a cut every `mss` bytes falls strictly inside. packetbeat 5 takes
 * an array header without its CRLF for an error, not a wait, and drops the
 * direction (redis_parse.go parseArray), which no count of the manifest
 * models; a cut anywhere else only makes it wait for the next segment.
 */
export function arrayHeaderCuts(data: Buffer, mss: number): number {
  if (data.length <= mss) return 0;
  let cuts = 0;
  const lineEnd = (p: number) => {
    const i = data.indexOf('\r\n', p, 'latin1');
    return i < 0 ? data.length : i + 2;
  };
  // a value from `p`, returning where it ends: any RESP2/RESP3 type (aggregates by their counts)
  const walk = (p: number): number => {
    const type = data[p];
    const end = lineEnd(p);
    const n = Number(data.toString('latin1', p + 1, end - 2));
    switch (type) {
      case 0x2a: // *
        if (Math.floor(p / mss) !== Math.floor((end - 1) / mss)) cuts++;
        return items(end, n);
      case 0x7e: // ~ set
      case 0x3e: // > push
        return items(end, n);
      case 0x25: // % map
      case 0x7c: // | attribute (then the value it annotates)
        return type === 0x7c ? walk(items(end, 2 * n)) : items(end, 2 * n);
      case 0x24: // $
      case 0x3d: // = verbatim
      case 0x21: // ! blob error
        return n < 0 ? end : end + n + 2;
      default:
        return end;
    }
  };
  const items = (p: number, n: number): number => {
    for (let i = 0; i < n && p < data.length; i++) p = walk(p);
    return p;
  };
  for (let p = 0; p < data.length; ) p = walk(p);
  return cuts;
}

class Layout {
  readonly packets: Packet[] = [];
  /** Array headers of the data sent that a segment boundary cuts (see {@link arrayHeaderCuts}). */
  headerCuts = 0;
  private order = 0;
  constructor(private readonly mss: number) {}

  /** The packets of one connection, built in time order. */
  conn(idx: number) {
    const self = this;
    let cseq = 0;
    let sseq = 0;
    return {
      init(c: number, s: number) {
        cseq = c;
        sseq = s;
      },
      /** Sends `data` in MSS-sized segments; returns the packets, not yet advanced past `skip`. */
      send(toServer: boolean, ts: number, data: Buffer, spacing: number, emit: (seg: Packet, i: number) => boolean): number {
        self.headerCuts += arrayHeaderCuts(data, self.mss);
        let i = 0;
        for (let off = 0; off < data.length; off += self.mss, i++) {
          const len = Math.min(self.mss, data.length - off);
          const seq = toServer ? cseq : sseq;
          const p: Packet = {
            ts: ts + i * spacing, conn: idx, order: 0, toServer, flags: TCP_ACK | TCP_PSH,
            seq, ack: toServer ? sseq : cseq + 0, payload: data, off, len,
          };
          if (toServer) cseq = (cseq + len) >>> 0;
          else sseq = (sseq + len) >>> 0;
          if (emit(p, i)) self.add(p);
        }
        return ts + i * spacing;
      },
      control(toServer: boolean, ts: number, flags: number): Packet {
        const p: Packet = {
          ts, conn: idx, order: 0, toServer, flags, seq: toServer ? cseq : sseq, ack: toServer ? sseq : cseq,
          payload: EMPTY, off: 0, len: 0,
        };
        if (flags & (TCP_SYN | TCP_FIN)) {
          if (toServer) cseq = (cseq + 1) >>> 0;
          else sseq = (sseq + 1) >>> 0;
        }
        self.add(p);
        return p;
      },
    };
  }

  add(p: Packet): void {
    p.order = this.order++;
    this.packets.push(p);
  }

  copyLater(p: Packet, ts: number): void {
    this.add({ ...p, ts });
  }
}

const US = 1000;

function layout(o: GenOptions, conns: ConnPlan[], transactions: number, padAcks: number): Layout {
  const time = new Random(o.seed, 'gen.time');
  const out = new Layout(o.mss);
  const durationNs = Math.max(1, Math.round((transactions / o.rate) * 1e9));
  // padding ACKs go to evenly spaced exchanges, so their count is exact
  const all: Exchange[] = [];
  for (const c of conns) for (const e of c.exchanges) if (e.fault === 'none') all.push(e);
  for (let i = 0; i < padAcks; i++) all[Math.floor(((i + 0.5) * all.length) / padAcks)]!.padAck = true;
  for (const c of conns) {
    const l = out.conn(c.idx);
    // a connection on a reused 4-tuple opens 1-50 ms after the one before it closed
    const start = c.after ? c.after.endNs + Math.round(US * 1000 * (1 + 49 * time.float())) : Math.floor(time.float() * durationNs * 0.02);
    let think = (durationNs - start) / (c.exchanges.length + c.tail.length + 1);
    if (c.after) think = Math.max(200 * US, think);
    l.init(time.u32(), time.u32());
    let t = start;
    if (c.midstream.length > 0) {
      const data = Buffer.concat(c.midstream.map(encodeValue));
      t = l.send(false, t, data, 3 * US, () => true);
      l.control(true, t + 40 * US, TCP_ACK);
    } else {
      l.control(true, t, TCP_SYN);
      l.control(false, t + 30 * US, TCP_SYN | TCP_ACK);
      l.control(true, t + 60 * US, TCP_ACK);
      t += 60 * US;
    }
    for (const ex of c.exchanges) {
      t += Math.max(50 * US, Math.round(time.exponential(think))) + ex.idleNs;
      if (ex.cmds.length === 0) {
        // the server speaks unasked; the client acknowledges
        for (const data of ex.unasked) t = l.send(false, t, data, 4 * US, () => true) + 30 * US;
        l.control(true, t, TCP_ACK);
        continue;
      }
      const req = Buffer.concat(ex.cmds.map(requestBytes));
      const firstReq: Packet[] = [];
      t = l.send(true, t, req, 4 * US, (p, i) => {
        if (i === 0) firstReq.push(p);
        return true;
      });
      if (ex.padAck) l.control(false, t + 10 * US, TCP_ACK);
      const service = 20 * US + time.int(0, 180) * US + ex.serviceNs;
      const resp = Buffer.concat(ex.cmds.map(replyBytes));
      const segs: Packet[] = [];
      const respStart = t + service;
      t = l.send(false, respStart, resp, 4 * US, (p, i) => {
        segs.push(p);
        if (ex.fault === 'gap' && i === 0) return false;
        return true;
      });
      if (ex.fault === 'reorder') {
        // the second segment overtakes the first
        segs[1]!.ts = respStart;
        segs[0]!.ts = respStart + 4 * US;
      }
      if (ex.duplicate) out.copyLater(segs[0]!, segs[0]!.ts + 1 * US);
      if (ex.retransmit) out.copyLater(firstReq[0]!, t + 20 * US);
      t += 40 * US;
      l.control(true, t, TCP_ACK);
      if (ex.push) {
        t += 30 * US;
        l.send(false, t, encodeValue(ex.push), 4 * US, () => true);
      }
    }
    if (c.tail.length > 0) {
      for (const cmd of c.tail) {
        t += Math.max(50 * US, Math.round(time.exponential(think)));
        t = l.send(true, t, requestBytes(cmd), 4 * US, () => true);
      }
      continue;
    }
    t += Math.max(50 * US, Math.round(time.exponential(think)));
    l.control(true, t, TCP_FIN | TCP_ACK);
    l.control(false, t + 30 * US, TCP_FIN | TCP_ACK);
    l.control(true, t + 60 * US, TCP_ACK);
    c.endNs = t + 60 * US;
  }
  out.packets.sort((a, b) => a.ts - b.ts || a.conn - b.conn || a.order - b.order);
  return out;
}

/** Packets a plan makes, without encoding them (for sizing to an exact count). */
function packetCount(o: GenOptions, conns: ConnPlan[]): number {
  let n = 0;
  const segs = (bytes: number): number => Math.ceil(bytes / o.mss);
  for (const c of conns) {
    if (c.midstream.length > 0) n += segs(c.midstream.reduce((s, v) => s + encodeValue(v).length, 0)) + 1;
    else n += 3;
    for (const ex of c.exchanges) {
      if (ex.cmds.length === 0) {
        for (const data of ex.unasked) n += segs(data.length);
        n++;
        continue;
      }
      n += segs(ex.cmds.reduce((s, cmd) => s + requestBytes(cmd).length, 0));
      n += segs(ex.cmds.reduce((s, cmd) => s + replyBytes(cmd).length, 0));
      if (ex.fault === 'gap') n--;
      n += 1 + (ex.retransmit ? 1 : 0) + (ex.duplicate ? 1 : 0);
      if (ex.push) n += segs(encodeValue(ex.push).length);
    }
    for (const cmd of c.tail) n += segs(requestBytes(cmd).length);
    if (c.tail.length === 0) n += 3;
  }
  return n;
}

function resolve(o: GenOptions): { transactions: number; pad: number } {
  if (o.packets === undefined) return { transactions: o.transactions, pad: 0 };
  const target = o.packets;
  const count = (t: number): number => packetCount(o, plan(o, t));
  const floor = count(0);
  if (floor > target) throw new ConfigError('packets', `at least ${floor}, what the connections and faults alone need`, target);
  // Packets grow almost linearly with transactions: secant steps toward the target from below,
  // then pure ACKs make up the last few packets. Each probe is a whole plan, so take few.
  let lo = 0;
  let loCount = floor;
  let hi = -1;
  let hiCount = 0;
  for (let probes = 0; probes < 40 && target - loCount > 8; probes++) {
    const slope = hi < 0 ? 3 : Math.max(1e-3, (hiCount - loCount) / (hi - lo));
    let t = lo + Math.max(1, Math.floor(((target - loCount) / slope) * 0.995));
    if (hi >= 0 && t >= hi) t = Math.floor((lo + hi) / 2);
    if (t <= lo) break;
    const c = count(t);
    if (c <= target) {
      lo = t;
      loCount = c;
    } else {
      hi = t;
      hiCount = c;
    }
  }
  return { transactions: lo, pad: target - loCount };
}

function addressWords(o: GenOptions, host: number): [number, number, number, number] {
  // clients 10.1.x.y / fd00::1:x:y, server 10.0.0.1 / fd00::1
  if (o.ipv6) return [0xfd000000, 0, 0, host];
  return [0, 0, 0xffff, host === 1 ? 0x0a000001 : (0x0a010000 | host) >>> 0];
}

function tally(into: Record<string, number>, cmds: Cmd[]): void {
  for (const c of cmds) {
    const m = c.args[0]!.toUpperCase();
    into[m] = (into[m] ?? 0) + 1;
  }
}

function sorted(r: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Generates the capture and its manifest; writes `out` and `out.manifest.json`. */
/**
 * The largest capture gen makes: it is built in memory, about 2 KB a
 * transaction (1,000,000 transactions: a 362 MB capture, 2.0 GB of memory,
 * 13.7 s here). Larger sizes are refused, naming the option.
 */
export const GEN_LIMITS = { transactions: 1_000_000, packets: 4_000_000 } as const;

export function generateRedisCapture(options: Partial<GenOptions>, out: string): GenManifest {
  const o: GenOptions = { ...GEN_DEFAULTS, ...options };
  for (const key of ['transactions', 'packets'] as const) {
    const v = o[key];
    if (v !== undefined && !(Number.isInteger(v) && v >= 0 && v <= GEN_LIMITS[key])) {
      throw new ConfigError(key, `a whole number from 0 to ${GEN_LIMITS[key]} (gen builds the capture in memory)`, v);
    }
  }
  const { transactions, pad } = resolve(o);
  const conns = plan(o, transactions);
  const lay = layout(o, conns, transactions, pad);
  const writer = PcapWriter.toFile(out, { nanos: o.nanos });
  const frame = Buffer.allocUnsafe(MAX_CAPLEN);
  const server = addressWords(o, 1);
  const clients = conns.map((c) => addressWords(o, 2 + (c.client >> 8) * 256 + (c.client & 255)));
  const spec: SegmentSpec = {
    ipVersion: o.ipv6 ? 6 : 4, src: server, dst: server, srcPort: 0, dstPort: 0,
    seq: 0, ack: 0, flags: 0, payload: EMPTY, payloadOffset: 0, payloadLength: 0,
  };
  for (const p of lay.packets) {
    const client = clients[p.conn]!;
    const clientPort = 40000 + conns[p.conn]!.client;
    spec.src = p.toServer ? client : server;
    spec.dst = p.toServer ? server : client;
    spec.srcPort = p.toServer ? clientPort : o.port;
    spec.dstPort = p.toServer ? o.port : clientPort;
    spec.seq = p.seq;
    spec.ack = p.ack;
    spec.flags = p.flags;
    spec.payload = p.payload;
    spec.payloadOffset = p.off;
    spec.payloadLength = p.len;
    const n = encodeSegment(spec, frame, 0);
    if (n !== encodedLength(spec)) throw new Error('internal: encoded length mismatch');
    const whole = Math.floor(p.ts / 1e9);
    writer.write(o.startTime + whole, p.ts - whole * 1e9, frame, 0, n);
  }
  writer.close();

  // the manifest counts what the plan holds (a request for more gaps than connections gets fewer)
  const byMethod: Record<string, number> = {};
  const byMethodPb: Record<string, number> = {};
  let txReassemble = 0;
  let txPacketbeat = 0;
  let pushes = 0;
  let gaps = 0;
  let reordered = 0;
  let tail = 0;
  let midstream = 0;
  for (const c of conns) {
    tail += c.tail.length;
    midstream += c.midstream.length;
    for (const ex of c.exchanges) {
      if (ex.push) pushes++;
      if (ex.fault === 'gap') {
        gaps++;
        continue;
      }
      tally(byMethod, ex.cmds);
      txReassemble += ex.cmds.length;
      if (ex.fault === 'reorder') {
        reordered++;
        continue;
      }
      tally(byMethodPb, ex.cmds);
      txPacketbeat += ex.cmds.length;
    }
  }
  const extra = (kind: ExtraKind) => conns.filter((c) => c.kind === kind);
  const unasked = (cs: ConnPlan[]) => cs.reduce((n, c) => n + c.exchanges.reduce((k, e) => k + e.unasked.length, 0), 0);
  const kinds: GenManifest['kinds'] = {
    unknown: o.unknown,
    inline: o.inline,
    pubsubConnections: extra('pubsub').length,
    pubsubMessages: unasked(extra('pubsub')),
    monitorConnections: extra('monitor').length,
    monitorLines: unasked(extra('monitor')),
    big: o.big,
    reusedConnections: extra('reuse').length,
    idle: o.idle,
  };
  const unpredicted = (mode: 'reassemble' | 'packetbeat') => UNPREDICTED[mode].filter((k) => kinds[k] > 0);
  const last = lay.packets.length > 0 ? lay.packets[lay.packets.length - 1]!.ts : 0;
  const manifest: GenManifest = {
    generator: 'lockstep gen redis',
    version: MANIFEST_VERSION,
    options: o,
    packets: lay.packets.length,
    connections: conns.length,
    durationNs: last - (lay.packets[0]?.ts ?? 0),
    transactions: { reassemble: txReassemble, packetbeat: txPacketbeat },
    byMethod: { reassemble: sorted(byMethod), packetbeat: sorted(byMethodPb) },
    unmatchedResponses: midstream,
    // a lost or overtaken response takes its request with it (packetbeat drops the connection's state)
    unmatchedRequests: { reassemble: gaps + tail, packetbeat: gaps + reordered + tail },
    gaps: { reassemble: gaps, packetbeat: gaps + reordered },
    // the segment after the hole starts inside a bulk string: one parse error each
    parseErrors: { reassemble: gaps, packetbeat: gaps + reordered },
    pushMessages: pushes,
    retransmissions: conns.reduce((n, c) => n + c.exchanges.filter((e) => e.retransmit).length, 0),
    duplicates: conns.reduce((n, c) => n + c.exchanges.filter((e) => e.duplicate).length, 0),
    reordered,
    paddingAcks: pad,
    kinds,
    unpredicted: { reassemble: unpredicted('reassemble'), packetbeat: unpredicted('packetbeat') },
    packetbeat5: {
      events: txPacketbeat,
      unmatchedResponses: midstream,
      gaps: gaps + reordered,
      unpredicted: [
        ...(conns.some((c) => c.resp3) ? ['resp3'] : []),
        // FLUSHSLOTS and LATENCY DOCTOR (`commands: redis`): requests packetbeat 5 takes for responses
        ...(byMethodPb.FLUSHSLOTS || byMethodPb.LATENCY ? ['commandsMissingFromItsTable'] : []),
        ...(lay.headerCuts > 0 ? ['arrayHeaderCutBySegment'] : []),
        ...(Object.keys(kinds) as (keyof GenManifest['kinds'])[]).filter((k) => kinds[k] > 0 && k !== 'pubsubMessages' && k !== 'monitorLines'),
      ],
    },
  };
  writeWhole(`${out}.manifest.json`, `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
