import { ANALYZER_EVENTS, type EventOptions } from '../protocols/protocol.js';
import type { PipelineConfig } from './profile.js';
import type { Topology } from './topology.js';

/**
 * The chain every profile is today: the analyzer → a first store (drop or
 * block) → `workers` that read it in batches → either the output, or a
 * second, blocking store (packetbeat 5's pipeline queue) read one event at a
 * time by an output worker. The flags can give any profile any of these.
 * `protocol`: the analyzer of the Redis ports (see {@link Topology.source});
 * `events`: what the shipper adds to each event (see {@link Topology.events}).
 */
export function publisherChain(c: PipelineConfig, protocol = 'redis', events: EventOptions = ANALYZER_EVENTS): Topology {
  const pipeline = c.pipelineQueueSize > 0;
  return {
    source: { output: 'queue', cost: c.costs.analyzer, protocol },
    events,
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
      graceNs: 0,
      afterNs: c.waitstopNs,
      stops: c.shutdown === 'drain' ? [] : ['queue', 'worker', ...(pipeline && !c.drainPipeline ? ['pipeline', 'output'] : [])],
    },
  };
}
