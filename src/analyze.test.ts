import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyze } from './analyze.js';
import { generateRedisCapture, PRESETS } from './gen/redis.js';
import type { RedisTransaction } from './redis/transaction.js';
import { withBadCaplen } from '../test/support/capture.js';
import { expectManifest } from '../test/support/manifest.js';
import { capinfosPacketCount, hasTool, readCommandstats, toolsMandatory, tsharkUniquePayloadBytes, tsharkWarnings } from '../test/support/tools.js';

const dir = mkdtempSync(join(tmpdir(), 'lockstep-analyze-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const REAL = 'golden/real-redis';
const realPort = Number(readFileSync(`${REAL}/port.txt`, 'utf8'));
const withTools = (...tools: string[]) => toolsMandatory || tools.every(hasTool);

/** Sums of bytes_in / bytes_out over the events of a run. */
function byteSums(capture: string, port: number) {
  let bytesIn = 0;
  let bytesOut = 0;
  const summary = analyze(capture, {
    ports: [port],
    onTransaction: (tx) => {
      const redis = tx as RedisTransaction;
      bytesIn += redis.request.size;
      bytesOut += redis.response.size;
    },
  });
  return { summary, bytesIn, bytesOut };
}

/** analyze's methods must equal the server's own `calls`, but for commands Redis rejects as unknown (not in commandstats). */
function expectMatchesCommandstats(byMethod: Record<string, number>, stats: Map<string, number>, unknown: string[]) {
  const ours = { ...byMethod };
  for (const u of unknown) {
    expect(ours[u]).toBe(1);
    delete ours[u];
  }
  expect(ours).toEqual(Object.fromEntries([...stats.entries()].sort(([a], [b]) => (a < b ? -1 : 1))));
}

describe('analyze on a real redis-server capture', () => {
  it('counts exactly the calls the server counted, and the payload bytes tshark sees', () => {
    const { summary, bytesIn, bytesOut } = byteSums(`${REAL}/capture.pcap`, realPort);
    expect(summary.packets).toBe(1590);
    expect(summary.transactions).toBe(10019);
    expectMatchesCommandstats(summary.byMethod, readCommandstats(`${REAL}/commandstats.txt`), ['LOCKSTEPNOSUCHCOMMAND']);
    // unique TCP payload per direction, as tsharkUniquePayloadBytes reported when the capture was committed
    expect({ bytesIn, bytesOut }).toEqual({ bytesIn: 427_762, bytesOut: 131_167 });
    expect(summary.counters['redis.unmatched_responses']).toBe(0);
    expect(summary.counters['redis.unmatched_requests']).toBe(0);
    expect(summary.counters['tcp.dropped_because_of_gaps']).toBe(0);
    expect(summary.counters['redis.parse_errors']).toBe(0);
  });

  it.skipIf(!withTools('tshark'))('agrees with tshark on the committed capture', () => {
    const { bytesIn, bytesOut } = byteSums(`${REAL}/capture.pcap`, realPort);
    expect(tsharkUniquePayloadBytes(`${REAL}/capture.pcap`, realPort)).toEqual({ toServer: bytesIn, toClient: bytesOut });
  });

  it.skipIf(!withTools('redis-server', 'redis-cli', 'redis-benchmark', 'tcpdump', 'tshark', 'capinfos'))(
    'agrees with a fresh capture from a real redis-server (scripts/capture-redis.sh)',
    () => {
      const out = join(dir, 'fresh');
      execFileSync('bash', ['scripts/capture-redis.sh', out, '--requests', '1000'], { stdio: 'pipe', timeout: 120_000 });
      const port = Number(readFileSync(join(out, 'port.txt'), 'utf8'));
      const capture = join(out, 'capture.pcap');
      const { summary, bytesIn, bytesOut } = byteSums(capture, port);
      expect(summary.packets).toBe(capinfosPacketCount(capture));
      expectMatchesCommandstats(summary.byMethod, readCommandstats(join(out, 'commandstats.txt')), ['LOCKSTEPNOSUCHCOMMAND']);
      expect(tsharkUniquePayloadBytes(capture, port)).toEqual({ toServer: bytesIn, toClient: bytesOut });
      expect(summary.counters['redis.unmatched_responses'] + summary.counters['redis.unmatched_requests']).toBe(0);
    },
  );
});

const FULL = 'golden/real-redis-full';
const fullPort = Number(readFileSync(`${FULL}/port.txt`, 'utf8'));
/** Counters of the lossless view that say what answered no request, and what was skipped. */
const OUT_OF_BAND = [
  'redis.requests', 'redis.transactions', 'redis.no_reply_requests', 'redis.inline_requests', 'redis.push_messages',
  'redis.pubsub_confirmations', 'redis.monitor_messages', 'redis.unmatched_requests', 'redis.unmatched_responses',
  'redis.parse_errors', 'redis.resync_skipped_bytes', 'redis.large_messages',
] as const;
const pick = (c: Record<string, number>) => Object.fromEntries(OUT_OF_BAND.map((k) => [k, c[k]]));

/**
 * A `scripts/capture-redis.sh --full` capture: per-command counts equal
 * `INFO commandstats` (artefacts: the unknown command Redis counts only in
 * errorstats; `*0`/`*-1` run nothing, so neither side counts them; CLIENT
 * TRACKING is commandstats' `client|tracking`, summed under CLIENT), and the
 * bytes of every message parsed equal tshark's unique payload per direction.
 */
function expectFullWorkload(capture: string, port: number, stats: string) {
  const summary = analyze(capture, { ports: [port] });
  expectMatchesCommandstats(summary.byMethod, readCommandstats(stats), ['LOCKSTEPNOSUCHCOMMAND']);
  return summary;
}

describe('analyze on a real redis-server capture of every kind of message (capture-redis.sh --full)', () => {
  it('counts exactly the calls the server counted, and what answers no request', () => {
    const summary = expectFullWorkload(`${FULL}/capture.pcap`, fullPort, `${FULL}/commandstats.txt`);
    expect([summary.packets, summary.transactions]).toEqual([1285, 5591]);
    expect(pick(summary.counters)).toEqual({
      'redis.requests': 5593,
      'redis.transactions': 5591,
      // *0 and *-1
      'redis.no_reply_requests': 2,
      // 300 PING_INLINE from redis-benchmark, 7 from redis-workload.py (its *0 and *-1 are not inline)
      'redis.inline_requests': 307,
      // an invalidate, a message and a pmessage in RESP3, a message in RESP2
      'redis.push_messages': 4,
      // SUBSCRIBE of 3 channels and UNSUBSCRIBE of all 3 (RESP3): 2 + 2; SUBSCRIBE and UNSUBSCRIBE of 2 (RESP2): 1 + 1
      'redis.pubsub_confirmations': 6,
      'redis.monitor_messages': 2,
      'redis.unmatched_requests': 0,
      'redis.unmatched_responses': 0,
      'redis.parse_errors': 0,
      'redis.resync_skipped_bytes': 0,
      'redis.large_messages': 0,
    });
    expect([summary.counters['redis.request_bytes'], summary.counters['redis.server_bytes']]).toEqual([1_348_444, 1_191_755]);
    expect(summary.warnings).toEqual([
      "307 inline commands (not RESP, e.g. redis-benchmark's PING_INLINE) read as requests by their words (redis.inline_requests)",
    ]);
  });

  it.skipIf(!withTools('tshark'))('parses every payload byte tshark sees', () => {
    const { counters } = analyze(`${FULL}/capture.pcap`, { ports: [fullPort] });
    expect(tsharkUniquePayloadBytes(`${FULL}/capture.pcap`, fullPort)).toEqual({
      toServer: counters['redis.request_bytes'],
      toClient: counters['redis.server_bytes'],
    });
  });

  const fresh = (name: string, ...args: string[]) => {
    const out = join(dir, name);
    execFileSync('bash', ['scripts/capture-redis.sh', out, '--requests', '300', ...args], { stdio: 'pipe', timeout: 120_000 });
    return { out, port: Number(readFileSync(join(out, 'port.txt'), 'utf8')), capture: join(out, 'capture.pcap') };
  };
  const tools = ['redis-server', 'redis-cli', 'redis-benchmark', 'tcpdump', 'tshark', 'capinfos', 'python3'];

  it.skipIf(!withTools(...tools))('pairs a 20 MiB SET with its +OK and GET with its reply, on a fresh capture', () => {
    const { out, port, capture } = fresh('big', '--big', String(20 * 1024 * 1024));
    const summary = expectFullWorkload(capture, port, join(out, 'commandstats.txt'));
    const c = summary.counters;
    expect([c['redis.large_messages'], c['redis.unmatched_requests'], c['redis.unmatched_responses'], c['redis.parse_errors']]).toEqual([2, 0, 0, 0]);
    expect(tsharkUniquePayloadBytes(capture, port)).toEqual({ toServer: c['redis.request_bytes'], toClient: c['redis.server_bytes'] });
    expect(summary.warnings.some((w) => w.startsWith('2 messages over the 10 MiB limit'))).toBe(true);
  }, 180_000);

  it.skipIf(!withTools(...tools))('reads a capture on the any device (Linux SLL) as on lo', () => {
    const { out, port, capture } = fresh('any', '--full', '--iface', 'any');
    const summary = expectFullWorkload(capture, port, join(out, 'commandstats.txt'));
    expect(summary.packets).toBe(capinfosPacketCount(capture));
    const c = summary.counters;
    expect(tsharkUniquePayloadBytes(capture, port)).toEqual({ toServer: c['redis.request_bytes'], toClient: c['redis.server_bytes'] });
    expect(c['redis.unmatched_requests'] + c['redis.unmatched_responses'] + c['redis.parse_errors']).toBe(0);
  }, 180_000);

  it.skipIf(!withTools(...tools))('warns with counts when tcpdump -s 96 cut the packets, never silently', () => {
    const { port, capture } = fresh('snap', '--full', '--snaplen', '96');
    const summary = analyze(capture, { ports: [port] });
    const snapped = summary.warnings.find((w) => /^\d+ packets cut short by the snap length/.test(w));
    expect(snapped).toBeDefined();
    expect(Number(snapped!.split(' ')[0])).toBe(summary.counters['decode.truncated']);
    expect(summary.counters['decode.truncated']).toBeGreaterThan(100);
  }, 180_000);
});

describe('gen redis', () => {
  const preset = join(dir, 'issue-3404.pcap');
  const manifest = generateRedisCapture(PRESETS['issue-3404']!, preset);

  it('makes the issue-3404 capture: 72,257 packets, port 7101, 23 unmatched responses, 4 gaps', () => {
    expect(manifest.packets).toBe(72_257);
    for (const mode of ['reassemble', 'packetbeat'] as const) {
      const { s } = expectManifest(preset, 7101, mode);
      expect(s.counters['redis.unmatched_responses']).toBe(23);
      expect(s.counters['tcp.dropped_because_of_gaps']).toBe(4);
    }
  });

  it.skipIf(!withTools('capinfos', 'tshark'))('writes captures capinfos counts and tshark reads without a warning', () => {
    expect(capinfosPacketCount(preset)).toBe(72_257);
    expect(tsharkWarnings(preset)).toBe('');
  });

  it('gives the same bytes for the same options', () => {
    const again = join(dir, 'again.pcap');
    generateRedisCapture(PRESETS['issue-3404']!, again);
    const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
    expect(sha(again)).toBe(sha(preset));
    expect(readFileSync(`${again}.manifest.json`, 'utf8')).toBe(readFileSync(`${preset}.manifest.json`, 'utf8'));
  });
});

describe('analyze on damaged captures', () => {
  it('reports a cut-short last packet as a warning and keeps everything before it', () => {
    const file = join(dir, 'cut.pcap');
    generateRedisCapture({ transactions: 50, seed: 9 }, file);
    const whole = analyze(file);
    truncateSync(file, statSync(file).size - 5);
    const cut = analyze(file);
    expect(cut.error).toBeNull();
    expect(cut.packets).toBe(whole.packets - 1);
    expect(cut.warnings).toHaveLength(1);
    expect(cut.warnings[0]).toMatch(new RegExp(`record ${whole.packets} at byte offset \\d+ cut short`));
  });

  it('stops at a fault, reports it with the record and offset, and keeps what came before', () => {
    const file = join(dir, 'bad.pcap');
    generateRedisCapture({ transactions: 50, seed: 9 }, file);
    const bad = join(dir, 'bad2.pcap');
    const off = withBadCaplen(file, 11, 300_000, bad);
    const s = analyze(bad);
    expect(s.packets).toBe(10);
    expect(s.error).toBe(`${bad}: record 11 at byte offset ${off}: caplen 300000 exceeds the maximum 262144`);
  });
});
