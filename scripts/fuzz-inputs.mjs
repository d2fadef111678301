#!/usr/bin/env node
/**
 * Input fuzzing: `npm run fuzz:inputs [-- --runs N] [-- --shard i/n]`.
 *
 * Mutates a corpus of captures — `gen` captures of several shapes (pipelined,
 * RESP3, gaps, reordering, mid-stream starts, IPv6, nanosecond pcap), the
 * committed real captures, and issue 18's reproducers (pcapng among them) —
 * with bit flips, boundary values, overwritten length fields, truncation,
 * splices, duplicated stretches and RESP attacks (huge lengths, deep nesting,
 * bare CRs), and runs each input in a child process through `analyze` (both
 * TCP modes), `analyze --events`, and `replay` (a random profile and policy;
 * events in memory and in a file, which must be the same bytes), a third of
 * the time through a reader of 2 KiB buffers and a third through 16 KiB ones,
 * so that buffers are released and loaded again mid-capture (the analyzer
 * parses in place: `analyze --events` is compared with the same events
 * copied, `replay`'s with a replay through one buffer). Each run is
 * classified:
 *
 *   ok           the run ended normally
 *   input error  a CaptureError or ConfigError (one line and exit 2 in the CLI)
 *   crash        any other exception (a bug), by its first stack frame
 *   hang         no answer within --timeout-ms (the child is killed and restarted)
 *   memory       the child died at its heap cap (--max-old-space-size)
 *   tmp left     a temporary file left beside an output
 *   disagree     replay's events in memory and in its file differ, or through
 *                small read buffers and through one; or analyze's events
 *                written in place and the same events copied
 *
 * Each distinct failure keeps its smallest input under .lockstep/fuzz-inputs/,
 * shrunk by cutting its tail while it still fails the same way. Prints a
 * summary: executions, classes, distinct failures, executions per second, the
 * children's peak RSS. Exit 1 when anything but ok and input errors happened.
 *
 *   FUZZ_SEED  base seed (default: drawn, printed); shard i of n uses base + i
 *   FUZZ_RUNS  executions (default 10000; or --runs)
 */
import { fork } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';

const ROOT = new URL('..', import.meta.url).pathname;
const DIST = join(ROOT, 'dist');

// ---------------------------------------------------------------- the parent: corpus, mutation, watchdog, report

