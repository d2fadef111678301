import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { generateRedisCapture } from '../gen/redis.js';
import { encodeCommand } from '../redis/encode.js';
import { scriptedCapture, type ScriptedSegment } from '../testing/capture.js';
import { resolveConfig } from './config.js';
import { Replay } from './replay.js';

const dir = mkdtempSync(join(tmpdir(), 'lockstep-output-thread-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Lossless: every transaction is published, in order. */
const config = resolveConfig('logstash', [{ ports: [6379], tcp: 'reassemble' }]);

/** A reply split into segments of at most 60,000 bytes (a frame holds 65,535). */
function reply(atNs: number, clientPort: number, payload: Buffer): ScriptedSegment[] {
  const out: ScriptedSegment[] = [];
  for (let i = 0; i < payload.length; i += 60_000) out.push({ atNs, toServer: false, clientPort, payload: payload.subarray(i, i + 60_000) });
  return out;
}

const bulk = (s: string | Buffer) => Buffer.concat([Buffer.from(`$${Buffer.byteLength(s)}\r\n`), Buffer.from(s), Buffer.from('\r\n')]);

/** What the output thread must get right: escapes, UTF-8, replies of every shape, events larger than a record, many connections. */
function oddScript(): ScriptedSegment[] {
  const s: ScriptedSegment[] = [];
  const replies: Buffer[] = [
    bulk('plain'),
    bulk('caf\u00e9 \u{1f600} "quoted" back\\slash\nnew line \u0001'),
    Buffer.from('-ERR wrong number of arguments\r\n'),
    Buffer.from(':-42\r\n'),
    Buffer.from('$-1\r\n'),
    Buffer.from('*3\r\n$1\r\na\r\n:7\r\n*1\r\n+nested\r\n'),
    bulk('x'.repeat(40_000)), // larger than a record: encoded on the replay's thread
    bulk(Buffer.alloc(700_000, 0x41)), // larger than a batch: several pieces
    bulk(Buffer.from([0xff, 0xfe, 0x41])), // not UTF-8
  ];
  let t = 0;
  for (let i = 0; i < 60; i++) {
    const clientPort = 41000 + (i % 7);
    s.push({ atNs: t, toServer: true, clientPort, payload: encodeCommand(['GET', `k\u00e9y:${i}`, '"\\']) });
    s.push(...reply(t + 500, clientPort, replies[i % replies.length]!));
    t += 1_000_000;
  }
  return s;
}

/** The events of a replay written through the output thread, and as the replay's own thread formats them. */
function both(capture: () => string | ReturnType<typeof scriptedCapture>, out: string) {
  const file = new Replay(capture(), config, { output: { kind: 'file', path: out } });
  file.run();
  const summary = file.finish();
  const memory = new Replay(capture(), config, { output: { kind: 'memory' } });
  memory.run();
  const lines = memory.finish().lines!;
  return { summary, text: readFileSync(out, 'utf8'), expected: lines.length === 0 ? '' : `${lines.join('\n')}\n`, lines };
}

describe('output thread', () => {
  it('writes byte for byte what the replay thread formats: escapes, UTF-8, errors, arrays, nil, events larger than a record', () => {
    const r = both(() => scriptedCapture(oddScript()), join(dir, 'odd.ndjson'));
    expect(r.summary.fates.published).toBe(60);
    expect(r.lines.length).toBe(60);
    expect(r.text).toBe(r.expected);
    expect(r.text).toContain('"return_value":"caf\u00e9 \u{1f600} \\"quoted\\" back\\\\slash\\nnew line \\u0001"');
    expect(r.text).toContain(`"return_value":"${'A'.repeat(700_000)}"`);
  });

  it('keeps order over many batches and turns of the ring (20,000 events, 7 MB)', () => {
    const capture = join(dir, 'gen.pcap');
    generateRedisCapture({ transactions: 20_000, connections: 40, gaps: 2, midstream: 2, seed: 5 }, capture);
    const r = both(() => capture, join(dir, 'gen.ndjson'));
    expect(r.summary.fates.published).toBe(r.summary.transactions);
    expect(r.summary.transactions).toBeGreaterThan(19_900);
    expect(r.text.length).toBeGreaterThan(5_000_000);
    expect(r.text).toBe(r.expected);
  });

  it('serves replays one after another and side by side, each to its own file', () => {
    const script = oddScript().slice(0, 40);
    const a = new Replay(scriptedCapture(script), config, { output: { kind: 'file', path: join(dir, 'a.ndjson') } });
    const b = new Replay(scriptedCapture(script.slice(0, 20)), config, { output: { kind: 'file', path: join(dir, 'b.ndjson') } });
    a.run(50);
    b.run();
    a.run();
    b.finish();
    a.finish();
    const c = new Replay(scriptedCapture(script), config, { output: { kind: 'file', path: join(dir, 'c.ndjson') } });
    c.run();
    c.finish();
    const text = (f: string) => readFileSync(join(dir, f), 'utf8');
    const formatted = (segments: ScriptedSegment[]) => {
      const m = new Replay(scriptedCapture(segments), config, { output: { kind: 'memory' } });
      m.run();
      return `${m.finish().lines!.join('\n')}\n`;
    };
    // 40 segments are 14 transactions (two replies take several segments), 20 are 7
    expect([text('a.ndjson'), text('b.ndjson'), text('c.ndjson')].map((t) => t.split('\n').length - 1)).toEqual([14, 7, 14]);
    expect(text('a.ndjson')).toBe(formatted(script));
    expect(text('b.ndjson')).toBe(formatted(script.slice(0, 20)));
    expect(text('c.ndjson')).toBe(text('a.ndjson'));
  });

  it('reports a failed write as the file and its code, leaves no file behind, and serves the next replay', () => {
    const out = join(dir, 'full.ndjson');
    // the temporary file is this process's: make it the device that is always full
    symlinkSync('/dev/full', `${out}.${process.pid}.tmp`);
    const r = new Replay(scriptedCapture(oddScript()), config, { output: { kind: 'file', path: out } });
    r.run();
    let thrown: NodeJS.ErrnoException | null = null;
    try {
      r.finish();
    } catch (e) {
      thrown = e as NodeJS.ErrnoException;
    }
    expect(thrown?.code).toBe('ENOSPC');
    expect(thrown?.path).toBe(out);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.startsWith('full.'))).toEqual([]);
    const next = both(() => scriptedCapture(oddScript().slice(0, 10)), join(dir, 'after.ndjson'));
    expect(next.text).toBe(next.expected);
  });

  /** Runs the built library's replay to `out` in `node NODE_OPTIONS --input-type=module -e` (npm test builds first), as a user's script would. */
  function replayInNode(nodeOptions: string[], transactions: number, out: string) {
    const capture = join(dir, `${transactions}.pcap`);
    generateRedisCapture({ transactions, seed: 9 }, capture);
    const index = pathToFileURL(resolve('dist/index.js')).href;
    const script = `const m = await import(${JSON.stringify(index)});
      const s = m.replay(${JSON.stringify(capture)}, { ports: [6379], output: { kind: 'file', path: ${JSON.stringify(out)} } });
      console.log(s.fates.published);`;
    const r = spawnSync(process.execPath, ['--input-type=module', ...nodeOptions, '-e', script], { encoding: 'utf8', timeout: 60_000 });
    return { stderr: r.stderr, published: Number(r.stdout.trim()) };
  }

  it('hands the process\'s other Node options on to its thread: --cpu-prof profiles both', () => {
    const profiles = join(dir, 'profiles');
    const r = replayInNode(['--cpu-prof', '--cpu-prof-dir', profiles], 50, join(dir, 'profiled.ndjson'));
    expect(r.stderr).toBe('');
    // one profile for the process's thread, one for the output thread
    expect(readdirSync(profiles).filter((f) => f.endsWith('.cpuprofile'))).toHaveLength(2);
  });

  it('starts from a script run with `node --input-type=module --max-semi-space-size=4 -e` (a thread must not inherit either)', () => {
    const out = join(dir, 'eval.ndjson');
    const r = replayInNode(['--max-semi-space-size=4', '--conditions', 'development'], 300, out);
    expect(r.stderr).toBe('');
    expect(r.published).toBeGreaterThan(0);
    expect(readFileSync(out, 'utf8').split('\n').length - 1).toBe(r.published);
  });
});
