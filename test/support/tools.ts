import type { TestContext } from 'vitest';
/**
 * Helpers for tests that cross-check lockstep against real external tools
 * (tshark, capinfos, tcpdump, redis-server). Node built-ins only.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Large enough for tshark field dumps of big captures. */
const MAX_BUFFER = 512 * 1024 * 1024;

const toolCache = new Map<string, boolean>();

/** True when an executable named `name` is found on PATH (result cached per name). */
export function hasTool(name: string): boolean {
  const cached = toolCache.get(name);
  if (cached !== undefined) return cached;
  let found = false;
  if (name !== '' && !name.includes('/')) {
    for (const dir of (process.env.PATH ?? '').split(delimiter)) {
      if (dir === '') continue;
      const candidate = join(dir, name);
      try {
        if (!statSync(candidate).isFile()) continue;
        accessSync(candidate, constants.X_OK);
        found = true;
        break;
      } catch {
        // not here; keep looking
      }
    }
  }
  toolCache.set(name, found);
  return found;
}

/** Checks several tools at once; `missing` lists those not on PATH, in argument order. */
export function requireTools(...names: string[]): { ok: boolean; missing: string[] } {
  const missing = names.filter((n) => !hasTool(n));
  return { ok: missing.length === 0, missing };
}

function envFlag(value: string | undefined): boolean {
  if (value === undefined) return false;
  const v = value.trim().toLowerCase();
  return v !== '' && v !== '0' && v !== 'false';
}

/**
 * True when real-tool tests must run rather than skip: `CI` is set (and not
 * empty/"0"/"false") or `LOCKSTEP_REQUIRE_TOOLS=1`.
 */
export const toolsMandatory: boolean =
  envFlag(process.env.CI) || process.env.LOCKSTEP_REQUIRE_TOOLS === '1';

function run(cmd: string, args: string[]): { stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: MAX_BUFFER });
  if (r.error) throw new Error(`${cmd} failed to run: ${r.error.message}`);
  if (r.status !== 0) {
    const how = r.status === null ? `signal ${r.signal}` : `status ${r.status}`;
    throw new Error(`${cmd} ${args.join(' ')} exited with ${how}: ${r.stderr.trim()}`);
  }
  return { stdout: r.stdout, stderr: r.stderr };
}

/** Packet count of a capture file according to `capinfos -c -M` (exact, no k/M suffixes). */
export function capinfosPacketCount(file: string): number {
  // Table mode without header: "<file>\t<count>"; the count is the last field
  // (robust against tabs in the file name).
  const { stdout } = run('capinfos', ['-T', '-r', '-c', '-M', file]);
  const line = stdout.split('\n').find((l) => l.trim() !== '');
  const table = line?.trimEnd().split('\t').pop();
  if (table !== undefined && /^\d+$/.test(table)) return Number(table);
  // Fallback: the human-readable form "Number of packets:   1590".
  const human = run('capinfos', ['-c', '-M', file]).stdout.match(/Number of packets:\s*(\d+)\s*$/m);
  if (human) return Number(human[1]);
  throw new Error(`cannot parse capinfos output for ${file}: ${JSON.stringify(stdout)}`);
}

/** tshark's own privilege notice, printed on every run as root; not a warning about the file. */
const ROOT_NOTICE = /^Running as user "[^"]*" and group "[^"]*"\. This could be dangerous\.$/;

/**
 * Diagnostics `tshark -r file -q` prints about the file (stderr, plus a note if
 * it exits non-zero); empty string when the file reads cleanly.
 */
export function tsharkWarnings(file: string): string {
  const r = spawnSync('tshark', ['-r', file, '-q'], { encoding: 'utf8', maxBuffer: MAX_BUFFER });
  if (r.error) throw new Error(`tshark failed to run: ${r.error.message}`);
  const lines = r.stderr
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l !== '' && !ROOT_NOTICE.test(l));
  if (r.status !== 0) {
    lines.push(`tshark exited with ${r.status === null ? `signal ${r.signal}` : `status ${r.status}`}`);
  }
  return lines.join('\n');
}

/** Size of the union of half-open intervals [start, end). */
function unionLength(intervals: Array<[number, number]>): number {
  intervals.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let total = 0;
  let curStart = 0;
  let curEnd = 0;
  let open = false;
  for (const [s, e] of intervals) {
    if (!open || s > curEnd) {
      if (open) total += curEnd - curStart;
      curStart = s;
      curEnd = e;
      open = true;
    } else if (e > curEnd) {
      curEnd = e;
    }
  }
  if (open) total += curEnd - curStart;
  return total;
}

