#!/usr/bin/env node
/**
 * Measurement data from packetbeat 5's real publishing path (the `pb5full` and
 * `pb5full-instr` oracles of ../shared/oracles/packetbeat5-pipeline), written
 * as one JSON file per invocation under golden/oracles/pipeline/. The oracle
 * is nondeterministic (goroutines, a non-blocking channel): these files are
 * samples of its behaviour on one machine, not expectations to match exactly.
 *
 * No dependencies. Every oracle process runs alone, one after the other
 * (timings are sensitive); each run gets a fresh output folder under
 * os.tmpdir(), deleted after its lines are counted.
 *
 *   # N runs of pb5full per (queue_size, waitstop) setting:
 *   LOCKSTEP_ORACLES=/work/oracles-bin node scripts/oracle-pipeline.mjs runs \
 *     --capture .lockstep/issue-3404.pcap --ports 7101 \
 *     --queue-sizes 10,100,1000,100000 --waitstops 0,1 --runs 20 \
 *     --out golden/oracles/pipeline/issue-3404-queue-sizes.json
 *
 *   # per-stage service times from pb5full-instr, settings as QUEUE:WAITSTOP:
 *   LOCKSTEP_ORACLES=/work/oracles-bin node scripts/oracle-pipeline.mjs instr \
 *     --capture golden/real-redis/capture.pcap --ports 32117 \
 *     --settings 100000:2,1000:0 --runs 5 [--analyzer-runs 5] \
 *     --out golden/oracles/pipeline/instr-real-redis.json
 *
 *   # JSON encode time against event size, least squares over the runs of
 *   # several instr files (each run is one point: mean bytes, mean µs):
 *   node scripts/oracle-pipeline.mjs fit --out golden/oracles/pipeline/encode-size-fit.json \
 *     golden/oracles/pipeline/instr-*.json
 *
 *   # Markdown tables of data files already written (for the README):
 *   node scripts/oracle-pipeline.mjs table golden/oracles/pipeline/*.json
 *
 * Options: --label NAME (default: the capture's file name), --capture-note TEXT
 * (how the capture was made, recorded in the file), --env K=V (for
 * the oracle, repeatable, e.g. GOMAXPROCS=1), --bin-dir DIR (instead of
 * LOCKSTEP_ORACLES). `runs` records per run: published_events, the lines
 * written over events.ndjson*, dropped_at_trans_chan, trans_chan_len_at_exit,
 * messages_in_worker_queues, the logp Uptime, the phase times (t_*), CPU and
 * GC; per setting: min/median/max/mean and coefficient of variation (sample
 * standard deviation / mean) of published and written, and where the loss
 * happened (channel during analysis vs counted-but-unwritten at exit).
 * `instr` adds the per-stage means (µs per event, µs per KB of encoded event,
 * analyzer µs per packet and per KB of capture) and `pb5-analyzer` alone
 * (stdout to /dev/null) as a bound on the analyzer's own cost.
 */
import { spawnSync, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, hostname, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';

// ---------------------------------------------------------------- arguments
const argv = process.argv.slice(2);
const mode = argv.shift();
const opts = { env: [], files: [] };
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (!a.startsWith('--')) { opts.files.push(a); continue; }
  const k = a.slice(2);
  if (k === 'interleave') { opts.interleave = true; continue; }
  const v = argv[++i];
  if (v === undefined) die(`${a} needs a value`);
  if (k === 'env') opts.env.push(v); else opts[k.replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = v;
}
function die(msg) { process.stderr.write(`oracle-pipeline: ${msg}\n`); process.exit(2); }
if (!['runs', 'instr', 'fit', 'table'].includes(mode)) die('usage: oracle-pipeline.mjs runs|instr|fit|table ... (see the header comment)');
if (mode !== 'table' && !opts.out) die('--out FILE is required');

const invocation = ['node', 'scripts/oracle-pipeline.mjs', ...process.argv.slice(2)].join(' ');
const childEnv = { ...process.env };
for (const kv of opts.env) { const i = kv.indexOf('='); childEnv[kv.slice(0, i)] = kv.slice(i + 1); }

// ---------------------------------------------------------------- small statistics
const num = (xs) => xs.filter((x) => typeof x === 'number' && Number.isFinite(x));
function median(xs) { xs = num(xs).sort((a, b) => a - b); if (!xs.length) return null; const m = xs.length >> 1; return xs.length % 2 ? xs[m] : (xs[m - 1] + xs[m]) / 2; }
function mean(xs) { xs = num(xs); return xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : null; }
function sd(xs) { xs = num(xs); if (xs.length < 2) return null; const m = mean(xs); return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1)); }
const r = (x, d = 3) => (x === null || x === undefined || !Number.isFinite(x) ? null : Math.round(x * 10 ** d) / 10 ** d);
function describe(xs) {
  xs = num(xs);
  if (!xs.length) return null;
  const m = mean(xs), s = sd(xs);
  return { n: xs.length, min: Math.min(...xs), median: median(xs), max: Math.max(...xs), mean: r(m, 2), sd: r(s, 2), cv_pct: s === null || m === 0 ? null : r((100 * s) / m, 2) };
}
/** least squares y = a + b x; null when x has (almost) no spread */
function linfit(pts) {
  pts = pts.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const n = pts.length;
  if (n < 3) return null;
  const mx = mean(pts.map((p) => p[0])), my = mean(pts.map((p) => p[1]));
  let sxx = 0, sxy = 0, syy = 0;
  for (const [x, y] of pts) { sxx += (x - mx) ** 2; sxy += (x - mx) * (y - my); syy += (y - my) ** 2; }
  const spread = Math.sqrt(sxx / (n - 1)) / mx;
  if (sxx === 0) return { n, note: 'no spread in x' };
  const b = sxy / sxx, a = my - b * mx;
  const sse = pts.reduce((s, [x, y]) => s + (y - a - b * x) ** 2, 0);
  const se_b = n > 2 ? Math.sqrt(sse / (n - 2) / sxx) : null;
  const se_a = n > 2 ? Math.sqrt((sse / (n - 2)) * (1 / n + (mx * mx) / sxx)) : null;
  return { n, usable: spread >= 0.05, a: r(a, 4), b: r(b, 6), se_a: r(se_a, 4), se_b: r(se_b, 6), r2: syy === 0 ? null : r(1 - sse / syy, 4), x_min: r(Math.min(...pts.map((p) => p[0])), 1), x_max: r(Math.max(...pts.map((p) => p[0])), 1), x_rel_spread: r(spread, 4) };
}

