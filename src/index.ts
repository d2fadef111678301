/**
 * lockstep as a library: the same typed summaries the CLI prints. ESM only
 * (`import`, not `require`), Node.js 20.19 or later.
 *
 * ```ts
 * import { analyze, replay } from 'lockstep';
 * const truth = analyze('capture.pcap', { ports: [7101] });
 * const run = replay('capture.pcap', { profile: 'packetbeat5', ports: [7101], jitter: 0.5, seed: 7 });
 * run.fates.dropped_queue_full;
 * // the shipper's own keys and units, its config file, -E keys
 * replay('capture.pcap', { queue_size: 5000, waitstop: '5s', ports: [7101] });
 * replay('capture.pcap', { config: 'packetbeat.yml', set: { 'queue.mem.events': 8192 } });
 * ```
 */
import { closestName } from './cli/args.js';
import { ConfigError, parseDuration, PROFILE_DEFAULTS, readConfigFile, resolveConfig, SETTING_KEYS, settingPatch, unappliedKeys, validateConfig, type ConfigPatch, type PipelineConfig, type ProfileName } from './profiles/index.js';
import { replay as replayOnce, type OutputTarget, type ReplaySummary } from './pipeline/replay.js';

export { analyze, type AnalyzeOptions, type AnalyzeSummary, type Counters } from './analyze.js';
export { generateRedisCapture, PRESETS, type GenManifest, type GenOptions } from './gen/redis.js';
export { CaptureError } from './pcap/errors.js';
export { CaptureReader, type PacketRecord } from './pcap/reader.js';
export { PcapWriter } from './pcap/writer.js';
export {
  ConfigError,
  PROFILE_DEFAULTS,
  PROFILE_LIST,
  PROFILES,
  profileOf,
  resolveConfig,
  validateConfig,
  type PipelineConfig,
  type Profile,
  type ProfileName,
  type Topology,
} from './profiles/index.js';
export type { Protocol, Transaction } from './protocols/index.js';
export { FATES, LedgerImbalance, type Fate } from './pipeline/ledger.js';
export { OutputError } from './pipeline/ndjson.js';
export { Replay, type OutputTarget, type ReplayOptions, type ReplaySummary } from './pipeline/replay.js';
export { Scheduler, type StepHook } from './sim/scheduler.js';

export { sweep, withQueueSize, type SweepOptions, type SweepPoint, type SweepResult } from './pipeline/sweep.js';
export { checkDeterminism, type DeterminismReport } from './pipeline/determinism.js';
export { compare, type CompareRow } from './cli/compare.js';
export { crashes, type CrashesResult, type CrashPoint } from './cli/crashes.js';
export { repro, type ReproOptions, type ReproResult } from './cli/repro.js';

/** A configuration as the library takes it: lockstep's own fields, or the shipper's keys and units. */
export interface ConfigOptions extends ConfigPatch {
  /** The profile (default: the one `config` implies, else packetbeat5). */
  profile?: ProfileName;
  /** A packetbeat.yml, logstash.yml or vector.yaml/.toml: its settings, and the profile it implies. */
  config?: string;
  /** Keys over the file, as `-E key=value` gives them: `{ 'queue.mem.events': 8192, 'output.elasticsearch.worker': 2 }`. */
  set?: Readonly<Record<string, unknown>>;
  /** packetbeat's `-waitstop`, as packetbeat reads it: `5` (seconds), `'5s'`, `'500ms'` (`waitstopNs` in ns). */
  waitstop?: number | string;
  /** packetbeat 5's `queue_size`: its channel and its pipeline queue. */
  queue_size?: number;
  /** packetbeat 6+'s `shutdown_timeout`: `'5s'`. */
  shutdown_timeout?: number | string;
}

export interface ReplayLibraryOptions extends ConfigOptions {
  /** Where published events go (default: nowhere; `{ kind: 'memory' }` returns them in `lines`). */
  output?: OutputTarget;
  /** Write the fate of every transaction to this NDJSON file. */
  ledger?: string;
}

/** The fields of a configuration, by lockstep's names. */
const FIELDS = new Set(Object.keys(PROFILE_DEFAULTS.packetbeat5));
const OWN = new Set(['profile', 'config', 'set', 'waitstop', 'output', 'ledger']);

/**
 * The configuration `options` give, checked as the command line's are: an
 * unknown key is a {@link ConfigError} naming it (and the closest known
 * one), a bad value names its key. Later sources win: the profile's
 * defaults, the config file, `set`, the shipper's keys, lockstep's fields.
 * Keys of the file or `set` that lockstep does not model are returned as
 * `ignored`, as the CLI lists them.
 */
export function configFrom(options: ConfigOptions & Record<string, unknown>): { config: PipelineConfig; ignored: string[] } {
  const patches: ConfigPatch[] = [];
  const ignored: string[] = [];
  let profile: ProfileName | undefined;
  if (options.config !== undefined) {
    const file = readConfigFile(options.config);
    profile = file.profile ?? undefined;
    patches.push(...file.patches);
    ignored.push(...file.ignored);
  }
  for (const [key, value] of Object.entries(options.set ?? {})) patches.push(settingPatch(key, value, 'set: '));
  const own: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined || OWN.has(key)) continue;
    if (FIELDS.has(key)) own[key] = value;
    else if (SETTING_KEYS.includes(key)) patches.push(settingPatch(key, value));
    else {
      const near = closestName(key, [...FIELDS, ...OWN, ...SETTING_KEYS]);
      throw new ConfigError(key, `an option of lockstep's (${near ? `did you mean ${near}?` : 'a PipelineConfig field, a shipper key, config, set or waitstop'})`, JSON.stringify(value));
    }
  }
  if (options.waitstop !== undefined) patches.push({ waitstopNs: parseDuration('waitstop', options.waitstop) });
  patches.push(own as ConfigPatch);
  const chosen = options.profile ?? profile ?? 'packetbeat5';
  ignored.push(...unappliedKeys(chosen, patches));
  const config = resolveConfig(chosen, patches);
  validateConfig(config);
  return { config, ignored };
}

/** One replay of `capture` through a profile with any settings overridden; throws LedgerImbalance on a bug. */
export function replay(capture: string, options: ReplayLibraryOptions = {}): ReplaySummary {
  const { output, ledger, ...rest } = options;
  return replayOnce(capture, configFrom(rest).config, { output, ledger });
}
