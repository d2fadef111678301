/**
 * The replay line: a configuration as `lockstep replay`'s flags, and back.
 * One table says, for each flag, its syntax, what it means, how its value is
 * read into the configuration and how the configuration writes it; the CLI's
 * usage and parsing, the line a run prints to replay it exactly, and the
 * reading of that line back all come from it.
 */
import { parseArgs } from 'node:util';
import { ConfigError, parseBytes, parseDuration, parseNumber, resolveConfig, type ConfigPatch, type PipelineConfig } from '../profiles/index.js';
import { parseLogstashVersion, versionBefore } from '../profiles/logstash.js';
import { COST_FIELDS, COST_STAGES, FIELDS } from '../profiles/index.js';
import { scenarioOf } from '../gen/scenarios.js';

/** A command-line option: its name, the syntax of its value, and what it does. */
export interface Flag {
  /** The long name, without the dashes. */
  name: string;
  /** The value's syntax as the usage shows it; none for a switch. */
  value?: string;
  help: string;
  /** Each time it is given adds one (`--cost`, `-E`). */
  multiple?: boolean;
  /** packetbeat's spelling of it, accepted too (`-waitstop`, `-c`). */
  packetbeat?: string;
  /** The value it takes when no number follows it (`--jitter` alone is 0.5). */
  bare?: string;
}

/** A flag that sets part of the configuration, written back into the replay line. */
export interface ConfigFlag extends Flag {
  value: string;
  /** Sets in `patch` what `raw` says; a bad value is a ConfigError naming the flag. */
  read(raw: string, patch: ConfigPatch): void;
  /** The values that say `c`'s setting, one `--name value` each; none leaves the flag out (the profile's default). */
  write(c: PipelineConfig, defaults: PipelineConfig): string[];
}

type Setting = Exclude<keyof PipelineConfig, 'costs'>;

interface How<T> {
  /** Reads the flag's text (default: the field's own check, under the flag's name). */
  parse?: (flag: string, raw: string) => T;
  /** Writes the value (default: `String`). */
  show?: (value: T) => string;
  /** Left out of the replay line at the profile's default. */
  unlessDefault?: boolean;
}

/** A flag that sets one field of the configuration. */
function setting<K extends Setting>(key: K, flag: Flag & { value: string }, how: How<PipelineConfig[K]> = {}): ConfigFlag {
  const parse = how.parse ?? ((name: string, raw: string) => FIELDS[key](name, raw));
  const show = how.show ?? String;
  return {
    ...flag,
    read: (raw, patch) => {
      (patch as Record<Setting, unknown>)[key] = parse(`--${flag.name}`, raw);
    },
    write: (c, defaults) => (how.unlessDefault && JSON.stringify(c[key]) === JSON.stringify(defaults[key]) ? [] : [show(c[key])]),
  };
}

/** A duration flag: `5`, `5s`, `500ms` in, whole nanoseconds out (`0ns`, as the replay line has always said). */
function duration(bareUnit: 's' | 'ms'): How<number> {
  return { parse: (flag, raw) => parseDuration(flag, raw, '', bareUnit), show: (ns) => `${ns}ns` };
}

const COST = new RegExp(`^(${COST_STAGES.join('|')})\\.(${COST_FIELDS.join('|')})=(.+)$`);

/** `--cost STAGE.FIELD=NS`, once per cost; written for each cost that is not the profile's. */
const costFlag: ConfigFlag = {
  name: 'cost',
  value: 'STAGE.FIELD=NS',
  multiple: true,
  help: `a cost in simulated ns; STAGE ${COST_STAGES.join('|')}, FIELD ${COST_FIELDS.join('|')}`,
  read: (raw, patch) => {
    const m = COST.exec(raw);
    if (!m) throw new ConfigError('--cost', `STAGE.FIELD=NS with STAGE ${COST_STAGES.join('|')} and FIELD ${COST_FIELDS.join('|')}`, raw);
    const stage = m[1] as (typeof COST_STAGES)[number];
    patch.costs = { ...patch.costs, [stage]: { ...patch.costs?.[stage], [m[2]!]: parseNumber(`--cost ${m[1]}.${m[2]}`, m[3], 0) } };
  },
  write: (c, defaults) =>
    COST_STAGES.flatMap((stage) =>
      COST_FIELDS.filter((field) => c.costs[stage][field] !== defaults.costs[stage][field]).map((field) => `${stage}.${field}=${c.costs[stage][field]}`),
    ),
};

/**
 * `--logstash-version V`: the release, and with it the default of what the
 * release changed (`pipeline.batch.delay` 5 ms before 6.2); a `--batch-delay`
 * after it still wins (it comes later in {@link CONFIG_FLAGS}).
 */
const logstashVersionFlag: ConfigFlag = {
  name: 'logstash-version',
  value: 'V',
  help: 'the Logstash release modelled: queue, shutdown, batch.delay default, ms truncation, flow metrics (6.0 or later; default 9.5)',
  read: (raw, patch) => {
    patch.logstashVersion = parseLogstashVersion('--logstash-version', raw);
    if (versionBefore(patch.logstashVersion, 6, 2)) patch.batchDelayNs = 5_000_000;
  },
  write: (c, defaults) => (c.logstashVersion === defaults.logstashVersion ? [] : [c.logstashVersion]),
};

