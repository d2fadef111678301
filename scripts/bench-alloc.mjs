#!/usr/bin/env node
/**
 * `npm run bench:alloc [-- --quick]`: what a whole CLI run allocates, per
 * packet and per event, against the budgets in `scripts/alloc-budgets.json`.
 * Exits 1, loudly, when a figure passes its budget.
 *
 * Allocation, not time: each figure is the bytes V8 allocated on the heap
 * during one cold `node dist/cli/main.js …` process, summed from
 * `--trace-gc-nvp` (each collection's `allocated=`) plus what was allocated
 * after the last collection (the heap used at exit, from a `--require`d
 * hook). `--single-threaded-gc --predictable` make collections fall at the
 * same allocations every run, so the figure repeats to within 0.5 %. The
 * start-up's own allocation (`analyze` of a capture holding no packet) is
 * taken off; what is left is divided by the capture's packets, and the
 * difference between a replay with `--out` and the same replay without it
 * by the events written.
 *
 *   --quick   the bundled scenario only (72,257 packets; CI runs this)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const MAIN = 'dist/cli/main.js';
const DIR = '.lockstep/bench';
const BUDGETS = 'scripts/alloc-budgets.json';

function fail(message, code = 2) {
  process.stderr.write(`bench:alloc: ${message}\n`);
  process.exit(code);
}

let values;
try {
  ({ values } = parseArgs({ options: { quick: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
} catch (e) {
  fail(`${e.message}\nusage: npm run bench:alloc [-- --quick]`);
}
if (values.help) {
  process.stdout.write('usage: node scripts/bench-alloc.mjs [--quick]\n');
  process.exit(0);
}
process.chdir(ROOT);
if (!existsSync(MAIN)) fail(`${MAIN} is missing: run \`npm run build\` first`);
mkdirSync(DIR, { recursive: true });

const HOOK = join(ROOT, DIR, 'alloc-hook.cjs');
writeFileSync(HOOK, "process.on('exit', () => process.stderr.write('bench-alloc used=' + require('node:v8').getHeapStatistics().used_heap_size + '\\n'));\n");
const EMPTY = join(DIR, 'empty.pcap');
{
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0xa1b2c3d4, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeUInt32LE(262144, 16);
  h.writeUInt32LE(1, 20);
  writeFileSync(EMPTY, h);
}

/** Bytes one cold process of `args` allocates on V8's heap, and its stdout (without the collector's lines). */
function allocated(args) {
  const r = spawnSync(process.execPath, ['--single-threaded-gc', '--predictable', '--trace-gc-nvp', '--require', HOOK, MAIN, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    env: { ...process.env, NO_COLOR: '1' },
  });
  if (r.status !== 0) fail(`\`lockstep ${args.join(' ')}\` exited ${r.status}: ${r.stderr.trim().split('\n').pop()}`, 1);
  let sum = 0;
  let lastAfter = 0;
  const out = [];
  for (const line of r.stdout.split('\n')) {
    const a = /\ballocated=(\d+)/.exec(line);
    if (a === null) {
      out.push(line);
      continue;
    }
    sum += Number(a[1]);
    lastAfter = Number(/\btotal_size_after=(\d+)/.exec(line)[1]);
  }
  const used = /bench-alloc used=(\d+)/.exec(r.stderr);
  if (used === null) fail(`\`lockstep ${args.join(' ')}\` did not report its heap at exit`, 1);
  return { bytes: sum + Number(used[1]) - lastAfter, stdout: out.join('\n') };
}

function capture(name, genArgs, port) {
  const file = join(DIR, `${name}.pcap`);
  if (!existsSync(file)) {
    process.stderr.write(`bench:alloc: generating ${file}\n`);
    const g = spawnSync(process.execPath, [MAIN, 'gen', 'redis', ...genArgs, '--out', file], { encoding: 'utf8' });
    if (g.status !== 0) fail(`gen failed: ${g.stderr.trim()}`, 1);
  }
  return { name, file, port: String(port) };
}

const captures = [capture('issue-3404', ['--preset', 'issue-3404'], 7101)];
if (!values.quick) captures.push(capture('300k', ['--transactions', '300000', '--connections', '64', '--seed', '7'], 6379));
const budgets = JSON.parse(readFileSync(BUDGETS, 'utf8'));

const base = allocated(['analyze', EMPTY, '--json']).bytes;
const events = join(DIR, 'alloc-events.ndjson');
const rows = [];
let over = 0;
for (const c of captures) {
  const a = allocated(['analyze', c.file, '--ports', c.port, '--json']);
  const packets = JSON.parse(a.stdout).packets;
  const replay = allocated(['replay', c.file, '--profile', 'logstash', '--ports', c.port, '--json']);
  const withOut = allocated(['replay', c.file, '--profile', 'logstash', '--ports', c.port, '--out', events, '--json']);
  const pb5 = allocated(['replay', c.file, '--ports', c.port, '--json']);
  const written = JSON.parse(withOut.stdout).fates.published;
  const figures = {
    'analyze, bytes a packet': (a.bytes - base) / packets,
    'replay --profile logstash, bytes a packet': (replay.bytes - base) / packets,
    'replay --profile packetbeat5, bytes a packet': (pb5.bytes - base) / packets,
    'an event written (--out), bytes an event': (withOut.bytes - replay.bytes) / written,
  };
  for (const [what, value] of Object.entries(figures)) {
    const budget = budgets[c.name]?.[what];
    if (budget === undefined) fail(`${BUDGETS} has no budget for ${c.name}: ${what}`, 1);
    const ok = value <= budget;
    if (!ok) over++;
    rows.push([c.name, what, value.toFixed(1), String(budget), ok ? 'ok' : 'OVER BUDGET']);
  }
}

const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
process.stdout.write(`lockstep bench:alloc, node ${process.version}: V8 heap bytes allocated by whole CLI runs, start-up (${(base / 1e6).toFixed(1)} MB) taken off\n`);
for (const r of rows) process.stdout.write(`${r.map((cell, j) => (j === 2 || j === 3 ? cell.padStart(widths[j]) : cell.padEnd(widths[j]))).join('  ').trimEnd()}\n`);
if (over > 0) {
  process.stderr.write(`\nbench:alloc: ${over} figure${over === 1 ? '' : 's'} OVER BUDGET (${BUDGETS}): find what allocates more (node --heap-prof), or raise the budget in a commit that says why\n`);
  process.exit(1);
}
