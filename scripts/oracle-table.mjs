#!/usr/bin/env node
/**
 * packetbeat 5's own analyzer against lockstep's two views, on every golden
 * capture the oracle tests use: `LOCKSTEP_ORACLES=DIR npm run oracles:table`
 * (DIR holds the built `pb5-analyzer`, see ../shared/oracles/README.md).
 * Prints a Markdown table: the oracle's counters, the packetbeat5 view's,
 * whether their events are the same bytes, and the lossless view's.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyze } from '../dist/analyze.js';
import { GOLDEN_DIR, readCase } from '../dist/golden/case.js';
import { resolveCapture } from '../dist/golden/run.js';

const oracles = process.env.LOCKSTEP_ORACLES;
if (!oracles) {
  process.stderr.write('oracles:table: set LOCKSTEP_ORACLES to the folder of the built oracles (../shared/oracles/README.md)\n');
  process.exit(2);
}
// the captures the oracle tests use, each named by a case that uses it
const CAPTURES = JSON.parse(readFileSync(join(GOLDEN_DIR, 'oracles', 'captures.json'), 'utf8')).map((c) => [c.name, c.fromCase]);
const tmp = mkdtempSync(join(tmpdir(), 'lockstep-oracle-table-'));
const three = (c, events) => `${events} / ${c['redis.unmatched_responses'] ?? 0} / ${c['tcp.dropped_because_of_gaps'] ?? 0}`;
const rows = [
  '| capture | packetbeat 5 (oracle): events / unmatched responses / gaps | lockstep `--as packetbeat5` | same event bytes | lockstep lossless: transactions / unmatched responses / gaps |',
  '|---|---|---|---|---|',
];
try {
  for (const [name, fromCase] of CAPTURES) {
    const { path, ports } = resolveCapture(readCase(join(GOLDEN_DIR, fromCase)));
    const o = spawnSync(join(oracles, 'pb5-analyzer'), ['-ports', ports.join(','), path], { maxBuffer: 1 << 30 });
    if (o.status !== 0) throw new Error(`pb5-analyzer failed on ${path}: ${o.stderr}`);
    const counters = Object.fromEntries(o.stderr.toString().trim().split('\n').pop().split(/\s+/).map((kv) => kv.split('=')).map(([k, v]) => [k, Number(v)]));
    const events = join(tmp, `${name}.ndjson`);
    const view = analyze(path, { ports, as: 'packetbeat5', events });
    const same = Buffer.compare(readFileSync(events), o.stdout) === 0 ? 'yes' : '**no**';
    const wire = analyze(path, { ports });
    rows.push(`| ${name} | ${three(counters, counters.events)} | ${three(view.counters, view.transactions)} | ${same} | ${three(wire.counters, wire.transactions)} |`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
process.stdout.write(`${rows.join('\n')}\n`);
