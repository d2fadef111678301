import type { Profile } from './profile.js';
import { CAPTURE_ANALYZER_COSTS, packetbeat5, PREVIOUS_OUTPUT_COSTS } from './packetbeat5.js';
import { publisherChain } from './chain.js';
import { QUEUE_TYPES } from './profile.js';
import { ConfigError, parseBool, parseBytes, parseChoice, parseDuration, parseWhole } from './values.js';

const US = 1_000;
const MS = 1_000_000;

/**
 * Logstash, by release (`--logstash-version`, default 9.5; read at the
 * elastic/logstash tags):
 * - the memory queue is an `ArrayBlockingQueue` of `pipeline.batch.size ×
 *   pipeline.workers` (125 × 2; logstash-core/src/main/java/org/logstash/ackedqueue/QueueFactoryExt.java),
 *   twice that in 6.1–6.3 (logstash-core/lib/logstash/queue_factory.rb);
 *   `--queue-size` does not apply to it; producers block on `put`;
 * - each worker's `read_batch` drains what is there, then polls
 *   `pipeline.batch.delay` (default 50 ms; 5 ms before 6.2, environment.rb),
 *   restarted after each event, and returns a partial batch only after a
 *   second whole delay brings nothing (LsQueueUtils.drain, 6.1 and later);
 * - `duration_in_millis` (filters + outputs, from after the read to the
 *   batch's close) and `queue_push_duration_in_millis`: up to 8.6 each
 *   batch's and each push's time truncated to whole ms before it is added
 *   (QueueReadClientBase.closeBatch, JRubyWrappedWriteClientExt), from 8.7 a
 *   TimerMetric that keeps the sub-ms remainder (the total, floored);
 * - flow metrics from 8.5 (AbstractPipelineExt.initializeFlowMetrics): each
 *   a counter over the pipeline's uptime, to 4 significant digits
 *   (BaseFlowMetric.LIMITED_PRECISION); `worker_utilization` from 8.7;
 *   lockstep gives their `lifetime` value at the end of the run;
 * - the memory queue always drains at shutdown from 6.1.3 (#9024:
 *   pipeline.rb `@drain_queue = queue.drain || queue.type == "memory"`).
 *   Before, only with `queue.drain` (default false): `worker_loop` polls the
 *   shutdown signal at the top of its loop and breaks after the next
 *   `read_batch`, so each busy worker finishes its batch, reads one more, and
 *   what the queue still holds is lost at shutdown;
 * - 6.0's memory queue is a `SynchronousQueue` (queue_factory.rb,
 *   wrapped_synchronous_queue.rb at v6.0.0): a push returns once a worker took
 *   the event; `read_batch` polls event by event for `batch.delay` each and
 *   returns at the first poll that times out (one poll, not LsQueueUtils'
 *   two), holding the read client's mutex (src/sim/handoff.ts); its
 *   `duration_in_millis` and `queue_push_duration_in_millis` are differences
 *   of `current_time_millis`, read here off the simulated clock from 0.
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
    'queue.drain': (v, w) => ({ queueDrain: parseBool('queue.drain', v, w) }),
  },
  topology: (c) => {
    const t = publisherChain(c);
    const capacity = c.batchSize * c.workers * (versionBefore(c.logstashVersion, 6, 4) ? 2 : 1);
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
    // 6.0: a SynchronousQueue, read event by event (ReadBatch#read_next: a poll of batch.delay per event, the
    // batch returned at the first that times out), one worker at a time (the read client's mutex)
    const handoff = versionBefore(c.logstashVersion, 6, 1);
    // before 6.1.3 (#9024) the memory queue drains at shutdown only with queue.drain: pipeline.rb worker_loop
    // breaks after the read_batch that follows the shutdown signal, and what the queue still holds is lost
    const undrained = versionBefore(c.logstashVersion, 6, 1, 3) && c.shutdown === 'drain' && !c.queueDrain;
    return {
      ...t,
      queues: t.queues.map((q) => (q.name === 'queue' ? { ...q, capacity: handoff ? 1 : capacity, ...(handoff ? { handoff } : {}) } : q)),
      // logstash-core/src/main/java/org/logstash/common/LsQueueUtils.java, drain(queue, count, nanos): the outer
      // do/while calls the inner drain again after a timeout that brought some events, and stops only when an inner
      // call drains none, so a partial batch waits for a second whole batch.delay with nothing (6.1 and later)
      stages: t.stages.map((st) => (st.countsPublished ? { ...st, batch: { ...st.batch, polls: handoff ? 1 : 2 } } : st)),
      shutdown: undrained ? { ...t.shutdown, stops: ['queue'], lastRead: ['worker'] } : t.shutdown,
    };
  },
  shipper: 'logstash',
  // _node/stats/pipelines/main events: in as the queue accepts (the write client), filtered as the workers
  // take a batch, out once its outputs are done; duration_in_millis the workers' filter+output time
  counters: (run, c) => {
    const q = run.store('queue');
    // 8.7: TimerMetric keeps sub-ms; 6.1 to 8.6, each batch's and each push's time was truncated first
    // (nano_time differences / 1_000_000); 6.0, differences of current_time_millis (the simulated clock's ms)
    const timer = !versionBefore(c.logstashVersion, 8, 7);
    const wall = versionBefore(c.logstashVersion, 6, 1);
    const events = {
      in: q.accepted,
      filtered: q.accepted - run.fates.filtered - (run.lostAtShutdownBy.queue ?? 0),
      out: run.fates.published,
      duration_in_millis: timer ? Math.floor(run.serviceNs('worker') / 1e6) : wall ? run.serviceWallMs('worker') : run.serviceWholeMs('worker'),
      queue_push_duration_in_millis: timer ? Math.floor(q.pushBlockedNs / 1e6) : wall ? q.pushBlockedWallMs : q.pushBlockedWholeMs,
    };
    const out: Record<string, number> = Object.fromEntries(Object.entries(events).map(([k, v]) => [`events.${k}`, v]));
    const up = run.uptimeNs;
    if (!versionBefore(c.logstashVersion, 8, 5) && up > 0) {
      out['flow.input_throughput'] = rate(events.in, up, 1e9);
      out['flow.filter_throughput'] = rate(events.filtered, up, 1e9);
      out['flow.output_throughput'] = rate(events.out, up, 1e9);
      out['flow.queue_backpressure'] = rate(events.queue_push_duration_in_millis, up, 1e6);
      out['flow.worker_concurrency'] = rate(events.duration_in_millis, up, 1e6);
      // 100 × duration over uptime × workers (UpScaledMetric)
      if (!versionBefore(c.logstashVersion, 8, 7)) out['flow.worker_utilization'] = rate(100 * events.duration_in_millis, up * c.workers, 1e6);
    }
    return out;
  },
};

/**
 * A flow metric's lifetime rate, `numerator / (uptimeNs / nsPerUnit)`, as
 * Logstash's BigDecimal division gives it: 4 significant digits, half up
 * (exact: integers throughout).
 */
