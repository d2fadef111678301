/**
 * The packetbeat 5 view against packetbeat 5's own analyzer, on generated
 * captures with every fault `gen` makes (gaps, retransmissions, duplicates,
 * reordering, RESP3 replies, connections seen mid-stream, pipelining) and
 * the traffic packetbeat 5 misreads (unknown and two-word commands, inline
 * commands, pub/sub, MONITOR, values over 10 MiB, reused 4-tuples, idle
 * gaps over 10 s): the same
 * events, byte for byte, and the same counters. Runs where the oracle is
 * built (`.ci/run` builds it and makes this mandatory). A campaign:
 * `LOCKSTEP_ORACLES=… FUZZ_RUNS=10000 npm run fuzz -- properties/packetbeat5-oracle.test.ts`.
 */
import { fc, test } from '@fast-check/vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { analyze } from '../src/analyze.js';
import { generateRedisCapture } from '../src/gen/redis.js';
import { scratchDir } from '../test/support/cli.js';
import { ORACLES_DIR, runAnalyzerOracle } from '../test/support/oracles.js';
import { captureOptions, differentialCaptureOptions } from './arbitraries.js';
import { budget } from './budget.js';
import { withRepro } from './repro.js';

const dir = scratchDir('lockstep-pb5-oracle-');

describe.skipIf(ORACLES_DIR === null)('the packetbeat 5 view and packetbeat 5 itself', () => {
  let run = 0;
  test.prop([differentialCaptureOptions], budget(30))('give the same events and counters on any generated capture', (opts) => {
    const file = join(dir, `c-${run++}.pcap`);
    generateRedisCapture({ ...opts, port: 6379 }, file);
    const events = `${file}.ndjson`;
    withRepro(
      file,
      [],
      () => {
        const s = analyze(file, { ports: [6379], as: 'packetbeat5', events });
        const oracle = runAnalyzerOracle(file, [6379]);
        expect({ events: s.transactions, 'redis.unmatched_responses': s.counters['redis.unmatched_responses'], 'tcp.dropped_because_of_gaps': s.counters['tcp.dropped_because_of_gaps'] }).toEqual(oracle.counters);
        expect(readFileSync(events, 'utf8')).toBe(oracle.events.toString('utf8'));
      },
      { gen: opts, also: [`lockstep analyze CAPTURE --as packetbeat5 --events ours.ndjson`, `$LOCKSTEP_ORACLES/pb5-analyzer -ports 6379 CAPTURE > theirs.ndjson`] },
    );
  });
});

describe("gen's manifest", () => {
  let run = 0;
  // captures with nothing packetbeat 5 reads otherwise than the wire: its table's commands, RESP2, no opt-in kinds
  const plain = captureOptions.map((o) => ({ ...o, resp3: 0, commands: 'packetbeat5' as const }));
  test.prop([plain], budget(30))("predicts packetbeat 5's counters (and, where it is built, the oracle agrees)", (opts) => {
    const file = join(dir, `m-${run++}.pcap`);
    const m = generateRedisCapture({ ...opts, port: 6379 }, file);
    // a segment boundary inside an array header makes packetbeat 5 drop a direction: the manifest says so and predicts nothing
    expect(m.packetbeat5.unpredicted.filter((k) => k !== 'arrayHeaderCutBySegment')).toEqual([]);
    fc.pre(m.packetbeat5.unpredicted.length === 0);
    const predicted = { events: m.packetbeat5.events, 'redis.unmatched_responses': m.packetbeat5.unmatchedResponses, 'tcp.dropped_because_of_gaps': m.packetbeat5.gaps };
    const s = analyze(file, { ports: [6379], as: 'packetbeat5' });
    expect({ events: s.transactions, 'redis.unmatched_responses': s.counters['redis.unmatched_responses'], 'tcp.dropped_because_of_gaps': s.counters['tcp.dropped_because_of_gaps'] }).toEqual(predicted);
    if (ORACLES_DIR !== null) expect(runAnalyzerOracle(file, [6379]).counters).toEqual(predicted);
  });
});
