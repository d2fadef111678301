#!/usr/bin/env node
/**
 * lockstep's packetbeat5 profile against packetbeat 5's real publishing path,
 * from the oracle runs committed in golden/oracles/pipeline/ (made on this
 * machine by scripts/oracle-pipeline.mjs; no Go needed here):
 * `npm run build && node scripts/oracle-validate.mjs`.
 * Calibrates on the 20 runs of issue-3404 at queue_size 1000 (their published
 * counts and uptimes), then predicts every other setting and capture, and
 * prints a Markdown table: oracle median, lockstep, error.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { calibrate } from '../dist/pipeline/calibrate.js';
import { replay } from '../dist/pipeline/replay.js';
import { resolveConfig } from '../dist/profiles/index.js';
import { scenario } from '../dist/gen/scenarios.js';

const DATA = 'golden/oracles/pipeline';
const load = (f) => JSON.parse(readFileSync(join(DATA, `${f}.json`), 'utf8'));
const issue = scenario('issue-3404');
const realRedis = { capture: 'golden/real-redis/capture.pcap', ports: [Number(readFileSync('golden/real-redis/port.txt', 'utf8'))] };
const on = load('issue-3404-defaults').settings[0];
// pb5full's uptime starts with the harness: its start-up is under 1 ms (t_init_ms)
const cal = calibrate({
  capture: issue.capture,
  base: resolveConfig('packetbeat5', [{ ports: issue.ports }]),
  observed: { published: on.runs.map((r) => r.published_events), uptimeNs: on.runs.map((r) => r.uptime_ms * 1e6), startupNs: 1e6 },
});
const rows = [
  `calibrated on issue-3404, queue_size 1000, waitstop 0 (20 oracle runs): analyzer × ${cal.analyzerScale.toFixed(3)}, publisher and output × ${cal.publishScale.toFixed(3)}, jitter ${cal.config.jitter}; published ${cal.simulated.published} against a median of ${cal.observed.median}`,
  '',
  '| capture | queue_size | waitstop | oracle median (20 runs) | lockstep | error |',
  '|---|---|---|---|---|---|',
];
const predict = (name, where, settings) => {
  for (const st of settings) {
    const c = resolveConfig('packetbeat5', [{ ports: where.ports, costs: cal.config.costs, queueSize: st.queue_size, waitstopNs: st.waitstop * 1e9 }]);
    const p = replay(where.capture, c).counters['libbeat.publisher.published_events'];
    const m = st.summary.published.median;
    rows.push(`| ${name} | ${st.queue_size} | ${st.waitstop} | ${m} | ${p} | ${(((p - m) / m) * 100).toFixed(1)} % |`);
  }
};
predict('issue-3404', issue, load('issue-3404-queue-sizes').settings);
predict('real-redis', realRedis, [...load('real-redis-defaults').settings, ...load('real-redis-queue-sizes').settings]);
process.stdout.write(`${rows.join('\n')}\n`);