async function parent() {
  const { values } = parseArgs({ options: { runs: { type: 'string' }, shard: { type: 'string' }, 'timeout-ms': { type: 'string' }, 'heap-mb': { type: 'string' } }, strict: true });
  const runs = Number(values.runs ?? process.env.FUZZ_RUNS ?? 10000);
  const timeoutMs = Number(values['timeout-ms'] ?? 10000);
  const heapMb = Number(values['heap-mb'] ?? 512);
  let shard = { index: 1, count: 1 };
  if (values.shard) {
    const m = /^(\d+)\/(\d+)$/.exec(values.shard);
    if (!m || Number(m[1]) < 1 || Number(m[1]) > Number(m[2])) fail(`Expected --shard to be i/n, got ${values.shard}`);
    shard = { index: Number(m[1]), count: Number(m[2]) };
  }
  if (!Number.isSafeInteger(runs) || runs < 1) fail(`Expected --runs to be a whole number from 1 up, got ${values.runs ?? process.env.FUZZ_RUNS}`);
  const base = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 30);
  const seed = base + (values.shard ? shard.index : 0);
  const { Random } = await import(join(DIST, 'sim', 'random.js'));
  const rng = new Random(seed, 'fuzz-inputs');
  const work = join(tmpdir(), `lockstep-fuzz-${process.pid}`);
  mkdirSync(work, { recursive: true });
  const keep = join(ROOT, '.lockstep', 'fuzz-inputs');
  mkdirSync(keep, { recursive: true });
  const corpus = await buildCorpus(work);
  process.stdout.write(`fuzz:inputs: ${runs} executions, seed ${seed}${values.shard ? ` (shard ${values.shard})` : ''}, corpus of ${corpus.length}, timeout ${timeoutMs} ms, heap cap ${heapMb} MB\n`);
  process.stdout.write(`  again: FUZZ_SEED=${base} npm run fuzz:inputs -- --runs ${runs}${values.shard ? ` --shard ${values.shard}` : ''}\n`);

  const classes = new Map();
  const failures = new Map(); // signature → { klass, bytes, mode }
  let peakRssKb = 0;
  const started = Date.now();
  let worker = null;
  const spawnWorker = () => {
    worker = fork(new URL(import.meta.url).pathname, ['--child'], { execArgv: [`--max-old-space-size=${heapMb}`], stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    return worker;
  };
  const exec = (input, mode) =>
    new Promise((resolve) => {
      const w = worker ?? spawnWorker();
      const file = join(work, `in.${mode.tcp}.pcap`);
      writeFileSync(file, input);
      let done = false;
      const finish = (r) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        w.off('message', onMessage);
        w.off('exit', onExit);
        resolve(r);
      };
      const onMessage = (m) => {
        if (m.rssKb > peakRssKb) peakRssKb = m.rssKb;
        finish(m);
      };
      const onExit = (code, signal) => {
        worker = null;
        finish({ klass: code === 134 || signal === 'SIGABRT' || code === 139 ? 'memory' : 'crash', signature: `child exit ${code ?? signal}` });
      };
      const timer = setTimeout(() => {
        w.kill('SIGKILL');
        worker = null;
        finish({ klass: 'hang', signature: `no answer in ${timeoutMs} ms (${mode.command})` });
      }, timeoutMs);
      w.on('message', onMessage);
      w.on('exit', onExit);
      w.send({ file, mode, work });
    });

  for (let i = 0; i < runs; i++) {
    const input = mutate(rng, corpus);
    const mode = pickMode(rng);
    const r = await exec(input, mode);
    classes.set(r.klass, (classes.get(r.klass) ?? 0) + 1);
    if (r.klass !== 'ok' && r.klass !== 'input error') {
      const key = `${r.klass}: ${r.signature}`;
      const had = failures.get(key);
      if (!had || input.length < had.bytes.length) failures.set(key, { klass: r.klass, bytes: input, mode });
    }
    if ((i + 1) % 1000 === 0 && process.stderr.isTTY) process.stderr.write(`\r${i + 1}/${runs}`);
  }
  // shrink each failure by cutting its tail while it fails the same way
  let n = 0;
  for (const [key, f] of failures) {
    let bytes = f.bytes;
    for (let cut = Math.floor(bytes.length / 2); cut >= 16; cut = Math.floor(cut / 2)) {
      while (bytes.length - cut >= 24) {
        const r = await exec(bytes.subarray(0, bytes.length - cut), f.mode);
        if (`${r.klass}: ${r.signature}` !== key) break;
        bytes = bytes.subarray(0, bytes.length - cut);
      }
    }
    const name = join(keep, `${seed}-${++n}-${f.klass.replace(/ /g, '-')}.pcap`);
    writeFileSync(name, bytes);
    writeFileSync(`${name}.json`, `${JSON.stringify({ failure: key, mode: f.mode, bytes: bytes.length }, null, 2)}\n`);
    f.kept = name;
  }
  worker?.kill();
  rmSync(work, { recursive: true, force: true });
  const secs = (Date.now() - started) / 1000;
  const lines = [
    `\nfuzz:inputs: ${runs} executions in ${secs.toFixed(1)} s (${(runs / secs).toFixed(0)}/s), children's peak RSS ${(peakRssKb / 1024).toFixed(0)} MB`,
    ...[...classes.entries()].sort().map(([k, v]) => `  ${k.padEnd(12)} ${v}`),
    `  distinct failures: ${failures.size}`,
    ...[...failures.entries()].map(([k, f]) => `    ${k}  (${f.kept})`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  process.exitCode = failures.size > 0 ? 1 : 0;
}

function fail(message) {
  process.stderr.write(`fuzz:inputs: ${message}\n`);
  process.exit(2);
}

/** The corpus: gen captures of several shapes, the committed real captures, the reproducers. */
async function buildCorpus(work) {
  const { generateRedisCapture } = await import(join(DIST, 'gen', 'redis.js'));
  const shapes = [
    { transactions: 40, connections: 3, seed: 1 },
    { transactions: 60, connections: 2, pipeline: 8, seed: 2 },
    { transactions: 50, connections: 4, resp3: 1, seed: 3 },
    { transactions: 50, connections: 3, gaps: 2, reorder: 3, retransmissions: 2, seed: 4 },
    { transactions: 40, connections: 3, midstream: 2, tail: 2, seed: 5 },
    { transactions: 30, connections: 2, ipv6: true, nanos: true, seed: 6 },
    { transactions: 30, connections: 1, commands: 'packetbeat5', port: 7101, seed: 7 },
  ];
  const out = [];
  shapes.forEach((o, i) => {
    const f = join(work, `corpus-${i}.pcap`);
    generateRedisCapture(o, f);
    out.push(readFileSync(f));
  });
  // the same traffic in the other containers and link layers the reader takes
  const [plain, , , , , nanos] = out;
  out.push(bigEndianPcap(plain), relinked(plain, 'sll'), relinked(nanos, 'sll2'), asPcapng(plain, true), asPcapng(nanos, false));
  for (const f of ['golden/real-redis/capture.pcap', 'golden/real-redis-full/capture.pcap']) if (existsSync(join(ROOT, f))) out.push(readFileSync(join(ROOT, f)));
  const repro = join(ROOT, 'test', 'repro-inputs');
  for (const f of readdirSync(repro)) {
    const b = readFileSync(join(repro, f));
    if (f.endsWith('.gz')) continue; // large; the others cover pcapng and the faults they hold
    if (b.length < 200_000) out.push(b);
  }
  return out;
}

/** The records `[tsSec, frac, caplen, origLen, data]` of a little-endian classic pcap, and its header's nanos flag and link type. */
function records(b) {
  const out = [];
  for (let p = 24; p + 16 <= b.length; ) {
    const caplen = b.readUInt32LE(p + 8);
    out.push([b.readUInt32LE(p), b.readUInt32LE(p + 4), caplen, b.readUInt32LE(p + 12), b.subarray(p + 16, p + 16 + caplen)]);
    p += 16 + caplen;
  }
  return { nanos: b.readUInt32LE(0) === 0xa1b23c4d, linkType: b.readUInt32LE(20), records: out };
}

/** A little-endian classic pcap written big-endian. */
function bigEndianPcap(b) {
  const { nanos, linkType, records: rs } = records(b);
  const parts = [Buffer.alloc(24)];
  parts[0].writeUInt32BE(nanos ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  parts[0].writeUInt16BE(2, 4);
  parts[0].writeUInt16BE(4, 6);
  parts[0].writeUInt32BE(262144, 16);
  parts[0].writeUInt32BE(linkType, 20);
  for (const [sec, frac, caplen, orig, data] of rs) {
    const h = Buffer.alloc(16);
    h.writeUInt32BE(sec, 0);
    h.writeUInt32BE(frac, 4);
    h.writeUInt32BE(caplen, 8);
    h.writeUInt32BE(orig, 12);
    parts.push(h, data);
  }
  return Buffer.concat(parts);
}

/** Ethernet frames re-framed as Linux cooked captures: SLL (113, 16-byte header) or SLL2 (276, 20 bytes). */
function relinked(b, kind) {
  const { linkType, records: rs } = records(b);
  if (linkType !== 1) return b;
  const parts = [Buffer.from(b.subarray(0, 24))];
  parts[0].writeUInt32LE(kind === 'sll' ? 113 : 276, 20);
  for (const [sec, frac, caplen, orig, data] of rs) {
    if (caplen < 14) continue;
    const ethertype = data.readUInt16BE(12);
    const link = Buffer.alloc(kind === 'sll' ? 16 : 20);
    if (kind === 'sll') {
      link.writeUInt16BE(0, 0); // to us
      link.writeUInt16BE(1, 2); // ARPHRD_ETHER
      link.writeUInt16BE(6, 4);
      data.copy(link, 6, 6, 12);
      link.writeUInt16BE(ethertype, 14);
    } else {
      link.writeUInt16BE(ethertype, 0);
      link.writeUInt32BE(2, 4); // interface index
      link.writeUInt16BE(1, 8);
      link[10] = 0;
      link[11] = 6;
      data.copy(link, 12, 6, 12);
    }
    const h = Buffer.alloc(16);
    h.writeUInt32LE(sec, 0);
    h.writeUInt32LE(frac, 4);
    h.writeUInt32LE(caplen - 14 + link.length, 8);
    h.writeUInt32LE(orig - 14 + link.length, 12);
    parts.push(h, link, data.subarray(14));
  }
  return Buffer.concat(parts);
}

/** A classic pcap as a pcapng section of either byte order: SHB, one IDB (if_tsresol 9 for nanoseconds), EPBs. */
function asPcapng(b, little) {
  const { nanos, linkType, records: rs } = records(b);
  const u16 = (v) => { const x = Buffer.alloc(2); little ? x.writeUInt16LE(v) : x.writeUInt16BE(v); return x; };
  const u32 = (v) => { const x = Buffer.alloc(4); little ? x.writeUInt32LE(v >>> 0) : x.writeUInt32BE(v >>> 0); return x; };
  const pad = (x) => Buffer.concat([x, Buffer.alloc((4 - (x.length % 4)) % 4)]);
  const block = (type, body) => { const p = pad(body); return Buffer.concat([u32(type), u32(12 + p.length), p, u32(12 + p.length)]); };
  const parts = [block(0x0a0d0d0a, Buffer.concat([u32(0x1a2b3c4d), u16(1), u16(0), u32(0xffffffff), u32(0xffffffff)]))];
  const options = nanos ? Buffer.concat([u16(9), u16(1), pad(Buffer.from([9])), u16(0), u16(0)]) : Buffer.alloc(0);
  parts.push(block(1, Buffer.concat([u16(linkType), u16(0), u32(262144), options])));
  const perSec = nanos ? 1_000_000_000n : 1_000_000n;
  for (const [sec, frac, caplen, orig, data] of rs) {
    const t = BigInt(sec) * perSec + BigInt(frac);
    parts.push(block(6, Buffer.concat([u32(0), u32(Number(t >> 32n)), u32(Number(t & 0xffffffffn)), u32(caplen), u32(orig), pad(data)])));
  }
  return Buffer.concat(parts);
}

const BOUNDARY = [0x00, 0xff, 0x7f, 0x80, 0x0d, 0x0a, 0x2a, 0x24, 0x3a];
const RESP_ATTACKS = ['*999999999\r\n', '$-5\r\n', '$2147483648\r\n', `${'*1\r\n'.repeat(64)}:1\r\n`, 'a\rb\r\rc\r\n', '%-1\r\n', '|1\r\n+a\r\n', '*3\r\n$3\r\nSET\r\n$1\r\n'];

/** One mutated input from the corpus. */
function mutate(rng, corpus) {
  let b = Buffer.from(rng.pick(corpus));
  const edits = 1 + Math.floor(rng.float() * 4);
  for (let e = 0; e < edits && b.length > 24; e++) {
    const at = 24 + Math.floor(rng.float() * (b.length - 24));
    switch (Math.floor(rng.float() * 7)) {
      case 0: // bit flips
        for (let k = 0; k < 1 + Math.floor(rng.float() * 8); k++) b[24 + Math.floor(rng.float() * (b.length - 24))] ^= 1 << Math.floor(rng.float() * 8);
        break;
      case 1: // a boundary byte
        b[at] = rng.pick(BOUNDARY);
        break;
      case 2: // a 32-bit field: a record's length, a sequence number, a timestamp
        if (at + 4 <= b.length) b.writeUInt32LE(rng.pick([0, 1, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff, 65535, 262145]), at);
        break;
      case 3: // truncation
        b = b.subarray(0, at);
        break;
      case 4: { // a splice with another input
        const o = rng.pick(corpus);
        const from = Math.floor(rng.float() * o.length);
        b = Buffer.concat([b.subarray(0, at), o.subarray(from)]);
        break;
      }
      case 5: { // a stretch repeated
        const len = Math.min(b.length - at, 1 + Math.floor(rng.float() * 200));
        b = Buffer.concat([b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len)]);
        break;
      }
      default: { // a RESP attack written over payload bytes
        const a = Buffer.from(rng.pick(RESP_ATTACKS), 'latin1');
        a.copy(b, at, 0, Math.min(a.length, b.length - at));
      }
    }
  }
  return b;
}

function pickMode(rng) {
  const tcp = rng.pick(['reassemble', 'packetbeat']);
  const kind = rng.pick(['analyze', 'analyze-events', 'analyze-pb5', 'replay']);
  const profile = rng.pick(['packetbeat5', 'packetbeat6', 'packetbeat8', 'logstash', 'vector']);
  const policy = rng.pick(['drop', 'block']);
  const shutdown = rng.pick(['abort', 'drain']);
  // small read buffers: the reader goes on to another buffer every few packets, and the analyzer releases the last (in place)
  const readBuffer = rng.pick([0, 2048, 16384]);
  const command = (kind === 'replay' ? `replay --profile ${profile} --tcp ${tcp} --policy ${policy} --shutdown ${shutdown}` : `${kind} --tcp ${tcp}`) + (readBuffer ? ` (read buffer ${readBuffer})` : '');
  return { kind, tcp, profile, policy, shutdown, readBuffer, command };
}

// ---------------------------------------------------------------- the child: one input at a time

function child() {
  const lib = import(join(DIST, 'index.js'));
  const feedLib = import(join(DIST, 'feed.js'));
  const PORTS = [6379, 7101, 16379, 32117, 20554];
  process.on('message', async ({ file, mode, work }) => {
    const { analyze, configFrom, CaptureReader, Replay, CaptureError, ConfigError, OutputError } = await lib;
    const { formatEvent } = await feedLib;
    const out = join(work, 'out.ndjson');
    const ledger = join(work, 'ledger.ndjson');
    // the capture by its name (the default read buffer), or through a reader of small buffers
    const capture = () => (mode.readBuffer ? CaptureReader.open(file, mode.readBuffer) : file);
    let result;
    try {
      if (mode.kind === 'replay') {
        const config = configFrom({ profile: mode.profile, ports: PORTS, tcp: mode.tcp, policy: mode.policy, shutdown: mode.shutdown }).config;
        const replay = (opts, from = capture()) => {
          const r = new Replay(from, config, opts);
          r.run();
          return r.finish();
        };
        const mem = replay({ output: { kind: 'memory' } });
        replay({ output: { kind: 'file', path: out }, ledger });
        const lines = mem.lines.length > 0 ? `${mem.lines.join('\n')}\n` : '';
        if (readFileSync(out, 'utf8') !== lines) result = { klass: 'disagree', signature: `memory and file events differ (${mode.command})` };
        // the inputs are smaller than the default read buffer: read by name, no buffer is released
        else if (mode.readBuffer && JSON.stringify(replay({ output: { kind: 'memory' } }, file).lines) !== JSON.stringify(mem.lines)) {
          result = { klass: 'disagree', signature: `events through small read buffers and through one differ (${mode.command})` };
        }
        // a fault in the capture ends the run there, reported (exit 2 in the CLI): an input error, counted as one
        else result = { klass: mem.error ? 'input error' : 'ok' };
      } else {
        const o = { ports: PORTS, tcp: mode.tcp, ...(mode.kind === 'analyze-pb5' ? { as: 'packetbeat5' } : {}) };
        const s = analyze(capture(), { ...o, ...(mode.kind === 'analyze-events' ? { events: out } : {}) });
        result = { klass: s.error ? 'input error' : 'ok' };
        if (mode.kind === 'analyze-events') {
          // the events file was written in place (messages viewing the read buffers); a caller's callback gets copies
          const copied = [];
          analyze(capture(), { ...o, onTransaction: (tx, base) => copied.push(formatEvent(tx, base)) });
          const lines = copied.length > 0 ? `${copied.join('\n')}\n` : '';
          if (readFileSync(out, 'utf8') !== lines) result = { klass: 'disagree', signature: `events in place and copied differ (${mode.command})` };
        }
      }
    } catch (e) {
      if (e instanceof CaptureError || e instanceof ConfigError || e instanceof OutputError) result = { klass: 'input error' };
      else {
        const frame = (e?.stack ?? '').split('\n').find((l) => l.trim().startsWith('at ')) ?? '';
        result = { klass: 'crash', signature: `${e?.name ?? 'Error'}: ${String(e?.message ?? e).slice(0, 80)} ${frame.trim().replace(/\(.*\/(dist\/)/, '($1')}` };
      }
    }
    const left = readdirSync(work).filter((f) => f.endsWith('.tmp'));
    if (left.length > 0 && result.klass === 'ok') result = { klass: 'tmp left', signature: `temporary file left (${mode.command})` };
    for (const f of left) rmSync(join(work, f), { force: true });
    rmSync(out, { force: true });
    rmSync(ledger, { force: true });
    process.send({ ...result, rssKb: Math.round(process.memoryUsage().rss / 1024) });
  });
}

// (last: the constants above are initialised by now)
if (process.argv[2] === '--child') child();
else await parent();
