import type { Costs, Profile } from './profile.js';
import type { RunView } from './topology.js';
import { DEFAULT_TCP_OPTIONS } from '../tcp/assembler.js';
import { publisherChain } from './chain.js';
import { parseBool, parseDuration, parsePorts, parseText, parseWhole } from './values.js';

const US = 1_000;
/**
 * packetbeat 5's sniffer at the end of a file (sniffer/sniffer.go Run, the
 * io.EOF branch: "give a bit of time to the publish goroutine to flush",
 * `time.Sleep(300 * time.Millisecond)`), before main's -waitstop.
 */
export const EOF_SLEEP_NS = 300_000_000;

/**
 * Costs of packetbeat 5 on the report's machine (docs/DESIGN.md, "The model
 * of the publishing path"). Their shapes were measured on the real code on
 * this machine (golden/oracles/pipeline/): the analyzer 69 ns a packet,
 * 1.975 ns a byte, 2.24 µs a transaction (fitted over four captures); the
 * publisher and output per event in the instrumented ratio of 1.2, per wire
 * byte 1.7 and 1.0 ns; the output's first service late by a warm-up. The
 * report's `Uptime: 1.21 s` counts from the start of the process: less a
 * start-up of about 50 ms ({@link STARTUP_NS}) and the 300 ms sleep at end of
 * file, the analyzer took about 0.86 s for the 72,257 packets. `lockstep
 * calibrate` on the report's three runs scaled the analyzer × 5.5 and the
 * stages behind it × 3.4 of this machine's; rounded here.
 */
export const PACKETBEAT5_COSTS: Costs = {
  analyzer: { perPacket: 380, perByte: 10.9, perEvent: 12_354, perBatch: 0, warmup: 0 },
  worker: { perPacket: 0, perByte: 5.66, perEvent: 54.7 * US, perBatch: 0, warmup: 0 },
  output: { perPacket: 0, perByte: 3.36, perEvent: 66.2 * US, perBatch: 0, warmup: 26_500 * US },
};

/** packetbeat 5's start-up before it reads the first packet, in its `Uptime:` (simulated). */
export const STARTUP_NS = 50_000_000;

/** The analyzer's and output's costs in the other profiles, fed by lockstep's own analyzer (as they were set; issue 16 revisits them). */
export const CAPTURE_ANALYZER_COSTS: Costs['analyzer'] = { perPacket: 14 * US, perByte: 20, perEvent: 8 * US, perBatch: 0, warmup: 0 };
export const PREVIOUS_OUTPUT_COSTS: Costs['output'] = { perPacket: 0, perByte: 0, perEvent: 6 * US, perBatch: 0, warmup: 0 };

/** The analyzer's expvars packetbeat's "Total non-zero values" line shows beside the pipeline's. */
export function analyzerCounters(run: RunView): Record<string, number> {
  return { 'redis.unmatched_responses': run.analyzer['redis.unmatched_responses'] ?? 0, 'tcp.dropped_because_of_gaps': run.analyzer['tcp.dropped_because_of_gaps'] ?? 0 };
}

/**
 * packetbeat 5.x replaying a file (`-I file -t`):
 * - `publish/publish.go` PublishTransaction: a non-blocking send into the
 *   `queue_size` channel (`select { case trans <- ev: default: }`), dropped
 *   and uncounted when full: the first store, `drop`;
 * - the publisher goroutine (one worker) runs the processors (`--drop-method`),
 *   counts `libbeat.publisher.published_events`, then makes a blocking send
 *   into the pipeline's worker queue of `queue_size` (the second store), read
 *   by the output worker that encodes and writes the file;
 * - at end of file the sniffer sleeps 300 ms, then main sleeps `-waitstop`
 *   and the process exits without `publisher.Stop()` (`abort`): what is in the
 *   channel is lost uncounted; what the publisher holds, the worker queue and
 *   the output worker's event were counted and are never written
 *   (`publisher.published_not_written`).
 * TCP as packetbeat 5.x's `tcp.go` (`--tcp packetbeat`). Steps due at one
 * simulated instant run in an order drawn from the seed (`goSelect`), as Go's
 * `select` and scheduler give no order among ready goroutines.
 */
