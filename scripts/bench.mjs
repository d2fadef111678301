#!/usr/bin/env node
/**
 * `npm run bench [-- --runs N] [-- --quick]`: the time of what a user runs.
 *
 * Every timed run is a whole, cold CLI process (`node dist/cli/main.js …`, or
 * `tshark`), started fresh: no warm-up, no best-of-N, no in-process timing.
 * Wall seconds and peak RSS come from the OS through `/usr/bin/time -f '%e %M'`
 * (Debian package `time`); without it, `process.hrtime` around `spawnSync`
 * and no RSS. Each figure is the median of --runs runs (default 5). A
 * capture's four commands run in turn (A B C D A B C D …), so that a ratio
 * compares timings taken in the same minute on this noisy machine.
 *
 *   --runs N   timed runs per command (default 5; 3 with --quick)
 *   --quick    the issue-3404 capture only (a smoke test)
 *   --regen    generate the captures again even if cached
 *
 * Captures are generated once with `lockstep gen` and cached under
 * .lockstep/bench/ (ignored by git); the figures are also written to
 * .lockstep/bench/last.json. Wall-clock time is read here, outside the
 * simulated path, and nowhere else.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const MAIN = 'dist/cli/main.js';
const DIR = '.lockstep/bench';
const TIME = '/usr/bin/time';
const REPLAY_OUT = `${DIR}/replay-events.ndjson`;
const TIME_OUT = `${DIR}/time.out`;

function fail(message, code = 2) {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(code);
}

let values;
try {
  ({ values } = parseArgs({
    options: { runs: { type: 'string' }, quick: { type: 'boolean' }, regen: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  }));
} catch (e) {
  fail(`${e.message}\nusage: npm run bench [-- --runs N] [-- --quick] [-- --regen]`);
}
if (values.help) {
  process.stdout.write('usage: node scripts/bench.mjs [--runs N] [--quick] [--regen]\n');
  process.exit(0);
}
const quick = values.quick === true;
let runs = quick ? 3 : 5;
if (values.runs !== undefined) {
  runs = /^\s*\d+\s*$/.test(values.runs) ? Number(values.runs) : NaN;
  if (!(Number.isSafeInteger(runs) && runs >= 1)) fail(`Expected \`--runs\` to be a whole number from 1 up, got \`${values.runs}\``);
}

process.chdir(ROOT);
if (!existsSync(MAIN)) fail(`${MAIN} is missing: run \`npm run build\` first`);
mkdirSync(DIR, { recursive: true });

// ---------------------------------------------------------------- tools

const node = process.execPath;
const lockstep = (...args) => [node, MAIN, ...args];
/** How a command line is printed: as a user types it from the checkout. */
const shown = (argv) => argv.map((a, i) => (i === 0 && a === node ? 'node' : /^[\w./:,=@+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');

const withTime = spawnSync(TIME, ['-f', '%e %M', '-o', TIME_OUT, 'true']).status === 0;
const tsharkProbe = spawnSync('tshark', ['--version'], { stdio: 'ignore' });
const withTshark = !tsharkProbe.error && tsharkProbe.status === 0;

/** Runs argv once, untimed; exits with its stderr if it fails. */
function run(argv) {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.error || r.status !== 0) failed(argv, r);
  return r.stdout;
}

function failed(argv, r) {
  process.stderr.write(`bench: \`${shown(argv)}\` failed (${r.error ? r.error.message : r.signal ? `signal ${r.signal}` : `exit ${r.status}`})\n`);
  if (r.stderr) process.stderr.write(String(r.stderr).replace(/\n?$/, '\n'));
  process.exit(1);
}

/**
 * One timed run of argv in a fresh process: wall seconds and peak RSS (KiB)
 * as the OS counts them for the child, by /usr/bin/time; else hrtime around
 * spawnSync and no RSS.
 */
function timed(argv) {
  let r;
  let sec;
  let rssKiB = null;
  if (withTime) {
    rmSync(TIME_OUT, { force: true });
    r = spawnSync(TIME, ['-f', '%e %M', '-o', TIME_OUT, ...argv], { encoding: 'utf8', maxBuffer: 1 << 28 });
    if (r.error || r.status !== 0) failed(argv, r);
    // the last line (a failing command's status line comes before it)
    const last = readFileSync(TIME_OUT, 'utf8').trim().split('\n').pop() ?? '';
    const m = /^(\d+(?:\.\d+)?) (\d+)$/.exec(last.trim());
    if (!m) fail(`could not read ${TIME}'s line for \`${shown(argv)}\`: ${JSON.stringify(last)}`, 1);
    sec = Number(m[1]);
    rssKiB = Number(m[2]);
  } else {
    const t0 = process.hrtime.bigint();
    r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', maxBuffer: 1 << 28 });
    sec = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.error || r.status !== 0) failed(argv, r);
  }
  return { sec, rssKiB, stdout: r.stdout };
}

async function lineCount(file) {
  let n = 0;
  for await (const chunk of createReadStream(file)) for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
  return n;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const k = s.length >> 1;
  return s.length % 2 ? s[k] : (s[k - 1] + s[k]) / 2;
}

function stats(samples) {
  const secs = samples.map((s) => s.sec);
  const rss = samples.map((s) => s.rssKiB).filter((x) => x !== null);
  return {
    runsSec: secs,
    medianSec: median(secs),
    minSec: Math.min(...secs),
    maxSec: Math.max(...secs),
    runsRssKiB: rss.length ? rss : null,
    peakRssKiB: rss.length ? Math.max(...rss) : null,
  };
}

// ---------------------------------------------------------------- captures

/** What the cached captures depend on: the gen command line and the generator's built code. */
function generatorHash() {
  const h = createHash('sha256');
  for (const d of ['dist/gen', 'dist/pcap']) {
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d).filter((f) => f.endsWith('.js')).sort()) h.update(f).update(readFileSync(join(d, f)));
  }
  return h.digest('hex');
}

