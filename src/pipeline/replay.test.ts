import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { CaptureError } from '../pcap/errors.js';
import { Encoders } from '../protocols/index.js';
import { encodeCommand } from '../redis/encode.js';
import { pipelinedGets, scriptedCapture, type ScriptedSegment } from '../../test/support/capture.js';
import { Scheduler } from '../sim/scheduler.js';
import { resolveConfig, type ConfigPatch, type PipelineConfig, type ProfileName } from '../profiles/index.js';
import { Replay } from './replay.js';

const ZERO = { perPacket: 0, perByte: 0, perEvent: 0, perBatch: 0, warmup: 0 };
const MS = 1_000_000;

/** A config whose costs are round numbers, so times can be worked out by hand. */
function config(patch: ConfigPatch, profile: ProfileName = 'packetbeat5'): PipelineConfig {
  return resolveConfig(profile, [
    {
      tcp: 'reassemble',
      pipelineQueueSize: 0,
      costs: { analyzer: { ...ZERO, perPacket: 1000 }, worker: { ...ZERO, perEvent: MS }, output: ZERO },
      // no slowdown by what the stores hold: costs stay the round numbers
      gcSlowdown: 0,
    },
    patch,
  ]);
}

/** Three pipelined GETs in one segment at t=0, their three replies in one segment at t=0.5 µs. */
const THREE: ScriptedSegment[] = [
  { atNs: 0, toServer: true, payload: Buffer.concat([encodeCommand(['GET', 'a']), encodeCommand(['GET', 'b']), encodeCommand(['GET', 'c'])]) },
  { atNs: 500, toServer: false, payload: '$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n' },
];

function run(segments: ScriptedSegment[], patch: ConfigPatch, profile: ProfileName = 'packetbeat5') {
  const r = new Replay(scriptedCapture(segments), config(patch, profile), { output: { kind: 'memory' } });
  const fates: string[] = [];
  const original = r.ledger.record.bind(r.ledger);
  r.ledger.record = (tx, fate, time, where, depth, counted) => {
    fates.push(`${tx.id} ${fate} @${time} ${where} depth=${depth}${counted && fate !== 'published' ? ' (counted in published_events)' : ''}`);
    original(tx, fate, time, where, depth, counted);
  };
  r.run();
  return { summary: r.finish(), fates };
}

