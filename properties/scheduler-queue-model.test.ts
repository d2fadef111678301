/**
 * The scheduler and the bounded store against a reference model a reader can
 * check by eye: the agenda is a plain array, and the next entry is the least
 * by (time, priority, order of scheduling), whether it is stepped from the heap or
 * inline (`stepInline`); the queue is a plain array FIFO with
 * a capacity, its waiting consumers and blocked producers plain arrays too.
 * fast-check runs random sequences of commands on both and compares after each.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { Scheduler, type Process, type Wakeup } from '../src/sim/scheduler.js';
import { Store } from '../src/sim/store.js';
import { budget } from './budget.js';

const PROCESSES = ['source', 'worker.1', 'worker.2', 'output'] as const;
type Name = (typeof PROCESSES)[number];

interface Entry {
  time: number;
  late: boolean;
  order: number;
  name: Name;
  wakeup: Wakeup;
  arg: number;
}

/** Something a process schedules while it runs (a stage scheduling its next step). */
interface FollowUp {
  delay: number;
  late: boolean;
  name: Name;
  token: number;
}

/** The reference: what the scheduler and the queue should do, written as plainly as possible. */
class Model {
  now = 0;
  steps = 0;
  /** stepInline declines once steps reach this. */
  stepLimit = Infinity;
  agenda: Entry[] = [];
  /** What the step hook saw: every step, heap or inline, before it runs. */
  hooked: string[] = [];
  private nextOrder = 0;
  // the queue
  items: number[] = [];
  waiters: Name[] = [];
  blocked: { name: Name; since: number }[] = [];
  accepted = 0;
  pushBlockedNs = 0;
  maxDepth = 0;

  constructor(readonly capacity: number) {}

  schedule(time: number, name: Name, wakeup: Wakeup, arg: number, late: boolean): void {
    this.agenda.push({ time: Math.max(time, this.now), late, order: this.nextOrder++, name, wakeup, arg });
  }

  /** The entry that runs next: earliest time, then not-late before late, then first scheduled. */
  next(): Entry | undefined {
    let best: Entry | undefined;
    for (const e of this.agenda) {
      if (
        best === undefined ||
        e.time < best.time ||
        (e.time === best.time && (Number(e.late) < Number(best.late) || (e.late === best.late && e.order < best.order)))
      ) {
        best = e;
      }
    }
    return best;
  }

  /** Takes the next entry off the agenda and advances the clock to it. */
  pop(): Entry | undefined {
    const e = this.next();
    if (e === undefined) return undefined;
    this.agenda.splice(this.agenda.indexOf(e), 1);
    this.now = e.time;
    this.steps++;
    this.hooked.push(entryText(e.name, e.time, e.wakeup, e.arg));
    return e;
  }
}

/** The real scheduler and queue, with processes that log each run and may schedule a follow-up. */
class Real {
  readonly scheduler = new Scheduler();
  readonly queue: Store<{ id: number }>;
  readonly log: string[] = [];
  readonly hooked: string[] = [];
  followUp: FollowUp | null = null;
  readonly processes = new Map<Name, Process>();
  private readonly txs = new Map<number, { id: number }>();

  constructor(capacity: number) {
    this.queue = new Store<{ id: number }>('queue', capacity, this.scheduler);
    this.scheduler.hook = (_step, time, process, wakeup, arg) => this.hooked.push(entryText(process.stage, time, wakeup, arg));
    for (const name of PROCESSES) {
      const p: Process = {
        stage: name,
        run: (now, wakeup, arg) => {
          this.log.push(entryText(name, now, wakeup, arg));
          const f = this.followUp;
          if (f !== null) {
            this.followUp = null;
            this.scheduler.at(now + f.delay, this.process(f.name), 'timeout', f.token, f.late ? 'late' : 'normal');
          }
        },
      };
      this.processes.set(name, p);
    }
  }

  process(name: Name): Process {
    return this.processes.get(name)!;
  }

