import type { ReplaySummary } from './replay.js';

/** Logstash's `_node/stats/pipelines` shape. */
export function nodeStats(s: ReplaySummary) {
  return {
    pipelines: {
      main: {
        events: {
          in: s.shipper['events.in'],
          filtered: s.shipper['events.filtered'],
          out: s.shipper['events.out'],
          duration_in_millis: s.shipper['events.duration_in_millis'],
          queue_push_duration_in_millis: s.shipper['events.queue_push_duration_in_millis'],
        },
        queue: { type: 'memory', capacity: s.config.queueSize, max_depth: s.counters['publisher.queue_max_depth'] },
      },
    },
  };
}
