import { describe, expect, it } from 'vitest';
import { REPLAY_OPTIONS, translatePacketbeatArgs } from './options.js';
import { parseReplayArgs, REPLAY_USAGE } from './replay.js';

describe("replay's option table", () => {
  it('the usage lists every option, with its value and packetbeat spelling', () => {
    for (const f of REPLAY_OPTIONS) {
      const value = f.value === undefined ? '' : ` ${f.value}`;
      expect(REPLAY_USAGE).toContain(`  --${f.name}${value}${f.packetbeat ? `, ${f.packetbeat}${value}` : ''}`);
    }
  });

  it("packetbeat's single-dash flags become ours; a bare --jitter takes 0.5 unless a number follows", () => {
    expect(translatePacketbeatArgs(['-c', 'p.yml', '-e', '-d', '-I', 'x.pcap', '-E', 'queue_size=5', '-waitstop', '5', '--jitter', '--seed', '7'], REPLAY_OPTIONS)).toEqual({
      args: ['--config', 'p.yml', '--capture', 'x.pcap', '--set', 'queue_size=5', '--waitstop', '5', '--jitter', '0.5', '--seed', '7'],
      packetbeatStyle: true,
      topspeed: false,
    });
    expect(translatePacketbeatArgs(['x.pcap', '-t', '--jitter', '.3'], REPLAY_OPTIONS)).toEqual({ args: ['x.pcap', '--jitter', '.3'], packetbeatStyle: false, topspeed: true });
  });

  it('-I without -t paces by the timestamps; flags after the file and -E win', () => {
    const c = parseReplayArgs(['-I', 'x.pcap', '-E', 'queue_size=5', '--queue-size', '7', '-waitstop', '2']).config;
    expect([c.pacing, c.queueSize, c.pipelineQueueSize, c.waitstopNs]).toEqual(['timestamps', 7, 5, 2e9]);
    expect(parseReplayArgs(['-I', 'x.pcap', '-t']).config.pacing).toBe('topspeed');
  });
});