describe('replay: hand-checked cases', () => {
  it('queue_size 2, three transactions arriving faster than the output: exactly one dropped, at 2 µs', () => {
    // packet 1 done at 1 µs, packet 2 (the replies) at 2 µs: three events at once into a queue of two
    const { summary, fates } = run(THREE, { queueSize: 2, shutdown: 'drain' });
    expect(fates).toEqual([
      '3 dropped_queue_full @2000 queue depth=2',
      '1 published @1002000 worker.1 depth=0',
      '2 published @2002000 worker.1 depth=0',
    ]);
    expect(summary.fates).toEqual({ published: 2, dropped_queue_full: 1, lost_at_shutdown: 0, lost_in_crash: 0, output_failed: 0, filtered: 0 });
    // the last step is the shutdown: 300 ms after the end of the file (packetbeat 5's sniffer sleeps that long)
    expect(summary.simTimeNs).toBe(300_002_000);
    expect(summary.lines).toHaveLength(2);
    expect(summary.counters['libbeat.publisher.published_events']).toBe(2);
  });

  it('packetbeat 5.x shutdown (waitstop 0, abort) comes 300 ms after the end of the file: what the publisher is serving then is lost, uncounted', () => {
    // the publisher takes 200 ms an event: tx1 is out at 200.002 ms, tx2 is in its hands when shutdown comes at 300.002 ms
    const slow = { costs: { worker: { ...ZERO, perEvent: 200 * MS } } };
    const { summary, fates } = run(THREE, { queueSize: 2, shutdown: 'abort', waitstopNs: 0, ...slow });
    expect(fates).toEqual([
      '3 dropped_queue_full @2000 queue depth=2',
      '1 published @200002000 worker.1 depth=0',
      '2 lost_at_shutdown @300002000 in_flight depth=0',
    ]);
    expect(summary.lostAtShutdownBy).toEqual({ queue: 0, pipeline: 0, in_flight: 1 });
    expect(summary.lines).toHaveLength(1);
    // a waitstop that covers the rest loses nothing (what ends at the very instant of shutdown still counts)
    const waited = run(THREE, { queueSize: 2, shutdown: 'abort', waitstopNs: 100 * MS, ...slow });
    expect(waited.summary.fates).toMatchObject({ published: 2, dropped_queue_full: 1, lost_at_shutdown: 0 });
  });

  it('block never drops: the analyzer waits, and the wait is queue_push_duration', () => {
    const { summary, fates } = run(THREE, { queueSize: 1, policy: 'block', shutdown: 'drain', workers: 1, batchSize: 1, batchDelayNs: 0 }, 'logstash');
    // tx1 into the queue at 2 µs, taken at once; tx2 fits; tx3 waits until tx2 is taken at 1.002 ms
    expect(fates).toEqual(['1 published @1002000 worker.1 depth=0', '2 published @2002000 worker.1 depth=0', '3 published @3002000 worker.1 depth=0']);
    expect(summary.fates.dropped_queue_full).toBe(0);
    expect(summary.shipper['events.queue_push_duration_in_millis']).toBe(1);
    expect(summary.counters['publisher.queue_max_depth']).toBe(1);
  });

  it('packetbeat 6: the memory queue shows the output a buffer at a time, so a last buffer short of flush.min_events waits for flush.timeout, past the exit', () => {
    const pb6 = {
      queueSize: 4096, policy: 'block', pipelineQueueSize: 0, workers: 1, batchSize: 2048, flushMinEvents: 2, flushTimeoutNs: 1000 * MS,
      costs: { worker: ZERO, output: { ...ZERO, perEvent: MS } },
    } as const;
    const lost = run(THREE, pb6, 'packetbeat6');
    expect(lost.fates).toEqual([
      // tx1 and tx2 (at 2 µs) fill a buffer of 2: visible at once, one get, one batch of 2 ms
      '1 published @2002000 output depth=0',
      '2 published @2002000 output depth=0',
      // tx3 waits alone for the timer, due 1 s after it; the run ends 300 ms after the end of the file
      '3 lost_at_shutdown @300002000 queue depth=0 (counted in published_events)',
    ]);
    expect(lost.summary.counters['libbeat.publisher.published_events']).toBe(3);
    // shutdown_timeout 700 ms: the exit comes as the timer shows tx3, which the output has taken and not written
    const short = run(THREE, { ...pb6, waitstopNs: 700 * MS }, 'packetbeat6');
    expect(short.fates.slice(2)).toEqual(['3 lost_at_shutdown @1000002000 in_flight depth=0 (counted in published_events)']);
    // 701 ms: its 1 ms of output fits
    const waited = run(THREE, { ...pb6, waitstopNs: 701 * MS }, 'packetbeat6');
    expect(waited.fates.slice(2)).toEqual(['3 published @1001002000 output depth=0']);
  });

  it('packetbeat 6: Publish returns once the push channel of 20 takes the event (counted then), and the event loop takes from it only while the queue has room', () => {
    const keys = Array.from({ length: 30 }, (_, i) => `k${i}`);
    const c = config({ queueSize: 2, flushMinEvents: 0, batchSize: 1, costs: { worker: ZERO, output: { ...ZERO, perEvent: 100 * MS } } }, 'packetbeat6');
    const scheduler = new Scheduler();
    const r = new Replay(scriptedCapture(pipelinedGets(keys)), c, { output: { kind: 'memory' }, scheduler });
    const seen: string[] = [];
    scheduler.at(0.5 * MS, { stage: 'probe', run: () => seen.push(...['reporter', 'push', 'queue'].map((n) => `${n} ${r.stores.get(n)!.depth} of ${r.stores.get(n)!.accepted}`)) }, 'next');
    r.run();
    const s = r.finish();
    // at 0.5 ms: the output holds 1 (unacked, so the queue of 2 has room for 1 more), the push channel 20, the
    // goroutine 1 blocked, the reporter's channel 3: 26 out of the analyzer, 4 still in it
    expect(seen).toEqual(['reporter 3 of 26', 'push 20 of 22', 'queue 1 of 2']);
    // each write at 100 ms frees one place down the chain; the analyzer hands over its last at 400.002 ms, 300 ms
    // later the process exits: 7 written; lost: the push channel's 20, the queue's 1, the output's 1, the goroutine's 1
    expect(s.fates).toMatchObject({ published: 7, lost_at_shutdown: 23 });
    expect(s.lostAtShutdownBy).toMatchObject({ push: 20, queue: 1, in_flight: 2, reporter: 0 });
    // events.published counts what the push channel took (7 + 1 + 1 + 20), events.total what the goroutine served
    expect(s.shipper).toMatchObject({ 'libbeat.pipeline.events.total': 30, 'libbeat.pipeline.events.published': 29, 'libbeat.pipeline.events.active': 23, 'libbeat.output.events.acked': 7 });
    // live capture (--policy drop, DropIfFull): TryPublish drops what the full push channel will not take, though
    // the queue behind it is the one that is full: 2 in the queue, 20 in the channel, 8 dropped, counted as failed
    const live = new Replay(scriptedCapture(pipelinedGets(keys)), { ...c, policy: 'drop' }, { output: { kind: 'memory' } });
    live.run();
    const l = live.finish();
    expect(l.fates).toMatchObject({ dropped_queue_full: 8, published: 3, lost_at_shutdown: 19 });
    expect(l.shipper).toMatchObject({ 'libbeat.pipeline.events.total': 30, 'libbeat.pipeline.events.failed': 8, 'libbeat.pipeline.events.published': 22 });
  });

  it('packetbeat 8.13+: the output\'s get waits for flush.min_events or flush.timeout from its first event, not restarted; what it waits for stays in the queue', () => {
    // requests at 0; replies: three at 0.5 µs, one at 3 ms, one at 20 ms, one at 25 ms (capture time, paced)
    const segs: ScriptedSegment[] = [
      { atNs: 0, toServer: true, payload: Buffer.concat('abcdef'.split('').map((k) => encodeCommand(['GET', k]))) },
      { atNs: 500, toServer: false, payload: '$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n' },
      { atNs: 3 * MS, toServer: false, payload: '$1\r\n4\r\n' },
      { atNs: 20 * MS, toServer: false, payload: '$1\r\n5\r\n' },
      { atNs: 25 * MS, toServer: false, payload: '$1\r\n6\r\n' },
    ];
    const pb8 = {
      pacing: 'timestamps', flushMinEvents: 4, flushTimeoutNs: 10 * MS, waitstopNs: 100 * MS,
      costs: { worker: ZERO, output: { ...ZERO, perEvent: MS } },
    } as const;
    const { fates, summary } = run(segs, pb8, 'packetbeat8');
    expect(fates).toEqual([
      // 1–3 at 2 µs: fewer than 4, the get waits, its 10 ms from 2 µs; 4 at 3.001 ms fills it: 4 ms of output
      ...[1, 2, 3, 4].map((id) => `${id} published @7001000 output depth=0`),
      // 5 at 20.001 ms starts a new wait, to 30.001 ms; 6 at 25.001 ms does not restart it: 2 events, 2 ms
      '5 published @32001000 output depth=0',
      '6 published @32001000 output depth=0',
    ]);
    expect(summary.shipper).toMatchObject({ 'libbeat.pipeline.events.published': 6, 'libbeat.output.events.acked': 6, 'libbeat.pipeline.events.active': 0 });
    // live capture's DropIfFull drops nothing here: the producer waits for the insert (8.5+), so it behaves as block
    expect(run(segs, { ...pb8, policy: 'drop' }, 'packetbeat8').fates).toEqual(fates);
    // shutdown_timeout 0: no sleep at the end of the file (8.x), so 5 and 6 are still in the queue, waiting for the get
    const lost = run(segs, { ...pb8, waitstopNs: 0 }, 'packetbeat8');
    expect(lost.fates.slice(4)).toEqual([
      '5 lost_at_shutdown @25001000 queue depth=0 (counted in published_events)',
      '6 lost_at_shutdown @25001000 queue depth=0 (counted in published_events)',
    ]);
    expect(lost.summary.shipper).toMatchObject({ 'libbeat.pipeline.events.published': 6, 'libbeat.output.events.acked': 4, 'libbeat.pipeline.events.active': 2 });
  });

  it('Logstash up to 8.6 truncates each push and each batch to whole ms before adding; from 8.7 the totals are floored; flow metrics from 8.5', () => {
    const FOUR: ScriptedSegment[] = [
      { atNs: 0, toServer: true, payload: Buffer.concat(['a', 'b', 'c', 'd'].map((k) => encodeCommand(['GET', k]))) },
      { atNs: 500, toServer: false, payload: '$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n' },
    ];
    // a queue of 1 × 1 (batch × workers): at 2 µs tx1 is taken at once, tx2 fits, tx3 waits until tx2 is taken at
    // 0.702 ms (0.7 ms), tx4 until 1.402 ms (0.7 ms); four batches of 0.7 ms
    const ls = { policy: 'block', workers: 1, batchSize: 1, batchDelayNs: 0, shutdown: 'drain', costs: { worker: { ...ZERO, perEvent: 0.7 * MS } } } as const;
    const old = run(FOUR, { ...ls, logstashVersion: '8.6' }, 'logstash');
    expect(old.fates).toEqual(['1 published @702000 worker.1 depth=0', '2 published @1402000 worker.1 depth=0', '3 published @2102000 worker.1 depth=0', '4 published @2802000 worker.1 depth=0']);
    // each push under 1 ms, each batch under 1 ms: 0 and 0 (floors of the totals would say 1 and 2)
    expect(old.summary.shipper).toEqual({
      'events.in': 4, 'events.filtered': 4, 'events.out': 4, 'events.duration_in_millis': 0, 'events.queue_push_duration_in_millis': 0,
      // 8.5's flows over the 2.802 ms of uptime: 4 / 0.002802 s = 1427.55…, 0 / 2.802 ms
      'flow.input_throughput': 1428, 'flow.filter_throughput': 1428, 'flow.output_throughput': 1428, 'flow.queue_backpressure': 0, 'flow.worker_concurrency': 0,
    });
    const now = run(FOUR, ls, 'logstash');
    expect(now.fates).toEqual(old.fates);
    // 1.4 ms blocked → 1; 2.8 ms of batches → 2; worker_utilization 100 × 2 / (2.802 × 1) = 71.377… → 71.38
    expect(now.summary.shipper).toMatchObject({ 'events.duration_in_millis': 2, 'events.queue_push_duration_in_millis': 1, 'flow.queue_backpressure': 0.3569, 'flow.worker_concurrency': 0.7138, 'flow.worker_utilization': 71.38 });
    // before 8.5: no flow metrics
    expect(Object.keys(run(FOUR, { ...ls, logstashVersion: '7.17' }, 'logstash').summary.shipper).some((k) => k.startsWith('flow.'))).toBe(false);
  });

  it('Logstash before 6.1.3 without queue.drain: at shutdown each busy worker finishes its batch, reads one more, and what the queue still holds is lost', () => {
    // ten events at 2 µs into a queue of 2 × 2 × 1 (6.1–6.3: twice batch × workers); one worker, batches of 2 at
    // 1 ms an event. The queue refills as the worker takes: the last event is in at 4.002 ms, when the input ends
    // and the shutdown signal comes, the worker serving tx5–6 and tx7–10 queued
    const ls = { policy: 'block', workers: 1, batchSize: 2, batchDelayNs: 0, shutdown: 'drain' } as const;
    const old = run(pipelinedGets('abcdefghij'.split('')), { ...ls, logstashVersion: '6.1.2' }, 'logstash');
    // 6.002 ms: tx5–6 done, the loop sees the signal and reads tx7–8; 8.002 ms: done, the loop breaks
    expect(old.fates).toEqual([
      ...[1, 2].map((id) => `${id} published @2002000 worker.1 depth=0`),
      ...[3, 4].map((id) => `${id} published @4002000 worker.1 depth=0`),
      ...[5, 6].map((id) => `${id} published @6002000 worker.1 depth=0`),
      ...[7, 8].map((id) => `${id} published @8002000 worker.1 depth=0`),
      '9 lost_at_shutdown @8002000 queue depth=0',
      '10 lost_at_shutdown @8002000 queue depth=0',
    ]);
    expect(old.summary.lostAtShutdownBy).toMatchObject({ queue: 2 });
    expect(old.summary.shipper).toMatchObject({ 'events.in': 10, 'events.filtered': 8, 'events.out': 8 });
    // queue.drain, or 6.1.3 (#9024): the workers empty the queue
    for (const patch of [{ logstashVersion: '6.1.2', queueDrain: true }, { logstashVersion: '6.1.3' }]) {
      const drained = run(pipelinedGets('abcdefghij'.split('')), { ...ls, ...patch }, 'logstash');
      expect([drained.summary.fates.published, drained.fates.at(-1)]).toEqual([10, '10 published @10002000 worker.1 depth=0']);
    }
  });

  it("Logstash 6.0's SynchronousQueue: a push waits for a worker's take; read_batch polls batch.delay per event and returns at the first empty poll; times are differences of a ms clock", () => {
    // one worker, batches of 2, batch.delay 5.8 ms, 0.9 ms a batch; three events at 2 µs
    const ls = { policy: 'block', workers: 1, batchSize: 2, batchDelayNs: 5.8 * MS, shutdown: 'drain', logstashVersion: '6.0', costs: { worker: { ...ZERO, perBatch: 0.9 * MS } } } as const;
    const { fates, summary } = run(THREE, ls, 'logstash');
    // 2 µs: tx1 taken, its push returns; tx2 taken, the batch is full: served to 0.902 ms. tx3's push waits for the
    // worker's next read (0.902 ms), whose poll times out at 6.702 ms: served to 7.602 ms
    expect(fates).toEqual(['1 published @902000 worker.1 depth=0', '2 published @902000 worker.1 depth=0', '3 published @7602000 worker.1 depth=0']);
    // the second batch, 6.702 → 7.602 ms, reads 7 − 6 = 1 ms on the ms clock (0.9 ms truncated, as 6.1+ does: 0);
    // tx3's push, 0.002 → 0.902 ms, 0 − 0
    expect(summary.shipper).toMatchObject({ 'events.in': 3, 'events.out': 3, 'events.duration_in_millis': 1, 'events.queue_push_duration_in_millis': 0 });
    expect(run(THREE, { ...ls, logstashVersion: '6.1.2' }, 'logstash').summary.shipper).toMatchObject({ 'events.duration_in_millis': 0 });
    // the queue holds the one event whose push waits, never more
    expect(summary.counters['publisher.queue_max_depth']).toBe(1);
  });

  it('packetbeat 5.x topology: the publisher counts published_events before its blocking send; at exit the worker queue and the output\'s event are counted, never written', () => {
    const c = resolveConfig('packetbeat5', [
      { tcp: 'reassemble', queueSize: 10, pipelineQueueSize: 1, costs: { analyzer: { ...ZERO, perPacket: 1000 }, worker: ZERO, output: { ...ZERO, perEvent: 200 * MS } } },
    ]);
    const r = new Replay(scriptedCapture(THREE), c, { output: { kind: 'memory' } });
    r.run();
    const s = r.finish();
    // at 2 µs the publisher serves all three: tx1 to the output, tx2 into the queue of one, tx3 counted and blocked;
    // tx1 is written at 200.002 ms and tx2 taken, tx3 sent; at 300.002 ms tx2 (the output's) and tx3 (queued) are lost
    expect(s.counters['libbeat.publisher.published_events']).toBe(3);
    expect(s.fates).toMatchObject({ published: 1, lost_at_shutdown: 2 });
    expect(s.lostAtShutdownBy).toEqual({ queue: 0, pipeline: 1, in_flight: 1 });
    expect(s.counters['publisher.published_not_written']).toBe(2);
    expect(s.lines).toHaveLength(1);
  });

  it('packetbeat 5.x processors drop before the count; with libbeat\'s drain (--drain-pipeline true) everything counted is written', () => {
    const c = (patch: ConfigPatch) =>
      resolveConfig('packetbeat5', [
        { tcp: 'reassemble', queueSize: 10, pipelineQueueSize: 1, costs: { analyzer: { ...ZERO, perPacket: 1000 }, worker: ZERO, output: { ...ZERO, perEvent: 200 * MS } } },
        patch,
      ]);
    const filtered = new Replay(scriptedCapture(THREE), c({ dropMethods: ['GET'] }), { output: { kind: 'memory' } });
    filtered.run();
    const f = filtered.finish();
    expect([f.fates.filtered, f.counters['libbeat.publisher.published_events'], f.fates.published]).toEqual([3, 0, 0]);
    const drained = new Replay(scriptedCapture(THREE), c({ drainPipeline: true }), { output: { kind: 'memory' } });
    drained.run();
    const d = drained.finish();
    expect([d.counters['libbeat.publisher.published_events'], d.fates.published, d.counters['publisher.published_not_written']]).toEqual([3, 3, 0]);
  });

  it('Logstash read_batch: drain what is there, then poll batch.delay, restarted after each event; a partial batch after two empty polls', () => {
    // replies at 0.5 ms, 1.5 ms, 6 ms: the first two batch together (each restarts the 2 ms poll), the third alone
    const segs: ScriptedSegment[] = [
      { atNs: 0, toServer: true, payload: Buffer.concat([encodeCommand(['GET', 'a']), encodeCommand(['GET', 'b']), encodeCommand(['GET', 'c'])]) },
      { atNs: 0.5 * MS, toServer: false, payload: '$1\r\n1\r\n' },
      { atNs: 1.5 * MS, toServer: false, payload: '$1\r\n2\r\n' },
      { atNs: 6 * MS, toServer: false, payload: '$1\r\n3\r\n' },
    ];
    const logstash = {
      pacing: 'timestamps',
      queueSize: 10,
      policy: 'block',
      workers: 1,
      batchSize: 125,
      batchDelayNs: 2 * MS,
      shutdown: 'drain',
      costs: { worker: { ...ZERO, perBatch: 100_000 } },
    } as const;
    const { fates, summary } = run(segs, logstash, 'logstash');
    // events at 0.501, 1.501, 6.001 ms. The poll after the second event times out at 3.501 ms with two events in hand;
    // LsQueueUtils.drain then polls a whole delay again and returns the batch when that one brings nothing: 5.501 ms,
    // + 0.1 ms service. The third: 6.001 + 2 + 2 + 0.1 ms
    expect(fates).toEqual([
      '1 published @5601000 worker.1 depth=0',
      '2 published @5601000 worker.1 depth=0',
      '3 published @10101000 worker.1 depth=0',
    ]);
    expect(summary.shipper).toMatchObject({ 'events.in': 3, 'events.filtered': 3, 'events.out': 3, 'events.duration_in_millis': 0, 'events.queue_push_duration_in_millis': 0 });

    // an event that comes during the second poll joins the batch, and the two polls start again after it
    const late = run(
      [
        { atNs: 0, toServer: true, payload: Buffer.concat([encodeCommand(['GET', 'a']), encodeCommand(['GET', 'b'])]) },
        { atNs: 0.5 * MS, toServer: false, payload: '$1\r\n1\r\n' },
        { atNs: 3 * MS, toServer: false, payload: '$1\r\n2\r\n' },
      ],
      logstash,
      'logstash',
    );
    // first poll 0.501–2.501 ms, second 2.501–4.501: the event at 3.001 ms is taken; then 5.001 and 7.001 ms, + 0.1 ms
    expect(late.fates).toEqual(['1 published @7101000 worker.1 depth=0', '2 published @7101000 worker.1 depth=0']);
  });

  it('filters and output failures get their own fates', () => {
    const { summary } = run(THREE, { queueSize: 10, shutdown: 'drain', dropMethods: ['GET'] });
    expect(summary.fates).toMatchObject({ filtered: 3, published: 0 });
    const failing = run(THREE, { queueSize: 10, shutdown: 'drain', outputFailureRate: 1 });
    expect(failing.summary.fates).toMatchObject({ output_failed: 3, published: 0 });
  });

  it('pacing by timestamps costs no wall time and follows the capture clock, scaled by --speed', () => {
    const segs: ScriptedSegment[] = [
      { atNs: 0, toServer: true, payload: encodeCommand(['PING']) },
      { atNs: 600e9, toServer: false, payload: '+PONG\r\n' },
    ];
    // a transaction_timeout past the 600 s wait keeps the connection (the 10 s default forgets it, as packetbeat would)
    const real = run(segs, { pacing: 'timestamps', shutdown: 'drain', transactionTimeoutNs: 700e9 });
    expect(real.fates).toEqual(['1 published @600001001000 worker.1 depth=0']);
    expect(run(segs, { pacing: 'timestamps', shutdown: 'drain' }).fates).toEqual([]);
    const fast = run(segs, { pacing: 'timestamps', speed: 10, shutdown: 'drain', transactionTimeoutNs: 700e9 });
    expect(fast.fates).toEqual(['1 published @60001001000 worker.1 depth=0']);
  });
});

