#!/usr/bin/env node
/**
 * lockstep's packetbeat5 profile against packetbeat 5's real publishing path,
 * from oracle runs committed in golden/oracles/pipeline/ (made on this
 * machine by scripts/oracle-pipeline.mjs; no Go needed here):
 *
 *   npm run oracles:validate [-- --calibrate-on LABEL] [--data FILE] [--json]
 *
 * Calibrates on the 20 runs of one capture at queue_size 1000, waitstop 0
 * (their published counts and uptimes; default issue-3404), then predicts
 * every other setting of every capture in the same file (default
 * interleaved.json: all settings of the three captures, run i of each before
 * run i+1 of any, so the machine's load drifts over all of them alike), and
 * prints a Markdown table: oracle median, lockstep, error, analysis times.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { calibrate, median } from '../dist/pipeline/calibrate.js';
import { Replay } from '../dist/pipeline/replay.js';
import { resolveConfig } from '../dist/profiles/index.js';
import { scenario } from '../dist/gen/scenarios.js';
import { generateRedisCapture } from '../dist/gen/redis.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const DATA = 'golden/oracles/pipeline';
// --data FILE[,FILE…]: the settings of every file (a file of one capture names it in its label)
const file = opt('data', 'interleaved.json,gen-big-values-queue-sizes.json');
const docs = file.split(',').map((f) => JSON.parse(readFileSync(f.includes('/') ? f : join(DATA, f), 'utf8')));
const doc = { settings: docs.flatMap((d) => d.settings.map((s) => ({ capture: d.label, ...s }))) };
const calibrateOn = opt('calibrate-on', 'issue-3404');

const issue = scenario('issue-3404');
const real = (dir) => ({ capture: `golden/${dir}/capture.pcap`, ports: [Number(readFileSync(`golden/${dir}/port.txt`, 'utf8'))] });
// gen-big-values: 2,000 transactions and 10 values of 10 MiB (golden/oracles/pipeline/README.md), made again here
const big = () => {
  const capture = '.lockstep/oracle-gen-big-values.pcap';
  if (!existsSync(capture)) {
    mkdirSync('.lockstep', { recursive: true });
    generateRedisCapture({ transactions: 2000, big: 10, seed: 3, port: 7101, commands: 'packetbeat5' }, capture);
  }
  const sha = createHash('sha256').update(readFileSync(capture)).digest('hex');
  if (!sha.startsWith('402960776dda8a6c')) throw new Error(`${capture}: sha256 ${sha}, not the oracle runs' capture`);
  return { capture, ports: [7101] };
};
const CAPTURES = { 'issue-3404': issue, 'real-redis': real('real-redis'), 'real-redis-full': real('real-redis-full'), get 'gen-big-values'() { return big(); } };

const cell = (label, q, w) => doc.settings.find((s) => s.capture === label && s.queue_size === q && s.waitstop === w);
const on = cell(calibrateOn, 1000, 0);
if (!on) throw new Error(`no runs of ${calibrateOn} at queue_size 1000, waitstop 0 in ${file}`);
const where = CAPTURES[calibrateOn];
// pb5full's uptime starts with the harness: its start-up is under 1 ms (t_init_ms)
// --gc G,N and --analyzer PACKET,BYTE,EVENT (ns): try another model than the profile's
const patch = {};
if (opt('gc')) { const [g, n] = opt('gc').split(',').map(Number); Object.assign(patch, { gcSlowdown: g, gcHeapEvents: n }); }
if (opt('analyzer')) { const [perPacket, perByte, perEvent] = opt('analyzer').split(',').map(Number); patch.costs = { analyzer: { perPacket, perByte, perEvent } }; }
const cal = calibrate({
  capture: where.capture,
  base: resolveConfig('packetbeat5', [{ ports: where.ports, ...patch }]),
  observed: { published: on.runs.map((r) => r.published_events), uptimeNs: on.runs.map((r) => r.uptime_ms * 1e6), startupNs: 1e6 },
});
const c0 = cal.config;
const rows = [];
// --only LABEL: predict that capture's settings only (fitting the model's constants on one capture)
const only = opt('only');
for (const st of doc.settings) {
  if (only && st.capture !== only) continue;
  const w = CAPTURES[st.capture];
  const config = resolveConfig('packetbeat5', [{ ports: w.ports, costs: c0.costs, gcSlowdown: c0.gcSlowdown, gcHeapEvents: c0.gcHeapEvents, queueSize: st.queue_size, pipelineQueueSize: st.queue_size, waitstopNs: st.waitstop * 1e9 }]);
  const r = new Replay(w.capture, config);
  r.run();
  const s = r.finish();
  const p = s.counters['libbeat.publisher.published_events'];
  const m = median(st.runs.map((x) => x.published_events));
  rows.push({
    capture: st.capture, queueSize: st.queue_size, waitstop: st.waitstop, calibratedHere: st === on,
    oracleMedian: m, oracleMin: Math.min(...st.runs.map((x) => x.published_events)), oracleMax: Math.max(...st.runs.map((x) => x.published_events)),
    lockstep: p, errorPct: ((p - m) / m) * 100,
    oracleAnalysisMs: median(st.runs.map((x) => x.t_read_analyze_ms)), lockstepAnalysisMs: s.sourceEndNs / 1e6,
  });
}
const within = rows.filter((r) => !r.calibratedHere && Math.abs(r.errorPct) <= 15).length;
const predicted = rows.filter((r) => !r.calibratedHere).length;
if (args.includes('--json')) {
  process.stdout.write(`${JSON.stringify({ file, calibrateOn, analyzerScale: cal.analyzerScale, publishScale: cal.publishScale, gcSlowdown: c0.gcSlowdown, gcHeapEvents: c0.gcHeapEvents, rows, within15: within, predicted }, null, 1)}\n`);
} else {
  const f = (x) => Math.round(x).toLocaleString('en-US');
  const out = [
    `calibrated on ${calibrateOn}, queue_size 1000, waitstop 0 (${on.runs.length} oracle runs of ${file}): analyzer × ${cal.analyzerScale.toFixed(3)}, publisher and output × ${cal.publishScale.toFixed(3)}, gc slowdown ${c0.gcSlowdown} at ${c0.gcHeapEvents} held events; published ${f(cal.simulated.published)} against a median of ${f(cal.observed.median)}`,
    '',
    '| capture | queue_size | waitstop | oracle min / median / max | lockstep | error | analysis ms, oracle median / lockstep |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) =>
      `| ${r.capture} | ${f(r.queueSize)} | ${r.waitstop} | ${f(r.oracleMin)} / ${f(r.oracleMedian)} / ${f(r.oracleMax)} | ${f(r.lockstep)} | ${r.calibratedHere ? '(fitted)' : `${r.errorPct.toFixed(1)} %`} | ${r.oracleAnalysisMs.toFixed(0)} / ${r.lockstepAnalysisMs.toFixed(0)} |`),
    '',
    `within 15 %: ${within} of ${predicted} predicted settings`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}
