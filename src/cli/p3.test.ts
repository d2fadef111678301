import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withBadCaplen } from '../../test/support/capture.js';
import { lockstep, scratchDir } from '../../test/support/cli.js';

const dir = scratchDir('lockstep-p3-');

describe('lockstep sweep, repro and replay --plot', () => {
  it('sweep: points, the smallest lossless queue_size and waitstop, a chart', () => {
    const svg = join(dir, 'sweep.svg');
    const r = lockstep('sweep', '--scenario', 'issue-3404', '--queue-size', '1..200000', '--waitstop', '0,60s', '--json', '--svg', svg);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    // packetbeat5's analyzer slows with what the stores hold: drops are not proven monotone, a grid then bisection
    expect(s.method).toBe('grid');
    expect(s.schemaVersion).toBe(1);
    expect(s.minQueueSizeNoDrops.map((m: { waitstopNs: number }) => m.waitstopNs)).toEqual([0, 60e9]);
    const min = s.minQueueSizeNoDrops[0].queueSize;
    expect(s.minQueueSizeNoDrops[1].queueSize).toBe(min);
    for (const p of s.points) {
      expect(Object.keys(p)).toEqual(['queueSize', 'waitstopNs', 'seed', 'published', 'droppedQueueFull', 'lostAtShutdown', 'publishedEvents', 'publishedNotWritten']);
      // what packetbeat counts is what it wrote, plus what it counted and lost at exit
      expect(p.publishedEvents).toBe(p.published + p.publishedNotWritten);
    }
    // the verdict holds at the boundary, and at every size replayed above it
    const at = s.points.filter((p: { waitstopNs: number }) => p.waitstopNs === 0);
    expect(at.find((p: { queueSize: number }) => p.queueSize === min).droppedQueueFull).toBe(0);
    expect(at.find((p: { queueSize: number }) => p.queueSize === min - 1).droppedQueueFull).toBeGreaterThan(0);
    expect(at.filter((p: { queueSize: number }) => p.queueSize > min).every((p: { droppedQueueFull: number }) => p.droppedQueueFull === 0)).toBe(true);
    expect(at.length).toBeLessThanOrEqual(16 + 18);
    expect(s.minWaitstopNoLossNs).toBeGreaterThan(0);
    expect(readFileSync(svg, 'utf8')).toMatch(/^<svg [^>]*>[\s\S]*<\/svg>\n$/);
    const text = lockstep('sweep', '--scenario', 'issue-3404', '--queue-size', '1..200000');
    expect(text.stdout).toContain(`smallest queue_size without queue-full drops: ${min}`);
    expect(text.stdout).toContain('queue_size (log scale)');
  });

  it('replay --plot draws the queue depth over simulated time', () => {
    const svg = join(dir, 'depth.svg');
    const r = lockstep('replay', '--scenario', 'issue-3404', '--plot', '--svg', svg);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('queue depth over simulated time');
    expect(r.stdout).toMatch(/^1k │/m);
    // every queue, each a trace; the capture's end and the shutdown marked
    const doc = readFileSync(svg, 'utf8');
    expect(['queue (capacity 1,000)', 'pipeline (capacity 1,000)', 'capture read (0.87)', 'shutdown (abort): nothing left to lose (1.17)'].filter((t) => !doc.includes(t))).toEqual([]);
    expect(r.stdout).toContain('8,885 events dropped while a queue was full');
    const pb8 = lockstep('replay', '--scenario', 'issue-3404', '--profile', 'packetbeat8', '--plot');
    expect(pb8.stdout).toContain('shutdown (abort): 2698 lost at once (1098 in queue, 1600 in flight) (1.828)');
  });

  it('repro --json: live counts, seeds, simulated runs that never vary, fixes that lose nothing', () => {
    const r = lockstep('repro', '--runs', '2', '--seeds', '3', '--json');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.live).toHaveLength(2);
    for (const n of s.live) expect(n).toBeLessThanOrEqual(s.transactions);
    expect(Object.keys(s.seeds)).toEqual(['1', '2', '3']);
    expect(s.sim).toHaveLength(2);
    expect(new Set(s.sim).size).toBe(1);
    expect(s.sim[0]).toBeGreaterThanOrEqual(13_859);
    expect(s.sim[0]).toBeLessThanOrEqual(15_006);
    expect(s.lost.droppedQueueFull + s.lost.lostAtShutdown + s.sim[0]).toBe(s.transactions);
    expect(s.fixes.lossless.published).toBe(s.transactions);
    expect(s.fixes.blockDrain.published).toBe(s.transactions);
  });

  it('a damaged capture: replay, sweep and repro report what came before the fault, then the fault on one line, exit 2', () => {
    const file = join(dir, 'good.pcap');
    expect(lockstep('gen', 'redis', '--transactions', '200', '--seed', '3', '--out', file).code).toBe(0);
    const bad = join(dir, 'bad.pcap');
    const off = withBadCaplen(file, 101, 300_000, bad);
    const fault = `lockstep: ${bad}: record 101 at byte offset ${off}: caplen 300000 exceeds the maximum 262144\n`;
    const replay = lockstep('replay', bad, '--json');
    expect([replay.code, replay.stderr]).toEqual([2, fault]);
    expect(JSON.parse(replay.stdout).packets).toBe(100);
    const sweep = lockstep('sweep', bad, '--queue-size', '1..50', '--json');
    expect([sweep.code, sweep.stderr]).toEqual([2, fault]);
    expect(JSON.parse(sweep.stdout).captureError).toBe(fault.slice('lockstep: '.length, -1));
    const repro = lockstep('repro', bad, '--runs', '1', '--seeds', '1', '--json');
    expect([repro.code, repro.stderr]).toEqual([2, fault]);
  });
});

describe('charts draw only what was measured', () => {
  it('sweep: a series per waitstop, zeros too; drops up to the top of the range say so and offer no false fix', () => {
    const r = lockstep('sweep', '--scenario', 'issue-3404', '--queue-size', '1..200000', '--waitstop', '0,1s,5s');
    for (const name of ['dropped when full', 'lost at shutdown, waitstop 0s', 'lost at shutdown, waitstop 1s: none', 'lost at shutdown, waitstop 5s: none']) {
      expect(r.stdout).toContain(`${name} (a mark per replay)`);
    }
    const low = lockstep('sweep', '--scenario', 'issue-3404', '--queue-size', '1..10', '--json');
    const s = JSON.parse(low.stdout);
    // the top of the range drops: the bottom is replayed too, so the chart spans the range
    expect([...new Set(s.points.map((p: { queueSize: number }) => p.queueSize))].sort((a, b) => (a as number) - (b as number))).toEqual([1, 10]);
    const text = lockstep('sweep', '--scenario', 'issue-3404', '--queue-size', '1..10');
    expect(text.stdout).toContain('no queue_size in 1..10 without queue-full drops — try up to 23498 (a queue of every transaction cannot fill)');
    expect(text.stdout).not.toContain('replay it:');
  });
});