  /** A stand-in event: the store only moves them, so only identity matters. */
  tx(id: number): { id: number } {
    let tx = this.txs.get(id);
    if (tx === undefined) {
      tx = { id };
      this.txs.set(id, tx);
    }
    return tx;
  }
}

function entryText(name: string, time: number, wakeup: Wakeup, arg: number): string {
  return `${name}@${time}:${wakeup}#${arg}`;
}

/** After every command the two must agree on everything observable. */
function agree(m: Model, r: Real): void {
  expect(r.scheduler.now, 'now').toBe(m.now);
  expect(r.scheduler.steps, 'steps').toBe(m.steps);
  expect(r.hooked, 'steps the hook saw').toEqual(m.hooked);
  expect(r.scheduler.pending, 'pending').toBe(m.agenda.length);
  expect(r.scheduler.peekTime(), 'time of the next step').toBe(m.next()?.time ?? Infinity);
  expect(r.queue.depth, 'depth').toBe(m.items.length);
  expect(r.queue.accepted, 'accepted').toBe(m.accepted);
  expect(r.queue.pushBlockedNs, 'pushBlockedNs').toBe(m.pushBlockedNs);
  expect(r.queue.maxDepth, 'maxDepth').toBe(m.maxDepth);
}

type Cmd = fc.Command<Model, Real>;
const name = fc.constantFrom(...PROCESSES);
const token = fc.integer({ min: 0, max: 1000 });

class Schedule implements Cmd {
  constructor(readonly delay: number, readonly late: boolean, readonly name: Name, readonly token: number) {}
  check = () => true;
  run(m: Model, r: Real): void {
    // a negative delay asks for a time in the past: the scheduler runs it now instead
    r.scheduler.at(r.scheduler.now + this.delay, r.process(this.name), 'timeout', this.token, this.late ? 'late' : 'normal');
    m.schedule(m.now + this.delay, this.name, 'timeout', this.token, this.late);
    agree(m, r);
  }
  toString = () => `at(now${this.delay >= 0 ? '+' : ''}${this.delay}, ${this.name}, ${this.token}${this.late ? ', late' : ''})`;
}

/** Many entries at once, past the scheduler's initial 64 slots. */
class ScheduleMany implements Cmd {
  constructor(readonly count: number, readonly spread: number) {}
  check = () => true;
  run(m: Model, r: Real): void {
    for (let i = 0; i < this.count; i++) {
      const delay = (i * 7919) % (this.spread + 1);
      const late = i % 5 === 0;
      const who = PROCESSES[i % PROCESSES.length]!;
      r.scheduler.at(r.scheduler.now + delay, r.process(who), 'timeout', i, late ? 'late' : 'normal');
      m.schedule(m.now + delay, who, 'timeout', i, late);
    }
    agree(m, r);
  }
  toString = () => `${this.count} × at(now + i·7919 mod ${this.spread + 1})`;
}

class Step implements Cmd {
  constructor(readonly followUp: FollowUp | null) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const before = r.log.length;
    r.followUp = this.followUp;
    const ran = r.scheduler.step();
    r.followUp = null;
    const e = m.pop();
    expect(ran, 'step() ran something').toBe(e !== undefined);
    if (e !== undefined) {
      expect(r.log.slice(before), 'what ran').toEqual([entryText(e.name, e.time, e.wakeup, e.arg)]);
      const f = this.followUp;
      if (f !== null) m.schedule(e.time + f.delay, f.name, 'timeout', f.token, f.late);
    } else {
      expect(r.log.length).toBe(before);
    }
    agree(m, r);
  }
  toString = () => `step()${this.followUp ? ` then at(now+${this.followUp.delay}, ${this.followUp.name}, ${this.followUp.token}${this.followUp.late ? ', late' : ''})` : ''}`;
}

/**
 * A process about to schedule itself asks to take that step inline. It may
 * only when the step would run next anyway (nothing due at or before it)
 * and the step limit is not reached; taking it must look exactly like
 * scheduling it and stepping (time, steps, hook). When declined, the
 * process schedules it as usual.
 */