function capture(name, genArgs, port) {
  const file = `${DIR}/${name}.pcap`;
  const argv = lockstep('gen', 'redis', ...genArgs, '--out', file);
  const stamp = `${file}.bench.json`;
  const want = JSON.stringify({ gen: shown(argv), generator: generatorHash() });
  let genPackets = null;
  if (values.regen || !existsSync(file) || !existsSync(stamp) || readFileSync(stamp, 'utf8') !== want) {
    process.stderr.write(`bench: generating ${file}: ${shown(argv)}\n`);
    const out = run(argv);
    const m = /: (\d+) packets/.exec(out);
    genPackets = m ? Number(m[1]) : null;
    writeFileSync(stamp, want);
  }
  // packets as the project's reader counts them (one untimed run)
  const packets = JSON.parse(run(lockstep('analyze', file, '--ports', String(port), '--json'))).packets;
  if (genPackets !== null && genPackets !== packets) fail(`gen wrote ${genPackets} packets to ${file}, analyze --json read ${packets}`, 1);
  return { name, file, port, gen: shown(argv), packets };
}

const captures = [capture('issue-3404', ['--preset', 'issue-3404'], 7101)];
if (!quick) captures.push(capture('300k', ['--transactions', '300000', '--connections', '64', '--seed', '7'], 6379));
// the sweep's --scenario capture, in the cache (~/.cache/lockstep): generated before timing if missing (one untimed run)
run(lockstep('analyze', '--scenario', 'issue-3404', '--json'));

// ---------------------------------------------------------------- timings

const progress = (text) => {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${text}`);
};

const results = [];
for (const c of captures) {
  const P = String(c.port);
  const commands = [
    { key: 'replay', label: 'lockstep replay', argv: lockstep('replay', c.file, '--profile', 'logstash', '--ports', P, '--out', REPLAY_OUT) },
    { key: 'analyze', label: 'lockstep analyze', argv: lockstep('analyze', c.file, '--ports', P) },
  ];
  if (withTshark) {
    commands.push({ key: 'tshark', label: 'tshark -r -q', argv: ['tshark', '-r', c.file, '-q'] });
    commands.push({ key: 'tsharkConv', label: 'tshark -q -z conv,tcp', argv: ['tshark', '-r', c.file, '-q', '-z', 'conv,tcp'] });
  }
  const samples = new Map(commands.map((k) => [k.key, []]));
  let published = null;
  let outLines = null;
  for (let i = 0; i < runs; i++) {
    for (const k of commands) {
      progress(`bench: ${c.name} run ${i + 1}/${runs}: ${k.label}`);
      if (k.key === 'replay') rmSync(REPLAY_OUT, { force: true }); // a new file each run, its unlink untimed
      const t = timed(k.argv);
      samples.get(k.key).push(t);
      if (k.key === 'replay' && i === 0) {
        const m = /^published\s+(\d+)\s*$/m.exec(t.stdout);
        if (!m) fail(`no \`published\` line in replay's summary:\n${t.stdout}`, 1);
        published = Number(m[1]);
        outLines = await lineCount(REPLAY_OUT);
        if (outLines !== published) fail(`${REPLAY_OUT} has ${outLines} lines, replay's summary published ${published}`, 1);
      }
    }
  }
  progress('');
  rmSync(REPLAY_OUT, { force: true });
  const timings = commands.map((k) => {
    const s = stats(samples.get(k.key));
    return { key: k.key, label: k.label, command: shown(k.argv), ...s, packetsPerSec: c.packets / s.medianSec };
  });
  const by = Object.fromEntries(timings.map((t) => [t.key, t]));
  const ratios = withTshark
    ? {
        tsharkOverReplay: by.tshark.medianSec / by.replay.medianSec,
        tsharkConvOverReplay: by.tsharkConv.medianSec / by.replay.medianSec,
        tsharkOverAnalyze: by.tshark.medianSec / by.analyze.medianSec,
        tsharkConvOverAnalyze: by.tsharkConv.medianSec / by.analyze.medianSec,
      }
    : null;
  results.push({ ...c, published, outLines, timings, ratios });
}

