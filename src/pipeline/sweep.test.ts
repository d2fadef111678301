import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateRedisCapture } from '../gen/redis.js';
import { resolveConfig } from '../profiles/index.js';
import { replay } from './replay.js';
import { dropsMonotone, logGrid, sweep, withQueueSize } from './sweep.js';

const dir = mkdtempSync(join(tmpdir(), 'lockstep-sweep-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const capture = join(dir, 'c.pcap');
generateRedisCapture({ transactions: 600, connections: 6, seed: 4 }, capture);
// a slow publisher (1 ms an event) behind a small channel: drops until the channel is a few hundred deep, and drains for longer than the 300 ms after the end of the file
const held = resolveConfig('packetbeat5', [{ costs: { worker: { perEvent: 1_000_000 } } }]);
// without the analyzer's slowdown by what the stores hold, and with costs that do not depend on the event: the case where drops provably fall as the queue grows
const base = {
  ...held,
  gcSlowdown: 0,
  costs: { ...held.costs, worker: { ...held.costs.worker, perByte: 0 }, output: { ...held.costs.output, perByte: 0 } },
};

describe('sweep', () => {
  it('finds the smallest drop-free queue_size by bisection, in at most 25 replays for 1..200,000', () => {
    const r = sweep({ capture, base, queueMin: 1, queueMax: 200_000, waitstops: [0], seeds: [0] });
    expect(r.method).toBe('bisection');
    const min = r.minQueueSizeNoDrops[0]!.queueSize!;
    expect(min).toBeGreaterThan(1);
    // exact: one below it drops, it does not
    expect(replay(capture, withQueueSize(base, min)).fates.dropped_queue_full).toBe(0);
    expect(replay(capture, withQueueSize(base, min - 1)).fates.dropped_queue_full).toBeGreaterThan(0);
    const bisectionReplays = r.points.filter((p) => p.waitstopNs === 0).length;
    expect(bisectionReplays).toBeLessThanOrEqual(25);
  });

  it('measures the shortest waitstop that loses nothing at that queue size', () => {
    const r = sweep({ capture, base, queueMin: 1, queueMax: 200_000, waitstops: [0], seeds: [0] });
    const at = r.minWaitstopAtQueueSize;
    const w = r.minWaitstopNoLossNs!;
    expect(w).toBeGreaterThan(0);
    const c = withQueueSize(base, at);
    expect(replay(capture, { ...c, waitstopNs: w }).fates.lost_at_shutdown).toBe(0);
    expect(replay(capture, { ...c, waitstopNs: w - 1 }).fates.lost_at_shutdown).toBeGreaterThan(0);
  });

  it('walks a grid where drops need not fall as the queue grows, and takes the worst seed', () => {
    const eventBound = { ...base, jitter: 0.5, drawsPer: 'event' as const };
    expect(dropsMonotone(eventBound)).toBe(false);
    const r = sweep({ capture, base: eventBound, queueMin: 1, queueMax: 2000, waitstops: [0], seeds: [1, 2], gridPoints: 8 });
    expect(r.method).toBe('grid');
    // walked from the top down, stopping at the first size that drops, then bisected up to the grid point above (≤ 11 steps for 1..2000 in 8 points)
    expect(r.points.filter((p) => p.waitstopNs === 0).length).toBeLessThanOrEqual(2 * (8 + 11));
    const perSeed = [1, 2].map((seed) => {
      const pts = r.points.filter((p) => p.seed === seed && p.waitstopNs === 0).sort((a, b) => a.queueSize - b.queueSize);
      let min: number | null = null;
      for (let i = pts.length - 1; i >= 0 && pts[i]!.droppedQueueFull === 0; i--) min = pts[i]!.queueSize;
      return min;
    });
    expect(r.minQueueSizeNoDrops[0]!.queueSize).toBe(Math.max(...(perSeed as number[])));
  });

  it('with the slowdown by what the stores hold (packetbeat5 by default): a grid, then bisection between its last dropping point and the first drop-free one', () => {
    expect(held.gcSlowdown).toBeGreaterThan(0);
    expect(dropsMonotone(held)).toBe(false);
    const r = sweep({ capture, base: held, queueMin: 1, queueMax: 200_000, waitstops: [0], seeds: [0], gridPoints: 16 });
    expect(r.method).toBe('grid');
    const min = r.minQueueSizeNoDrops[0]!.queueSize!;
    expect(replay(capture, withQueueSize(held, min)).fates.dropped_queue_full).toBe(0);
    expect(replay(capture, withQueueSize(held, min - 1)).fates.dropped_queue_full).toBeGreaterThan(0);
    // every grid point above it was replayed and drops nothing
    const above = logGrid(1, 200_000, 16).filter((q) => q > min);
    for (const q of above) expect(r.points.find((p) => p.queueSize === q)?.droppedQueueFull).toBe(0);
  });

  it('log grids include both ends and grow geometrically', () => {
    expect(logGrid(1, 1000, 4)).toEqual([1, 10, 100, 1000]);
    expect(logGrid(5, 5, 3)).toEqual([5]);
  });
});
