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
import { test } from '@fast-check/vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { analyze } from '../src/analyze.js';
import { generateRedisCapture } from '../src/gen/redis.js';
import { scratchDir } from '../test/support/cli.js';
import { ORACLES_DIR, runAnalyzerOracle } from '../test/support/oracles.js';
import { differentialCaptureOptions } from './arbitraries.js';
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
