/**
 * The one clock, as SimPy's event loop: a heap of (time, priority, order of
 * scheduling) → process. Ties break by priority, then first scheduled first,
 * so the order is total and every run of the same inputs takes the same
 * steps. Time is an integer count of nanoseconds; nothing here reads the
 * wall clock.
 *
 * Entries live in parallel arrays (no object per entry), so scheduling the
 * source once per packet allocates nothing.
 */

import type { Random } from './random.js';

/**
 * Why a process is run: the names of the simulation's wake-ups.
 * - `next`: its own next step (a source's next packet, a first start);
 * - `item`: an event arrived in the store it waits on;
 * - `room`: the store it is blocked on has room again;
 * - `served`: its service time is over;
 * - `timeout`: a timer it set ran out (`arg` says which);
 * - `deadline`: a deadline of the run (the end of the waitstop).
 */
export type Wakeup = 'next' | 'item' | 'room' | 'served' | 'timeout' | 'deadline';
const WAKEUPS: readonly Wakeup[] = ['next', 'item', 'room', 'served', 'timeout', 'deadline'];
/** A wake-up and its argument in one number of the agenda: `arg × 8 + the wake-up's index`. */
function codeOf(wakeup: Wakeup, arg: number): number {
  const base = arg * 8;
  switch (wakeup) {
    case 'next': return base;
    case 'item': return base + 1;
    case 'room': return base + 2;
    case 'served': return base + 3;
    case 'timeout': return base + 4;
    case 'deadline': return base + 5;
  }
}

/** Something the scheduler runs: a stage's state machine. */
export interface Process {
  /** Short name of the stage, for traces and determinism reports. */
  readonly stage: string;
  run(now: number, wakeup: Wakeup, arg: number): void;
}

/** Among entries due at the same instant, `normal` ones run first, then `late` ones (a deadline ends its instant). */
export type Priority = 'normal' | 'late';

/** Called once per step, before the process runs (determinism checks, traces). */
export type StepHook = (step: number, time: number, process: Process, wakeup: Wakeup, arg: number) => void;

/** The clock and its agenda, as stages see it: what a replay may be given instead of {@link Scheduler}. */
export interface Clock {
  readonly now: number;
  readonly steps: number;
  at(time: number, process: Process, wakeup: Wakeup, arg?: number, priority?: Priority): void;
  stepInline(time: number, process: Process, wakeup: Wakeup, arg?: number): boolean;
}

/** Added to a `late` entry's rank: above any order of scheduling a run reaches. */
const LATE = 2 ** 50;
/** murmur3's 32-bit finalizer. */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** A rank below {@link LATE}, a seeded hash of an entry's order of scheduling (below 2^50). */
function tieRank(order: number, [k1, k2]: [number, number]): number {
  const hi = mix32((order | 0) ^ k1);
  const lo = mix32(hi ^ k2 ^ Math.floor(order / 2 ** 32));
  return hi * 2 ** 17 + (lo >>> 15);
}

export class Scheduler implements Clock {
  /** Current simulated time, ns. */
  now = 0;
  /** Steps taken so far. */
  steps = 0;
  hook: StepHook | null = null;
  /** Steps past which {@link stepInline} declines, so a run can stop after a slice of steps. */
  stepLimit = Infinity;
  private times = new Float64Array(64);
  /**
   * Priority and order of scheduling in one number, compared once: the
   * order (below 2^50: a run never takes that many steps), plus 2^50 for a
   * `late` entry.
   */
  private ranks = new Float64Array(64);
  /** The wake-up and its argument (see {@link codeOf}). */
  private codes = new Float64Array(64);
  private procs: (Process | null)[] = new Array<Process | null>(64).fill(null);
  private size = 0;
  private nextOrder = 0;
  /**
   * Go's select and scheduler: among steps due at one instant, which runs
   * first is decided by a seeded hash of each entry's order of scheduling
   * instead of first scheduled, first run ({@link shuffleTies}). A hash of
   * the order, not a stream: a step taken inline (no draw) or through the
   * heap gets the same rank, so running in slices changes nothing.
   */
  private tieKeys: [number, number] | null = null;
  /** Instants at which more than one step was due and the order was drawn ({@link shuffleTies} only). */
  drawnTies = 0;
  private lastTie = -1;