const sweepArgv = lockstep('sweep', '--scenario', 'issue-3404', '--queue-size', '1..200000', '--waitstop', '0', '--json');
const sweepSamples = [];
let replays = null;
for (let i = 0; i < runs; i++) {
  progress(`bench: sweep run ${i + 1}/${runs}`);
  const t = timed(sweepArgv);
  const n = JSON.parse(t.stdout).replays;
  if (!Number.isSafeInteger(n)) fail(`no \`replays\` count in the sweep's JSON`, 1);
  if (replays !== null && n !== replays) fail(`the sweep ran ${replays} replays, then ${n}`, 1);
  replays = n;
  sweepSamples.push(t);
}
progress('');
const sweepStats = stats(sweepSamples);
const sweep = { command: shown(sweepArgv), replays, ...sweepStats, replaysPerSec: replays / sweepStats.medianSec };

// ---------------------------------------------------------------- report

const nprocRun = spawnSync('nproc', [], { encoding: 'utf8' });
const nproc = nprocRun.status === 0 ? Number(nprocRun.stdout.trim()) : availableParallelism();
const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const decimals = withTime ? 2 : 3;
const s = (x) => `${x.toFixed(decimals)} s`;
const int = (n) => Math.round(n).toLocaleString('en-US');
const mib = (kib) => (kib === null ? 'n/a' : `${(kib / 1024).toFixed(0)} MiB`);
const x = (r) => `${r >= 10 ? r.toFixed(0) : r.toFixed(1)}×`;

const lines = [];
lines.push(`lockstep bench, ${date}, node ${process.version}, nproc ${nproc}, ${process.platform} ${process.arch}`);
lines.push(
  `median of ${runs} cold runs per command, each a fresh process; a capture's commands run in turn; ` +
    (withTime ? `wall time and max RSS of the child by ${TIME} -f '%e %M' (10 ms steps; peak RSS = the largest of the runs)` : `${TIME} not found: wall time by hrtime around spawnSync, RSS n/a`),
);
if (!withTshark) lines.push('tshark not found: lockstep figures only, no ratios');
lines.push('');
const head = ['capture', 'packets', 'command', 'median', 'min–max', 'packets/s', 'peak RSS'];
// peak RSS: the largest of the runs' maximum resident set sizes
const rows = [];
for (const r of results) {
  r.timings.forEach((t, i) => {
    rows.push([
      i === 0 ? r.name : '',
      i === 0 ? int(r.packets) : '',
      t.label,
      s(t.medianSec),
      `${t.minSec.toFixed(decimals)}–${s(t.maxSec)}`,
      int(t.packetsPerSec),
      mib(t.peakRssKiB),
    ]);
  });
}
const right = new Set([1, 3, 4, 5, 6]);
const widths = head.map((h, j) => Math.max(h.length, ...rows.map((row) => row[j].length)));
const fmtRow = (row) => row.map((cell, j) => (right.has(j) ? cell.padStart(widths[j]) : cell.padEnd(widths[j]))).join('  ').trimEnd();
lines.push(fmtRow(head));
for (const row of rows) lines.push(fmtRow(row));
lines.push('');
for (const r of results) lines.push(`${r.name}: replay wrote ${int(r.outLines)} lines to its --out file = ${int(r.published)} published in its summary`);
if (withTshark) {
  lines.push('');
  lines.push('tshark median / lockstep median:');
  const w = Math.max(...results.map((r) => r.name.length));
  for (const r of results) {
    const q = r.ratios;
    lines.push(`  ${r.name.padEnd(w)}  replay:  tshark -r -q ${x(q.tsharkOverReplay).padStart(5)}   tshark -q -z conv,tcp ${x(q.tsharkConvOverReplay).padStart(5)}`);
    lines.push(`  ${''.padEnd(w)}  analyze: tshark -r -q ${x(q.tsharkOverAnalyze).padStart(5)}   tshark -q -z conv,tcp ${x(q.tsharkConvOverAnalyze).padStart(5)}`);
  }
}
lines.push('');
lines.push(
  `sweep (issue-3404, ${replays} replays a run): median ${s(sweep.medianSec)} (${sweep.minSec.toFixed(decimals)}–${s(sweep.maxSec)}), ` +
    `${sweep.replaysPerSec.toFixed(1)} replays/s, peak RSS ${mib(sweep.peakRssKiB)}`,
);
lines.push('');
lines.push(`commands timed (from ${ROOT}):`);
for (const r of results) for (const t of r.timings) lines.push(`  ${t.command}`);
lines.push(`  ${sweep.command}`);
lines.push('captures:');
for (const r of results) lines.push(`  ${r.gen}`);
process.stdout.write(`${lines.join('\n')}\n`);

const json = {
  date,
  node: process.version,
  nproc,
  platform: `${process.platform} ${process.arch}`,
  runs,
  quick,
  timer: withTime ? `${TIME} -f '%e %M'` : 'process.hrtime.bigint() around spawnSync',
  tshark: withTshark,
  captures: results,
  sweep,
};
rmSync(TIME_OUT, { force: true });
writeFileSync(`${DIR}/last.json`, `${JSON.stringify(json, null, 2)}\n`);
