import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  capinfosPacketCount,
  hasTool,
  readCommandstats,
  requireTools,
  toolsMandatory,
  tsharkTcpConvCommand,
  tsharkUniquePayloadBytes,
  tsharkWarnings,
} from './tools.js';

// Produced by scripts/capture-redis.sh (redis 7.0.15, tcpdump 4.99.3, -n 2000).
const GOLDEN = fileURLToPath(new URL('../../golden/real-redis/', import.meta.url));
const CAPTURE = join(GOLDEN, 'capture.pcap');
const COMMANDSTATS = join(GOLDEN, 'commandstats.txt');

const noTshark = !hasTool('tshark') && !toolsMandatory;
const noCapinfos = !hasTool('capinfos') && !toolsMandatory;
const noMergecap = !(hasTool('mergecap') && hasTool('tshark')) && !toolsMandatory;

const scratch: string[] = [];
function scratchDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'lockstep-tools-'));
  scratch.push(d);
  return d;
}
afterAll(() => {
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});

/** Runs tshark and returns stdout; fails the test on a non-zero exit. */
function tshark(args: string[]): string {
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
  if (r.error) throw r.error;
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

function nonEmptyLines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}

/** The server port of the golden capture: the destination of every initial SYN. */
function serverPort(file: string): number {
  const ports = new Set(
    nonEmptyLines(
      tshark(['-n', '-r', file, '-Y', 'tcp.flags.syn==1 && tcp.flags.ack==0', '-T', 'fields', '-e', 'tcp.dstport']),
    ),
  );
  expect(ports.size).toBe(1);
  return Number([...ports][0]);
}

/** Sum of tcp.len of the segments matching a display filter. */
function sumTcpLen(file: string, filter: string): number {
  return nonEmptyLines(tshark(['-n', '-r', file, '-Y', filter, '-T', 'fields', '-e', 'tcp.len'])).reduce(
    (acc, l) => acc + Number(l),
    0,
  );
}

describe('hasTool / requireTools / toolsMandatory', () => {
  it('reports missing tools in argument order', () => {
    expect(hasTool('lockstep-no-such-tool-a')).toBe(false);
    expect(requireTools('lockstep-no-such-tool-a', 'lockstep-no-such-tool-b')).toEqual({
      ok: false,
      missing: ['lockstep-no-such-tool-a', 'lockstep-no-such-tool-b'],
    });
    expect(requireTools()).toEqual({ ok: true, missing: [] });
  });

  it('does not treat paths or empty names as tools', () => {
    expect(hasTool('')).toBe(false);
    expect(hasTool('/bin/sh')).toBe(false);
  });

  it('is consistent and cached', () => {
    const first = hasTool('tshark');
    expect(hasTool('tshark')).toBe(first);
    expect(requireTools('tshark').ok).toBe(first);
  });

  it('toolsMandatory follows CI / LOCKSTEP_REQUIRE_TOOLS', () => {
    const ci = process.env.CI;
    const expected =
      (ci !== undefined && !['', '0', 'false'].includes(ci.trim().toLowerCase())) ||
      process.env.LOCKSTEP_REQUIRE_TOOLS === '1';
    expect(toolsMandatory).toBe(expected);
  });
});

describe('readCommandstats', () => {
  it('parses the golden commandstats exactly', () => {
    const stats = readCommandstats(COMMANDSTATS);
    expect(Object.fromEntries([...stats].sort(([a], [b]) => a.localeCompare(b)))).toEqual({
      CONFIG: 2, // redis-benchmark's CONFIG GET save / appendonly (cmdstat_config|get)
      DEL: 1,
      ECHO: 1, // the capture script's end-of-workload marker
      GET: 2003,
      HGETALL: 1,
      HSET: 1,
      INCR: 2001,
      LLEN: 1,
      LPOP: 2000,
      LPUSH: 2000,
      LRANGE: 1,
      MGET: 1,
      PING: 2,
      RPUSH: 1,
      SET: 2002,
    });
    // 10018 executed commands; the unknown command in the capture is not counted.
    expect([...stats.values()].reduce((a, b) => a + b, 0)).toBe(10018);
  });

  it('sums subcommands under the first word and ignores headers and CRs', () => {
    const file = join(scratchDir(), 'commandstats.txt');
    writeFileSync(
      file,
      [
        '# Commandstats',
        'cmdstat_config|get:calls=2,usec=11,usec_per_call=5.50,rejected_calls=0,failed_calls=0',
        'cmdstat_config|set:calls=3,usec=11,usec_per_call=3.67,rejected_calls=0,failed_calls=0',
        'cmdstat_get:calls=7,usec=1,usec_per_call=0.14,rejected_calls=0,failed_calls=0',
        'cmdstat_client|setname:calls=1,usec=1,usec_per_call=1.00',
        '',
      ].join('\r\n'),
    );
    expect(readCommandstats(file)).toEqual(
      new Map([
        ['CONFIG', 5],
        ['GET', 7],
        ['CLIENT', 1],
      ]),
    );
  });
});

