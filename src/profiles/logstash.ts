import type { Profile } from './profile.js';
import { CAPTURE_ANALYZER_COSTS, packetbeat5, PREVIOUS_OUTPUT_COSTS } from './packetbeat5.js';
import { publisherChain } from './chain.js';
import { QUEUE_TYPES } from './profile.js';
import { ConfigError, parseBytes, parseChoice, parseDuration, parseWhole } from './values.js';

const US = 1_000;
const MS = 1_000_000;

/**
 * Logstash's memory queue: an `ArrayBlockingQueue` of `pipeline.batch.size ×
 * pipeline.workers` (125 × 2); producers block on `put`
 * (`queue_push_duration_in_millis`, each push's wait truncated to whole ms
 * before it is added: JRubyWrappedWriteClientExt.incrementTimers); each
 * worker's `read_batch` drains what is there, then polls
 * `pipeline.batch.delay`, restarted after each event, and returns a partial
 * batch only after a second whole delay brings nothing (LsQueueUtils.drain);
 * filters + outputs are `duration_in_millis` (the total, floored: 8.x's
 * ConcurrentLiveTimerMetric carries the sub-ms remainder; 6.x–7.x truncated
 * each batch, which lockstep does not model yet); the queue always drains.
 */
export const logstash: Profile = {
  name: 'logstash',
  summary: 'Logstash: a blocking memory queue of batch.size × workers, read in batches by the workers; drains at shutdown',
  defaults: {
    ...packetbeat5.defaults,
    tcp: 'reassemble',
    queueSize: 250,
    policy: 'block',
    workers: 2,
    batchSize: 125,
    batchDelayNs: 50 * MS,
    pipelineQueueSize: 0,
    shutdown: 'drain',
    costs: { analyzer: CAPTURE_ANALYZER_COSTS, output: PREVIOUS_OUTPUT_COSTS, worker: { perPacket: 0, perByte: 0, perEvent: 80 * US, perBatch: 200 * US, warmup: 0 } },
    // a Go collector's: not the JVM's
    gcSlowdown: 0,
  },
  settings: {
    'pipeline.workers': (v, w) => ({ workers: parseWhole('pipeline.workers', v, 1, 1024, w) }),
    'pipeline.batch.size': (v, w) => ({ batchSize: parseWhole('pipeline.batch.size', v, 1, 1_000_000, w) }),
    'pipeline.batch.delay': (v, w) => ({ batchDelayNs: parseDuration('pipeline.batch.delay', v, w, 'ms') }),
    'queue.type': (v, w) => ({ queueType: parseChoice('queue.type', v, QUEUE_TYPES, w) }),
    'queue.max_events': (v, w) => ({ queueMaxEvents: parseWhole('queue.max_events', v, 0, 1_000_000_000, w) }),
    'queue.max_bytes': (v, w) => ({ queueMaxBytes: parseBytes('queue.max_bytes', v, w) }),
    'queue.page_capacity': (v, w) => ({ queuePageCapacity: parseBytes('queue.page_capacity', v, w) }),
    'queue.checkpoint.writes': (v, w) => ({ checkpointWrites: parseWhole('queue.checkpoint.writes', v, 0, 1_000_000_000, w) }),
    'queue.checkpoint.acks': (v, w) => ({ checkpointAcks: parseWhole('queue.checkpoint.acks', v, 0, 1_000_000_000, w) }),
  },
  topology: (c) => {
    const t = publisherChain(c);
    if (c.queueType === 'persisted') {
      // a page larger than max_bytes would be full before its first page is: refused, as a setting that cannot work
      if (c.queueMaxBytes > 0 && c.queuePageCapacity > c.queueMaxBytes) {
        throw new ConfigError('queue.page_capacity', `at most queue.max_bytes (${c.queueMaxBytes})`, c.queuePageCapacity);
      }
      const rule = { maxEvents: c.queueMaxEvents, maxBytes: c.queueMaxBytes, pageCapacity: c.queuePageCapacity, checkpointWrites: c.checkpointWrites, checkpointAcks: c.checkpointAcks };
      return {
        ...t,
        queues: t.queues.map((q) => (q.name === 'queue' ? { ...q, capacity: c.queueMaxEvents, whenFull: 'block' as const, persisted: rule } : q)),
        // Queue.readPageBatch waits batch.delay for more after each read and returns the batch once one wait brings nothing
        stages: t.stages.map((st) => (st.countsPublished ? { ...st, batch: { ...st.batch, polls: 1 } } : st)),
      };
    }
    return {
      ...t,
      // logstash-core/src/main/java/org/logstash/common/LsQueueUtils.java, drain(queue, count, nanos): the outer
      // do/while calls the inner drain again after a timeout that brought some events, and stops only when an inner
      // call drains none, so a partial batch waits for a second whole batch.delay with nothing (6.1 and later)
      stages: t.stages.map((st) => (st.countsPublished ? { ...st, batch: { ...st.batch, polls: 2 } } : st)),
    };
  },
  shipper: 'logstash',
  // _node/stats/pipelines/main events: in as the queue accepts (the write client), filtered as the workers
  // take a batch, out once its outputs are done; duration_in_millis the workers' filter+output time
  counters: (run) => {
    const q = run.store('queue');
    return {
      'events.in': q.accepted,
      'events.filtered': q.accepted - run.fates.filtered - (run.lostAtShutdownBy.queue ?? 0),
      'events.out': run.fates.published,
      'events.duration_in_millis': Math.floor(run.serviceNs('worker') / 1e6),
      'events.queue_push_duration_in_millis': q.pushBlockedWholeMs,
    };
  },
};
