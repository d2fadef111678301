import type { Profile } from './profile.js';
import { bufferedTopology, packetbeat6 } from './packetbeat6.js';

/** libbeat memqueue/broker.go: `minInputQueueSize = 20`, `maxInputQueueSizeRatio = 0.1`. */
const MIN_INPUT_QUEUE = 20;
const MAX_INPUT_QUEUE_RATIO = 0.1;
/** packetbeat/cmd/root.go PacketbeatSettings: `InputQueueSize: 400` (beats#22650, in 7.11). */
const PACKETBEAT_INPUT_QUEUE = 400;

/** memqueue/broker.go AdjustInputQueueSize: the requested size, at most a tenth of the queue, at least 20. */
export function adjustInputQueueSize(requested: number, queueSize: number): number {
  let actual = requested;
  const max = Math.trunc(queueSize * MAX_INPUT_QUEUE_RATIO);
  if (queueSize > 0 && actual > max) actual = max;
  return actual < MIN_INPUT_QUEUE ? MIN_INPUT_QUEUE : actual;
}

/**
 * packetbeat 7.11 to 8.4 replaying a file: packetbeat 6's pipeline (the
 * reporter's channel of 3, its goroutine, the buffering memory queue of
 * 4096 shown a buffer of 2048 at a time or 1 s after a buffer's first event,
 * 300 ms at the end of the file, `shutdown_timeout`), but the queue's push
 * channel holds `AdjustInputQueueSize(400, queue.mem.events)` requests
 * (packetbeat asks for 400 since beats#22650, 7.11): 400 for the default
 * 4096. Publish still returns once its send is done, so `events.published`
 * counts what is in that channel too, and at exit what it holds is lost,
 * counted. From 8.5 (beats#32541) Publish waits for the queue to insert the
 * event, and from 8.13 the queue is `packetbeat8`'s.
 */
export const packetbeat7: Profile = {
  name: 'packetbeat7',
  summary: 'packetbeat 7.11–8.4: as packetbeat6, with a push channel of AdjustInputQueueSize(400, queue.mem.events) before the memory queue',
  defaults: packetbeat6.defaults,
  // the same keys as packetbeat 6's (every profile's keys are read by all: config.ts)
  settings: {},
  topology: (c) => bufferedTopology(c, adjustInputQueueSize(PACKETBEAT_INPUT_QUEUE, c.queueSize)),
  shipper: 'packetbeat',
  counters: packetbeat6.counters,
};