/** The flags of every setting, in the order the replay line says them. */
export const CONFIG_FLAGS: readonly ConfigFlag[] = [
  setting('profile', { name: 'profile', value: 'packetbeat5|packetbeat6|packetbeat7|packetbeat8|logstash|vector', help: 'the pipeline modelled, and its defaults (default packetbeat5)' }),
  setting('ports', { name: 'ports', value: 'LIST', help: "Redis server ports, e.g. 6379,7101 (default: the scenario's, else 6379)" }, { show: (ports) => ports.join(',') }),
  setting('tcp', { name: 'tcp', value: 'reassemble|packetbeat', help: "TCP reassembled, or as packetbeat 5.x's tcp.go (no reordering)" }),
  setting('pacing', { name: 'pacing', value: 'topspeed|timestamps', help: "as fast as the analyzer goes (packetbeat's -t), or at the capture's own pace" }),
  setting('speed', { name: 'speed', value: 'X', help: 'with timestamps pacing: capture time runs X times faster' }),
  setting('queueSize', { name: 'queue-size', value: 'N', help: "the publisher queue's capacity (packetbeat's queue_size)" }),
  setting('policy', { name: 'policy', value: 'drop|block', help: 'what a full publisher queue does to the producer' }),
  setting('pipelineQueueSize', { name: 'pipeline-queue-size', value: 'N', help: "packetbeat's pipeline queue before the output worker; 0: none" }),
  setting('sourceQueueSize', { name: 'source-queue-size', value: 'N', help: "vector's source channel before the sink's buffer (worker threads × 1000; default 2000)" }, { unlessDefault: true }),
  setting('drainPipeline', { name: 'drain-pipeline', value: 'true|false', help: "on abort, the pipeline queue still drains, as libbeat's publisher.Stop would (packetbeat 5 never calls it; default false)" }, { unlessDefault: true }),
  logstashVersionFlag,
  setting('workers', { name: 'workers', value: 'W', help: 'workers reading the publisher queue (pipeline.workers)' }),
  setting('batchSize', { name: 'batch-size', value: 'B', help: 'events a worker takes at once (pipeline.batch.size)' }),
  setting('batchDelayNs', { name: 'batch-delay', value: 'D', help: 'how long a worker polls for more (pipeline.batch.delay; a bare number is ms)' }, duration('ms')),
  setting('waitstopNs', { name: 'waitstop', packetbeat: '-waitstop', value: 'D', help: 'simulated time from the end of the capture to shutdown: 5, 5s, 500ms (a bare number is s)' }, duration('s')),
  setting('shutdown', { name: 'shutdown', value: 'abort|drain', help: 'at shutdown, lose what is still queued, or drain it' }),
  setting('seed', { name: 'seed', value: 'S', help: 'the seed of the jitter and of output failures' }),
  setting('jitter', { name: 'jitter', value: '[SIGMA]', bare: '0.5', help: "log-normal sigma of the costs' jitter (alone: 0.5; default 0)" }),
  setting('drawsPer', { name: 'draws-per', value: 'slot|event', help: 'whose the jitter is: the service slot (default) or the event served' }, { unlessDefault: true }),
  costFlag,
  setting(
    'dropMethods',
    { name: 'drop-method', value: 'LIST', help: 'Redis methods a filter drops (fate filtered), e.g. PING,INFO' },
    { parse: (_, raw) => raw.split(',').map((m) => m.trim().toUpperCase()).filter(Boolean), show: (methods) => methods.join(','), unlessDefault: true },
  ),
  setting('outputFailureRate', { name: 'output-failure-rate', value: 'R', help: 'the chance an output service fails its whole batch (fate output_failed)' }, { unlessDefault: true }),
  setting(
    'transactionTimeoutNs',
    { name: 'transaction-timeout', value: 'D', help: "a connection idle this long is forgotten (transaction_timeout; default 10s; packetbeat TCP at topspeed: never, as under -t)" },
    { ...duration('s'), unlessDefault: true },
  ),
  setting('maxConnections', { name: 'max-connections', value: 'N', help: 'open connections at most: past N the least recently seen is closed (tcp.connections_evicted; default 10000)' }, { unlessDefault: true }),
  setting('sendRequest', { name: 'send-request', value: 'true|false', help: 'packetbeat5 events also carry the request (send_request)' }, { unlessDefault: true }),
  setting('sendResponse', { name: 'send-response', value: 'true|false', help: 'packetbeat5 events also carry the response (send_response)' }, { unlessDefault: true }),
  setting('beatName', { name: 'beat-name', value: 'NAME', help: "packetbeat5 events' beat.name, and server of loopback addresses (packetbeat's name; default the hostname)" }, { unlessDefault: true }),
  setting('beatHostname', { name: 'beat-hostname', value: 'HOST', help: "packetbeat5 events' beat.hostname (default lockstep)" }, { unlessDefault: true }),
  setting('gcSlowdown', { name: 'gc-slowdown', value: 'G', help: 'the analyzer runs up to 1+G times slower while the stores hold events (Go marking them; 0: off)' }, { unlessDefault: true }),
  setting('gcHeapEvents', { name: 'gc-heap-events', value: 'N', help: 'the held events at which --gc-slowdown is full' }, { unlessDefault: true }),
  setting('flushMinEvents', { name: 'flush-min-events', value: 'N', help: "packetbeat6's memory queue: events reach the output a buffer of N at a time (queue.mem.flush.min_events; default 2048)" }, { unlessDefault: true }),
  setting('flushTimeoutNs', { name: 'flush-timeout', value: 'D', help: 'or D after the first event of the buffer (queue.mem.flush.timeout; default 1s)' }, { ...duration('s'), unlessDefault: true }),
  setting('queueType', { name: 'queue-type', value: 'memory|persisted', help: "logstash's queue.type (default memory)" }, { unlessDefault: true }),
  setting('queueMaxEvents', { name: 'queue-max-events', value: 'N', help: 'persisted queue: full at N unread events (queue.max_events; 0: no limit)' }, { unlessDefault: true }),
  setting('queueMaxBytes', { name: 'queue-max-bytes', value: 'BYTES', help: 'persisted queue: full past this many bytes of pages (queue.max_bytes: 1024mb, 4gb, …; default 1gb)' }, { parse: (f, raw) => parseBytes(f, raw), unlessDefault: true }),
  setting('queuePageCapacity', { name: 'queue-page-capacity', value: 'BYTES', help: 'persisted queue: the size of a page (queue.page_capacity; default 64mb)' }, { parse: (f, raw) => parseBytes(f, raw), unlessDefault: true }),
  setting('checkpointWrites', { name: 'checkpoint-writes', value: 'N', help: 'persisted queue: fsync and checkpoint the head page every N writes (queue.checkpoint.writes; 1024)' }, { unlessDefault: true }),
  setting('checkpointAcks', { name: 'checkpoint-acks', value: 'N', help: 'persisted queue: checkpoint after N acks (queue.checkpoint.acks; 1024)' }, { unlessDefault: true }),
  setting('crashAtNs', { name: 'crash-at', value: 'T', help: 'the shipper crashes at simulated time T and restarts at once: memory lost, the persisted queue recovered (0: never)' }, { ...duration('s'), unlessDefault: true }),
  setting('queueDrain', { name: 'queue-drain', value: 'true|false', help: 'logstash before 6.1.3: at shutdown the workers empty the memory queue (queue.drain; default false: each reads one more batch)' }, { unlessDefault: true }),
  setting('crashPowerLoss', { name: 'crash-power-loss', value: 'true|false', help: "the crash is a power loss: what was not fsync'd is gone (default false: the OS keeps it)" }, { unlessDefault: true }),
  setting('beatVersion', { name: 'beat-version', value: 'V', help: "packetbeat5 events' beat.version (default 5.6.17)" }, { unlessDefault: true }),
];