/**
 * Unique TCP payload bytes per direction for conversations on `serverPort`:
 * per (stream, direction) the size of the union of [seq, seq+len) ranges, so
 * retransmitted or overlapping bytes count once; summed over streams.
 */
export function tsharkUniquePayloadBytes(
  file: string,
  serverPort: number,
): { toServer: number; toClient: number } {
  if (!Number.isInteger(serverPort) || serverPort < 1 || serverPort > 65535) {
    throw new RangeError(`invalid server port ${serverPort}`);
  }
  const { stdout } = run('tshark', [
    '-n',
    '-r',
    file,
    '-o',
    'tcp.relative_sequence_numbers:FALSE',
    '-Y',
    `tcp.port==${serverPort} && tcp.len>0`,
    '-T',
    'fields',
    '-E',
    'separator=/t',
    '-e',
    'tcp.stream',
    '-e',
    'tcp.srcport',
    '-e',
    'tcp.dstport',
    '-e',
    'tcp.seq_raw',
    '-e',
    'tcp.len',
  ]);

  // Per "stream/direction": first raw seq seen and intervals relative to it.
  // Offsets are signed 32-bit distances, so wraparound and segments that
  // arrive before the first one seen (out of order) are handled.
  const flows = new Map<string, { first: number; intervals: Array<[number, number]> }>();
  let pos = 0;
  while (pos < stdout.length) {
    let nl = stdout.indexOf('\n', pos);
    if (nl === -1) nl = stdout.length;
    const line = stdout.slice(pos, nl).trimEnd();
    pos = nl + 1;
    if (line === '') continue;
    const f = line.split('\t');
    if (f.length < 5) throw new Error(`unexpected tshark field line: ${JSON.stringify(line)}`);
    const [stream, src, dst, seqText, lenText] = f;
    const srcPort = Number(src);
    const dstPort = Number(dst);
    const seq = Number(seqText);
    const len = Number(lenText);
    if (![srcPort, dstPort, seq, len].every(Number.isInteger) || stream === '') {
      throw new Error(`unexpected tshark field line: ${JSON.stringify(line)}`);
    }
    const dir = dstPort === serverPort ? 'S' : srcPort === serverPort ? 'C' : null;
    if (dir === null) continue;
    const key = `${stream}/${dir}`;
    let flow = flows.get(key);
    if (!flow) {
      flow = { first: seq, intervals: [] };
      flows.set(key, flow);
    }
    const rel = (seq - flow.first) | 0;
    flow.intervals.push([rel, rel + len]);
  }

  let toServer = 0;
  let toClient = 0;
  for (const [key, flow] of flows) {
    const n = unionLength(flow.intervals);
    if (key.endsWith('/S')) toServer += n;
    else toClient += n;
  }
  return { toServer, toClient };
}

/** argv for tshark's TCP conversation statistics of `file` (used by a benchmark). */
export function tsharkTcpConvCommand(file: string): string[] {
  return ['tshark', '-r', file, '-q', '-z', 'conv,tcp'];
}

/**
 * Parses a Redis `INFO commandstats` dump into calls per packetbeat-style
 * method (first word upper-cased; `config|get` etc. are summed under CONFIG).
 */
export function readCommandstats(file: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^cmdstat_([^:]+):(.*)$/.exec(line);
    if (!m) continue;
    const calls = /(?:^|,)calls=(\d+)(?:,|$)/.exec(m[2]);
    if (!calls) throw new Error(`commandstats line without calls=: ${line}`);
    const method = m[1].split('|')[0].toUpperCase();
    out.set(method, (out.get(method) ?? 0) + Number(calls[1]));
  }
  return out;
}

/**
 * Skips the test naming the missing tools, unless real tools are mandatory
 * (CI, LOCKSTEP_REQUIRE_TOOLS=1): then a missing tool fails it.
 */
export function needTools(ctx: TestContext, ...names: string[]): void {
  const missing = names.filter((n) => !hasTool(n));
  if (missing.length === 0) return;
  if (toolsMandatory) throw new Error(`${missing.join(', ')} not on PATH; CI or LOCKSTEP_REQUIRE_TOOLS=1 makes real-tool tests mandatory`);
  ctx.skip(`${missing.join(', ')} not on PATH`);
}