  /**
   * From now on, steps due at the same instant run in an order drawn from
   * `rng` (a `late` one still after the others): the model of a Go program,
   * where `select` picks at random among ready cases and goroutines made
   * runnable together run in no fixed order.
   */
  shuffleTies(rng: Random): void {
    this.tieKeys = [rng.u32(), rng.u32()];
  }

  /** Schedules `process` to run at absolute time `time` (never before now), woken by `wakeup`. */
  at(time: number, process: Process, wakeup: Wakeup, arg = 0, priority: Priority = 'normal'): void {
    if (time < this.now) time = this.now;
    if (this.size === this.times.length) this.grow();
    this.nextOrder++;
    const order = this.tieKeys === null ? this.nextOrder : tieRank(this.nextOrder, this.tieKeys);
    const rank = order + (priority === 'late' ? LATE : 0);
    // sift up
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.before(parent, time, rank)) break;
      this.move(parent, i);
      i = parent;
    }
    this.put(i, time, rank, codeOf(wakeup, arg), process);
  }

  get pending(): number {
    return this.size;
  }

  /** Time of the next step, or Infinity when there is none. */
  peekTime(): number {
    return this.size > 0 ? this.times[0]! : Infinity;
  }

  /**
   * For a process about to schedule itself at `time`: if nothing else is due
   * at or before then, take that step now instead (time moves, the step is
   * counted and hooked) and return true; the caller goes on running. Same
   * order as scheduling and stepping, without the heap.
   */
  stepInline(time: number, process: Process, wakeup: Wakeup, arg = 0): boolean {
    if (time < this.now) time = this.now;
    if ((this.size > 0 && this.times[0]! <= time) || this.steps >= this.stepLimit) return false;
    this.nextOrder++;
    this.now = time;
    this.steps++;
    this.hook?.(this.steps, time, process, wakeup, arg);
    return true;
  }

  /** Runs the earliest step. False when nothing is scheduled. */
  step(): boolean {
    if (this.size === 0) return false;
    const time = this.times[0]!;
    const code = this.codes[0]!;
    const proc = this.procs[0]!;
    this.removeTop();
    if (this.tieKeys !== null && this.size > 0 && this.times[0] === time && time !== this.lastTie) {
      this.drawnTies++;
      this.lastTie = time;
    }
    this.now = time;
    this.steps++;
    const wakeup = WAKEUPS[code & 7]!;
    const arg = (code - (code & 7)) / 8;
    this.hook?.(this.steps, time, proc, wakeup, arg);
    proc.run(time, wakeup, arg);
    return true;
  }

  /** Runs steps while the next one is at or before `until`, at most `maxSteps` of them. Returns steps run. */
  runUntil(until: number, maxSteps = Infinity): number {
    let n = 0;
    while (n < maxSteps && this.size > 0 && this.times[0]! <= until) {
      this.step();
      n++;
    }
    return n;
  }

  /** Whether entry `i` comes before (time, rank). */
  private before(i: number, time: number, rank: number): boolean {
    const t = this.times[i]!;
    return t < time || (t === time && this.ranks[i]! < rank);
  }

  private put(i: number, time: number, rank: number, code: number, proc: Process): void {
    this.times[i] = time;
    this.ranks[i] = rank;
    this.codes[i] = code;
    this.procs[i] = proc;
  }

  private move(from: number, to: number): void {
    this.put(to, this.times[from]!, this.ranks[from]!, this.codes[from]!, this.procs[from]!);
  }

  private removeTop(): void {
    const last = --this.size;
    const time = this.times[last]!;
    const rank = this.ranks[last]!;
    const code = this.codes[last]!;
    const proc = this.procs[last]!;
    this.procs[last] = null;
    if (last === 0) return;
    // sift down
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= last) break;
      const r = l + 1;
      const c = r < last && this.before(r, this.times[l]!, this.ranks[l]!) ? r : l;
      if (!this.before(c, time, rank)) break;
      this.move(c, i);
      i = c;
    }
    this.put(i, time, rank, code, proc);
  }

  private grow(): void {
    const n = this.times.length * 2;
    const grow = (a: Float64Array) => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    this.times = grow(this.times);
    this.ranks = grow(this.ranks);
    this.codes = grow(this.codes);
    this.procs.length = n;
    this.procs.fill(null, this.size);
  }
}
