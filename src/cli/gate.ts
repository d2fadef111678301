/**
 * The CI gate: `--max-loss N` (and `--fail-on-loss`, N = 0) make a run that
 * lost more than N events exit with {@link EXIT.lossOverLimit}, so a pull
 * request that makes a shipper's config start losing events on the user's
 * captures fails. Lost: dropped by a full queue, lost at shutdown or in a
 * crash, or failed at the output; filtered events were dropped on purpose
 * and are not lost.
 */
import type { Flag } from '../pipeline/replay-line.js';
import type { FateCounts } from '../pipeline/ledger.js';
import { parseWhole } from '../profiles/index.js';
import { UsageError } from './errors.js';
import { EXIT } from './exit.js';

export const GATE_OPTIONS = [
  { name: 'max-loss', value: 'N', help: 'exit 4 when more than N events are lost (dropped, lost at shutdown or in a crash, failed at the output)' },
  { name: 'fail-on-loss', help: 'exit 4 when any event is lost (--max-loss 0)' },
] as const satisfies readonly Flag[];

/** The limit the flags give, or null when neither was given. */
export function lossLimit(values: { 'max-loss'?: string; 'fail-on-loss'?: boolean }): number | null {
  const max = values['max-loss'] === undefined ? null : parseWhole('--max-loss', values['max-loss'], 0);
  if (values['fail-on-loss'] === true) {
    if (max !== null && max !== 0) throw new UsageError('lockstep: give --fail-on-loss or --max-loss N, not both');
    return 0;
  }
  return max;
}

/** Events lost in a run, by how. */
export function lostBy(f: Pick<FateCounts, 'dropped_queue_full' | 'lost_at_shutdown' | 'lost_in_crash' | 'output_failed'>): { lost: number; how: string } {
  const parts: [string, number][] = [
    ['dropped_queue_full', f.dropped_queue_full],
    ['lost_at_shutdown', f.lost_at_shutdown],
    ['lost_in_crash', f.lost_in_crash],
    ['output_failed', f.output_failed],
  ];
  const lost = parts.reduce((n, [, v]) => n + v, 0);
  return { lost, how: parts.filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`).join(', ') };
}

/** The gate's verdict on one or more runs: the exit code, and a line for stderr when it fails. */
export function gate(limit: number | null, runs: { name: string; lost: number; how: string }[]): { code: number; message: string } {
  if (limit === null) return { code: EXIT.ok, message: '' };
  const over = runs.filter((r) => r.lost > limit);
  if (over.length === 0) return { code: EXIT.ok, message: '' };
  const what = over.map((r) => `${r.name}lost ${r.lost} (${r.how})`).join('; ');
  return { code: EXIT.lossOverLimit, message: `lockstep: ${what}: more than the ${limit} allowed\n` };
}
