import { describe, expect, it } from 'vitest';
import { Random } from './random.js';
import { Scheduler, type Process } from './scheduler.js';

function recorder(log: string[], name: string): Process {
  return { stage: name, run: (now, wakeup, arg) => log.push(`${name}@${now}:${wakeup}#${arg}`) };
}

describe('Scheduler', () => {
  it('runs by time, then normal before late, then in the order things were scheduled', () => {
    const s = new Scheduler();
    const log: string[] = [];
    s.at(5, recorder(log, 'c'), 'next');
    s.at(5, recorder(log, 'late'), 'deadline', 0, 'late');
    s.at(1, recorder(log, 'a'), 'timeout', 7);
    s.at(5, recorder(log, 'd'), 'item');
    s.at(3, recorder(log, 'b'), 'served');
    while (s.step());
    expect(log).toEqual(['a@1:timeout#7', 'b@3:served#0', 'c@5:next#0', 'd@5:item#0', 'late@5:deadline#0']);
    expect(s.now).toBe(5);
    expect(s.steps).toBe(5);
  });

  it('never goes back in time, and lets a process schedule more at the same instant', () => {
    const s = new Scheduler();
    const log: string[] = [];
    const again: Process = {
      stage: 'again',
      run: (now, _w, n) => {
        log.push(`again@${now}#${n}`);
        if (n < 2) s.at(now - 10, again, 'next', n + 1);
      },
    };
    s.at(100, again, 'next', 0);
    s.at(100, recorder(log, 'other'), 'item');
    while (s.step());
    expect(log).toEqual(['again@100#0', 'other@100:item#0', 'again@100#1', 'again@100#2']);
  });

  it('keeps a total order over many entries (heap property)', () => {
    const s = new Scheduler();
    const seen: [number, number, number][] = [];
    let x = 12345;
    for (let i = 0; i < 5000; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      const t = x % 50;
      const late = (x >> 7) % 5 === 0;
      s.at(t, { stage: 'p', run: (now, _w, arg) => seen.push([now, late ? 1 : 0, arg]) }, 'next', i, late ? 'late' : 'normal');
    }
    while (s.step());
    expect(seen).toHaveLength(5000);
    for (let i = 1; i < seen.length; i++) {
      const [t0, p0, o0] = seen[i - 1]!;
      const [t1, p1, o1] = seen[i]!;
      expect(t0 < t1 || (t0 === t1 && (p0 < p1 || (p0 === p1 && o0 < o1)))).toBe(true);
    }
  });

  it("with shuffleTies (Go's select), runs the steps due at one instant in an order drawn from the seed, late ones still last", () => {
    const order = (seed: number | null) => {
      const s = new Scheduler();
      if (seed !== null) s.shuffleTies(new Random(seed, 'go.select'));
      const log: string[] = [];
      s.at(2, recorder(log, 'z'), 'next');
      s.at(1, recorder(log, 'late'), 'deadline', 0, 'late');
      for (const name of ['a', 'b', 'c', 'd', 'e', 'f']) s.at(1, recorder(log, name), 'item');
      while (s.step());
      return { log: log.map((l) => l[0]).join(''), ties: s.drawnTies };
    };
    expect(order(null)).toEqual({ log: 'abcdeflz', ties: 0 });
    const drawn = [1, 2, 3, 4, 5, 6, 7, 8].map((seed) => order(seed));
    for (const d of drawn) {
      // the same six, then the late one, then the next instant; one instant had a choice
      expect([[...d.log.slice(0, 6)].sort().join(''), d.log.slice(6), d.ties]).toEqual(['abcdef', 'lz', 1]);
    }
    // the seed decides: the same seed, the same order; eight seeds, eight orders
    expect(order(3)).toEqual(drawn[2]);
    expect(drawn.map((d) => d.log.slice(0, 6))).toEqual(['feabcd', 'fbadec', 'eafbdc', 'cafdbe', 'ecfbad', 'efdabc', 'dfeabc', 'efadcb']);
  });
});