export function rate(numerator: number, uptimeNs: number, nsPerUnit: number): number {
  const p = BigInt(numerator) * BigInt(nsPerUnit);
  const q = BigInt(uptimeNs);
  if (p === 0n) return 0;
  // the power of ten k that puts p·10^k / q in [1000, 10000)
  let k = 3 - (p.toString().length - q.toString().length);
  const scaled = (x: number) => (x >= 0 ? [p * 10n ** BigInt(x), q] : [p, q * 10n ** BigInt(-x)]) as [bigint, bigint];
  let [a, b] = scaled(k);
  while (a / b >= 10000n) [a, b] = scaled(--k);
  while (a / b < 1000n) [a, b] = scaled(++k);
  const m = (2n * a + b) / (2n * b);
  return Number(`${m}e${-k}`);
}

/** `MAJOR.MINOR[.PATCH]`, 6.0 or later (5.x's pipeline is not modelled). */
export function parseLogstashVersion(key: string, v: unknown, where = ''): string {
  const text = typeof v === 'number' ? String(v) : v;
  const m = typeof text === 'string' ? /^(\d+)\.(\d+)(?:\.(\d+))?$/.exec(text) : null;
  if (!m || Number(m[1]) < 6) throw new ConfigError(key, 'a Logstash release such as 9.5, 8.6, 6.1.2 or 6.0, 6.0 or later', v, where);
  return text as string;
}

/** Whether `version` comes before `major.minor.patch` (a version without a patch is its .0). */
export function versionBefore(version: string, major: number, minor: number, patch = 0): boolean {
  const [a = 0, b = 0, p = 0] = version.split('.').map(Number);
  return a < major || (a === major && (b < minor || (b === minor && p < patch)));
}
