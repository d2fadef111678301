import { describe, expect, it } from 'vitest';
import { Scheduler, type Process } from './scheduler.js';

function recorder(log: string[], name: string): Process {
  return { stage: name, run: (now, token) => log.push(`${name}@${now}#${token}`) };
}

describe('Scheduler', () => {
  it('runs by time, then in the order things were scheduled, then late ones', () => {
    const s = new Scheduler();
    const log: string[] = [];
    s.at(5, recorder(log, 'c'));
    s.at(5, recorder(log, 'late'), 0, true);
    s.at(1, recorder(log, 'a'), 7);
    s.at(5, recorder(log, 'd'));
    s.at(3, recorder(log, 'b'));
    while (s.step());
    expect(log).toEqual(['a@1#7', 'b@3#0', 'c@5#0', 'd@5#0', 'late@5#0']);
    expect(s.now).toBe(5);
    expect(s.steps).toBe(5);
  });

  it('never goes back in time, and lets a process schedule more at the same instant', () => {
    const s = new Scheduler();
    const log: string[] = [];
    const again: Process = { stage: 'again', run: (now, t) => { log.push(`again@${now}#${t}`); if (t < 2) s.at(now - 10, again, t + 1); } };
    s.at(100, again, 0);
    s.at(100, recorder(log, 'other'));
    while (s.step());
    expect(log).toEqual(['again@100#0', 'other@100#0', 'again@100#1', 'again@100#2']);
  });

  it('keeps a total order over many entries (heap property)', () => {
    const s = new Scheduler();
    const seen: [number, number][] = [];
    let x = 12345;
    for (let i = 0; i < 5000; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      const t = x % 50;
      s.at(t, { stage: 'p', run: (now, token) => seen.push([now, token]) }, i);
    }
    while (s.step());
    for (let i = 1; i < seen.length; i++) {
      const [t0, o0] = seen[i - 1]!;
      const [t1, o1] = seen[i]!;
      expect(t0 < t1 || (t0 === t1 && o0 < o1)).toBe(true);
    }
  });
});
