/**
 * packetbeat 5's own code, run on lockstep's captures: the oracles of
 * `../shared/oracles/` (see its README), built by `.ci/run` into the folder
 * `LOCKSTEP_ORACLES` names. Their output on the golden captures is committed
 * under `golden/oracles/`, so tests can hold lockstep to it without Go.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { GOLDEN_DIR, readCase } from '../../src/golden/case.js';
import { resolveCapture } from '../../src/golden/run.js';

/** The folder holding the built oracles (`pb5-analyzer`, `pb5full`), or null. */
export const ORACLES_DIR: string | null = process.env.LOCKSTEP_ORACLES || null;

/** Under CI the oracles must be there, as the real tools must. */
export const oraclesMandatory = process.env.LOCKSTEP_REQUIRE_ORACLES === '1';

/** The golden captures, each named by a case that uses it (golden/oracles/captures.json; scripts/oracle-table.mjs reads it too). */
export const ORACLE_CAPTURES: readonly { name: string; fromCase: string }[] = JSON.parse(readFileSync(join(GOLDEN_DIR, 'oracles', 'captures.json'), 'utf8'));

/** A golden capture's path and Redis ports, made if it is generated. */
export function oracleCapture(name: string): { path: string; ports: number[] } {
  const entry = ORACLE_CAPTURES.find((c) => c.name === name)!;
  const r = resolveCapture(readCase(join(GOLDEN_DIR, entry.fromCase)));
  return { path: r.path, ports: r.ports };
}

/** What the analyzer oracle gives on a capture: its events (NDJSON) and the counters it prints last. */
export interface AnalyzerOutput {
  events: Buffer;
  /** `events=N redis.unmatched_responses=N tcp.dropped_because_of_gaps=N`, as a map. */
  counters: Record<string, number>;
}

/** Runs `pb5-analyzer -ports P CAPTURE`. */
export function runAnalyzerOracle(capture: string, ports: number[], dir = ORACLES_DIR!): AnalyzerOutput {
  const r = spawnSync(join(dir, 'pb5-analyzer'), ['-ports', ports.join(','), capture], { maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`pb5-analyzer failed (${r.status}): ${r.stderr?.toString().trim()}`);
  const last = r.stderr.toString().trim().split('\n').pop() ?? '';
  return { events: r.stdout, counters: parseCounters(last) };
}

function parseCounters(line: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const kv of line.trim().split(/\s+/)) {
    const eq = kv.indexOf('=');
    if (eq > 0) out[kv.slice(0, eq)] = Number(kv.slice(eq + 1));
  }
  return out;
}

/**
 * An analyzer oracle event as packetbeat 5's publisher sends it on (the
 * fields `--profile packetbeat5` adds, shown byte for byte against the
 * pipeline oracle in golden/oracles.test.ts): \`beat\` after the timestamp, and
 * the shipper's name as \`client_server\`/\`server\` of a loopback address.
 */
export function asPublished(line: string, hostname = 'lockstep', version = '5.6.17', name = hostname): string {
  const loopback = (ip: string) => ip.startsWith('127.') || ip === '::1';
  const client = /"client_ip":"([^"]*)"/.exec(line)![1]!;
  const server = /,"ip":"([^"]*)"/.exec(line)![1]!;
  return line
    .replace(/^(\{"@timestamp":"[^"]*",)/, `$1"beat":{"hostname":"${hostname}","name":"${name}","version":"${version}"},`)
    .replace('"client_server":""', `"client_server":"${loopback(client) ? name : ''}"`)
    .replace(/"server":""(,"status")/, `"server":"${loopback(server) ? name : ''}"$1`);
}

/** The committed output of the analyzer oracle on a golden capture. */
export interface CommittedAnalyzerOutput {
  /** How it was made, the capture shown as in the golden cases. */
  command: string;
  counters: Record<string, number>;
  lines: number;
  sha256: string;
  /** The events themselves (from `pb5-analyzer.ndjson.gz`). */
  events(): Buffer;
}

export function committedAnalyzerOutput(name: string): CommittedAnalyzerOutput | null {
  const dir = join(GOLDEN_DIR, 'oracles', name);
  const meta = join(dir, 'pb5-analyzer.json');
  if (!existsSync(meta)) return null;
  const m = JSON.parse(readFileSync(meta, 'utf8')) as Omit<CommittedAnalyzerOutput, 'events'>;
  return { ...m, events: () => gunzipSync(readFileSync(join(dir, 'pb5-analyzer.ndjson.gz'))) };
}

/** What the pipeline oracle wrote (its file output, rotated files in order) and its closing `PB5FULL {…}` line. */
export interface PipelineOutput {
  events: Buffer;
  summary: Record<string, number | string>;
}

/**
 * Runs `pb5full -ports P -queue_size Q -waitstop W -o DIR/events.ndjson CAPTURE`:
 * packetbeat 5's whole publishing path, nondeterministic like the original.
 */
export function runPipelineOracle(capture: string, ports: number[], queueSize: number, waitstopS: number, dir = ORACLES_DIR!): PipelineOutput {
  const out = mkdtempSync(join(tmpdir(), 'lockstep-pb5full-'));
  try {
    const args = ['-ports', ports.join(','), '-queue_size', String(queueSize), '-waitstop', String(waitstopS), '-o', join(out, 'events.ndjson'), capture];
    const r = spawnSync(join(dir, 'pb5full'), args, { maxBuffer: 1 << 30 });
    if (r.status !== 0) throw new Error(`pb5full failed (${r.status}): ${r.stderr?.toString().trim().split('\n').pop()}`);
    const last = r.stderr.toString().trim().split('\n').pop() ?? '';
    if (!last.startsWith('PB5FULL ')) throw new Error(`pb5full printed no summary: ${last}`);
    // libbeat's FileRotator: events.ndjson is the newest, events.ndjson.1 the one before, …
    const files = readdirSync(out).filter((f) => f.startsWith('events.ndjson'));
    const age = (f: string) => (f === 'events.ndjson' ? 0 : Number(f.slice('events.ndjson.'.length)));
    files.sort((a, b) => age(b) - age(a));
    return { events: Buffer.concat(files.map((f) => readFileSync(join(out, f)))), summary: JSON.parse(last.slice('PB5FULL '.length)) };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
