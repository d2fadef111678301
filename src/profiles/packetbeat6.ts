import type { PipelineConfig, Profile, Setting } from './profile.js';
import { BEATS6_PROFILES } from './beats-output.js';
import { NO_COST } from '../sim/cost.js';
import type { RunView, Topology } from './topology.js';
import { analyzerCounters, CAPTURE_ANALYZER_COSTS, EOF_SLEEP_NS, packetbeat5, PACKETBEAT5_COSTS } from './packetbeat5.js';
import { ANALYZER_EVENTS } from '../protocols/protocol.js';
import { publisherChain } from './chain.js';
import { parseDuration, parseWhole } from './values.js';

const US = 1_000;
/** libbeat memqueue/broker.go NewBroker (6.0 to 7.10): the push channel's size. */
const PUSH_CHANNEL = 20;

/**
 * packetbeat 6 replaying a file:
 * - each protocol's reporter hands events to a goroutine through a channel
 *   of 3 (packetbeat/publish/publish.go CreateReporter,
 *   `ch := make(chan beat.Event, 3)`), which runs the processors and
 *   `client.Publish`. Reading a file, the client blocks when the queue is
 *   full (`canDrop = interfaces.file == ""`, PR #4599);
 * - Publish sends into the queue's push channel of 20 (memqueue/broker.go
 *   NewBroker, `chanSize := 20`, to 7.10) and returns: `events.published` is counted
 *   then (pipeline/client.go); the queue's event loop receives from the
 *   channel only while its buffer has room;
 * - the memory queue (libbeat/publisher/queue/memqueue, eventloop.go
 *   bufferingEventLoop) holds `queue.mem.events` (4096), counting the events
 *   the output took until it acknowledges them, and shows them to the output
 *   a buffer at a time: once `flush.min_events` (2048) have gathered, or
 *   `flush.timeout` (1 s) after the buffer's first event; one get returns
 *   events of one buffer, up to the output's batch;
 * - at the end of the file the sniffer sleeps 300 ms (sniffer.go), then
 *   `shutdown_timeout` (default 0) passes and the process exits: what is in
 *   the channels, the queue and the output's hands is lost.
 * From 7.11 the push channel is larger: `packetbeat7`.
 * Go's `select` (the event loop's, eventloop.go) picks at random among ready
 * cases: steps due at one simulated instant run in an order drawn from the
 * seed (`goSelect`), and the summary says at how many instants it drew.
 * The output's costs are those the profile had (issue 16 revisits them); the
 * publishing goroutine's are packetbeat 5's publisher's.
 */
export const packetbeat6: Profile = {
  name: 'packetbeat6',
  summary: 'packetbeat 6+: publishing blocks; a memory queue of 4096 read in batches of 2048; shutdown_timeout, then exit',
  defaults: {
    ...packetbeat5.defaults,
    queueSize: 4096,
    policy: 'block',
    batchSize: 2048,
    pipelineQueueSize: 0,
    costs: { analyzer: CAPTURE_ANALYZER_COSTS, worker: PACKETBEAT5_COSTS.worker, output: { perPacket: 0, perByte: 0, perEvent: 80 * US, perBatch: 100 * US, warmup: 0 } },
    // fitted for packetbeat 5 only (its oracle); these costs are not (issue 16)
    gcSlowdown: 0,
  },
  // Beats 6+'s keys: not packetbeat 5's (its queue is queue_size, its wait -waitstop), so they apply to 6, 7 and 8 only
  settings: {
    'packetbeat.protocols.redis.ports': packetbeat5.settings['packetbeat.protocols.redis.ports']!,
    'packetbeat.shutdown_timeout': beats6('packetbeat.shutdown_timeout', (v, w) => ({ waitstopNs: parseDuration('packetbeat.shutdown_timeout', v, w) })),
    shutdown_timeout: beats6('shutdown_timeout', (v, w) => ({ waitstopNs: parseDuration('shutdown_timeout', v, w) })),
    'queue.mem.events': beats6('queue.mem.events', (v, w) => ({ queueSize: parseWhole('queue.mem.events', v, 1, 100_000_000, w) })),
    'queue.mem.flush.min_events': beats6('queue.mem.flush.min_events', (v, w) => ({ flushMinEvents: parseWhole('queue.mem.flush.min_events', v, 0, 100_000_000, w) })),
    'queue.mem.flush.timeout': beats6('queue.mem.flush.timeout', (v, w) => ({ flushTimeoutNs: parseDuration('queue.mem.flush.timeout', v, w) })),
  },
  topology: (c) => bufferedTopology(c, PUSH_CHANNEL),
  shipper: 'packetbeat',
  counters: (run, c) => beatsCounters(run, ownShape(c)),
};