/** The `node:util` parseArgs options of a list of flags. */
export function parseArgsOptions(flags: readonly Flag[]): Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> {
  return Object.fromEntries(flags.map((f) => [f.name, { type: f.value === undefined ? 'boolean' : 'string', ...(f.multiple ? { multiple: true } : {}) }]));
}

/** The settings parsed flags give (`values` as parseArgs returns them), `profile` among them. */
export function configFlagsPatch(values: Record<string, unknown>): ConfigPatch {
  const patch: ConfigPatch = {};
  for (const flag of CONFIG_FLAGS) {
    const v = values[flag.name];
    for (const raw of Array.isArray(v) ? v : v === undefined ? [] : [v]) flag.read(String(raw), patch);
  }
  return patch;
}

/** A word as a POSIX shell reads it back: bare when it can be, else in '…' (with '\'' for a quote). */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The command line that replays this run exactly: every setting spelled out. */
export function replayCommand(capture: string, c: PipelineConfig): string {
  const defaults = resolveConfig(c.profile, []);
  // a bundled scenario by its name: its capture's path in the cache is this machine's
  const scenario = scenarioOf(capture);
  const args = ['lockstep', 'replay', ...(scenario === null ? [capture] : ['--scenario', scenario])];
  for (const flag of CONFIG_FLAGS) for (const value of flag.write(c, defaults)) args.push(`--${flag.name}`, value);
  return args.map(shellWord).join(' ');
}

/**
 * Reads a replay line's words back (those after `lockstep replay`: the
 * capture and the flags {@link replayCommand} writes) into the capture and
 * configuration it says.
 */
export function parseReplayLine(words: string[]): { capture: string; config: PipelineConfig } {
  const { values, positionals } = parseArgs({ args: words, allowPositionals: true, strict: true, options: parseArgsOptions(CONFIG_FLAGS) });
  if (positionals.length !== 1) throw new ConfigError('replay line', 'one capture and flags', words.join(' '));
  const patch = configFlagsPatch(values);
  return { capture: positionals[0]!, config: resolveConfig(patch.profile ?? 'packetbeat5', [patch]) };
}
