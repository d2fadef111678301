import type { CostModel, DrawsPer } from '../sim/cost.js';
import type { TcpMode } from '../tcp/stream.js';
import type { RunView, Topology } from './topology.js';

export type Policy = 'drop' | 'block';
export type ShutdownMode = 'abort' | 'drain';
export type Pacing = 'topspeed' | 'timestamps';
export type QueueType = 'memory' | 'persisted';
export const QUEUE_TYPES: readonly QueueType[] = ['memory', 'persisted'];
export type ProfileName = 'packetbeat5' | 'packetbeat6' | 'packetbeat7' | 'packetbeat8' | 'logstash' | 'vector';
export const POLICIES: readonly Policy[] = ['drop', 'block'];
export const SHUTDOWN_MODES: readonly ShutdownMode[] = ['abort', 'drain'];
export const PACINGS: readonly Pacing[] = ['topspeed', 'timestamps'];

/** Costs of the three kinds of stage, in simulated ns. */
export interface Costs {
  /** The capture → TCP → Redis analyzer: per packet, per byte, per transaction it completes. */
  analyzer: CostModel;
  /** Workers reading the publisher queue (packetbeat's publisher goroutine; Logstash's filters+outputs). */
  worker: CostModel;
  /** packetbeat's output worker behind the pipeline queue (unused without one). */
  output: CostModel;
}

/** The full effective configuration of a replay. Every field can be set on its own. */
export interface PipelineConfig {
  profile: ProfileName;
  ports: number[];
  tcp: TcpMode;
  pacing: Pacing;
  /** With `timestamps` pacing: capture time runs this many times faster. */
  speed: number;
  /** Capacity of the publisher queue (packetbeat's `queue_size`). */
  queueSize: number;
  /** What a full publisher queue does to the producer: drop the event, or block. */
  policy: Policy;
  workers: number;
  batchSize: number;
  /** Logstash's `pipeline.batch.delay`: how long a worker polls for more, restarted after each event. */
  batchDelayNs: number;
  /** packetbeat's pipeline queue between the publisher and the output worker; 0: workers write themselves. */
  pipelineQueueSize: number;
  /** Vector: the source's output channel before the pump that feeds the sink's buffer (worker threads × 1000 events). */
  sourceQueueSize: number;
  /** On abort, the pipeline behind the publisher still drains (libbeat's publisher.Stop waits for its outputs). */
  drainPipeline: boolean;
  /** Simulated time between the end of the capture and shutdown (packetbeat's `-waitstop`). */
  waitstopNs: number;
  shutdown: ShutdownMode;
  seed: number;
  /** Log-normal sigma of the cost jitter; 0 = none. */
  jitter: number;
  /** Whether the jitter of a worker's service belongs to the service slot (default) or to the event served. */
  drawsPer: DrawsPer;
  costs: Costs;
  /** Events whose method is listed here are dropped by a filter (fate `filtered`). */
  dropMethods: string[];
  /** Chance that an output service fails its whole batch (fate `output_failed`). */
  outputFailureRate: number;
  /**
   * packetbeat's `transaction_timeout`: a connection idle this long (capture
   * time) is forgotten. Not with `tcp: packetbeat` at `topspeed`: packetbeat's
   * stream table expires on the wall clock, which a `-t` replay outruns.
   */
  transactionTimeoutNs: number;
  /**
   * Open connections at most; a new one past it closes the least recently
   * seen (`tcp.connections_evicted`). Bounds memory on any capture;
   * packetbeat has no such bound, so past it lockstep differs from it.
   */
  maxConnections: number;
  /** packetbeat's `send_request` / `send_response`: the event also carries the request / response as rendered. */
  sendRequest: boolean;
  sendResponse: boolean;
  /**
   * What packetbeat 5's publisher adds to an event: \`beat: {hostname, name,
   * version}\`, and the name as \`client_server\`/\`server\` of a loopback
   * address. \`beatName\` is packetbeat's \`name\` ('' = the hostname).
   */
  beatName: string;
  beatHostname: string;
  beatVersion: string;
  /**
   * The analyzer's slowdown while the stores hold events, as a Go program's
   * garbage collector marks what is live: each packet costs
   * `1 + gcSlowdown × min(1, held / gcHeapEvents)` times its base, `held`
   * the events in every store. 0: off (docs/DESIGN.md, "What the queues cost
   * the analyzer").
   */
  gcSlowdown: number;
  /** The held events past which the slowdown stops growing (Go's 4 MB minimum heap, in events). */
  gcHeapEvents: number;
  /**
   * The Beats memory queue (packetbeat 6+): events reach the output a buffer
   * at a time, once `flushMinEvents` have gathered or `flushTimeoutNs` after
   * the buffer's first event (`queue.mem.flush.min_events`, `.timeout`).
   */
  flushMinEvents: number;
  flushTimeoutNs: number;
  /** Logstash's `queue.type`: the memory queue, or the persisted queue on disk (`queue.*` below). */
  queueType: QueueType;
  /** `queue.max_events` (unread events; 0: no limit), `queue.max_bytes`, `queue.page_capacity` (bytes). */
  queueMaxEvents: number;
  queueMaxBytes: number;
  queuePageCapacity: number;
  /** `queue.checkpoint.writes`, `queue.checkpoint.acks` (0: never). */
  checkpointWrites: number;
  checkpointAcks: number;
  /** The process crashes and restarts at once at this simulated time, ns (0: never). */
  crashAtNs: number;
  /** The crash is a power loss: what was written and not fsync'd is gone (else the OS keeps it). */
  crashPowerLoss: boolean;
  /** The Logstash release modelled, `MAJOR.MINOR[.PATCH]`, 6.0 or later (profiles/logstash.ts says what differs). */
  logstashVersion: string;
  /**
   * logstash.yml `queue.drain`: at shutdown the workers empty the queue
   * before they stop. Logstash's memory queue always does from 6.1.3; before,
   * only with this set (default false).
   */
  queueDrain: boolean;
}

/**
 * A partial configuration: what one source (file, -E, flags) sets. With
 * `onlyFor`, it applies to those profiles only, and `keys` names the
 * settings it came from for the warning when it does not apply.
 */
export type ConfigPatch = Partial<Omit<PipelineConfig, 'costs'>> & {
  costs?: Partial<{ [K in keyof Costs]: Partial<CostModel> }>;
  onlyFor?: readonly ProfileName[];
  keys?: readonly string[];
};

/**
 * A system lockstep models: its name, its defaults and the shape of its
 * pipeline. Adding a profile is adding a file that exports one of these and
 * naming it in `index.ts`.
 */
export interface Profile {
  readonly name: ProfileName;
  /** One line for `--help` and reports. */
  readonly summary: string;
  /** Every setting, as the system ships it. */
  readonly defaults: Omit<PipelineConfig, 'profile'>;
  /**
   * The packetbeat.yml / logstash.yml / `-E` keys its system reads, each
   * mapping a raw value onto the configuration under that key's name.
   */
  readonly settings: Readonly<Record<string, Setting>>;
  /** The pipeline a configuration of this profile runs. */
  topology(config: PipelineConfig): Topology;
  /** The program whose counters {@link counters} gives (`packetbeat`, `logstash`, `vector`). */
  readonly shipper: string;
  /** The counters the shipper itself keeps, under its names, as they stand at the end of a run. */
  counters(run: RunView, config: PipelineConfig): Record<string, number>;
}

/** Reads one config-file key's value (`where` prefixes an error: the file) into a patch. */
export type Setting = (value: unknown, where: string) => ConfigPatch;
