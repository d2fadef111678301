import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lockstep } from '../../test/support/cli.js';

const capture = 'golden/real-redis/capture.pcap';
const port = readFileSync('golden/real-redis/port.txt', 'utf8').trim();

describe('lockstep compare', () => {
  it('replays one capture through every shipper with its defaults: each row is that shipper\'s replay, and every transaction has one fate', () => {
    const r = lockstep('compare', capture, '--ports', port, '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { rows: { shipper: string; profile: string; replay: string; transactions: number; published: number; droppedQueueFull: number; lostAtShutdown: number; filtered: number; outputFailed: number; countedNotWritten: number; shipperCounters: Record<string, number> }[] };
    expect(out.rows.map((x) => x.shipper)).toEqual(['packetbeat5', 'packetbeat6', 'packetbeat7', 'packetbeat8', 'logstash', 'logstash-pq', 'vector']);
    for (const row of out.rows) {
      expect(row.published + row.droppedQueueFull + row.lostAtShutdown + row.filtered + row.outputFailed).toBe(row.transactions);
      // the row's replay line, run on its own, gives the row
      const words = row.replay.split(' ').slice(2);
      const one = JSON.parse(lockstep('replay', ...words, '--json').stdout) as { transactions: number; fates: Record<string, number> };
      expect([row.transactions, row.published, row.droppedQueueFull, row.lostAtShutdown]).toEqual([
        one.transactions, one.fates.published, one.fates.dropped_queue_full, one.fates.lost_at_shutdown,
      ]);
    }
    const pb5 = out.rows[0]!;
    // packetbeat counts what it wrote and what it lost having counted it
    expect(pb5.shipperCounters['libbeat.publisher.published_events']).toBe(pb5.published + pb5.countedNotWritten);
    const ls = out.rows[4]!;
    expect(ls.shipperCounters['events.in']).toBe(ls.transactions);
    // packetbeat 6 and 8 count an event as their queue accepts it: what was written, and what was lost after
    for (const pb of [out.rows[1]!, out.rows[2]!, out.rows[3]!]) {
      expect(pb.shipperCounters['libbeat.pipeline.events.published']).toBe(pb.published + pb.countedNotWritten);
      expect(pb.shipperCounters['libbeat.output.events.acked']).toBe(pb.published);
    }
    // Vector counts in buffer_received_events_total what its buffer took and what drop_newest discarded
    const v = out.rows[6]!;
    expect(v.shipperCounters.buffer_received_events_total).toBe(v.transactions);
    expect(v.shipperCounters.buffer_sent_events_total).toBe(v.published);
  });

  it('--crash-at: the memory queues lose what they held, the persisted queue loses nothing and writes again what it read since its checkpoint', () => {
    const r = lockstep('compare', capture, '--ports', port, '--profiles', 'logstash', '--crash-at', '300ms', '--json');
    expect(r.code).toBe(0);
    const rows = (JSON.parse(r.stdout) as { rows: { shipper: string; transactions: number; published: number; lostInCrash: number; duplicated: number; replay: string }[] }).rows;
    expect(rows.map((x) => x.shipper)).toEqual(['logstash', 'logstash-pq']);
    const [mem, pq] = rows as [(typeof rows)[0], (typeof rows)[0]];
    expect(mem.lostInCrash).toBeGreaterThan(0);
    expect(mem.published + mem.lostInCrash).toBe(mem.transactions);
    expect(mem.duplicated).toBe(0);
    expect([pq.published, pq.lostInCrash]).toEqual([pq.transactions, 0]);
    // checkpoint.acks 1024 and batches of 125: what is read again is whole batches, fewer than 1024 + 125
    expect(pq.duplicated % 125).toBe(0);
    expect(pq.duplicated).toBeLessThan(1024 + 125);
    expect(pq.replay).toContain('--queue-type persisted --crash-at 300000000ns');
  });

  it('prints a table, and takes --profiles', () => {
    const r = lockstep('compare', capture, '--ports', port, '--profiles', 'logstash,packetbeat5');
    expect(r.code).toBe(0);
    // the table's rows (a name, then numbers), in the order asked for; then what each reports, by name
    const rows = r.stdout.split('\n').filter((l) => /^\S+\s+[\d,]+\s/.test(l));
    expect(rows.map((l) => l.split(' ')[0])).toEqual(['logstash', 'logstash-pq', 'packetbeat5']);
    expect(r.stdout).toMatch(/^packetbeat5\s+libbeat\.publisher\.published_events=5837 /m);
  });

  it('a shipper it does not know is one line and exit 2', () => {
    const r = lockstep('compare', capture, '--profiles', 'fluentd');
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual(['Expected `--profiles` to be a list of packetbeat5, packetbeat6, packetbeat7, packetbeat8, logstash, vector, got `fluentd`']);
  });
});
