import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { analyze } from '../../src/analyze.js';
import type { GenManifest } from '../../src/gen/redis.js';
import type { TcpMode } from '../../src/tcp/stream.js';

/** Analyzes a generated capture and checks every count its manifest promises, and the ledger's balance. */
export function expectManifest(capture: string, port: number, mode: TcpMode) {
  const m = JSON.parse(readFileSync(`${capture}.manifest.json`, 'utf8')) as GenManifest;
  // a kind whose effect the manifest does not predict would make any comparison below meaningless
  expect(m.unpredicted[mode], 'kinds the manifest does not predict in this TCP mode').toEqual([]);
  const s = analyze(capture, { ports: [port], tcp: mode });
  expect(s.packets).toBe(m.packets);
  expect(s.transactions).toBe(m.transactions[mode]);
  expect(s.byMethod).toEqual(m.byMethod[mode]);
  expect(s.counters['redis.unmatched_responses']).toBe(m.unmatchedResponses);
  expect(s.counters['redis.unmatched_requests']).toBe(m.unmatchedRequests[mode]);
  expect(s.counters['tcp.dropped_because_of_gaps']).toBe(m.gaps[mode]);
  expect(s.counters['redis.parse_errors']).toBe(m.parseErrors[mode]);
  expect(s.counters['redis.push_messages']).toBe(m.pushMessages);
  expect(s.counters['redis.requests']).toBe(s.transactions + s.counters['redis.unmatched_requests']);
  expect(s.counters['redis.responses']).toBe(s.transactions + s.counters['redis.unmatched_responses']);
  return { s, m };
}

