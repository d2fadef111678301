import type { Profile } from './profile.js';
import { CAPTURE_ANALYZER_COSTS, packetbeat5 } from './packetbeat5.js';
import { ANALYZER_EVENTS } from '../protocols/protocol.js';
import { NO_COST } from '../sim/cost.js';
import { ConfigError, parseChoice, parseWhole } from './values.js';

const US = 1_000;

/**
 * Vector, one source to one sink, each event sent on its own (an array of
 * one), read at vectordotdev/vector c3445d42d2:
 * - the source sends into its output channel, a `LimitedQueue` of
 *   `source_sender_buffer_size()` events (src/topology/builder.rs: the worker
 *   threads × `DEFAULT_CHUNK_SIZE_EVENTS` 1000, lib/vector-core/src/source_sender/mod.rs;
 *   2,000 on a 2-core machine), waiting for room when it is full;
 * - the source's pump task (builder.rs `run_source_output_pump`) takes one
 *   item at a time and sends it into the sink's buffer; it holds that one
 *   while the send waits (src/topology/test/backpressure.rs counts it,
 *   `EXTRA_SOURCE_PUMP_EVENT`);
 * - the sink's memory buffer (`buffer.max_events`, default 500:
 *   lib/vector-buffers/src/config.rs `memory_buffer_default_max_events`) is a
 *   semaphore of that many permits, one an event, given back when the sink
 *   pops the item, not when it acknowledges it (topology/channel/limited_queue.rs
 *   `pop_and_record`). `when_full: block` waits for permits (`LimitedSender::send`,
 *   `acquire_many_owned`); `drop_newest` tries once and drops the event
 *   (`try_send`; topology/channel/sender.rs `UsageAccounting::DroppedNewest`);
 * - the sink (the `file` sink, src/sinks/file/mod.rs: one event at a time)
 *   encodes and writes;
 * - at the end of the input (stdin's EOF) the source finishes and the
 *   topology shuts down gracefully: the buffers drain into the sink.
 * Costs: Vector does not run here, so none were measured; the source is
 * lockstep's analyzer with the other profiles' analyzer costs, the pump
 * costs nothing, and the sink's per-event cost is the other profiles'
 * outputs' (80 µs): `compare` then shows the queueing, not the costs.
 */
export const vector: Profile = {
  name: 'vector',
  summary: "Vector: the source's channel of 2000, a pump, the sink's memory buffer of 500 (block or drop_newest), a file sink; drains at the end of the input",
  defaults: {
    ...packetbeat5.defaults,
    tcp: 'reassemble',
    queueSize: 500,
    policy: 'block',
    workers: 1,
    batchSize: 1,
    batchDelayNs: 0,
    pipelineQueueSize: 0,
    sourceQueueSize: 2000,
    shutdown: 'drain',
    waitstopNs: 0,
    costs: {
      analyzer: CAPTURE_ANALYZER_COSTS,
      worker: NO_COST,
      output: { perPacket: 0, perByte: 0, perEvent: 80 * US, perBatch: 0, warmup: 0 },
    },
    gcSlowdown: 0,
  },
  settings: {
    // a sink's buffer as vector.yaml / vector.toml gives it (`sinks.ID.buffer.*`; config.ts reads any sink's ID)
    'buffer.max_events': (v, w) => ({ queueSize: parseWhole('buffer.max_events', v, 1, 100_000_000, w) }),
    'buffer.when_full': (v, w) => ({ policy: parseChoice('buffer.when_full', v, ['block', 'drop_newest'], w) === 'block' ? 'block' : 'drop' }),
    'buffer.type': (v, w) => {
      if (parseChoice('buffer.type', v, ['memory', 'disk'], w) === 'disk') throw new ConfigError('buffer.type', 'memory (lockstep models the memory buffer only)', v, w);
      return {};
    },
  },
  topology: (c) => {
    // --source-queue-size 0: the source sends into the sink's buffer itself (no channel, no pump)
    const channel = c.sourceQueueSize > 0;
    return {
      source: { output: channel ? 'source' : 'buffer', cost: c.costs.analyzer, protocol: 'redis' },
      events: ANALYZER_EVENTS,
      queues: [
        ...(channel ? [{ name: 'source', capacity: c.sourceQueueSize, whenFull: 'block' as const }] : []),
        { name: 'buffer', capacity: c.queueSize, whenFull: c.policy },
      ],
      stages: [
        ...(channel ? [{ name: 'pump', numbered: false, instances: 1, input: 'source', output: 'buffer', batch: { size: 1, delayNs: 0 }, cost: c.costs.worker, countsPublished: false }] : []),
        { name: 'sink', numbered: false, instances: 1, input: 'buffer', output: null, batch: { size: 1, delayNs: 0 }, cost: c.costs.output, countsPublished: false },
      ],
      shutdown: { graceNs: 0, afterNs: c.waitstopNs, stops: c.shutdown === 'drain' ? [] : ['source', 'pump', 'buffer', 'sink'] },
    };
  },
  shipper: 'vector',
  // lib/vector-buffers/src/buffer_usage_data.rs and internal_events.rs, for the sink's buffer: a drop_newest drop is
  // counted as received and as discarded (sender.rs UsageAccounting::DroppedNewest); sent as the sink pops it;
  // buffer_size_events is received − sent − discarded
  counters: (run) => {
    const b = run.store('buffer');
    const received = b.accepted + b.dropped;
    return {
      buffer_received_events_total: received,
      buffer_sent_events_total: b.taken,
      'buffer_discarded_events_total{intentional="true"}': b.dropped,
      buffer_size_events: received - b.taken - b.dropped,
    };
  },
};

/** The keys of a Vector sink's buffer, whatever the sink's ID (`sinks.out.buffer.max_events` → `buffer.max_events`). */
export function vectorKey(key: string): string | null {
  const m = /^sinks\.[^.]+\.(buffer\.[a-z_]+)$/.exec(key);
  return m ? m[1]! : null;
}
