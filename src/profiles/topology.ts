import type { PipelineConfig } from '../pipeline/config.js';
import type { CostModel } from '../sim/cost.js';

/**
 * A pipeline's shape, as data: the stores between its stages, the stages
 * (the analyzer that feeds the first store, then workers), where packetbeat's
 * `published_events` is counted and what shutdown does to each part.
 * `Replay` builds the running chain from it; a profile declares it.
 */
export interface Topology {
  /** The capture → TCP → protocol analyzer stage, publishing each event it completes into `output`. */
  source: { output: string; cost: CostModel };
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
  /** Logstash's read_batch: up to `size` events, polling `delayNs` for more (restarted after each event). */
  batch: { size: number; delayNs: number };
  cost: CostModel;
  /** packetbeat's `published_events` is counted as this stage hands events on. */
  countsPublished: boolean;
}

export interface ShutdownSpec {
  /** Simulated time from the end of the capture to shutdown (packetbeat's `-waitstop`). */
  afterNs: number;
  /**
   * What shutdown stops, in order: a store's events, and a stage's batch in
   * hand (`in_flight`), are lost there. Empty: everything drains.
   */
  stops: string[];
}

/**
 * The chain every profile is today: the analyzer → a first store (drop or
 * block) → `workers` that read it in batches → either the output, or a
 * second, blocking store (packetbeat 5's pipeline queue) read one event at a
 * time by an output worker. The flags can give any profile any of these.
 */
export function publisherChain(c: PipelineConfig): Topology {
  const pipeline = c.pipelineQueueSize > 0;
  return {
    source: { output: 'queue', cost: c.costs.analyzer },
    queues: [
      { name: 'queue', capacity: c.queueSize, whenFull: c.policy },
      ...(pipeline ? [{ name: 'pipeline', capacity: c.pipelineQueueSize, whenFull: 'block' as const }] : []),
    ],
    stages: [
      {
        name: 'worker', numbered: true, instances: c.workers, input: 'queue', output: pipeline ? 'pipeline' : null,
        batch: { size: c.batchSize, delayNs: c.batchDelayNs }, cost: c.costs.worker, countsPublished: true,
      },
      ...(pipeline
        ? [{
            name: 'output', numbered: false, instances: 1, input: 'pipeline', output: null,
            batch: { size: 1, delayNs: 0 }, cost: c.costs.output, countsPublished: false,
          }]
        : []),
    ],
    shutdown: {
      afterNs: c.waitstopNs,
      stops: c.shutdown === 'drain' ? [] : ['queue', 'worker', ...(pipeline && !c.drainPipeline ? ['pipeline', 'output'] : [])],
    },
  };
}