describe('tsharkTcpConvCommand', () => {
  it('builds the conv,tcp argv', () => {
    expect(tsharkTcpConvCommand('x.pcap')).toEqual(['tshark', '-r', 'x.pcap', '-q', '-z', 'conv,tcp']);
  });
});

describe('capinfosPacketCount', () => {
  it.skipIf(noCapinfos)('counts the golden capture', () => {
    expect(capinfosPacketCount(CAPTURE)).toBe(1590);
  });

  it.skipIf(noCapinfos || noTshark)('agrees with the number of frames tshark reads', () => {
    const frames = nonEmptyLines(tshark(['-r', CAPTURE, '-T', 'fields', '-e', 'frame.number'])).length;
    expect(capinfosPacketCount(CAPTURE)).toBe(frames);
  });
});

describe('tsharkWarnings', () => {
  it.skipIf(noTshark)('is empty for the golden capture', () => {
    expect(tsharkWarnings(CAPTURE)).toBe('');
  });

  it.skipIf(noTshark)('reports a capture cut short in the middle of a packet', () => {
    const cut = join(scratchDir(), 'cut.pcap');
    writeFileSync(cut, readFileSync(CAPTURE).subarray(0, 400_000));
    expect(tsharkWarnings(cut)).toMatch(/cut short in the middle of a packet/);
  });
});

describe('tsharkUniquePayloadBytes', () => {
  it.skipIf(noTshark)('counts the golden capture payload per direction', () => {
    const port = serverPort(CAPTURE);
    const bytes = tsharkUniquePayloadBytes(CAPTURE, port);
    expect(bytes.toServer).toBeGreaterThan(0);
    expect(bytes.toClient).toBeGreaterThan(0);
    // Loopback capture without loss: tshark flags no retransmission, overlap or
    // out-of-order segment, so the union of the sequence ranges equals the plain
    // sum of tcp.len of the non-retransmitted segments in each direction.
    expect(sumTcpLen(CAPTURE, 'tcp.analysis.flags')).toBe(0);
    const notRetx = `tcp.len>0 && !tcp.analysis.retransmission && !tcp.analysis.out_of_order`;
    expect(bytes.toServer).toBe(sumTcpLen(CAPTURE, `tcp.dstport==${port} && ${notRetx}`));
    expect(bytes.toClient).toBe(sumTcpLen(CAPTURE, `tcp.srcport==${port} && ${notRetx}`));
    // Values for this golden file (checked independently by reassembling every
    // stream contiguously and parsing 10019 RESP requests and 10019 replies).
    expect(bytes).toEqual({ toServer: 427_762, toClient: 131_167 });
  });

  it.skipIf(noMergecap)('counts retransmitted bytes once', () => {
    // Merging the capture with itself sends every segment twice; tshark flags
    // the copies as retransmissions, the naive sum doubles, the union must not.
    const dup = join(scratchDir(), 'dup.pcap');
    const r = spawnSync('mergecap', ['-w', dup, CAPTURE, CAPTURE], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const port = serverPort(CAPTURE);
    const once = tsharkUniquePayloadBytes(CAPTURE, port);
    expect(sumTcpLen(dup, `tcp.dstport==${port} && tcp.len>0`)).toBe(2 * once.toServer);
    expect(sumTcpLen(dup, 'tcp.analysis.retransmission')).toBe(once.toServer + once.toClient);
    expect(tsharkUniquePayloadBytes(dup, port)).toEqual(once);
  });

  it.skipIf(noTshark)('returns zero for a port with no traffic and rejects bad ports', () => {
    expect(tsharkUniquePayloadBytes(CAPTURE, 1)).toEqual({ toServer: 0, toClient: 0 });
    expect(() => tsharkUniquePayloadBytes(CAPTURE, 70000)).toThrow(RangeError);
  });
});
