import { generateRedisCapture, GEN_DEFAULTS, GEN_LIMITS, PRESETS, type GenOptions } from '../gen/redis.js';
import { choiceOption, intOption, numberOption, onePositional, parseWith } from './args.js';
import { expected, UsageError } from './errors.js';
import { paint } from '../style.js';
import type { Command } from './command.js';

const MAX_TRANSACTIONS = GEN_LIMITS.transactions;
const MAX_PACKETS = GEN_LIMITS.packets;

export const GEN_USAGE = `lockstep gen redis --out FILE [--preset issue-3404] [options]

Writes a deterministic synthetic Redis capture (same options, same bytes) and FILE.manifest.json.
  --transactions N   request/response pairs (default ${GEN_DEFAULTS.transactions}; at most ${MAX_TRANSACTIONS.toLocaleString('en-US')})
  --packets N        size the workload and pad with ACKs to exactly N packets (at most ${MAX_PACKETS.toLocaleString('en-US')})
  --connections C    client connections (default ${GEN_DEFAULTS.connections})
  --pipeline D       largest pipelined batch (default 1)
  --port P           Redis port (default 6379)
  --seed S           seed (default 1)
  --rate R           transactions per second (default ${GEN_DEFAULTS.rate})
  --midstream N      responses whose requests precede the capture
  --gaps N           lost segments
  --retransmissions N, --duplicates N, --reorder N, --tail N
  --resp3 F          share of connections speaking RESP3 (0..1)
  --commands SET     redis (default: some commands packetbeat 5 does not know) or packetbeat5
                     (only commands in packetbeat 5's table; the issue-3404 preset's)
  --mss M            largest segment payload (default ${GEN_DEFAULTS.mss})
  --ipv6, --nanos    IPv6 addresses; nanosecond pcap timestamps
Traffic packetbeat 5 misreads, each off unless asked for:
  --unknown N        commands not in its table (HSETNX, UNLINK, HELLO, …), two-word ones (CONFIG GET, …)
  --inline N         inline commands (PING\r\n, SET k v\r\n)
  --pubsub N         connections that subscribe and get messages (pushes on RESP3)
  --monitor N        connections that MONITOR
  --big N            values of 10 MiB ± 96 bytes up to 10 MiB + 64 KiB (a SET's, or a GET's reply)
  --reuse N          connections on the 4-tuple of an earlier, closed one (fresh ISNs)
  --idle N           idle gaps over 10 s (a BLPOP answered late, an idle connection)`;

export function runGen(argv: string[]): { code: number } {
  const { values, positionals } = parseWith('gen', {
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        out: { type: 'string', short: 'o' },
        preset: { type: 'string' },
        transactions: { type: 'string' },
        packets: { type: 'string' },
        connections: { type: 'string' },
        pipeline: { type: 'string' },
        port: { type: 'string' },
        seed: { type: 'string' },
        rate: { type: 'string' },
        midstream: { type: 'string' },
        gaps: { type: 'string' },
        retransmissions: { type: 'string' },
        duplicates: { type: 'string' },
        reorder: { type: 'string' },
        tail: { type: 'string' },
        resp3: { type: 'string' },
        ipv6: { type: 'boolean' },
        nanos: { type: 'boolean' },
        commands: { type: 'string' },
        mss: { type: 'string' },
        unknown: { type: 'string' },
        inline: { type: 'string' },
        pubsub: { type: 'string' },
        monitor: { type: 'string' },
        big: { type: 'string' },
        reuse: { type: 'string' },
        idle: { type: 'string' },
      },
    });
  const kind = onePositional(positionals, 'workload kind (redis)', 'gen');
  if (kind !== 'redis') throw expected('gen KIND', 'redis', kind);
  if (!values.out) throw new UsageError('lockstep gen: `--out FILE` is required');
  let base: Partial<GenOptions> = {};
  if (values.preset !== undefined) {
    const preset = PRESETS[values.preset];
    if (!preset) throw expected('--preset', `one of ${Object.keys(PRESETS).join(', ')}`, values.preset);
    base = preset;
  }
  const given: Partial<GenOptions> = {};
  const set = <K extends keyof GenOptions>(k: K, v: GenOptions[K] | undefined) => {
    if (v !== undefined) given[k] = v;
  };
  // gen builds a capture in memory: sizes beyond GEN_LIMITS are refused rather than run out of memory
  set('transactions', intOption('transactions', values.transactions, 0, MAX_TRANSACTIONS));
  set('packets', intOption('packets', values.packets, 1, MAX_PACKETS));
  set('connections', intOption('connections', values.connections, 1, 60_000));
  set('pipeline', intOption('pipeline', values.pipeline, 1, 10_000));
  set('port', intOption('port', values.port, 1, 65535));
  set('seed', intOption('seed', values.seed, 0, 0xffffffff));
  set('commands', choiceOption('commands', values.commands, ['redis', 'packetbeat5'] as const));
  set('rate', numberOption('rate', values.rate, 1e-3));
  set('midstream', intOption('midstream', values.midstream, 0, 1_000_000));
  set('gaps', intOption('gaps', values.gaps, 0, 60_000));
  set('retransmissions', intOption('retransmissions', values.retransmissions, 0, 100_000_000));
  set('duplicates', intOption('duplicates', values.duplicates, 0, 100_000_000));
  set('reorder', intOption('reorder', values.reorder, 0, 1_000_000));
  set('tail', intOption('tail', values.tail, 0, 1_000_000));
  set('resp3', numberOption('resp3', values.resp3, 0, 1));
  set('mss', intOption('mss', values.mss, 64, 65_000)); // below 64 a two-segment reply (bigGet) has no room
  set('unknown', intOption('unknown', values.unknown, 0, 1_000_000));
  set('inline', intOption('inline', values.inline, 0, 1_000_000));
  set('pubsub', intOption('pubsub', values.pubsub, 0, 10_000));
  set('monitor', intOption('monitor', values.monitor, 0, 10_000));
  set('big', intOption('big', values.big, 0, 100));
  set('reuse', intOption('reuse', values.reuse, 0, 10_000));
  set('idle', intOption('idle', values.idle, 0, 10_000));
  if (values.ipv6) given.ipv6 = true;
  if (values.nanos) given.nanos = true;
  // an explicit --transactions wins over a preset's packet target
  if (given.transactions !== undefined && given.packets === undefined) base = { ...base, packets: undefined };
  const opts = { ...base, ...given };
  const m = generateRedisCapture(opts, values.out);
  process.stdout.write(
    `${paint.bold(values.out)}: ${m.packets} packets, ${m.connections} connections, ` +
      `${m.transactions.reassemble} transactions, ${m.unmatchedResponses} unmatched responses, ${m.gaps.reassemble} gaps ` +
      `(manifest: ${values.out}.manifest.json)\n`,
  );
  return { code: 0 };
}

export const command: Command = { usage: GEN_USAGE, run: runGen };
