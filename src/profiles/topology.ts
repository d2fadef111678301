import type { EventOptions } from '../protocols/protocol.js';
import type { CostModel } from '../sim/cost.js';
import type { PersistedRule } from '../sim/persisted.js';
import type { FlushRule } from '../sim/store.js';

/**
 * A pipeline's shape, as data: the stores between its stages, the stages
 * (the analyzer that feeds the first store, then workers), where packetbeat's
 * `published_events` is counted and what shutdown does to each part.
 * `Replay` builds the running chain from it; a profile declares it.
 */
export interface Topology {
  /**
   * The capture → TCP → protocol analyzer stage, publishing each event it
   * completes into `output`. `protocol` names the analyzer of the Redis ports
   * (`redis`: the lossless view; `redis5`: packetbeat 5's own).
   */
  source: { output: string; cost: CostModel; protocol: string };
  /** What the shipper adds to each event on its way out (packetbeat 5's publisher: `beat`, `server`). */
  events: EventOptions;
  queues: QueueSpec[];
  stages: StageSpec[];
  shutdown: ShutdownSpec;
  /**
   * A Go program: steps due at one simulated instant run in an order drawn
   * from the seed (stream `go.select`), as Go's `select` picks at random
   * among ready cases; else first scheduled, first run.
   */
  goSelect?: boolean;
}

export interface QueueSpec {
  /** Also where the ledger says an event was lost at shutdown (`queue`, `pipeline`). */
  name: string;
  capacity: number;
  /** What its producer does when it is full: drop the event (uncounted by packetbeat 5), or wait for room. */
  whenFull: 'drop' | 'block';
  /** The Beats memory queue before 8.13: events visible a buffer at a time ({@link FlushRule}). */
  memqueue?: FlushRule;
  /** The Beats memory queue: an event's room is freed when the consumer acknowledges it, not when it takes it. */
  freedOnAck?: boolean;
  /** Logstash 6.0's SynchronousQueue (src/sim/handoff.ts): a put waits for a worker's take; one worker reads at a time. */
  handoff?: boolean;
  /** Logstash's persisted queue (src/sim/persisted.ts): full by its rule, not by `capacity`; survives a crash. */
  persisted?: PersistedRule;
  /**
   * An event is counted as published as this store accepts it (libbeat 6+'s
   * `events.published`: "events that were accepted by the queue",
   * libbeat/publisher/pipeline/monitoring.go), not as a stage serves it.
   */
  countsPublished?: boolean;
}

/** What a finished (or interrupted) run shows a profile, for the counters its shipper keeps. */
export interface RunView {
  /** Events counted as published, as the topology says (packetbeat 5's published_events). */
  readonly published: number;
  /** The analyzer's own counters (packetbeat's `redis.unmatched_responses`, `tcp.dropped_because_of_gaps`). */
  readonly analyzer: Readonly<Record<string, number>>;
  readonly fates: Readonly<Record<'published' | 'dropped_queue_full' | 'lost_at_shutdown' | 'output_failed' | 'filtered', number>>;
  /** Where shutdown lost events: a store's name, or `in_flight`. */
  readonly lostAtShutdownBy: Readonly<Record<string, number>>;
  store(name: string): StoreView;
  /** Time the instances of a stage spent serving, ns. */
  serviceNs(stage: string): number;
  /** The same, each batch's time truncated to whole ms before it is added (Logstash up to 8.6). */
  serviceWholeMs(stage: string): number;
  /** The same, each batch's time as the difference of two readings of a ms clock (Logstash 6.0). */
  serviceWallMs(stage: string): number;
  /** The run's length: the pipeline's uptime when the run ends, ns. */
  readonly uptimeNs: number;
  /** Events the instances of a stage have served, before its filters. */
  served(stage: string): number;
}

export interface StoreView {
  readonly accepted: number;
  readonly dropped: number;
  readonly taken: number;
  readonly depth: number;
  readonly maxDepth: number;
  readonly pushBlockedNs: number;
  readonly pushBlockedWholeMs: number;
  readonly pushBlockedWallMs: number;
}

export interface StageSpec {
  /** A stage of several instances names them `name.1`, `name.2`, … */
  name: string;
  /** Names each instance `name.i` even when there is one (Logstash's and packetbeat's workers). */
  numbered: boolean;
  instances: number;
  /** The store it reads. */
  input: string;
  /** The store it hands events on to (blocking when full), or null: the output (filters, failures, the event file). */
  output: string | null;
  /**
   * Logstash's read_batch: up to `size` events, polling `delayNs` for more
   * (restarted after each event); a partial batch returns once `polls`
   * polls in a row (default 1) have timed out with nothing. `restart: false`:
   * the wait is the Beats 8.13 memory queue's get request, started once, with
   * the batch's first event (default true: restarted after each).
   */
  batch: { size: number; delayNs: number; polls?: number; restart?: boolean };
  cost: CostModel;
  /**
   * packetbeat's `published_events` is counted as this stage has served an
   * event, before it hands it on (libbeat counts, then makes the blocking send).
   */
  countsPublished: boolean;
  /**
   * It takes an event only while the store it hands on to has room (a Go
   * select that enables the receive only then: the Beats memory queue's
   * event loop reading its push channel), so it never holds one blocked.
   */
  takesOnlyWithRoom?: boolean;
  /**
   * It runs the filters (`--drop-method`; packetbeat's processors) on what it
   * served, before counting and handing on. Without such a stage the output filters.
   */
  filters?: boolean;
}

export interface ShutdownSpec {
  /** Simulated time from the end of the capture to the waitstop's start, not a setting (packetbeat 5's sniffer sleeps 300 ms at end of file). */
  graceNs: number;
  /** Then this long before shutdown (packetbeat's `-waitstop`). */
  afterNs: number;
  /**
   * What shutdown stops, in order: a store's events, and a stage's batch in
   * hand (`in_flight`), are lost there. Empty: everything drains.
   */
  stops: string[];
  /**
   * Stages whose workers, at shutdown, each begin one more read and then stop
   * (Logstash before 6.1.3 without `queue.drain`: `worker_loop` breaks after
   * the `read_batch` that follows the shutdown signal); a worker with nothing
   * to read stops at once. When the last has stopped, `stops` lose what they hold.
   */
  lastRead?: string[];
}
