import type { Process, Wakeup } from '../sim/scheduler.js';
import type { PipelineConfig } from '../profiles/index.js';
import { Replay } from './replay.js';

/** FNV-1a over the numbers of each step, chained: one hash per step. */
function stepHasher(hashes: number[]) {
  const stages = new Map<string, number>();
  let h = 0x811c9dc5;
  const mix = (x: number) => {
    h = Math.imul(h ^ (x & 0xffff), 0x01000193);
    h = Math.imul(h ^ ((x / 65536) & 0xffff), 0x01000193);
    h = Math.imul(h ^ Math.floor(x / 4294967296), 0x01000193);
  };
  return (r: Replay) => (_step: number, time: number, p: Process, wakeup: Wakeup, arg: number) => {
    let s = stages.get(p.stage);
    if (s === undefined) stages.set(p.stage, (s = stages.size + 1));
    let w = stages.get(wakeup);
    if (w === undefined) stages.set(wakeup, (w = stages.size + 1));
    mix(time);
    mix(s);
    mix(w);
    mix(arg);
    mix(r.queue.depth);
    mix(r.ledger.transactions);
    hashes.push(h >>> 0);
  };
}

export interface DeterminismReport {
  steps: number;
  divergence: { step: number; timeNs: number; stage: string; wakeup: string; transactions: number } | null;
}

/** Runs the replay twice in this process, hashing the state at every step; reports the first step that differs. */
export function checkDeterminism(capture: string, config: PipelineConfig): DeterminismReport {
  const first: number[] = [];
  const a = new Replay(capture, config);
  a.scheduler.hook = stepHasher(first)(a);
  a.run();
  a.finish();
  const second: number[] = [];
  const b = new Replay(capture, config);
  let divergence: DeterminismReport['divergence'] = null;
  const hashB = stepHasher(second)(b);
  b.scheduler.hook = (step, time, p, wakeup, arg) => {
    hashB(step, time, p, wakeup, arg);
    if (divergence === null && second[step - 1] !== first[step - 1]) {
      divergence = { step, timeNs: time, stage: p.stage, wakeup, transactions: b.ledger.transactions };
    }
  };
  b.run();
  b.finish();
  if (divergence === null && first.length !== second.length) {
    const step = Math.min(first.length, second.length) + 1;
    divergence = { step, timeNs: b.scheduler.now, stage: '(end)', wakeup: '(none)', transactions: b.ledger.transactions };
  }
  return { steps: first.length, divergence };
}
