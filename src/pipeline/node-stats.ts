import type { ReplaySummary } from './replay.js';

/**
 * Logstash's `_node/stats/pipelines` for the run's pipeline, `main`: its
 * `events`, its `flow` metrics (8.5 and later; `lifetime` only: lockstep
 * keeps no 5-second captures for `current`) and its `queue`; what Logstash
 * does not report is under `lockstep`.
 */
export function nodeStats(s: ReplaySummary) {
  const own = s.shipper;
  const c = s.config;
  const flow = Object.fromEntries(
    Object.entries(own)
      .filter(([k]) => k.startsWith('flow.'))
      .map(([k, v]) => [k.slice('flow.'.length), { lifetime: v }]),
  );
  const depth = s.counters['publisher.queue_depth'];
  const queue =
    c.queueType === 'persisted'
      ? {
          type: 'persisted',
          events_count: depth,
          capacity: { max_unread_events: c.queueMaxEvents, max_queue_size_in_bytes: c.queueMaxBytes, page_capacity_in_bytes: c.queuePageCapacity },
        }
      : { type: 'memory', events_count: depth, queue_size_in_bytes: 0, max_queue_size_in_bytes: 0 };
  return {
    pipelines: {
      main: {
        events: {
          in: own['events.in'],
          filtered: own['events.filtered'],
          out: own['events.out'],
          duration_in_millis: own['events.duration_in_millis'],
          queue_push_duration_in_millis: own['events.queue_push_duration_in_millis'],
        },
        ...(Object.keys(flow).length > 0 ? { flow } : {}),
        queue,
        lockstep: {
          logstash_version: c.logstashVersion,
          queue_max_depth: s.counters['publisher.queue_max_depth'],
          uptime_in_millis: Math.floor(s.simTimeNs / 1e6),
          lost_in_crash: s.fates.lost_in_crash,
          duplicated: s.duplicated,
        },
      },
    },
  };
}