/** least squares y = Σ c_j x_j without intercept (normal equations, Gauss-Jordan); null if singular */
function lsq(rows, names) {
  const k = names.length;
  const A = Array.from({ length: k }, () => new Array(k + 1).fill(0));
  for (const { x, y } of rows) for (let i = 0; i < k; i++) { for (let j = 0; j < k; j++) A[i][j] += x[i] * x[j]; A[i][k] += x[i] * y; }
  for (let c = 0; c < k; c++) {
    let p = c; for (let i = c + 1; i < k; i++) if (Math.abs(A[i][c]) > Math.abs(A[p][c])) p = i;
    if (Math.abs(A[p][c]) < 1e-12) return null;
    [A[c], A[p]] = [A[p], A[c]];
    for (let i = 0; i < k; i++) if (i !== c) { const f = A[i][c] / A[c][c]; for (let j = c; j <= k; j++) A[i][j] -= f * A[c][j]; }
  }
  const coef = A.map((row, i) => row[k] / row[i]);
  const my = mean(rows.map((r0) => r0.y));
  let sse = 0, sst = 0;
  for (const { x, y } of rows) { const f = x.reduce((s2, v, i) => s2 + v * coef[i], 0); sse += (y - f) ** 2; sst += (y - my) ** 2; }
  return { n: rows.length, ...Object.fromEntries(names.map((nm, i) => [nm, r(coef[i], 4)])), r2: sst ? r(1 - sse / sst, 4) : null, rmse: r(Math.sqrt(sse / rows.length), 2) };
}

// ---------------------------------------------------------------- environment facts
const sh = (cmd, args) => { try { return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim(); } catch { return null; } };
const sha256 = (p) => createHash('sha256').update(readFileSync(p)).digest('hex');
function machine(bins) {
  return {
    date: new Date().toISOString(),
    hostname: hostname(),
    nproc: Number(sh('nproc', [])) || cpus().length,
    cpu_model: cpus()[0]?.model ?? null,
    uname: sh('uname', ['-srm']),
    go_version: sh('go', ['version']),
    oracle_build: Object.fromEntries(bins.map((b) => [basename(b), { go: (sh('go', ['version', b]) ?? '').replace(/^.*?: /, ''), sha256: sha256(b) }])),
    node_version: process.version,
    lockstep_commit: sh('git', ['-C', resolve(dirname(new URL(import.meta.url).pathname), '..'), 'rev-parse', 'HEAD']),
    uptime_at_start: sh('uptime', []),
    env: opts.env,
  };
}
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);

