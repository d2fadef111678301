/**
 * Issue 18's reproducers (copied from shared/repro-inputs/): each once
 * crashed, hung or misled lockstep, and must not again.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { analyze } from '../src/analyze.js';
import { formatEvent } from '../src/feed.js';
import { scriptedPcap, type ScriptedSegment } from './support/capture.js';
import { lockstep, scratchDir } from './support/cli.js';
import { ORACLES_DIR, runAnalyzerOracle } from './support/oracles.js';

const DIR = 'test/repro-inputs';
const dir = scratchDir('lockstep-repro-');

/** `payload` cut into segments of 1448 bytes (a multiple of 4: no `*1\r\n` header is cut), 1 µs apart from `atNs`. */
function segmented(atNs: number, toServer: boolean, payload: Buffer): ScriptedSegment[] {
  const out: ScriptedSegment[] = [];
  for (let i = 0; i * 1448 < payload.length; i++) out.push({ atNs: atNs + i * 1000, toServer, payload: payload.subarray(i * 1448, (i + 1) * 1448) });
  return out;
}

describe("issue 18's reproducers", () => {
  it('fuzz-pb5-nested-arrays-stack-overflow: thousands of nested arrays do not exhaust the stack of packetbeat 5\'s parser', () => {
    const file = join(DIR, 'fuzz-pb5-nested-arrays-stack-overflow.pcap');
    const r = lockstep('analyze', file, '--as', 'packetbeat5', '--ports', '6379,7101,16379,32117,20554', '--json');
    expect([r.code, r.stderr.includes('redis.parse_errors')]).toEqual([0, true]);
    const s = JSON.parse(r.stdout);
    // packetbeat 5's analyzer reads it the same way: no event
    expect([s.transactions, s.counters['redis.parse_errors']]).toEqual([0, 1]);
  });

  /** GET k answered by `depth` nested arrays around `:1`; DEL of `depth` nested arrays around `v`, answered `:0`. */
  function deepCapture(depth: number): string {
    const nested = (inner: string) => Buffer.from('*1\r\n'.repeat(depth) + inner);
    const capture = join(dir, `deep-${depth}.pcap`);
    writeFileSync(
      capture,
      scriptedPcap([
        { atNs: 0, toServer: true, payload: '*2\r\n$3\r\nGET\r\n$1\r\nk\r\n' },
        ...segmented(1_000_000, false, nested(':1\r\n')),
        // a segment that ends inside an array header would make packetbeat 5 drop the request: the cuts fall between headers
        { atNs: 2_000_000_000, toServer: true, payload: '*2\r\n$3\r\nDEL\r\n' },
        ...segmented(2_000_001_000, true, nested('$1\r\nv\r\n')),
        { atNs: 3_000_000_000, toServer: false, payload: ':0\r\n' },
      ]),
    );
    return capture;
  }

  it('100,000 nested arrays in a reply and in a request are read and rendered as packetbeat 5 renders them, in linear time', () => {
    const depth = 100_000;
    const capture = deepCapture(depth);
    const events = join(dir, 'deep.ndjson');
    const started = performance.now();
    const s = analyze(capture, { as: 'packetbeat5', events });
    const ms = performance.now() - started;
    expect(s.transactions).toBe(2);
    const [get, del] = readFileSync(events, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { method: string; resource: string; redis: { return_value: string }; query: string });
    const brackets = (inner: string) => '['.repeat(depth) + inner + ']'.repeat(depth);
    expect([get!.method, get!.redis.return_value]).toEqual(['GET', brackets('1')]);
    expect([del!.method, del!.resource, del!.query]).toEqual(['DEL', brackets('v'), `DEL ${brackets('v')}`]);
    // rendering each level by copying the one inside it took minutes at this depth (2.9 s in all, measured)
    expect(ms).toBeLessThan(20_000);
    // the lossless view refuses both messages as too deep (32 levels), each skipped whole: GET pairs with the `:0`
    const lossless = analyze(capture, {});
    expect([lossless.transactions, lossless.counters['redis.parse_errors'], lossless.counters['redis.resync_skipped_bytes']]).toEqual([1, 2, 400_004 + 400_020]);
  });

  it.skipIf(ORACLES_DIR === null)('nested arrays: the same events as packetbeat 5 itself', () => {
    // 20,000 levels: its parser is quadratic in the depth (21 s at 100,000)
    const capture = deepCapture(20_000);
    const events = join(dir, 'deep-20000.ndjson');
    analyze(capture, { as: 'packetbeat5', events });
    expect(readFileSync(events)).toEqual(runAnalyzerOracle(capture, [6379]).events);
  });

  it('memory-200k-connections-16MB: connection state is bounded; memory stays under 150 MB (618 MB before), every eviction counted and warned of', () => {
    const file = join(dir, 'm200k.pcap');
    writeFileSync(file, gunzipSync(readFileSync(join(DIR, 'memory-200k-connections-16MB.pcap.gz'))));
    // the CLI process's own peak RSS, as it exits
    const preload = join(dir, 'maxrss.cjs');
    writeFileSync(preload, "process.on('exit', () => process.stderr.write('maxrss ' + process.resourceUsage().maxRSS + '\\n'));\n");
    for (const args of [[], ['--tcp', 'packetbeat'], ['--as', 'packetbeat5']]) {
      const r = spawnSync(process.execPath, ['--require', preload, 'dist/cli/main.js', 'analyze', file, '--json', ...args], { encoding: 'utf8', timeout: 60_000 });
      expect(r.status).toBe(0);
      const s = JSON.parse(r.stdout);
      // 200,000 connections of one segment each, a partial request; 10,000 open at most
      expect([s.counters['tcp.connections'], s.counters['tcp.connections_evicted'], s.transactions]).toEqual([200_000, 190_000, 0]);
      expect(r.stderr).toContain('lockstep: warning: 190000 connections closed early: more than 10000 were open at once');
      const kb = Number(/maxrss (\d+)/.exec(r.stderr)![1]);
      expect(kb, `peak RSS of analyze ${args.join(' ')}`).toBeLessThan(150 * 1024);
    }
  });

  it('a full connection table closes the least recently seen connection: its waiting requests are unmatched (evicted), the others pair', () => {
    const get = (k: string) => `*2\r\n$3\r\nGET\r\n$1\r\n${k}\r\n`;
    const capture = join(dir, 'evict.pcap');
    writeFileSync(
      capture,
      scriptedPcap([
        { atNs: 0, toServer: true, payload: get('a'), clientPort: 40001 },
        { atNs: 1000, toServer: true, payload: get('b'), clientPort: 40002 },
        // A was seen least recently: a third connection closes it
        { atNs: 2000, toServer: true, payload: get('c'), clientPort: 40003 },
        { atNs: 3000, toServer: false, payload: '$1\r\nB\r\n', clientPort: 40002 },
        { atNs: 4000, toServer: false, payload: '$1\r\nC\r\n', clientPort: 40003 },
        // A's reply comes to a connection the table no longer has: a new one, where nothing waits
        { atNs: 5000, toServer: false, payload: '$1\r\nA\r\n', clientPort: 40001 },
      ]),
    );
    const counts = (s: ReturnType<typeof analyze>) => [
      s.transactions,
      s.counters['tcp.connections'],
      s.counters['tcp.connections_evicted'],
      s.counters['redis.unmatched_requests.evicted'],
      s.counters['redis.unmatched_responses'],
    ];
    for (const as of ['lossless', 'packetbeat5'] as const) {
      expect(counts(analyze(capture, { as, maxConnections: 2 })), as).toEqual([2, 4, 2, 1, 1]);
      expect(counts(analyze(capture, { as, maxConnections: 3 })), as).toEqual([3, 3, 0, 0, 0]);
    }
    const r = lockstep('replay', capture, '--max-connections', '2', '--shutdown', 'drain', '--json');
    expect([r.code, JSON.parse(r.stdout).counters['tcp.connections_evicted']]).toEqual([0, 2]);
    expect(r.stderr).toContain('2 connections closed early: more than 2 were open at once');
  });

  it('stack-overflow-render-bare-cr: a request of nested arrays behind bare CRs renders without exhausting the stack', () => {
    const r = lockstep('analyze', join(DIR, 'stack-overflow-render-bare-cr.pcap'), '--events', join(dir, 'e.ndjson'));
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toMatch(/^1 transactions$/m);
  });

  it('render-desync-bare-cr: a bare CR belongs to its line, as the parser reads it: the event says the words the request has', () => {
    const events: string[] = [];
    const s = analyze(join(DIR, 'render-desync-bare-cr.pcap'), { onTransaction: (tx, base) => events.push(formatEvent(tx, base)) });
    expect(s.transactions).toBe(1);
    const e = JSON.parse(events[0]!) as { method: string; query: string; resource: string };
    // the request's first bulk string holds bare CRs ("a\rX*1\rX*1…"); its second is "b"
    expect([e.method.startsWith('A\rX*1\rX*1'), e.query.startsWith('a\rX*1\rX*1'), e.query.endsWith(' b'), e.resource]).toEqual([true, true, true, 'b']);
    expect(e.query).not.toContain('[');
  });

  it('hang-reassemble-held-fin: a FIN held behind a hole with more held than the limit ends, in reassemble mode', () => {
    // gzipped here (1.1 MB unpacked, mostly the payload of segments past the FIN)
    const out = join(dir, 'held-fin.pcap');
    writeFileSync(out, gunzipSync(readFileSync(join(DIR, 'hang-reassemble-held-fin.pcap.gz'))));
    const r = spawnSync(process.execPath, ['dist/cli/main.js', 'analyze', out, '--json'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout);
    expect([s.packets, s.counters['tcp.dropped_because_of_gaps'], s.counters['tcp.out_of_order_segments']]).toEqual([21, 1, 18]);
    expect(readFileSync(out).length).toBe(1106495);
  });

  it('invalid-date-if_tsoffset, timestamp-cache-poisoned: a timestamp no date can hold is a one-line capture error at its record, exit 2, no temporary file', () => {
    for (const [file, record, offset, sec] of [
      ['invalid-date-if_tsoffset.pcapng', 3, 64, '4611686019909793000'],
      ['timestamp-cache-poisoned.pcapng', 6, 396, '18446744073709'],
    ] as const) {
      const out = join(dir, `${file}.ndjson`);
      for (const args of [['analyze', join(DIR, file)], ['replay', join(DIR, file), '--shutdown', 'drain', '--out', out]]) {
        const r = lockstep(...args);
        const lines = r.stderr.trimEnd().split('\n').filter((l) => !l.startsWith('lockstep: warning:'));
        const path = join(DIR, file).replace(/\./g, '\\.');
        expect([r.code, lines.length]).toEqual([2, 1]);
        expect(lines[0]).toMatch(new RegExp(`^lockstep: ${path}: record ${record} at byte offset ${offset}: timestamp ${sec} s \\(with the interface's if_tsoffset \\d+ s\\) is outside the dates an event can carry`));
      }
      // what came before the fault is kept, whole, under its name; nothing temporary is left
      expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
      expect(readFileSync(out, 'utf8')).toBe('');
    }
  });

  it('tcp-thread-*, responsetime-file-vs-memory: one path makes the events, so --json, --out, stdout and analyze agree', () => {
    const ports = ['--ports', '6379,7101,16379,32117'];
    // the fuzzer's capture holds a request of nested arrays broken by a bad byte: the lossless view resynchronises
    // inside it, and the last 135 bytes parse as a 12th request (each try goes no deeper than 32 levels)
    for (const [file, lossless, packetbeat5] of [['tcp-thread-16k-split.pcap', 0, 0], ['tcp-thread-split-found-by-fuzzer.pcap', 12, 11]] as const) {
      const f = join(DIR, file);
      const count = (args: string[]) => JSON.parse(lockstep(...args, '--json').stdout).transactions as number;
      expect([count(['analyze', f, '--tcp', 'packetbeat', ...ports]), count(['analyze', f, '--as', 'packetbeat5', ...ports])]).toEqual([lossless, packetbeat5]);
      // the replay's analyzer is its profile's: packetbeat 5's for packetbeat5, the lossless one for logstash
      for (const [profile, n] of [['packetbeat5', packetbeat5], ['logstash', lossless]] as const) {
        const base = ['replay', f, '--profile', profile, '--tcp', 'packetbeat', '--policy', 'block', '--shutdown', 'drain', ...ports];
        const out = join(dir, `${file}.${profile}.ndjson`);
        expect(count(base)).toBe(n);
        expect(lockstep(...base, '--out', out).code).toBe(0);
        const lines = readFileSync(out, 'utf8');
        expect(lines === '' ? 0 : lines.trimEnd().split('\n').length).toBe(n);
        expect(lockstep(...base, '--output', 'stdout').stdout).toBe(lines);
      }
    }
    const rt = ['replay', join(DIR, 'responsetime-file-vs-memory.pcap'), '--ports', '6379', '--tcp', 'packetbeat', '--shutdown', 'drain'];
    const file = join(dir, 'rt.ndjson');
    // its record 57 has a time no date holds: the run ends there (exit 2) with the 12 events before it, the same either way
    expect(lockstep(...rt, '--out', file).code).toBe(2);
    const stdout = lockstep(...rt, '--output', 'stdout').stdout;
    expect(stdout).toBe(readFileSync(file, 'utf8'));
    expect(stdout.trimEnd().split('\n')).toHaveLength(12);
  });
});
