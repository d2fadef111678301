import type { Protocol } from '../protocols/protocol.js';
import { pairingEquations, RedisAnalyzer } from './analyzer.js';
import { EventEncoder } from './event.js';

/** Redis (RESP2 and RESP3) as packetbeat's `protos/redis` sees it: requests paired with responses in order. */
export const redis: Protocol = {
  name: 'redis',
  defaultPorts: [6379],
  analyzer: (sink) => new RedisAnalyzer(sink, { inPlace: sink.keepsNone === true || sink.holds !== undefined }),
  encoder: () => new EventEncoder(),
  equations: (c) => pairingEquations('redis', c),
};