class StepInline implements Cmd {
  constructor(readonly delay: number, readonly name: Name, readonly token: number) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const before = r.log.length;
    const time = r.scheduler.now + this.delay;
    const taken = r.scheduler.stepInline(time, r.process(this.name), 'next', this.token);
    const target = Math.max(m.now + this.delay, m.now);
    const dueFirst = m.agenda.some((e) => e.time <= target);
    expect(taken, `stepInline(${target}) with ${dueFirst ? 'something due by then' : 'nothing due by then'}, ${m.steps} steps of ${m.stepLimit}`).toBe(
      !dueFirst && m.steps < m.stepLimit,
    );
    expect(r.log.length, 'an inline step runs nothing itself: the caller goes on').toBe(before);
    m.schedule(target, this.name, 'next', this.token, false);
    if (taken) {
      expect(m.pop()?.name, 'the model runs the same entry next').toBe(this.name);
    } else {
      r.scheduler.at(time, r.process(this.name), 'next', this.token);
    }
    agree(m, r);
  }
  toString = () => `stepInline(now${this.delay >= 0 ? '+' : ''}${this.delay}, ${this.name}, ${this.token})`;
}

class SetStepLimit implements Cmd {
  constructor(readonly ahead: number | null) {}
  check = () => true;
  run(m: Model, r: Real): void {
    r.scheduler.stepLimit = this.ahead === null ? Infinity : r.scheduler.steps + this.ahead;
    m.stepLimit = this.ahead === null ? Infinity : m.steps + this.ahead;
    agree(m, r);
  }
  toString = () => `stepLimit = ${this.ahead === null ? 'Infinity' : `steps + ${this.ahead}`}`;
}

class RunUntil implements Cmd {
  constructor(readonly ahead: number, readonly maxSteps: number) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const until = r.scheduler.now + this.ahead;
    const before = r.log.length;
    const n = r.scheduler.runUntil(until, this.maxSteps);
    const expected: string[] = [];
    while (expected.length < this.maxSteps && (m.next()?.time ?? Infinity) <= until) {
      const e = m.pop()!;
      expected.push(entryText(e.name, e.time, e.wakeup, e.arg));
    }
    expect(n, 'steps run').toBe(expected.length);
    expect(r.log.slice(before), 'what ran, in order').toEqual(expected);
    agree(m, r);
  }
  toString = () => `runUntil(now+${this.ahead}, ${this.maxSteps})`;
}

class Put implements Cmd {
  constructor(readonly id: number) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const put = r.queue.tryPut(r.tx(this.id));
    const room = m.items.length < m.capacity;
    expect(put, `tryPut with ${m.items.length} of ${m.capacity}`).toBe(room);
    if (room) {
      m.items.push(this.id);
      m.accepted++;
      m.maxDepth = Math.max(m.maxDepth, m.items.length);
      const waiter = m.waiters.shift();
      if (waiter !== undefined) m.schedule(m.now, waiter, 'item', 0, false);
    }
    agree(m, r);
  }
  toString = () => `tryPut(tx ${this.id})`;
}

class Take implements Cmd {
  check = (m: Readonly<Model>) => m.items.length > 0;
  run(m: Model, r: Real): void {
    const tx = r.queue.take(r.scheduler.now);
    expect(tx.id, 'the oldest event').toBe(m.items.shift());
    const b = m.blocked.shift();
    if (b !== undefined) {
      m.pushBlockedNs += m.now - b.since;
      m.schedule(m.now, b.name, 'room', 0, false);
    }
    agree(m, r);
  }
  toString = () => 'take()';
}

class Wait implements Cmd {
  constructor(readonly name: Name) {}
  check = () => true;
  run(m: Model, r: Real): void {
    r.queue.wait(r.process(this.name));
    if (!m.waiters.includes(this.name)) m.waiters.push(this.name);
    agree(m, r);
  }
  toString = () => `wait(${this.name})`;
}

