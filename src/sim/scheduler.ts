/**
 * The one clock. Work is a heap of (time, priority, order of scheduling) →
 * process, as SimPy's event loop: ties break first-scheduled-first, so the
 * order is total and every run of the same inputs takes the same steps. Time is an integer
 * count of nanoseconds; nothing here reads the wall clock.
 *
 * Entries live in parallel arrays (no object per entry), so scheduling the
 * source once per packet allocates nothing.
 */

/** Something the scheduler runs: a stage's state machine. `token` is whatever it was scheduled with. */
export interface Process {
  /** Short name of the stage, for traces and determinism reports. */
  readonly stage: string;
  run(now: number, token: number): void;
}

/** Called once per step, before the process runs (determinism checks, traces). */
export type StepHook = (step: number, time: number, process: Process, token: number) => void;

/** Added to the order of `late` entries: above any order a run reaches (2^50 steps). */
const LATE = 2 ** 50;

export class Scheduler {
  /** Current simulated time, ns. */
  now = 0;
  /** Steps taken so far. */
  steps = 0;
  hook: StepHook | null = null;
  /** Steps past which {@link stepInline} declines, so a run can stop after a slice of steps. */
  stepLimit = Infinity;
  private times = new Float64Array(64);
  private orders = new Float64Array(64);
  private tokens = new Float64Array(64);
  private procs: (Process | null)[] = new Array(64).fill(null);
  private size = 0;
  private nextOrder = 0;

  /**
   * Schedules `process` to run at absolute time `time` (never before now).
   * `late` puts it after everything else due at the same instant (a deadline
   * such as the waitstop ends at the end of its instant).
   */
  at(time: number, process: Process, token = 0, late = false): void {
    if (time < this.now) time = this.now;
    if (this.size === this.times.length) this.grow();
    // sift up
    let i = this.size++;
    const order = this.nextOrder++ + (late ? LATE : 0);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.before(parent, time, order)) break;
      this.move(parent, i);
      i = parent;
    }
    this.put(i, time, order, token, process);
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
   * before then, take that step now instead (time moves, the step is counted
   * and hooked) and return true; the caller goes on running. Same order as
   * scheduling and stepping, without the heap.
   */
  stepInline(time: number, process: Process, token = 0): boolean {
    if (time < this.now) time = this.now;
    if ((this.size > 0 && this.times[0]! <= time) || this.steps >= this.stepLimit) return false;
    this.nextOrder++;
    this.now = time;
    this.steps++;
    this.hook?.(this.steps, time, process, token);
    return true;
  }

  /** Runs the earliest step. False when nothing is scheduled. */
  step(): boolean {
    if (this.size === 0) return false;
    const time = this.times[0]!;
    const token = this.tokens[0]!;
    const proc = this.procs[0]!;
    this.removeTop();
    this.now = time;
    this.steps++;
    this.hook?.(this.steps, time, proc, token);
    proc.run(time, token);
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

  private before(i: number, time: number, order: number): boolean {
    const t = this.times[i]!;
    return t < time || (t === time && this.orders[i]! < order);
  }

  private put(i: number, time: number, order: number, token: number, proc: Process): void {
    this.times[i] = time;
    this.orders[i] = order;
    this.tokens[i] = token;
    this.procs[i] = proc;
  }

  private move(from: number, to: number): void {
    this.put(to, this.times[from]!, this.orders[from]!, this.tokens[from]!, this.procs[from]!);
  }

  private removeTop(): void {
    const last = --this.size;
    const time = this.times[last]!;
    const order = this.orders[last]!;
    const token = this.tokens[last]!;
    const proc = this.procs[last]!;
    this.procs[last] = null;
    if (last === 0) return;
    // sift down
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= last) break;
      const r = l + 1;
      const c = r < last && this.before(r, this.times[l]!, this.orders[l]!) ? r : l;
      if (!this.before(c, time, order)) break;
      this.move(c, i);
      i = c;
    }
    this.put(i, time, order, token, proc);
  }

  private grow(): void {
    const n = this.times.length * 2;
    const grow = (a: Float64Array) => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    this.times = grow(this.times);
    this.orders = grow(this.orders);
    this.tokens = grow(this.tokens);
    this.procs.length = n;
    this.procs.fill(null, this.size);
  }
}
