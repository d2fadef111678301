import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, lockstep, scratchDir } from '../../test/support/cli.js';
import { generateRedisCapture, PRESETS } from '../gen/redis.js';

const dir = scratchDir('lockstep-replay-');

const issue = join(dir, 'issue-3404.pcap');
generateRedisCapture(PRESETS['issue-3404']!, issue);

describe('lockstep replay', () => {
  it('packetbeat5 on the issue capture, without jitter, publishes inside the report band, every run the same', () => {
    const a = lockstep('replay', issue, '--ports', '7101', '--json', '--out', join(dir, 'a.ndjson'));
    const b = lockstep('replay', issue, '--ports', '7101', '--json', '--out', join(dir, 'b.ndjson'));
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    expect(readFileSync(join(dir, 'a.ndjson')).equals(readFileSync(join(dir, 'b.ndjson')))).toBe(true);
    const s = JSON.parse(a.stdout);
    const published = s.counters['libbeat.publisher.published_events'];
    expect(published).toBeGreaterThanOrEqual(13_859);
    expect(published).toBeLessThanOrEqual(15_006);
    expect(s.counters['redis.unmatched_responses']).toBe(23);
    expect(s.counters['tcp.dropped_because_of_gaps']).toBe(4);
    expect(Object.keys(s.fates)).toEqual(['published', 'dropped_queue_full', 'lost_at_shutdown', 'lost_in_crash', 'output_failed', 'filtered']);
    expect(s.transactions).toBe(s.fates.published + s.fates.dropped_queue_full + s.fates.lost_at_shutdown);
    expect(readFileSync(join(dir, 'a.ndjson'), 'utf8').trimEnd().split('\n')).toHaveLength(s.fates.published);
    for (const key of ['packets', 'lostAtShutdownBy', 'shipper', 'simTimeNs', 'config', 'replay']) expect(s).toHaveProperty(key);
  });

  it('prints the one command line that replays the run exactly, and it does', () => {
    const first = lockstep('replay', issue, '--ports', '7101', '--jitter', '--seed', '7', '--queue-size', '800', '--json');
    const s = JSON.parse(first.stdout);
    const again = lockstep(...s.replay.split(' ').slice(1), '--json');
    expect(again.code).toBe(0);
    const t = JSON.parse(again.stdout);
    expect(t.fates).toEqual(s.fates);
    expect(t.config).toEqual(s.config);
    expect(t.simTimeNs).toBe(s.simTimeNs);
  });

  it('jitter: seeds differ, each replays exactly', () => {
    const counts = [1, 2, 3].map((seed) => {
      const once = lockstep('replay', issue, '--ports', '7101', '--jitter', '0.5', '--seed', String(seed), '--json');
      const twice = lockstep('replay', issue, '--ports', '7101', '--jitter', '0.5', '--seed', String(seed), '--json');
      expect(once.stdout).toBe(twice.stdout);
      return JSON.parse(once.stdout).fates.published;
    });
    expect(new Set(counts).size).toBe(3);
  });

  it('accepts packetbeat\'s own command line and config', () => {
    const yml = join(dir, 'packetbeat.yml');
    writeFileSync(yml, 'queue_size: 1000\nbulk_queue_size: 0\npacketbeat.protocols.redis:\n  ports: [6379]\n');
    const r = lockstep('replay', '-c', yml, '-e', '-I', issue, '-E', 'packetbeat.protocols.redis.ports=7101', '-t', '-waitstop', '5', '--json');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.config).toMatchObject({ profile: 'packetbeat5', ports: [7101], pacing: 'topspeed', waitstopNs: 5e9, queueSize: 1000 });
    // a waitstop longer than the drain: nothing is lost at shutdown, only queue-full drops remain
    expect(s.fates.lost_at_shutdown).toBe(0);
    expect(s.fates.dropped_queue_full).toBeGreaterThan(0);
  });

  it('--check-determinism finds no divergence', () => {
    const r = lockstep('replay', issue, '--ports', '7101', '--jitter', '--seed', '3', '--check-determinism');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^deterministic: two runs took the same \d+ steps, hash for hash\n$/);
  });

  it('writes the ledger and Logstash node stats', () => {
    const ledger = join(dir, 'ledger.ndjson');
    const stats = join(dir, 'stats.json');
    const r = lockstep('replay', issue, '--ports', '7101', '--profile', 'logstash', '--ledger', ledger, '--stats', stats, '--json');
    const s = JSON.parse(r.stdout);
    const lines = readFileSync(ledger, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(s.transactions);
    expect(new Set(lines.map((l) => l.id)).size).toBe(s.transactions);
    expect(lines.every((l) => l.fate === 'published')).toBe(true);
    const ev = JSON.parse(readFileSync(stats, 'utf8')).pipelines.main.events;
    expect(ev).toEqual({
      in: s.shipper['events.in'], filtered: s.shipper['events.filtered'], out: s.shipper['events.out'],
      duration_in_millis: s.shipper['events.duration_in_millis'], queue_push_duration_in_millis: s.shipper['events.queue_push_duration_in_millis'],
    });
    expect(ev.in).toBe(s.transactions);
  });

  it.each([
    [['replay', 'x.pcap', '--policy', 'sometimes'], 'Expected `--policy` to be one of drop, block, got `sometimes`'],
    [['replay', 'x.pcap', '-E', 'queue_size=0'], '-E: Expected `queue_size` to be a whole number from 1 to 100000000, got `0`'],
    [['replay', 'x.pcap', '-E', 'queue_size'], 'Expected `-E` to be key=value, got `queue_size`'],
    [['replay', 'x.pcap', '--waitstop', 'soon'], 'Expected `--waitstop` to be a duration such as 5, 5s, 500ms or 2m, got `soon`'],
    [['replay', 'x.pcap', '--cost', 'disk.perEvent=5'], /^Expected `--cost` to be STAGE.FIELD=NS/],
    [['replay'], 'lockstep replay: expected one CAPTURE, got none'],
  ])('%j: one line, exit 2', (args, message) => {
    const r = lockstep(...(args as string[]));
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    if (typeof message === 'string') expect(r.stderr.trimEnd()).toBe(message);
    else expect(r.stderr).toMatch(message);
  });

  it('Ctrl-C leaves only whole lines and prints the summary so far', async () => {
    const big = join(dir, 'big.pcap');
    generateRedisCapture({ transactions: 100_000, connections: 200, seed: 11 }, big);
    const out = join(dir, 'interrupted.ndjson');
    const child = spawn(process.execPath, [BIN, 'replay', big, '--profile', 'logstash', '--out', out, '--ledger', join(dir, 'l.ndjson')], {
      env: { ...process.env, NO_COLOR: '1' },
    });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    // interrupt once the output has been opened (the run then takes a second or so)
    const tmpName = `${out}.${child.pid}.tmp`;
    while (!existsSync(tmpName)) await new Promise((r) => setTimeout(r, 5));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(code).toBe(130);
    expect(stdout).toContain('interrupted: the figures below are what had happened so far');
    const text = readFileSync(out, 'utf8');
    expect(text === '' || text.endsWith('\n')).toBe(true);
    const lines = text.split('\n').filter(Boolean);
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
    expect(lines.length).toBeLessThan(100_000);
  });
});