class Unwait implements Cmd {
  constructor(readonly name: Name) {}
  check = () => true;
  run(m: Model, r: Real): void {
    r.queue.unwait(r.process(this.name));
    const i = m.waiters.indexOf(this.name);
    if (i >= 0) m.waiters.splice(i, 1);
    agree(m, r);
  }
  toString = () => `unwait(${this.name})`;
}

class Block implements Cmd {
  constructor(readonly name: Name) {}
  check = () => true;
  run(m: Model, r: Real): void {
    r.queue.block(r.process(this.name), r.scheduler.now);
    m.blocked.push({ name: this.name, since: m.now });
    agree(m, r);
  }
  toString = () => `block(${this.name})`;
}

class WakeAnother implements Cmd {
  check = () => true;
  run(m: Model, r: Real): void {
    r.queue.wakeAnother(r.scheduler.now);
    if (m.items.length > 0 && m.waiters.length > 0) m.schedule(m.now, m.waiters.shift()!, 'item', 0, false);
    agree(m, r);
  }
  toString = () => 'wakeAnother()';
}

class Drain implements Cmd {
  check = () => true;
  run(m: Model, r: Real): void {
    expect(r.queue.drain().map((tx) => tx.id), 'everything still queued, oldest first').toEqual(m.items);
    m.items = [];
    m.blocked = [];
    agree(m, r);
  }
  toString = () => 'drain()';
}

const followUp: fc.Arbitrary<FollowUp> = fc.record({ delay: fc.integer({ min: -5, max: 40 }), late: fc.boolean(), name, token });

const commands = fc.commands(
  [
    fc.tuple(fc.integer({ min: -20, max: 60 }), fc.boolean(), name, token).map(([d, l, n, t]) => new Schedule(d, l, n, t)),
    fc.tuple(fc.integer({ min: 1, max: 80 }), fc.integer({ min: 0, max: 50 })).map(([c, s]) => new ScheduleMany(c, s)),
    fc.option(followUp, { freq: 3 }).map((f) => new Step(f)),
    fc.tuple(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 1, max: 20 })).map(([a, n]) => new RunUntil(a, n)),
    fc.tuple(fc.integer({ min: -5, max: 40 }), name, token).map(([d, n, t]) => new StepInline(d, n, t)),
    fc.option(fc.integer({ min: 0, max: 6 }), { freq: 3 }).map((a) => new SetStepLimit(a)),
    fc.nat({ max: 1_000_000 }).map((id) => new Put(id)),
    fc.constant(new Take()),
    name.map((n) => new Wait(n)),
    name.map((n) => new Unwait(n)),
    name.map((n) => new Block(n)),
    fc.constant(new WakeAnother()),
    fc.constant(new Drain()),
  ],
  { maxCommands: 80 },
);

describe('scheduler and store against a reference model', () => {
  test.prop([fc.integer({ min: 1, max: 6 }), commands], budget(200))(
    'any sequence of schedule, step, stepInline, runUntil, put, take, wait, block, wakeAnother and drain: same order, same contents, same counters',
    (capacity, cmds) => {
      fc.modelRun(() => ({ model: new Model(capacity), real: new Real(capacity) }), cmds);
    },
  );

  it('a queue bigger than its first ring (2^16) grows it and keeps FIFO order across the wrap', () => {
    const r = new Real(70_000);
    const taken: number[] = [];
    for (let i = 0; i < 60_000; i++) r.queue.tryPut(r.tx(i));
    for (let i = 0; i < 30_000; i++) taken.push(r.queue.take(0).id);
    // the ring wraps (head at 30,000), then grows past 65,536 while wrapped
    let refused = 0;
    for (let i = 60_000; i < 100_000; i++) if (!r.queue.tryPut(r.tx(i))) refused++;
    expect(refused).toBe(0);
    expect(r.queue.depth).toBe(70_000);
    expect(r.queue.tryPut(r.tx(-1))).toBe(false);
    while (r.queue.depth > 0) taken.push(r.queue.take(0).id);
    expect(taken.every((id, i) => id === i) && taken.length === 100_000, 'taken in the order put').toBe(true);
  });
});
