import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lockstep, scratchDir } from '../../test/support/cli.js';
import { scenario } from '../gen/scenarios.js';
import { calibrate, cvPct, median } from '../pipeline/calibrate.js';
import { replay } from '../pipeline/replay.js';
import { resolveConfig } from '../profiles/index.js';

const dir = scratchDir('lockstep-calibrate-');

describe('calibrate', () => {
  it("fits the report's three runs: its replay line publishes their median, 14,619, with their median uptime, 1.22 s", () => {
    const r = lockstep('calibrate', '--scenario', 'issue-3404', '--observed', '13859,14619,15006', '--uptime', '1.21,1.22,1.63', '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { replay: string; simulated: { published: number; uptimeNs: number; seedCvPct: number } };
    expect(out.simulated.published).toBe(14_619);
    expect(Math.abs(out.simulated.uptimeNs - 1.22e9)).toBeLessThan(1e6);
    // the line it prints says the fitted costs exactly: run without jitter, it publishes the median
    const words = out.replay.split(' ').slice(2);
    const again = lockstep('replay', ...words, '--jitter', '0', '--json');
    expect((JSON.parse(again.stdout) as { counters: Record<string, number> }).counters['libbeat.publisher.published_events']).toBe(14_619);
    // the three runs spread 4.0 %; the fitted jitter's seeds about as much
    expect(out.simulated.seedCvPct).toBeGreaterThan(2);
    expect(out.simulated.seedCvPct).toBeLessThan(6);
  });

  it("fits 20 runs of packetbeat 5's real publishing path (golden/oracles/pipeline/) to their median and uptime", () => {
    const data = JSON.parse(readFileSync('golden/oracles/pipeline/issue-3404-defaults.json', 'utf8')) as {
      settings: { runs: { published_events: number; uptime_ms: number }[] }[];
    };
    const runs = data.settings[0]!.runs;
    const s = scenario('issue-3404');
    const c = calibrate({
      capture: s.capture,
      base: resolveConfig('packetbeat5', [{ ports: s.ports }]),
      observed: { published: runs.map((r) => r.published_events), uptimeNs: runs.map((r) => r.uptime_ms * 1e6), startupNs: 1e6 },
      seeds: 5,
    });
    expect(c.observed).toMatchObject({ runs: 20, median: median(runs.map((r) => r.published_events)) });
    expect(Math.abs(c.errorPct.published)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(c.errorPct.uptime!)).toBeLessThanOrEqual(1);
    // its costs replay to what it says
    expect(replay(s.capture, { ...c.config, jitter: 0 }).counters['libbeat.publisher.published_events']).toBe(c.simulated.published);
  });

  it('reads runs from a JSON-lines file, and says in one line what is wrong with bad input', () => {
    const file = join(dir, 'runs.jsonl');
    const lines = [13859, 14619, 15006].map((p, i) => JSON.stringify({ published: p, uptime: ['1.21s', '1.22s', '1.63s'][i] }));
    writeFileSync(file, `${lines.join('\n')}\n`);
    const r = lockstep('calibrate', '--scenario', 'issue-3404', '--runs', file);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('without jitter: published 14619 (+0.0 %), uptime 1.220 s');
    const bad = lockstep('calibrate', '--scenario', 'issue-3404', '--observed', '13859,lots');
    expect([bad.code, bad.stderr.trim()]).toEqual([2, 'Expected `--observed` to be a whole number from 0 up, got `lots`']);
    const none = lockstep('calibrate', '--scenario', 'issue-3404');
    expect(none.code).toBe(2);
    expect(none.stderr.trim().split('\n')[0]).toBe('lockstep calibrate: `--observed LIST` or `--runs FILE` is required');
    expect(cvPct([1])).toBeNull();
  });
});
