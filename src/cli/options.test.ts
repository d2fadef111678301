import { test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { anyConfig } from '../../properties/arbitraries.js';
import { budget } from '../../properties/budget.js';
import { shellWords } from '../../properties/repro.js';
import { parseReplayLine, replayCommand } from '../pipeline/replay-line.js';
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
    expect(translatePacketbeatArgs(['-c', 'p.yml', '-e', '-d', 'publish,tcp', '-I', 'x.pcap', '-E', 'queue_size=5', '-waitstop', '5', '--jitter', '--seed', '7'], REPLAY_OPTIONS)).toEqual({
      args: ['--config', 'p.yml', '--capture', 'x.pcap', '--set', 'queue_size=5', '--waitstop', '5', '--jitter', '0.5', '--seed', '7'],
      packetbeatStyle: true,
      topspeed: false,
    });
    expect(translatePacketbeatArgs(['x.pcap', '-t', '--jitter', '.3'], REPLAY_OPTIONS)).toEqual({ args: ['x.pcap', '--jitter', '.3'], packetbeatStyle: false, topspeed: true });
    // Go's forms: -flag=value, --flag=value, -t=false, -d=SELECTOR; a negative number stays its flag's value
    expect(translatePacketbeatArgs(['-I=x.pcap', '-waitstop=5', '--c=p.yml', '-t=false', '-d=*', '-v', '--queue-size', '-1', '--seed=-2'], REPLAY_OPTIONS)).toEqual({
      args: ['--capture=x.pcap', '--waitstop=5', '--config=p.yml', '--queue-size=-1', '--seed=-2'],
      packetbeatStyle: true,
      topspeed: false,
    });
  });

  it('-I without -t paces by the timestamps; flags after the file and -E win', () => {
    const c = parseReplayArgs(['-I', 'x.pcap', '-E', 'queue_size=5', '--queue-size', '7', '-waitstop', '2']).config;
    expect([c.pacing, c.queueSize, c.pipelineQueueSize, c.waitstopNs]).toEqual(['timestamps', 7, 5, 2e9]);
    expect(parseReplayArgs(['-I', 'x.pcap', '-t']).config.pacing).toBe('topspeed');
  });

  test.prop([anyConfig], budget(100))('lockstep replay reads any replay line as the line reads back: the configuration it was written from', (c) => {
    const words = shellWords(replayCommand('some capture.pcap', c)).slice(2);
    expect(parseReplayArgs(words)).toMatchObject({ capture: 'some capture.pcap', config: c });
    expect(parseReplayArgs(words).config).toEqual(parseReplayLine(words).config);
  });
});