/** A setting only Beats 6+ reads: its patch applies to packetbeat 6, 7 and 8, and is reported unapplied to the others. */
function beats6(key: string, read: Setting): Setting {
  return (v, w) => ({ ...read(v, w), onlyFor: BEATS6_PROFILES, keys: [key] });
}

/** packetbeat 6+'s counters; `own`: the run had the profile's own shape (else lockstep's generic chain, under 6.x's names). */
export function beatsCounters(run: RunView, own: boolean): Record<string, number> {
  return own
    ? { ...pipelineCounters(run, 'reporter', run.published), ...analyzerCounters(run) }
    : { 'libbeat.pipeline.events.published': run.published, 'libbeat.output.events.acked': run.fates.published, ...analyzerCounters(run) };
}

/**
 * Reading a file with the buffering memory queue (6.0 to 8.12): the
 * reporter's channel, its goroutine, the queue's push channel of `push`
 * places, the event loop, the queue, the output.
 */
export function bufferedTopology(c: PipelineConfig, push: number): Topology {
  // a pipeline queue given by flags is not packetbeat's: lockstep's generic chain
  if (!ownShape(c)) return publisherChain(c);
  return {
    source: { output: 'reporter', cost: c.costs.analyzer, protocol: 'redis' },
    events: ANALYZER_EVENTS,
    queues: [
      { name: 'reporter', capacity: 3, whenFull: 'block' },
      // memqueue/broker.go NewBroker: `chanSize := 20`, the producers' push channel; Publish returns once its
      // send is done (produce.go openState.publish), and the client counts events.published then (pipeline/client.go)
      // --policy drop: live capture, where the client's mode is DropIfFull (publish.go: `canDrop` when not reading a
    // file) and TryPublish drops what the full push channel will not take (produce.go tryPublish's `default:`),
    // counted in events.failed, even while the queue behind it has room (beats#22650)
    { name: 'push', capacity: push, whenFull: c.policy, countsPublished: true },
      {
        name: 'queue', capacity: c.queueSize, whenFull: 'block', freedOnAck: true,
        // flush.min_events ≤ 1: the direct event loop, each event visible at once (room still freed on acknowledgement)
        memqueue: { minEvents: c.flushMinEvents, timeoutNs: c.flushTimeoutNs },
      },
    ],
    stages: [
      // the goroutine runs the processors and client.Publish
      { name: 'reporter', numbered: false, instances: 1, input: 'reporter', output: 'push', batch: { size: 1, delayNs: 0 }, cost: c.costs.worker, countsPublished: false, filters: true },
      // the event loop receives from the push channel only while its buffer has room (eventloop.go: `events` is nil when full)
      { name: 'eventloop', numbered: false, instances: 1, input: 'push', output: 'queue', batch: { size: 1, delayNs: 0 }, cost: NO_COST, countsPublished: false, takesOnlyWithRoom: true },
      { name: 'output', numbered: c.workers > 1, instances: c.workers, input: 'queue', output: null, batch: { size: c.batchSize, delayNs: 0 }, cost: c.costs.output, countsPublished: false },
    ],
    goSelect: true,
    shutdown: {
      graceNs: EOF_SLEEP_NS,
      afterNs: c.waitstopNs,
      stops: c.shutdown === 'drain' ? [] : ['reporter', 'push', 'eventloop', 'queue', 'output'],
    },
  };
}

/** packetbeat 6+'s own shape (reading a file, or live with `--policy drop`); a pipeline queue by flags gives the generic chain. */
export function ownShape(c: PipelineConfig): boolean {
  return c.pipelineQueueSize === 0;
}

/**
 * libbeat 6+'s pipeline counters (libbeat/publisher/pipeline/monitoring.go):
 * `events.total` as the client's Publish begins (the `client` stage served
 * the event), `events.filtered` by its processors, `events.published` as the
 * queue accepts it, `events.failed` rejected by a full queue (DropIfFull),
 * `events.dropped` given up by the output (lockstep's `output_failed`),
 * `events.active` what was created and is not yet filtered, failed or acked;
 * `libbeat.output.events.acked` what the output wrote.
 */
export function pipelineCounters(run: RunView, client: string, published: number): Record<string, number> {
  const f = run.fates;
  const total = run.served(client);
  const acked = f.published;
  return {
    'libbeat.pipeline.events.total': total,
    'libbeat.pipeline.events.filtered': f.filtered,
    'libbeat.pipeline.events.published': published,
    'libbeat.pipeline.events.failed': f.dropped_queue_full,
    'libbeat.pipeline.events.dropped': f.output_failed,
    'libbeat.pipeline.events.active': total - f.filtered - f.dropped_queue_full - acked - f.output_failed,
    'libbeat.pipeline.queue.acked': acked + f.output_failed,
    'libbeat.output.events.acked': acked,
  };
}
