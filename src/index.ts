/**
 * lockstep as a library: the same typed summaries the CLI prints.
 *
 * ```ts
 * import { analyze, replay } from 'lockstep';
 * const truth = analyze('capture.pcap', { ports: [7101] });
 * const run = replay('capture.pcap', { profile: 'packetbeat5', ports: [7101], jitter: 0.5, seed: 7 });
 * run.fates.dropped_queue_full;
 * ```
 */
import { resolveConfig, type ConfigPatch, type ProfileName } from './profiles/index.js';
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

export interface ReplayLibraryOptions extends ConfigPatch {
  profile?: ProfileName;
  /** Where published events go (default: nowhere; `{ kind: 'memory' }` returns them in `lines`). */
  output?: OutputTarget;
  /** Write the fate of every transaction to this NDJSON file. */
  ledger?: string;
}

/** One replay of `capture` through a profile with any settings overridden; throws LedgerImbalance on a bug. */
export function replay(capture: string, options: ReplayLibraryOptions = {}): ReplaySummary {
  const { profile = 'packetbeat5', output, ledger, ...patch } = options;
  return replayOnce(capture, resolveConfig(profile, [patch]), { output, ledger });
}
