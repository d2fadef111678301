import type { EventOptions } from '../protocols/protocol.js';
import type { CostModel } from '../sim/cost.js';
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
}

export interface QueueSpec {
  /** Also where the ledger says an event was lost at shutdown (`queue`, `pipeline`). */
  name: string;
  capacity: number;
  /** What its producer does when it is full: drop the event (uncounted by packetbeat 5), or wait for room. */
  whenFull: 'drop' | 'block';
  /** The Beats memory queue: events visible a buffer at a time ({@link FlushRule}), room freed when the consumer acknowledges. */
  memqueue?: FlushRule;
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
   * polls in a row (default 1) have timed out with nothing.
   */
  batch: { size: number; delayNs: number; polls?: number };
  cost: CostModel;
  /**
   * packetbeat's `published_events` is counted as this stage has served an
   * event, before it hands it on (libbeat counts, then makes the blocking send).
   */
  countsPublished: boolean;
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
}
