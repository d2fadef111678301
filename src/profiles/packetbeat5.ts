import type { Costs, Profile } from './profile.js';
import { publisherChain } from './chain.js';
import { parseBool, parseDuration, parsePorts, parseText, parseWhole } from './values.js';

const US = 1_000;

/**
 * Costs calibrated so that packetbeat5 on the issue-3404 capture lands inside
 * the report's band (see docs/DESIGN.md, "Calibration"): the analyzer takes
 * about 1.2 s of simulated time for 72,257 packets, as packetbeat's `Uptime:
 * 1.21 s`, and the publisher goroutine gets through about 10,000 events a
 * second, so the backlog builds in its `queue_size` channel — where
 * packetbeat drops, and what it loses when it exits.
 */
export const PACKETBEAT5_COSTS: Costs = {
  analyzer: { perPacket: 14 * US, perByte: 20, perEvent: 8 * US, perBatch: 0 },
  worker: { perPacket: 0, perByte: 0, perEvent: 94 * US, perBatch: 0 },
  output: { perPacket: 0, perByte: 0, perEvent: 6 * US, perBatch: 0 },
};

/**
 * packetbeat 5.x replaying a file (`-I file -t`):
 * - `publish/publish.go` PublishTransaction: a non-blocking send into the
 *   `queue_size` channel (`select { case trans <- ev: default: }`), dropped
 *   and uncounted when full: the first store, `drop`;
 * - the publisher goroutine (one worker) counts
 *   `libbeat.publisher.published_events` as it hands each event to the
 *   pipeline's blocking queue of `queue_size` (the second store), read by the
 *   output worker;
 * - after `-waitstop` the process exits: what is in the channel or in the
 *   publisher's hands is lost (`abort`); the pipeline behind it drains.
 * TCP as packetbeat 5.x's `tcp.go` (`--tcp packetbeat`).
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
    drainPipeline: true,
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
    sendRequest: false,
    sendResponse: false,
    // the hostname is the capture machine's, which lockstep cannot know: a fixed name keeps events reproducible
    beatName: '',
    beatHostname: 'lockstep',
    beatVersion: '5.6.17',
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
  topology: (c) =>
    publisherChain(c, 'redis5', {
      // libbeat/publisher/client.go annotateEvent: beat {name, hostname, version}; `name` defaults to the hostname
      shipper: { name: c.beatName === '' ? c.beatHostname : c.beatName, hostname: c.beatHostname, version: c.beatVersion },
      sendRequest: c.sendRequest,
      sendResponse: c.sendResponse,
    }),
};
