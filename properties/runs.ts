/** One replay as the properties run it, and the checks every run must pass. */
import { asPublished } from '../test/support/oracles.js';
import { readFileSync } from 'node:fs';
import { analyze } from '../src/analyze.js';
import { streamTimeout } from '../src/feed.js';
import { profileOf } from '../src/profiles/index.js';
import { expect } from 'vitest';
import type { PipelineConfig } from '../src/profiles/index.js';
import type { Fate } from '../src/pipeline/ledger.js';
import { Replay, type ReplayOptions, type ReplaySummary } from '../src/pipeline/replay.js';

export interface Run {
  summary: ReplaySummary;
  /** The fate the ledger gave each transaction id, in the order given. */
  fates: Map<number, Fate>;
}

export interface RunOptions extends ReplayOptions {
  /** Run in slices of this many steps, as the CLI does (default: all at once). */
  slice?: number;
}

/**
 * Replays `capture` to the end and finishes (which throws LedgerImbalance if
 * an equation fails), recording every fate as the ledger gives it.
 */
export function run(capture: string, config: PipelineConfig, opts: RunOptions = {}): Run & { replay: Replay; slices: number } {
  const { slice, ...replayOptions } = opts;
  const r = new Replay(capture, config, replayOptions);
  const fates = new Map<number, Fate>();
  const record = r.ledger.record.bind(r.ledger);
  r.ledger.record = (tx, fate, timeNs, where, depth, counted) => {
    record(tx, fate, timeNs, where, depth, counted);
    fates.set(tx.id, fate);
  };
  let slices = 1;
  if (slice === undefined) r.run();
  else while (!r.run(slice)) slices++;
  return { summary: r.finish(), fates, replay: r, slices };
}

/** DESIGN.md's ledger equations, checked again from the summary alone. */
export function expectBalanced(s: ReplaySummary): void {
  const f = s.fates;
  const c = s.counters;
  expect(s.transactions, 'transactions = published + dropped_queue_full + lost_at_shutdown + lost_in_crash + output_failed + filtered').toBe(
    f.published + f.dropped_queue_full + f.lost_at_shutdown + f.lost_in_crash + f.output_failed + f.filtered,
  );
  expect(c['redis.responses'], 'responses parsed = transactions + unmatched_responses').toBe(s.transactions + c['redis.unmatched_responses']);
  expect(c['redis.requests'], 'requests parsed = transactions + unmatched_requests').toBe(s.transactions + c['redis.unmatched_requests']);
  expect(c['output.lines_written'], 'lines written = published + duplicated').toBe(f.published + s.duplicated);
  expect(Object.values(s.lostAtShutdownBy).reduce((a, b) => a + b, 0), 'lost_at_shutdown by where').toBe(f.lost_at_shutdown);
}

/** An NDJSON file's lines (none for an empty file). */
export function ndjsonLines(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  return text === '' ? [] : text.replace(/\n$/, '').split('\n');
}

/** Lines as a multiset: sorted, so two multisets compare with toEqual. */
export function multiset(lines: readonly string[]): string[] {
  return [...lines].sort();
}

/** True when every line of `sub` is in `whole`, as many times at least. */
export function isSubMultiset(sub: readonly string[], whole: readonly string[]): boolean {
  const counts = new Map<string, number>();
  for (const l of whole) counts.set(l, (counts.get(l) ?? 0) + 1);
  for (const l of sub) {
    const n = counts.get(l) ?? 0;
    if (n === 0) return false;
    counts.set(l, n - 1);
  }
  return true;
}

/** What `analyze` finds in a capture (the lossless ground truth): its transaction count and its events. */
export interface Truth {
  transactions: number;
  lines: string[];
}

/** Which view of Redis a configuration's profile analyzes with (`packetbeat5`'s is packetbeat 5's own). */
export function viewOf(c: PipelineConfig): 'lossless' | 'packetbeat5' {
  return profileOf(c.profile).topology(c).source.protocol === 'redis5' ? 'packetbeat5' : 'lossless';
}

/** `analyze` with the run's ports, TCP mode and view, its events written to `eventsPath` and read back. */
export function groundTruth(capture: string, c: PipelineConfig, eventsPath: string): Truth {
  const view = viewOf(c);
  const streamTimeoutNs = streamTimeout(c.tcp, c.pacing === 'topspeed', c.transactionTimeoutNs);
  const summary = analyze(capture, { ports: c.ports, tcp: c.tcp, as: view, events: eventsPath, streamTimeoutNs });
  const lines = ndjsonLines(eventsPath);
  // packetbeat 5's events as its publisher sends them on (analyze gives them as the analyzer emits them)
  const published = view === 'packetbeat5' ? lines.map((l) => asPublished(l, c.beatHostname, c.beatVersion, c.beatName || c.beatHostname)) : lines;
  return { transactions: summary.transactions, lines: published };
}
