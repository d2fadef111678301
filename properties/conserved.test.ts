import { test } from '@fast-check/vitest';
import { afterAll, describe, expect } from 'vitest';
import { profileOf, type PipelineConfig } from '../src/profiles/index.js';
import { FATES, type Fate } from '../src/pipeline/ledger.js';
import { anyConfig, Captures, captureSpec } from './arbitraries.js';
import { budget } from './budget.js';
import { withRepro } from './repro.js';
import { expectBalanced, groundTruth, isSubMultiset, ndjsonLines, run, viewOf, type Run, type Truth } from './runs.js';

const captures = new Captures();
afterAll(() => captures.remove());

const truths = new Map<string, Truth>();
function truth(capture: string, c: PipelineConfig): Truth {
  const key = `${capture} ${c.tcp} ${c.ports.join(',')} ${viewOf(c)}`;
  let t = truths.get(key);
  if (!t) {
    t = groundTruth(capture, c, captures.scratch(`analyze-${truths.size}.ndjson`));
    truths.set(key, t);
  }
  return t;
}

describe('conserved: every transaction gets exactly one fate, and the books balance', () => {
  test.prop([captureSpec, anyConfig], budget(30))(
    'for any capture and configuration, the ledger balances and the events written are exactly the published ones',
    (spec, c) => {
      const { path: capture, cutBytes } = captures.spec(spec);
      withRepro(
        capture,
        c,
        () => {
          let result: Run | undefined;
          const ledger = captures.scratch('ledger.ndjson');
          // finish() throws LedgerImbalance when one of DESIGN.md's equations fails
          expect(() => {
            result = run(capture, c, { output: { kind: 'memory' }, ledger });
          }).not.toThrow();
          const { summary: s, fates } = result!;
          expectBalanced(s);

          // the replay admits every transaction analyze finds, and the ledger gave each one fate
          const t = truth(capture, c);
          expect(s.transactions, 'transactions admitted = transactions analyze finds').toBe(t.transactions);
          expect(fates.size, 'transactions given a fate').toBe(s.transactions);
          const published = [...fates.values()].filter((f) => f === 'published').length;
          expect(published, 'published fates in the ledger').toBe(s.fates.published);

          // the lines written: one JSON object per published transaction, each a distinct one of analyze's events
          const lines = s.lines!;
          expect(lines.length, 'lines written').toBe(s.fates.published);
          for (const line of lines) {
            const event: unknown = JSON.parse(line);
            expect(event !== null && typeof event === 'object' && !Array.isArray(event), `a JSON object: ${line}`).toBe(true);
            expect((event as { type?: unknown }).type).toBe('redis');
          }
          expect(isSubMultiset(lines, t.lines), 'every line is one of analyze\'s events, none written twice').toBe(true);

          // the ledger file: one line per transaction, saying what the summary counts
          const entries = ndjsonLines(ledger).map((l) => JSON.parse(l) as { id: number; fate: Fate; where: string; counted?: boolean });
          expect(entries.length, 'ledger lines').toBe(s.transactions);
          expect(new Map(entries.map((e) => [e.id, e.fate])), 'the ledger file gives each id the fate the ledger gave it').toEqual(fates);
          const counted = Object.fromEntries(FATES.map((f) => [f, entries.filter((e) => e.fate === f).length]));
          expect(counted, 'fates in the ledger file').toEqual(s.fates);
          const lostWhere = Object.fromEntries(Object.keys(s.lostAtShutdownBy).map((w) => [w, entries.filter((e) => e.fate === 'lost_at_shutdown' && e.where === w).length]));
          expect(lostWhere, 'where shutdown lost them').toEqual(s.lostAtShutdownBy);

          // the counters say the same as the fates
          expect(s.counters['publisher.dropped_queue_full']).toBe(s.fates.dropped_queue_full);
          expect(s.counters['publisher.lost_at_shutdown']).toBe(s.fates.lost_at_shutdown);
          expect(s.counters['publisher.output_failed']).toBe(s.fates.output_failed);
          expect(s.counters['publisher.filtered']).toBe(s.fates.filtered);
          // the counters describe the store the analyzer publishes into (packetbeat 6: its reporter's channel of 3)
          const first = profileOf(c.profile).topology(c);
          const droppedFirst = entries.filter((e) => e.fate === 'dropped_queue_full' && e.where === first.source.output).length;
          expect(s.counters['publisher.queue_accepted'] + droppedFirst, 'each transaction is queued or dropped').toBe(s.transactions);
          expect(s.counters['publisher.queue_max_depth']).toBeLessThanOrEqual(first.queues.find((q) => q.name === first.source.output)!.capacity);
          if (c.profile === 'logstash') {
            expect(s.shipper['events.in']).toBe(s.counters['publisher.queue_accepted']);
            expect(s.shipper['events.out']).toBe(s.fates.published);
            if (c.policy === 'drop') expect(s.shipper['events.queue_push_duration_in_millis'], 'drop never waits').toBe(0);
          }
          // packetbeat counts an event once, as its publisher has served it (after the processors, before the send that
          // may block): published_events is the number of fates the ledger marks counted — written, or lost or failed after
          const countedEntries = entries.filter((e) => e.counted === true);
          expect(s.counters['libbeat.publisher.published_events'], 'published_events').toBe(countedEntries.length);
          expect(countedEntries.filter((e) => e.fate === 'dropped_queue_full').length, 'a drop at the channel is never counted').toBe(0);
          // packetbeat counts; Logstash counts as its workers publish; Vector keeps no such count
          const counts = first.stages.some((st) => st.countsPublished) || first.queues.some((q) => q.countsPublished === true);
          if (counts) expect(entries.filter((e) => e.fate === 'published' && e.counted !== true).length, 'every written event was counted').toBe(0);
          else expect(countedEntries.length, 'nothing counted where the shipper counts nothing').toBe(0);
          expect(s.counters['publisher.published_not_written']).toBe(countedEntries.filter((e) => e.fate === 'lost_at_shutdown').length);
          if (c.profile === 'packetbeat5') expect(countedEntries.filter((e) => e.fate === 'filtered').length, 'packetbeat 5 filters before it counts').toBe(0);
          // a shutdown that stops nothing drains (Logstash before 6.1.3 without queue.drain stops its queue)
          const drains = first.shutdown.stops.length === 0;
          if (drains) expect(s.counters['publisher.published_not_written']).toBe(0);
          expect(s.simTimeNs).toBeGreaterThanOrEqual(s.sourceEndNs);
          expect(s.sourceEndNs).toBeGreaterThanOrEqual(0);
          if (c.policy === 'block') expect(s.fates.dropped_queue_full, 'block never drops').toBe(0);
          if (drains) expect(s.fates.lost_at_shutdown, 'drain loses nothing at shutdown').toBe(0);
          else if (c.shutdown === 'drain') expect(c.profile === 'logstash' && !c.queueDrain, 'only Logstash before 6.1.3 does not drain').toBe(true);
        },
        { gen: spec.gen, cutBytes },
      );
    },
  );
});
