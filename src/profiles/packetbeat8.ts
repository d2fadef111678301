import type { Profile } from './profile.js';
import { beatsCounters, ownShape, packetbeat6 } from './packetbeat6.js';
import { ANALYZER_EVENTS } from '../protocols/protocol.js';
import { publisherChain } from './chain.js';

const MS = 1_000_000;

/**
 * packetbeat 8.13 and later replaying a file, read at elastic/beats main:
 * - the reporter's channel of 3 and its goroutine (packetbeat/publish/publish.go
 *   CreateReporter, `ch := make(chan beat.Event, 3)`; blocking reading a
 *   file: `canDrop` is `File == ""`, packetbeat/beater/processor.go), as in 6.x;
 * - the memory queue (libbeat/publisher/queue/memqueue) is a ring of
 *   `queue.mem.events` (3200, config.go `DefaultEvents`); a slot is freed when
 *   the output acknowledges its event (runloop.go handleDelete). There are no
 *   buffers any more: the output's get request (the file output asks for no
 *   size, so `flush.min_events`, 1600, which config.go calls `MaxGetRequest`)
 *   is answered at once when that many events wait, else it waits until they
 *   do or until `flush.timeout` (10 s) after the request, and then takes what
 *   is there (runloop.go handleGetRequest, getRequestShouldBlock,
 *   maybeUnblockGetRequest); a request waits for the first event without a
 *   timer (the get channel is off while the queue has nothing unconsumed);
 * - at the end of the file the sniffer returns at once (sniffer.go
 *   sniffHandle: `io.EOF` with a file is `return nil`, no sleep), runStatic
 *   stops the runner (packetbeat/beater/packetbeat.go), which sleeps
 *   `shutdown_timeout` (default 0) and stops the publisher
 *   (processor.go Stop); the pipeline does not wait for its events, and what
 *   the channel, the queue and the output hold is lost.
 * Steps due at one instant run in an order drawn from the seed, as the run
 * loop's `select` picks among ready cases (`goSelect`).
 * Not modelled: libbeat's consumer asks for the next batch while the output
 * writes the last (pipeline/consumer.go), so a second batch can leave the
 * queue early; lockstep's output asks once its batch is written. The costs
 * are packetbeat 6's (not measured on 8.x).
 */
export const packetbeat8: Profile = {
  name: 'packetbeat8',
  summary: 'packetbeat 8.13+: publishing blocks; a memory queue of 3200 whose get waits for 1600 events or 10 s; shutdown_timeout, then exit',
  defaults: {
    ...packetbeat6.defaults,
    queueSize: 3200,
    batchSize: 1600,
    flushMinEvents: 1600,
    flushTimeoutNs: 10_000 * MS,
  },
  // the same keys as packetbeat 6's (every profile's keys are read by all: config.ts)
  settings: {},
  topology: (c) => {
    if (!ownShape(c)) return publisherChain(c);
    // broker.go newQueue: flush.min_events ≤ 1 (the old "synchronous" setting) means no timeout and gets of half
    // the queue; a get never asks for more than the queue holds
    let maxGet = c.flushMinEvents;
    let timeoutNs = c.flushTimeoutNs;
    if (maxGet <= 1) {
      timeoutNs = 0;
      maxGet = Math.floor((c.queueSize + 1) / 2);
    }
    if (maxGet > c.queueSize) maxGet = c.queueSize;
    // runloop.go handleGetRequest: a request of 0 or more than MaxGetRequest asks for MaxGetRequest
    const getSize = Math.min(c.batchSize, maxGet);
    return {
      source: { output: 'reporter', cost: c.costs.analyzer, protocol: 'redis' },
      events: ANALYZER_EVENTS,
      queues: [
        { name: 'reporter', capacity: 3, whenFull: 'block' },
        // since 8.5 (beats#32541) Publish waits for the run loop to insert the event (produce.go handlePendingResponse):
        // the push channel (AdjustInputQueueSize, 400 for packetbeat) holds one request of the one producer at most.
        // So with --policy drop (live capture's DropIfFull) nothing drops either: TryPublish's send finds room in
        // the push channel, and the producer then waits for the insert, which the run loop makes only while the
        // queue has room (runloop.go: pushChan is nil when full)
        { name: 'queue', capacity: c.queueSize, whenFull: 'block', countsPublished: true, freedOnAck: true },
      ],
      stages: [
        { name: 'reporter', numbered: false, instances: 1, input: 'reporter', output: 'queue', batch: { size: 1, delayNs: 0 }, cost: c.costs.worker, countsPublished: false, filters: true },
        // flush.timeout 0: never block, take what is there (getRequestShouldBlock)
        {
          name: 'output', numbered: c.workers > 1, instances: c.workers, input: 'queue', output: null,
          batch: { size: getSize, delayNs: timeoutNs, restart: false }, cost: c.costs.output, countsPublished: false,
        },
      ],
      goSelect: true,
      shutdown: { graceNs: 0, afterNs: c.waitstopNs, stops: c.shutdown === 'drain' ? [] : ['reporter', 'queue', 'output'] },
    };
  },
  shipper: 'packetbeat',
  counters: (run, c) => beatsCounters(run, ownShape(c)),
};
