import type { Profile } from './profile.js';
import { CAPTURE_ANALYZER_COSTS, packetbeat5, PREVIOUS_OUTPUT_COSTS } from './packetbeat5.js';
import { publisherChain } from './chain.js';
import { parseDuration, parseWhole } from './values.js';

const US = 1_000;

/**
 * packetbeat 6+ replaying a file: publishing blocks instead of dropping
 * (`canDrop = interfaces.file == ""`, PR #4599); the memory queue
 * (`queue.mem.events` 4096) is read in batches of up to 2048 by the output;
 * `shutdown_timeout` (default 0), then exit.
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
    costs: { analyzer: CAPTURE_ANALYZER_COSTS, output: PREVIOUS_OUTPUT_COSTS, worker: { perPacket: 0, perByte: 0, perEvent: 80 * US, perBatch: 100 * US, warmup: 0 } },
    // fitted for packetbeat 5 only (its oracle); these costs are not (issue 16)
    gcSlowdown: 0,
  },
  settings: {
    'packetbeat.protocols.redis.ports': packetbeat5.settings['packetbeat.protocols.redis.ports']!,
    'packetbeat.shutdown_timeout': (v, w) => ({ waitstopNs: parseDuration('packetbeat.shutdown_timeout', v, w) }),
    shutdown_timeout: (v, w) => ({ waitstopNs: parseDuration('shutdown_timeout', v, w) }),
    'queue.mem.events': (v, w) => ({ queueSize: parseWhole('queue.mem.events', v, 1, 100_000_000, w) }),
  },
  topology: (c) => publisherChain(c),
};
