import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lockstep } from '../../test/support/cli.js';

const capture = 'golden/real-redis/capture.pcap';
const port = readFileSync('golden/real-redis/port.txt', 'utf8').trim();

interface Point {
  crashAtNs: number;
  published: number;
  lostInCrash: number;
  duplicated: number;
  replay: string;
}

describe('lockstep crashes', () => {
  it('crashes the run at N moments spread over it; each point is its replay line; the persisted queue loses nothing, the memory queue never writes twice', () => {
    const pq = lockstep('crashes', capture, '--ports', port, '--profile', 'logstash', '--queue-type', 'persisted', '--points', '3', '--json');
    expect(pq.code).toBe(0);
    const r = JSON.parse(pq.stdout) as { runNs: number; points: Point[]; worstDuplicated: Point | null };
    expect(r.points.map((p) => p.crashAtNs)).toEqual([1, 2, 3].map((i) => Math.round((r.runNs * i) / 4)));
    for (const p of r.points) {
      expect(p.lostInCrash).toBe(0);
      const one = JSON.parse(lockstep('replay', ...p.replay.split(' ').slice(2), '--json').stdout) as { fates: Record<string, number>; duplicated: number };
      expect([one.fates.published, one.fates.lost_in_crash, one.duplicated]).toEqual([p.published, p.lostInCrash, p.duplicated]);
    }
    expect(r.worstDuplicated?.duplicated).toBe(Math.max(...r.points.map((p) => p.duplicated)));
    const mem = JSON.parse(lockstep('crashes', capture, '--ports', port, '--profile', 'logstash', '--points', '3', '--json').stdout) as { points: Point[] };
    for (const p of mem.points) expect(p.duplicated).toBe(0);
    expect(mem.points.some((p) => p.lostInCrash > 0)).toBe(true);
  });

  it('a bad --points is one line and exit 2', () => {
    const r = lockstep('crashes', capture, '--points', 'many');
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual(['Expected `--points` to be a whole number from 1 to 10000, got `many`']);
  });
});
