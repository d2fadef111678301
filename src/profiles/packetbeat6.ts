import type { PipelineConfig, Profile } from './profile.js';
import type { RunView } from './topology.js';
import { analyzerCounters, CAPTURE_ANALYZER_COSTS, EOF_SLEEP_NS, packetbeat5, PACKETBEAT5_COSTS } from './packetbeat5.js';
import { ANALYZER_EVENTS } from '../protocols/protocol.js';
import { publisherChain } from './chain.js';
import { parseDuration, parseWhole } from './values.js';

const US = 1_000;

/**
 * packetbeat 6/7 replaying a file:
 * - each protocol's reporter hands events to a goroutine through a channel
 *   of 3 (packetbeat/publish/publish.go CreateReporter,
 *   `ch := make(chan beat.Event, 3)`), which runs the processors and
 *   `client.Publish`: `libbeat.pipeline.events.published`, counted here as
 *   `published_events`. Reading a file, the client blocks when the queue is
 *   full (`canDrop = interfaces.file == ""`, PR #4599);
 * - the memory queue (libbeat/publisher/queue/memqueue, eventloop.go
 *   bufferingEventLoop) holds `queue.mem.events` (4096), counting the events
 *   the output took until it acknowledges them, and shows them to the output
 *   a buffer at a time: once `flush.min_events` (2048) have gathered, or
 *   `flush.timeout` (1 s) after the buffer's first event; one get returns
 *   events of one buffer, up to the output's batch;
 * - at the end of the file the sniffer sleeps 300 ms (sniffer.go), then
 *   `shutdown_timeout` (default 0) passes and the process exits: what is in
 *   the channel, the queue and the output's hands is lost.
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
  settings: {
    'packetbeat.protocols.redis.ports': packetbeat5.settings['packetbeat.protocols.redis.ports']!,
    'packetbeat.shutdown_timeout': (v, w) => ({ waitstopNs: parseDuration('packetbeat.shutdown_timeout', v, w) }),
    shutdown_timeout: (v, w) => ({ waitstopNs: parseDuration('shutdown_timeout', v, w) }),
    'queue.mem.events': (v, w) => ({ queueSize: parseWhole('queue.mem.events', v, 1, 100_000_000, w) }),
    'queue.mem.flush.min_events': (v, w) => ({ flushMinEvents: parseWhole('queue.mem.flush.min_events', v, 0, 100_000_000, w) }),
    'queue.mem.flush.timeout': (v, w) => ({ flushTimeoutNs: parseDuration('queue.mem.flush.timeout', v, w) }),
  },
  topology: (c) => {
    // the flags can give any profile lockstep's generic chain: a dropping queue (DropIfFull is live capture, not
    // modelled here) or a pipeline queue behind it are not packetbeat 6's file mode
    if (!fileMode(c)) return publisherChain(c);
    return {
      source: { output: 'reporter', cost: c.costs.analyzer, protocol: 'redis' },
      events: ANALYZER_EVENTS,
      queues: [
        { name: 'reporter', capacity: 3, whenFull: 'block' },
        {
          name: 'queue', capacity: c.queueSize, whenFull: 'block', countsPublished: true, freedOnAck: true,
          // flush.min_events ≤ 1: the direct event loop, each event visible at once (room still freed on acknowledgement)
          memqueue: { minEvents: c.flushMinEvents, timeoutNs: c.flushTimeoutNs },
        },
      ],
      stages: [
        // the goroutine runs the processors and client.Publish, which counts events.published once the queue accepts
        { name: 'reporter', numbered: false, instances: 1, input: 'reporter', output: 'queue', batch: { size: 1, delayNs: 0 }, cost: c.costs.worker, countsPublished: false, filters: true },
        { name: 'output', numbered: c.workers > 1, instances: c.workers, input: 'queue', output: null, batch: { size: c.batchSize, delayNs: 0 }, cost: c.costs.output, countsPublished: false },
      ],
      shutdown: {
        graceNs: EOF_SLEEP_NS,
        afterNs: c.waitstopNs,
        stops: c.shutdown === 'drain' ? [] : ['reporter', 'queue', 'output'],
      },
    };
  },
  shipper: 'packetbeat',
  counters: (run, c) =>
    fileMode(c)
      ? { ...pipelineCounters(run, 'reporter', run.store('queue').accepted), ...analyzerCounters(run) }
      : // lockstep's generic chain, not packetbeat 6's: what it counts, under 6.x's name
        { 'libbeat.pipeline.events.published': run.published, 'libbeat.output.events.acked': run.fates.published, ...analyzerCounters(run) },
};

/** packetbeat 6's file mode, as the topology models it; other flags give lockstep's generic chain. */
export function fileMode(c: PipelineConfig): boolean {
  return c.policy === 'block' && c.pipelineQueueSize === 0;
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
