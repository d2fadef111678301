import type { ReplaySummary } from './replay.js';

/** Logstash's `_node/stats/pipelines` shape. */
export function nodeStats(s: ReplaySummary) {
  return {
    pipelines: {
      main: {
        events: s.logstash.events,
        queue: { type: 'memory', capacity: s.config.queueSize, max_depth: s.counters['publisher.queue_max_depth'] },
      },
    },
  };
}
