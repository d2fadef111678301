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