// ---------------------------------------------------------------- pcap facts (packets, bytes, TCP payload)
function pcapFacts(path) {
  const b = readFileSync(path);
  const magic = b.readUInt32LE(0);
  if (magic !== 0xa1b2c3d4 && magic !== 0xa1b23c4d) return { note: 'not a little-endian classic pcap' };
  const link = b.readUInt32LE(20);
  let off = 24, packets = 0, captured = 0, tcpPayload = 0, tcpPackets = 0;
  while (off + 16 <= b.length) {
    const incl = b.readUInt32LE(off + 8);
    const p = off + 16;
    off = p + incl;
    if (off > b.length) break;
    packets++; captured += incl;
    let l3 = -1, et = 0;
    if (link === 1) { l3 = p + 14; et = b.readUInt16BE(p + 12); while ((et === 0x8100 || et === 0x88a8) && l3 + 4 <= off) { et = b.readUInt16BE(l3 + 2); l3 += 4; } }
    else if (link === 113) { l3 = p + 16; et = b.readUInt16BE(p + 14); }
    else if (link === 0) { l3 = p + 4; const fam = b.readUInt32LE(p); et = fam === 2 ? 0x0800 : 0x86dd; }
    else if (link === 101) { l3 = p; et = (b[p] >> 4) === 4 ? 0x0800 : 0x86dd; }
    if (l3 < 0 || l3 >= off) continue;
    let l4 = -1, ipEnd = off;
    if (et === 0x0800) { if (b[l3 + 9] !== 6) continue; l4 = l3 + (b[l3] & 15) * 4; ipEnd = Math.min(off, l3 + b.readUInt16BE(l3 + 2)); }
    else if (et === 0x86dd) { if (b[l3 + 6] !== 6) continue; l4 = l3 + 40; ipEnd = Math.min(off, l4 + b.readUInt16BE(l3 + 4)); }
    else continue;
    if (l4 + 20 > off) continue;
    tcpPackets++;
    tcpPayload += Math.max(0, ipEnd - (l4 + (b[l4 + 12] >> 4) * 4));
  }
  return { path, sha256: sha256(path), file_bytes: b.length, linktype: link, packets, captured_bytes: captured, tcp_packets: tcpPackets, tcp_payload_bytes: tcpPayload };
}