export const packetbeat5: Profile = {
  name: 'packetbeat5',
  summary: 'packetbeat 5.x: a queue_size channel that drops when full, the publisher, a pipeline queue, the output worker; exits after -waitstop',
  defaults: {
    ports: [6379],
    tcp: 'packetbeat',
    pacing: 'topspeed',
    speed: 1,
    queueSize: 1000,
    policy: 'drop',
    workers: 1,
    batchSize: 1,
    batchDelayNs: 0,
    pipelineQueueSize: 1000,
    queueType: 'memory',
    queueMaxEvents: 0,
    queueMaxBytes: 1024 * 1024 * 1024,
    queuePageCapacity: 64 * 1024 * 1024,
    checkpointWrites: 1024,
    checkpointAcks: 1024,
    crashAtNs: 0,
    crashPowerLoss: false,
    queueDrain: false,
    logstashVersion: '9.5',
    sourceQueueSize: 0,
    // the process exits without publisher.Stop (beat.go's defer is commented out in 5.x): the worker queue is lost too
    drainPipeline: false,
    waitstopNs: 0,
    shutdown: 'abort',
    seed: 0,
    jitter: 0,
    drawsPer: 'slot',
    costs: PACKETBEAT5_COSTS,
    dropMethods: [],
    outputFailureRate: 0,
    // protos/redis/config.go: TransactionTimeout protos.DefaultTransactionExpiration (10 s); SendRequest/SendResponse false
    transactionTimeoutNs: 10_000_000_000,
    maxConnections: DEFAULT_TCP_OPTIONS.maxConnections,
    sendRequest: false,
    sendResponse: false,
    // the hostname is the capture machine's, which lockstep cannot know: a fixed name keeps events reproducible
    beatName: '',
    beatHostname: 'lockstep',
    beatVersion: '5.6.17',
    gcSlowdown: 1.2,
    gcHeapEvents: 1_000,
    // packetbeat 5 has no memory queue; packetbeat 6's defaults (libbeat/publisher/queue/memqueue/config.go)
    flushMinEvents: 2048,
    flushTimeoutNs: 1_000_000_000,
  },
  settings: {
    // the publisher channel and, behind the publisher, the pipeline queue: both `queue_size` long
    queue_size: (v, w) => {
      const n = parseWhole('queue_size', v, 1, 100_000_000, w);
      return { queueSize: n, pipelineQueueSize: n };
    },
    bulk_queue_size: (v, w) => {
      // packetbeat 5: the flows channel; blocking, and Redis transactions never use it
      parseWhole('bulk_queue_size', v, 0, 100_000_000, w);
      return {};
    },
    'packetbeat.protocols.redis.ports': (v, w) => ({ ports: parsePorts('packetbeat.protocols.redis.ports', v, w) }),
    'packetbeat.protocols.redis.transaction_timeout': (v, w) => ({
      transactionTimeoutNs: parseDuration('packetbeat.protocols.redis.transaction_timeout', v, w),
    }),
    'packetbeat.protocols.redis.send_request': (v, w) => ({ sendRequest: parseBool('packetbeat.protocols.redis.send_request', v, w) }),
    'packetbeat.protocols.redis.send_response': (v, w) => ({ sendResponse: parseBool('packetbeat.protocols.redis.send_response', v, w) }),
    // libbeat's `name` (the shipper's name, default its hostname): `beat.name`, and `server` for loopback
    name: (v, w) => ({ beatName: parseText('name', v, w) }),
  },
  // Redis as packetbeat 5's own analyzer sees it (src/redis/packetbeat5.ts), published as its publisher does
  topology: (c) => {
    const t = publisherChain(c, 'redis5', {
      // libbeat/publisher/client.go annotateEvent: beat {name, hostname, version}; `name` defaults to the hostname
      shipper: { name: c.beatName === '' ? c.beatHostname : c.beatName, hostname: c.beatHostname, version: c.beatVersion },
      sendRequest: c.sendRequest,
      sendResponse: c.sendResponse,
    });
    return {
      ...t,
      // the publisher goroutine runs the processors (libbeat/publisher/client.go PublishEvent), then counts
      stages: t.stages.map((st) => (st.countsPublished ? { ...st, filters: true } : st)),
      // at end of file the sniffer sleeps 300 ms (sniffer.go), then main sleeps -waitstop
      shutdown: { ...t.shutdown, graceNs: EOF_SLEEP_NS },
      goSelect: true,
    };
  },
  shipper: 'packetbeat',
  // libbeat/publisher/client.go: expvar libbeat.publisher.published_events, the one pipeline counter of its
  // "Total non-zero values" line at exit (messages_in_worker_queues is back to 0 by then in every oracle run)
  counters: (run) => ({ 'libbeat.publisher.published_events': run.published, ...analyzerCounters(run) }),
};
