/**
 * packetbeat 5's own analyzer (../shared/oracles/packetbeat5-analyzer) on
 * every golden capture: its output is committed under golden/oracles/NAME/
 * (the events gzipped, their count, sha256 and the counters it prints), so
 * lockstep's tests can hold its packetbeat5 view to them without Go. Where
 * the oracle is built (`.ci/run` builds it and makes this test mandatory),
 * the committed output must be what it prints today.
 * `npm run oracles:update` rewrites the files on purpose (refused under CI).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { hostname } from 'node:os';
import { GOLDEN_DIR, ROOT } from '../src/golden/case.js';
import { scenarioOf } from '../src/gen/scenarios.js';
import { replay } from '../src/pipeline/replay.js';
import { lockstep } from '../test/support/cli.js';
import { resolveConfig } from '../src/profiles/index.js';
import { calibrate, median } from '../src/pipeline/calibrate.js';
import { withQueueSize } from '../src/pipeline/sweep.js';
import {
  committedAnalyzerOutput,
  ORACLE_CAPTURES,
  ORACLES_DIR,
  oracleCapture,
  oraclesMandatory,
  runAnalyzerOracle,
  runPipelineOracle,
} from '../test/support/oracles.js';

const update = process.env.ORACLES_UPDATE === '1';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const lines = (b: Buffer) => b.toString('utf8').split('\n').filter((l) => l !== '').length;

describe('the packetbeat 5 analyzer oracle on the golden captures', () => {
  if (update && process.env.CI) throw new Error('oracles:update is refused under CI: the committed output changes only on purpose');
  if (oraclesMandatory && ORACLES_DIR === null) throw new Error('LOCKSTEP_REQUIRE_ORACLES=1 but LOCKSTEP_ORACLES names no folder of built oracles');

  for (const { name } of ORACLE_CAPTURES) {
    it(`${name}: the committed events are whole (their count and sha256 as recorded)`, () => {
      const c = committedAnalyzerOutput(name);
      expect(c, `golden/oracles/${name}/pb5-analyzer.json is missing: npm run oracles:update`).not.toBeNull();
      const events = c!.events();
      expect(lines(events)).toBe(c!.lines);
      expect(sha256(events)).toBe(c!.sha256);
      expect(c!.counters.events).toBe(c!.lines);
    });

    it.skipIf(ORACLES_DIR === null)(`${name}: the oracle prints what is committed`, () => {
      const capture = oracleCapture(name);
      const out = runAnalyzerOracle(capture.path, capture.ports);
      // the bundled scenario by its name (its capture is in this machine's cache), a committed capture by its path
      const scenarioName = scenarioOf(capture.path);
      const shown = scenarioName === null ? relative(ROOT, capture.path) : `${scenarioName}.pcap (lockstep's bundled scenario)`;
      const now = {
        command: `pb5-analyzer -ports ${capture.ports.join(',')} ${shown}`,
        counters: out.counters,
        lines: lines(out.events),
        sha256: sha256(out.events),
      };
      if (update) {
        const dir = join(GOLDEN_DIR, 'oracles', name);
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'pb5-analyzer.json'), `${JSON.stringify(now, null, 2)}\n`);
        writeFileSync(join(dir, 'pb5-analyzer.ndjson.gz'), gzipSync(out.events, { level: 9 }));
      }
      const c = committedAnalyzerOutput(name);
      expect(c && { command: c.command, counters: c.counters, lines: c.lines, sha256: c.sha256 }).toEqual(now);
    });
  }

  for (const { name } of ORACLE_CAPTURES) {
    // queue_size 100000 holds every event, and 3 s after end of file is time enough to write them all
    it.skipIf(ORACLES_DIR === null)(`${name}: packetbeat 5's publishing path writes, byte for byte, what --profile packetbeat5 writes (beat, server)`, () => {
      const capture = oracleCapture(name);
      const real = runPipelineOracle(capture.path, capture.ports, 100_000, 3);
      expect(real.summary.dropped_at_trans_chan).toBe(0);
      const config = resolveConfig('packetbeat5', [{ ports: capture.ports, queueSize: 100_000, pipelineQueueSize: 100_000, waitstopNs: 3e9, beatHostname: hostname() }]);
      const ours = replay(capture.path, config, { output: { kind: 'memory' } });
      expect(real.events.toString('utf8')).toBe(ours.lines!.map((l) => `${l}\n`).join(''));
    });
  }

  // repro's fix that does not depend on the machine, run on packetbeat 5's own publishing path: every run writes every event
  it.skipIf(ORACLES_DIR === null)("issue-3404: repro's queue_size-of-every-transaction fix loses nothing in 20 of 20 runs of packetbeat 5's real code", () => {
    const r = lockstep('repro', '--json', '--runs', '1', '--seeds', '1');
    expect(r.code).toBe(0);
    const fix = (JSON.parse(r.stdout) as { fixes: { anyMachine: { queueSize: number; waitstopNs: number; published: number } } }).fixes.anyMachine;
    expect([fix.queueSize, fix.published]).toEqual([23_498, 23_498]);
    const capture = oracleCapture('issue-3404');
    const written: number[] = [];
    for (let i = 0; i < 20; i++) {
      const real = runPipelineOracle(capture.path, capture.ports, fix.queueSize, fix.waitstopNs / 1e9);
      written.push(real.events.toString('utf8').split('\n').filter((l) => l !== '').length);
    }
    expect(written).toEqual(Array(20).fill(23_498));
  }, 120_000);

  // the model calibrated on this machine, now: 20 runs of the real code at queue_size 1000 fit it, 20 at 100 test it (interleaved).
  // 15 % holds on the committed runs (golden/oracles-validate.test.ts); here the other test files run beside the oracle and
  // move its medians: +2.9 % with the machine to itself, -15.0 % in one full-suite run. The bound is 25 %.
  it.skipIf(ORACLES_DIR === null)('issue-3404: calibrated on 20 real runs at queue_size 1000, lockstep predicts the median of 20 real runs at queue_size 100 within 25 % under the test suite\'s load; all loss at the channel', () => {
    const capture = oracleCapture('issue-3404');
    const at: Record<number, { published: number; written: number; uptimeNs: number; droppedAtChannel: number }[]> = { 1000: [], 100: [] };
    for (let i = 0; i < 20; i++) {
      for (const q of [1000, 100]) {
        const real = runPipelineOracle(capture.path, capture.ports, q, 0);
        const s = real.summary as Record<string, number>;
        at[q]!.push({
          published: s.published_events!,
          written: real.events.toString('utf8').split('\n').filter((l) => l !== '').length,
          uptimeNs: s.t_total_ms! * 1e6,
          droppedAtChannel: s.dropped_at_trans_chan!,
        });
      }
    }
    // the loss regime: everything lost was dropped at the channel while the capture was read; the 300 ms sleep let the rest through
    for (const q of [1000, 100]) for (const r of at[q]!) expect([r.written, r.published + r.droppedAtChannel]).toEqual([r.published, 23_498]);
    const cal = calibrate({
      capture: capture.path,
      base: resolveConfig('packetbeat5', [{ ports: capture.ports }]),
      observed: { published: at[1000]!.map((r) => r.published), uptimeNs: at[1000]!.map((r) => r.uptimeNs), startupNs: 1e6 },
    });
    const predicted = replay(capture.path, { ...withQueueSize(cal.config, 100), jitter: 0 }).counters['libbeat.publisher.published_events'];
    const real = median(at[100]!.map((r) => r.published));
    expect(Math.abs(predicted / real - 1), `lockstep ${predicted}, the real code's median ${real}`).toBeLessThanOrEqual(0.25);
  }, 300_000);
});