// ---------------------------------------------------------------- one oracle run
function goDurationMs(s) {
  let t = 0;
  for (const [, n, u] of s.matchAll(/([0-9.]+)(ns|us|µs|ms|s|m|h)/g)) t += Number(n) * { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1e3, m: 6e4, h: 3.6e6 }[u];
  return t;
}
function countOutput(dir) {
  let lines = 0, bytes = 0;
  const files = [];
  for (const f of readdirSync(dir).sort()) {
    if (!/^events\.ndjson(\.\d+)?$/.test(f)) continue;
    const fd = openSync(join(dir, f), 'r');
    const buf = Buffer.allocUnsafe(1 << 20);
    let n = 0, got;
    while ((got = readSync(fd, buf, 0, buf.length, null)) > 0) { for (let i = 0; i < got; i++) if (buf[i] === 10) n++; bytes += got; }
    closeSync(fd);
    lines += n;
    files.push([f, n]);
  }
  return { lines, bytes, files };
}
const KEEP = ['transactions_offered', 'accepted_into_trans_chan', 'dropped_at_trans_chan', 'published_events', 'published_events_at_eof', 'trans_chan_len_at_eof', 'worker_queue_at_eof', 'trans_chan_len_at_exit', 'messages_in_worker_queues', 't_init_ms', 't_read_analyze_ms', 't_eof_sleep_ms', 't_waitstop_ms', 't_total_ms', 'cpu_user_ms', 'cpu_sys_ms', 'ctx_switches_invol', 'num_gc', 'gc_pause_total_ms', 'gomaxprocs', 'packets', 'redis_unmatched_responses', 'tcp_dropped_because_of_gaps'];
function runOnce(bin, capture, ports, queue, waitstop, i) {
  const dir = mkdtempSync(join(tmpdir(), 'oracle-pipeline-'));
  const args = ['-ports', ports, '-o', join(dir, 'events.ndjson'), '-queue_size', String(queue), '-waitstop', String(waitstop), capture];
  const la = loadavg();
  const t0 = process.hrtime.bigint();
  const p = spawnSync(bin, args, { env: childEnv, encoding: 'utf8', maxBuffer: 64 << 20 });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  try {
    const rec = { run: i, rc: p.status, wall_ms: r(wall, 1), load1_before: la[0] };
    const lines = (p.stderr ?? '').split('\n');
    let summary = null;
    for (const l of lines) {
      let m;
      if ((m = /Total non-zero values:\s*(.*)$/.exec(l))) rec.total = Object.fromEntries([...m[1].matchAll(/(\S+)=(-?\d+)/g)].map(([, k, v]) => [k, Number(v)]));
      if ((m = /INFO Uptime: (\S+)$/.exec(l))) { rec.uptime = m[1]; rec.uptime_ms = r(goDurationMs(m[1]), 3); }
      if (l.startsWith('PB5FULL ')) summary = JSON.parse(l.slice(8));
    }
    if (!summary) { rec.error = 'no PB5FULL line'; rec.stderr_tail = lines.slice(-5); return { rec, summary: null }; }
    for (const k of KEEP) if (k in summary) rec[k] = typeof summary[k] === 'number' ? r(summary[k], 3) : summary[k];
    const out = countOutput(dir);
    rec.written = out.lines;
    rec.written_bytes = out.bytes;
    rec.files = out.files.length;
    rec.counted_not_written = summary.published_events - out.lines; // counted by published_events, never in the file
    // accepted = published + left in the channel + (at most one held by the publisher goroutine)
    rec.in_flight_publisher = summary.accepted_into_trans_chan - summary.published_events - summary.trans_chan_len_at_exit;
    // published = written + worker queue at exit + (at most one in the output worker)
    rec.in_flight_output = summary.published_events - out.lines - summary.messages_in_worker_queues;
    const warn = lines.filter((l) => /WARN|ERR|panic/.test(l));
    if (warn.length) rec.stderr_warn = warn.slice(0, 3);
    return { rec, summary };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- file writing: runs compact, one per line
function writeJson(path, obj) {
  const compact = [];
  const s = JSON.stringify(obj, (k, v) => {
    if (k === 'runs' && Array.isArray(v)) return v.map((x) => { compact.push(JSON.stringify(x)); return `@@C${compact.length - 1}@@`; });
    return v;
  }, 2).replace(/"@@C(\d+)@@"/g, (_, i) => compact[Number(i)]);
  mkdirSync(dirname(resolve(path)), { recursive: true });
  writeFileSync(path, s + '\n');
  process.stderr.write(`wrote ${path} (${Buffer.byteLength(s)} bytes)\n`);
}

function binDir() {
  const d = opts.binDir ?? process.env.LOCKSTEP_ORACLES;
  if (!d) die('set LOCKSTEP_ORACLES (folder of pb5full, pb5full-instr, pb5-analyzer) or --bin-dir');
  return d;
}
const list = (s, name) => { if (!s) die(`--${name} is required`); return s.split(',').map((x) => x.trim()).filter(Boolean); };

function summarizeRuns(runs) {
  const ok = runs.filter((x) => !x.error);
  const loss = ok.map((x) => x.transactions_offered - x.written);
  return {
    runs: ok.length,
    failed: runs.length - ok.length,
    offered: median(ok.map((x) => x.transactions_offered)),
    published: describe(ok.map((x) => x.published_events)),
    written: describe(ok.map((x) => x.written)),
    dropped_at_trans_chan: describe(ok.map((x) => x.dropped_at_trans_chan)),
    counted_not_written: describe(ok.map((x) => x.counted_not_written)),
    trans_chan_len_at_exit: describe(ok.map((x) => x.trans_chan_len_at_exit)),
    messages_in_worker_queues: describe(ok.map((x) => x.messages_in_worker_queues)),
    runs_written_lt_published: ok.filter((x) => x.written < x.published_events).length,
    runs_written_ne_published: ok.filter((x) => x.written !== x.published_events).length,
    runs_left_in_channel_at_exit: ok.filter((x) => x.trans_chan_len_at_exit > 0).length,
    // share of all lost events (offered - written) by where they were lost, summed over runs
    loss_split: (() => {
      const tot = loss.reduce((s, x) => s + x, 0);
      const ch = ok.reduce((s, x) => s + x.dropped_at_trans_chan, 0);
      const ex = ok.reduce((s, x) => s + x.counted_not_written, 0);
      const st = ok.reduce((s, x) => s + x.trans_chan_len_at_exit + Math.max(0, x.in_flight_publisher), 0);
      return tot ? { lost_total: tot, channel_during_analysis_pct: r((100 * ch) / tot, 2), counted_not_written_pct: r((100 * ex) / tot, 2), stranded_uncounted_in_channel_pct: r((100 * st) / tot, 2) } : { lost_total: 0 };
    })(),
    uptime_ms: describe(ok.map((x) => x.uptime_ms)),
    t_init_ms: r(median(ok.map((x) => x.t_init_ms))),
    t_read_analyze_ms: describe(ok.map((x) => x.t_read_analyze_ms)),
    t_eof_sleep_ms: r(median(ok.map((x) => x.t_eof_sleep_ms))),
    t_waitstop_ms: r(median(ok.map((x) => x.t_waitstop_ms))),
    t_total_ms: r(median(ok.map((x) => x.t_total_ms))),
    analyze_share_of_uptime_pct: r(median(ok.map((x) => (100 * x.t_read_analyze_ms) / x.uptime_ms)), 2),
    load1_before: describe(ok.map((x) => x.load1_before)),
  };
}

// ---------------------------------------------------------------- mode: runs
if (mode === 'runs') {
  const bin = join(binDir(), 'pb5full');
  // several captures: --capture A,B --ports PA,PB --label LA,LB (same order); every setting of every capture in one file
  const captures = list(opts.capture, 'capture');
  const portsOf = list(opts.ports, 'ports');
  const labels = opts.label ? list(opts.label, 'label') : captures.map((c) => basename(c, '.pcap'));
  if (portsOf.length !== captures.length || labels.length !== captures.length) die('--capture, --ports and --label need one entry a capture');
  const queues = list(opts.queueSizes ?? '1000', 'queue-sizes').map(Number);
  const waits = list(opts.waitstops ?? '0', 'waitstops').map(Number);
  const n = Number(opts.runs ?? 20);
  // --interleave: run 1 of every setting, then run 2 of every setting, …, so the machine's load drifts over all settings alike
  const interleave = opts.interleave !== undefined;
  const doc = {
    what: 'pb5full (packetbeat 5 analyzer + real publisher, pipeline and file output) run repeatedly per (queue_size, waitstop); nondeterministic',
    invocation, oracle_command: `${bin} -ports PORTS -o $FRESH_DIR/events.ndjson -queue_size Q -waitstop W CAPTURE`,
    label: labels.join(','),
    order: interleave ? 'interleaved: run i of every (capture, setting) before run i+1 of any' : 'each setting\'s runs in a block',
    machine: machine([bin]),
    ...(captures.length === 1
      ? { capture: { ...pcapFacts(captures[0]), ports: portsOf[0], ...(opts.captureNote ? { made_by: opts.captureNote } : {}) } }
      : { captures: captures.map((c, k) => ({ label: labels[k], ...pcapFacts(c), ports: portsOf[k] })) }),
    notes: ['cv_pct = sample standard deviation / mean × 100', 'written = lines over events.ndjson* after exit; counted_not_written = published_events − written', 'in_flight_publisher = accepted − published − trans_chan_len_at_exit (an event the publisher goroutine held at exit, uncounted); in_flight_output = published − written − messages_in_worker_queues (held by the output worker)'],
    settings: [],
  };
  const cells = [];
  for (let k = 0; k < captures.length; k++) for (const w of waits) for (const q of queues) cells.push({ k, q, w, runs: [] });
  const one = (cell, i) => {
    const { rec } = runOnce(bin, captures[cell.k], portsOf[cell.k], cell.q, cell.w, i);
    cell.runs.push(rec);
    process.stderr.write(`[${labels[cell.k]} q=${cell.q} w=${cell.w}] ${i}: published=${rec.published_events} written=${rec.written} dropped_chan=${rec.dropped_at_trans_chan} chan_exit=${rec.trans_chan_len_at_exit} uptime=${rec.uptime} load=${rec.load1_before}\n`);
  };
  if (interleave) for (let i = 0; i < n; i++) for (const cell of cells) one(cell, i);
  else for (const cell of cells) for (let i = 0; i < n; i++) one(cell, i);
  for (const cell of cells) {
    doc.settings.push({ ...(captures.length > 1 ? { capture: labels[cell.k] } : {}), queue_size: cell.q, waitstop: cell.w, summary: summarizeRuns(cell.runs), runs: cell.runs });
  }
  doc.machine.uptime_at_end = sh('uptime', []);
  writeJson(opts.out, doc);
}

// ---------------------------------------------------------------- mode: instr
const STATS = ['pub_service', 'pub_send_blocked', 'out_service', 'out_encode', 'out_write'];
function both(st) { // combine the two phases of one stat: n, mean µs
  const a = st.analysis ?? {}, e = st.after_eof ?? {};
  const n = (a.n ?? 0) + (e.n ?? 0);
  return { n, mean_us: n ? ((a.sum_ms ?? 0) + (e.sum_ms ?? 0)) * 1000 / n : null };
}
if (mode === 'instr') {
  const bin = join(binDir(), 'pb5full-instr');
  const abin = join(binDir(), 'pb5-analyzer');
  const capture = opts.capture ?? die('--capture is required');
  const ports = opts.ports ?? die('--ports is required');
  const settings = list(opts.settings ?? '100000:2,1000:0', 'settings').map((s) => s.split(':').map(Number));
  const n = Number(opts.runs ?? 5);
  const an = Number(opts.analyzerRuns ?? 5);
  const facts = pcapFacts(capture);
  const doc = {
    what: 'pb5full-instr: per-event wall-time service of each stage (publisher goroutine onTransaction, its blocked send, output worker onMessage = JSON encode + FileRotator.WriteLine), per run; plus pb5-analyzer alone',
    invocation, oracle_command: `${bin} -ports ${ports} -o $FRESH_DIR/events.ndjson -queue_size Q -waitstop W ${capture}`,
    analyzer_command: `/usr/bin/time -f '%e %U %S' ${abin} -ports ${ports} ${capture} > /dev/null`,
    label: opts.label ?? basename(capture, '.pcap'),
    machine: machine([bin, abin]), capture: { ...facts, ports, ...(opts.captureNote ? { made_by: opts.captureNote } : {}) },
    notes: [
      'µs are wall time measured inside the goroutine (time.Now around the call): they include preemption by the other goroutines and the other process load on 2 shared cores',
      'combined = both phases (analysis, after_eof) weighted by their counts; after_eof = the analyzer is asleep (300 ms grace + waitstop)',
      'pub_net_us = pub_service − pub_send_blocked (the publisher\'s own work per event)',
      'event_bytes = mean encoded event size = bytes in events.ndjson* / lines − 1 (the newline WriteLine appends)',
      'analyzer_us_per_packet = t_read_analyze_ms / packets (wall time from Run to EOF, includes the pcap reader, the decoder and the non-blocking sends, and contention with the publisher and output goroutines)',
      'encode_fit: out_encode mean µs = a + b × event_bytes over the runs of this file (one point per run); meaningful only when x_rel_spread is not tiny: see encode-size-fit.json for the fit across captures',
    ],
    settings: [],
  };
  const all = [];
  for (const [q, w] of settings) {
    const runs = [];
    for (let i = 0; i < n; i++) {
      const { rec, summary } = runOnce(bin, capture, ports, q, w, i);
      if (summary?.instr) {
        rec.instr = summary.instr;
        const c = Object.fromEntries(STATS.map((s) => [s, both(summary.instr[s])]));
        const eb = rec.written ? rec.written_bytes / rec.written - 1 : null;
        rec.derived = {
          event_bytes: r(eb, 2),
          pub_service_us: r(c.pub_service.mean_us), pub_send_blocked_us: r(c.pub_send_blocked.mean_us),
          pub_net_us: r(c.pub_service.mean_us - c.pub_send_blocked.mean_us),
          out_service_us: r(c.out_service.mean_us), out_encode_us: r(c.out_encode.mean_us), out_write_us: r(c.out_write.mean_us),
          out_encode_us_after_eof: r(summary.instr.out_encode.after_eof?.mean_us ?? null),
          out_service_us_after_eof: r(summary.instr.out_service.after_eof?.mean_us ?? null),
          pub_service_us_after_eof: r(summary.instr.pub_service.after_eof?.mean_us ?? null),
          out_encode_us_per_kb: eb ? r(c.out_encode.mean_us / (eb / 1024)) : null,
          out_service_us_per_kb: eb ? r(c.out_service.mean_us / (eb / 1024)) : null,
          pub_blocked_share_of_busy_pct: r((100 * c.pub_send_blocked.mean_us) / c.pub_service.mean_us, 2),
          analyzer_us_per_packet: r((summary.t_read_analyze_ms * 1000) / summary.packets, 4),
          analyzer_us_per_kb_captured: r((summary.t_read_analyze_ms * 1000) / (facts.captured_bytes / 1024), 3),
          analyzer_us_per_kb_tcp_payload: facts.tcp_payload_bytes ? r((summary.t_read_analyze_ms * 1000) / (facts.tcp_payload_bytes / 1024), 3) : null,
          analyzer_us_per_transaction: r((summary.t_read_analyze_ms * 1000) / summary.transactions_offered, 3),
        };
      }
      runs.push(rec);
      all.push(rec);
      const d = rec.derived ?? {};
      process.stderr.write(`[instr q=${q} w=${w}] ${i}: published=${rec.published_events} written=${rec.written} pub=${d.pub_service_us}µs out=${d.out_service_us}µs enc=${d.out_encode_us}µs write=${d.out_write_us}µs bytes=${d.event_bytes} ana=${d.analyzer_us_per_packet}µs/pkt load=${rec.load1_before}\n`);
    }
    const dk = runs[0]?.derived ? Object.keys(runs[0].derived) : [];
    doc.settings.push({
      queue_size: q, waitstop: w,
      summary: { ...summarizeRuns(runs), median_over_runs: Object.fromEntries(dk.map((k) => [k, r(median(runs.map((x) => x.derived?.[k])), 4)])) },
      runs,
    });
  }
  doc.encode_fit = {
    combined: linfit(all.map((x) => [x.derived?.event_bytes, x.derived?.out_encode_us])),
    after_eof: linfit(all.filter((x) => (x.instr?.out_encode?.after_eof?.n ?? 0) > 100).map((x) => [x.derived?.event_bytes, x.derived?.out_encode_us_after_eof])),
  };
  // pb5-analyzer alone: the analyzer with its own JSON to /dev/null, no publisher
  const ana = [];
  const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
  for (let i = 0; i < an; i++) {
    const la = loadavg();
    const t0 = process.hrtime.bigint();
    const p = timeBin
      ? spawnSync(timeBin, ['-f', 'TIME %e %U %S', abin, '-ports', ports, capture], { env: childEnv, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] })
      : spawnSync(abin, ['-ports', ports, capture], { env: childEnv, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
    const wall = Number(process.hrtime.bigint() - t0) / 1e6;
    const m = /TIME (\S+) (\S+) (\S+)/.exec(p.stderr ?? '');
    const ev = /events=(\d+)/.exec(p.stderr ?? '');
    ana.push({ run: i, rc: p.status, wall_ms: r(wall, 1), cpu_user_ms: m ? Number(m[2]) * 1000 : null, cpu_sys_ms: m ? Number(m[3]) * 1000 : null, events: ev ? Number(ev[1]) : null, load1_before: la[0] });
  }
  const aw = median(ana.map((x) => x.wall_ms));
  doc.analyzer_alone = {
    note: 'pb5-analyzer = the same analyzer, no channel, each event encoded with sorted keys and written to stdout (/dev/null); wall includes process start and that encoding, so it bounds the analyzer\'s own cost from above',
    wall_ms: describe(ana.map((x) => x.wall_ms)),
    cpu_ms: describe(ana.map((x) => (x.cpu_user_ms ?? NaN) + (x.cpu_sys_ms ?? NaN))),
    us_per_packet_wall: r((aw * 1000) / facts.packets, 4),
    us_per_kb_captured_wall: r((aw * 1000) / (facts.captured_bytes / 1024), 3),
    runs: ana,
  };
  doc.machine.uptime_at_end = sh('uptime', []);
  writeJson(opts.out, doc);
}

// ---------------------------------------------------------------- mode: fit (across instr files)
if (mode === 'fit') {
  if (!opts.files.length) die('fit needs instr JSON files');
  const pts = [], pa = [], per = [], allRuns = [];
  for (const f of opts.files) {
    const d = JSON.parse(readFileSync(f, 'utf8'));
    if (!d.settings?.[0]?.runs?.[0]?.derived) continue;
    for (const s of d.settings) for (const x of s.runs) {
      if (!x.derived) continue;
      pts.push([x.derived.event_bytes, x.derived.out_encode_us]);
      allRuns.push(x);
      if ((x.instr?.out_encode?.after_eof?.n ?? 0) > 100) pa.push([x.derived.event_bytes, x.derived.out_encode_us_after_eof]);
    }
    per.push({ file: basename(f), label: d.label, capture_sha256: d.capture?.sha256, runs: d.settings.reduce((s, x) => s + x.runs.length, 0), event_bytes_median: median(d.settings.flatMap((s) => s.runs.map((x) => x.derived?.event_bytes))), out_encode_us_median: r(median(d.settings.flatMap((s) => s.runs.map((x) => x.derived?.out_encode_us)))) });
  }
  const bytesFit = linfit(pts), aFit = linfit(pa);
  // the cleanest points: lossless settings (nothing dropped at the channel), Encode calls after EOF only
  const pl = [], groups = [];
  for (const f of opts.files) {
    const d = JSON.parse(readFileSync(f, 'utf8'));
    if (!d.settings?.[0]?.runs?.[0]?.derived) continue;
    for (const s of d.settings) {
      const rs = s.runs.filter((x) => x.derived);
      const lossless = rs.every((x) => x.dropped_at_trans_chan === 0);
      if (lossless) for (const x of rs) if ((x.instr?.out_encode?.after_eof?.n ?? 0) > 100) pl.push([x.derived.event_bytes, x.derived.out_encode_us_after_eof]);
      groups.push({ label: d.label, queue_size: s.queue_size, waitstop: s.waitstop, lossless, event_bytes: r(median(rs.map((x) => x.derived.event_bytes)), 2), out_encode_us: r(median(rs.map((x) => x.derived.out_encode_us))), out_encode_us_after_eof: r(median(rs.map((x) => x.derived.out_encode_us_after_eof))), out_write_us: r(median(rs.map((x) => x.derived.out_write_us))), out_service_us: r(median(rs.map((x) => x.derived.out_service_us))) });
    }
  }
  const lFit = linfit(pl);
  const gFit = linfit(groups.filter((g) => g.lossless).map((g) => [g.event_bytes, g.out_encode_us_after_eof]));
  const gAll = linfit(groups.map((g) => [g.event_bytes, g.out_encode_us]));
  const kb = (f) => f && f.b !== undefined ? { ...f, b_us_per_kb: r(f.b * 1024, 3) } : f;
  writeJson(opts.out, {
    what: 'JSON encode time per event (pb5full-instr out_encode mean µs) against the mean encoded event size, least squares over the runs of several captures: time_us = a + b × bytes',
    invocation, date: new Date().toISOString(), uptime: sh('uptime', []),
    notes: ['one point per run: x = mean encoded event bytes of the events written in that run, y = mean json codec Encode µs over them (a linear model holds for means: mean(a + b·size) = a + b·mean(size))', 'b × 1024 = µs per KB of event', 'after_eof: only the Encode calls after EOF (analyzer asleep): less contention, but x is still the whole run\'s mean size', 'group medians: one point per (capture, setting), medians over its runs'],
    files: per,
    groups,
    fits: {
      all_runs_combined: kb(bytesFit),
      all_runs_after_eof: kb(aFit),
      lossless_runs_after_eof: kb(lFit),
      lossless_group_medians_after_eof: kb(gFit),
      all_group_medians_combined: kb(gAll),
      // without the runs whose mean event is over 4 KB (gen-big-values): is the growth visible at ordinary sizes?
      small_events_all_runs_combined: kb(linfit(pts.filter(([x]) => x < 4096))),
      small_events_lossless_runs_after_eof: kb(linfit(pl.filter(([x]) => x < 4096))),
    },
    other_stage_fits: {
      out_write_all_runs_combined: kb(linfit(allRuns.map((x) => [x.derived.event_bytes, x.derived.out_write_us]))),
      out_service_all_runs_combined: kb(linfit(allRuns.map((x) => [x.derived.event_bytes, x.derived.out_service_us]))),
      pub_net_all_runs_combined: kb(linfit(allRuns.map((x) => [x.derived.event_bytes, x.derived.pub_net_us]))),
    },
    analyzer_fits: (() => {
      // t_read_analyze (µs, wall from Run to EOF) = c_p × packets + c_t × transactions offered, per setting, over every capture's runs
      const out = {};
      for (const f of opts.files) {
        const d = JSON.parse(readFileSync(f, 'utf8'));
        if (!d.settings?.[0]?.runs?.[0]?.derived) continue;
        for (const s2 of d.settings) {
          const key = `queue_${s2.queue_size}_waitstop_${s2.waitstop}`;
          (out[key] ??= []).push(...s2.runs.map((x) => ({ x: [x.packets, x.transactions_offered], y: x.t_read_analyze_ms * 1000 })));
        }
      }
      return Object.fromEntries(Object.entries(out).map(([k2, rows]) => [k2, lsq(rows, ['us_per_packet', 'us_per_transaction'])]));
    })(),
    recommended: 'all_runs_combined (or all_group_medians_combined): x is the mean size of exactly the events whose Encode times are averaged. The after_eof fits pair the after-EOF mean time with the whole run\'s mean size, which is biased when sizes are skewed (gen-big-values: the output worker is still on the 10 MiB events after EOF); they are kept for comparison',
  });
}

// ---------------------------------------------------------------- mode: table (Markdown from data files)
if (mode === 'table') {
  const f0 = (x, d = 0) => (x === null || x === undefined ? '–' : Number(x).toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
  const out = [];
  for (const f of opts.files) {
    const d = JSON.parse(readFileSync(f, 'utf8'));
    if (!d.settings) continue;
    const instr = !!d.settings[0]?.runs?.[0]?.derived;
    out.push(`#### ${basename(f)} — ${d.label}, ${d.capture?.packets} packets, ${d.settings[0]?.summary?.offered} transactions offered${instr ? ' (pb5full-instr)' : ''}`, '');
    out.push(`load at start: \`${d.machine?.uptime_at_start}\``, '');
    out.push('| queue_size | waitstop | runs | published min / median / max | CV % | written median | dropped at channel (median) | runs written < published | counted, not written (max) | left in channel at exit (max) | loss: channel / exit % | Uptime median ms | read+analyze median ms |');
    out.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const s of d.settings) {
      const m = s.summary;
      const ls = m.loss_split;
      const where = ls.lost_total ? `${f0(ls.channel_during_analysis_pct, 1)} / ${f0((ls.counted_not_written_pct ?? 0) + (ls.stranded_uncounted_in_channel_pct ?? 0), 1)}` : 'none';
      out.push(`| ${f0(s.queue_size)} | ${s.waitstop} | ${m.runs} | ${f0(m.published.min)} / ${f0(m.published.median)} / ${f0(m.published.max)} | ${f0(m.published.cv_pct, 1)} | ${f0(m.written.median)} | ${f0(m.dropped_at_trans_chan.median)} | ${m.runs_written_lt_published} | ${f0(m.counted_not_written.max)} | ${f0(m.trans_chan_len_at_exit.max)} | ${where} | ${f0(m.uptime_ms.median)} | ${f0(m.t_read_analyze_ms.median)} |`);
    }
    out.push('');
    if (instr) {
      out.push('| queue_size | waitstop | event bytes | publisher µs/event (net of blocked) | publisher blocked µs/event | output µs/event | encode µs/event | write µs/event | encode µs/KB | output µs/KB | analyzer µs/packet | analyzer µs/KB captured | encode µs after EOF |');
      out.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
      for (const s of d.settings) {
        const m = s.summary.median_over_runs;
        out.push(`| ${f0(s.queue_size)} | ${s.waitstop} | ${f0(m.event_bytes)} | ${f0(m.pub_service_us, 1)} (${f0(m.pub_net_us, 1)}) | ${f0(m.pub_send_blocked_us, 1)} | ${f0(m.out_service_us, 1)} | ${f0(m.out_encode_us, 1)} | ${f0(m.out_write_us, 2)} | ${f0(m.out_encode_us_per_kb, 1)} | ${f0(m.out_service_us_per_kb, 1)} | ${f0(m.analyzer_us_per_packet, 2)} | ${f0(m.analyzer_us_per_kb_captured, 2)} | ${f0(m.out_encode_us_after_eof, 1)} |`);
      }
      const a = d.analyzer_alone;
      if (a) out.push('', `pb5-analyzer alone (${a.runs.length} runs, JSON to /dev/null): wall ${f0(a.wall_ms.median, 1)} ms median = ${f0(a.us_per_packet_wall, 2)} µs/packet, ${f0(a.us_per_kb_captured_wall, 2)} µs/KB captured; CPU ${f0(a.cpu_ms?.median, 0)} ms`);
      out.push('');
    }
  }
  process.stdout.write(out.join('\n') + '\n');
}