describe('replay: a run that fails', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lockstep-replay-fail-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a bug while writing an event ends the run with that error, not as a failed write, and leaves no file behind', () => {
    const bug = vi.spyOn(Encoders.prototype, 'write').mockImplementation(() => {
      throw new TypeError('a bug in an encoder');
    });
    try {
      const out = join(dir, 'events.ndjson');
      const ledger = join(dir, 'ledger.ndjson');
      const r = new Replay(scriptedCapture(THREE), config({ shutdown: 'drain' }), { output: { kind: 'file', path: out }, ledger });
      expect(() => r.run()).toThrow(new TypeError('a bug in an encoder'));
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      bug.mockRestore();
    }
  });

  it('a capture that does not open, or an output that cannot be made, leaves no ledger file behind', () => {
    const ledger = join(dir, 'ledger.ndjson');
    expect(() => new Replay(join(dir, 'missing.pcap'), config({}), { ledger })).toThrow(CaptureError);
    expect(readdirSync(dir)).toEqual([]);
    const out = join(dir, 'no-such-folder', 'events.ndjson');
    expect(() => new Replay(scriptedCapture(THREE), config({}), { ledger, output: { kind: 'file', path: out } })).toThrow(/ENOENT/);
    expect(readdirSync(dir)).toEqual([]);
  });
});
