import { analyze, analyzeInterruptible, viewDifference, type AnalyzeSummary, type ViewDifference } from '../analyze.js';
import type { TcpMode } from '../tcp/stream.js';
import { parsePorts, parseWhole } from '../profiles/values.js';
import { choiceOption, onePositional, parseWith, StopSignals } from './args.js';
import { jsonLine, UsageError } from './errors.js';
import { scenario, captureName } from '../gen/scenarios.js';
import { paint, table } from '../style.js';
import type { Command } from './command.js';

export const ANALYZE_USAGE = `lockstep analyze CAPTURE|--scenario issue-3404 [--ports 6379,7101] [--tcp reassemble|packetbeat] [--as lossless|packetbeat5] [--max-connections N] [--events FILE] [--json]

The lossless ground truth: every Redis transaction in CAPTURE, no queue in the way.
  --scenario NAME  the bundled scenario (generated on first use into the cache, ~/.cache/lockstep; its ports)
  --ports LIST   Redis server ports (default 6379)
  --tcp MODE     reassemble (default: reorder, trim, gaps only for holes never filled)
                 or packetbeat (packetbeat 5.x tcp.go: no reordering)
  --as VIEW      lossless (default: Redis as it is on the wire), or packetbeat5: what
                 packetbeat 5's own analyzer finds, its events byte for byte (TCP as packetbeat),
                 and what it misses against the lossless view
  --max-connections N  open connections at most (default 10000): past N the least recently
                 seen is closed, counted in tcp.connections_evicted (packetbeat has no bound)
  --events FILE  write every transaction as packetbeat's NDJSON event
  --json         one JSON object on stdout`;

export interface CommandResult {
  /** Exit code: 0, or 2 when the capture had a fault (reported after the summary). */
  code: number;
}

export async function runAnalyze(argv: string[]): Promise<CommandResult> {
  const { values, positionals } = parseWith('analyze', {
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        ports: { type: 'string' },
        tcp: { type: 'string' },
        events: { type: 'string' },
        json: { type: 'boolean' },
        scenario: { type: 'string' },
        as: { type: 'string' },
        'max-connections': { type: 'string' },
      },
    });
  const bundled = values.scenario !== undefined ? scenario(values.scenario) : null;
  if (bundled && positionals.length > 0) throw new UsageError('lockstep analyze: give CAPTURE or --scenario, not both');
  const capture = bundled ? bundled.capture : onePositional(positionals, 'CAPTURE', 'analyze');
  const ports = (values.ports !== undefined ? parsePorts('--ports', values.ports) : undefined) ?? bundled?.ports ?? [6379];
  const as = choiceOption('as', values.as, ['lossless', 'packetbeat5'] as const);
  const maxConnections = values['max-connections'] !== undefined ? parseWhole('--max-connections', values['max-connections'], 1, 100_000_000) : undefined;
  // Ctrl-C or SIGTERM: reading stops at the next slice, the events so far are kept whole, exit 130
  const signals = new StopSignals();
  let run;
  try {
    run = await analyzeInterruptible(capture, { ports, tcp: choiceOption<TcpMode>('tcp', values.tcp, ['reassemble', 'packetbeat']), as, events: values.events, maxConnections }, () => signals.requested);
  } finally {
    signals.end();
  }
  const { interrupted, ...summary } = run;
  // packetbeat 5's view is held against the wire: what it misses, the lossless view says
  const difference = as === 'packetbeat5' && !summary.error && !interrupted ? viewDifference(summary, analyze(capture, { ports, maxConnections })) : null;
  // with the events on stdout (`--events -`), the summary goes to stderr
  const out = values.events === '-' ? process.stderr : process.stdout;
  if (values.json) out.write(jsonLine(difference ? { ...summary, againstTheWire: difference } : summary));
  else out.write(formatAnalyzeSummary(summary) + (difference ? formatDifference(summary, difference) : ''));
  for (const w of summary.warnings) process.stderr.write(`lockstep: warning: ${w}\n`);
  if (interrupted) {
    process.stderr.write('lockstep: interrupted: the figures above are what had been read so far\n');
    return { code: 130 };
  }
  if (summary.error) {
    process.stderr.write(`lockstep: ${summary.error}\n`);
    return { code: 2 };
  }
  return { code: 0 };
}

/** packetbeat's closing log line: `Total non-zero values:  a=1 b=2`. */
export function totalNonZero(counters: object): string {
  const parts = Object.entries(counters as Record<string, number>)
    .filter(([, v]) => v !== 0)
    .map(([k, v]) => `${k}=${v}`);
  return `Total non-zero values:  ${parts.join(' ')}`;
}

export function formatAnalyzeSummary(s: AnalyzeSummary): string {
  const lines: string[] = [];
  const secs = (s.durationNs / 1e9).toFixed(3);
  lines.push(`${paint.bold(captureName(s.file))}  ${s.format}, ${s.packets} packets, ${s.bytes} bytes, ${secs} s from ${s.firstPacket ?? '-'}`);
  lines.push(`${paint.bold(String(s.transactions))} transactions`);
  const methods = Object.entries(s.byMethod).sort(([, a], [, b]) => b - a);
  if (methods.length > 0) lines.push(table(methods.map(([m, n]) => [`  ${m}`, n]), ['l', 'r']));
  const c = s.counters;
  const problems: [string, number][] = [
    ['unmatched responses', c['redis.unmatched_responses']],
    ['unmatched requests', c['redis.unmatched_requests']],
    ['gaps (tcp.dropped_because_of_gaps)', c['tcp.dropped_because_of_gaps']],
    ['parse errors', c['redis.parse_errors']],
  ];
  for (const [name, n] of problems) lines.push(`${n > 0 ? paint.yellow(String(n)) : String(n)} ${name}`);
  lines.push(paint.dim(totalNonZero(c)));
  return `${lines.join('\n')}\n`;
}

/** What packetbeat 5 misses or adds, by method, against the lossless view. */
export function formatDifference(pb5: AnalyzeSummary, d: ViewDifference): string {
  const list = (m: Record<string, number>) => Object.entries(m).sort(([, a], [, b]) => b - a).map(([k, n]) => `${k} ${n}`).join(', ');
  const lines = [`Against the wire (the lossless view, TCP reassembled): ${paint.bold(String(d.wireTransactions))} transactions, ${d.wireUnmatchedResponses} unmatched responses`];
  const missed = Object.values(d.missed).reduce((a, b) => a + b, 0);
  const added = Object.values(d.added).reduce((a, b) => a + b, 0);
  if (missed > 0) lines.push(`  packetbeat 5 misses ${paint.yellow(String(missed))}: ${list(d.missed)}`);
  if (added > 0) lines.push(`  packetbeat 5 reports ${paint.yellow(String(added))} the wire does not have: ${list(d.added)}`);
  const extra = (pb5.counters['redis.unmatched_responses'] ?? 0) - d.wireUnmatchedResponses;
  if (extra > 0) lines.push(`  and counts ${paint.yellow(String(extra))} more unmatched responses (requests it takes for responses, replies it cannot pair)`);
  if (missed === 0 && added === 0 && extra === 0) lines.push('  packetbeat 5 reports as many transactions of each method as the wire has');
  return `${lines.join('\n')}\n`;
}

export const command: Command = { usage: ANALYZE_USAGE, run: runAnalyze };
