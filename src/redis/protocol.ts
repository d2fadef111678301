import type { Protocol } from '../protocols/protocol.js';
import { RedisAnalyzer } from './analyzer.js';
import { EventEncoder } from './event.js';

/** Redis (RESP2 and RESP3) as packetbeat's `protos/redis` sees it: requests paired with responses in order. */
export const redis: Protocol = {
  name: 'redis',
  defaultPorts: [6379],
  analyzer: (sink) => new RedisAnalyzer(sink),
  encoder: () => new EventEncoder(),
  equations: (c) => [
    ['redis: responses parsed = transactions + unmatched_responses', c['redis.responses']!, c['redis.transactions']! + c['redis.unmatched_responses']!],
    ['redis: requests parsed = transactions + unmatched_requests', c['redis.requests']!, c['redis.transactions']! + c['redis.unmatched_requests']!],
  ],
};
