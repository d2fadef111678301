import { describe, expect, it } from 'vitest';
import { PROFILES, resolveConfig } from '../profiles/index.js';
import { CONFIG_FLAGS, parseReplayLine, replayCommand } from './replay-line.js';
import { FIELDS } from '../profiles/index.js';

const ISSUE = resolveConfig('packetbeat5', [{ ports: [7101] }]);

describe('the replay line', () => {
  it('says every setting, in the words README and the golden cases show', () => {
    expect(replayCommand('.lockstep/issue-3404.pcap', ISSUE)).toBe(
      'lockstep replay .lockstep/issue-3404.pcap --profile packetbeat5 --ports 7101 --tcp packetbeat --pacing topspeed --speed 1 --queue-size 1000 --policy drop --pipeline-queue-size 1000 --workers 1 --batch-size 1 --batch-delay 0ns --waitstop 0ns --shutdown abort --seed 0 --jitter 0',
    );
  });

  it('adds the settings usually at their default only when they are not, costs one flag each', () => {
    const c = resolveConfig('logstash', [
      { drainPipeline: true, drawsPer: 'event', dropMethods: ['PING', 'INFO'], outputFailureRate: 0.2, costs: { worker: { perByte: 309 }, output: { perEvent: 1 } } },
    ]);
    expect(replayCommand("it's here.pcap", c)).toBe(
      "lockstep replay 'it'\\''s here.pcap' --profile logstash --ports 6379 --tcp reassemble --pacing topspeed --speed 1 --queue-size 250 --policy block --pipeline-queue-size 0 --drain-pipeline true --workers 2 --batch-size 125 --batch-delay 50000000ns --waitstop 0ns --shutdown drain --seed 0 --jitter 0 --draws-per event --cost worker.perByte=309 --cost output.perEvent=1 --drop-method PING,INFO --output-failure-rate 0.2",
    );
  });

  it('reads back to the same capture and configuration', () => {
    for (const profile of PROFILES) {
      const c = resolveConfig(profile, [{ ports: [7101, 6379], jitter: 0.5, seed: 7, waitstopNs: 1_500_000_000, costs: { analyzer: { perByte: 3.5 } } }]);
      const words = replayCommand('x.pcap', c).split(' ');
      expect(parseReplayLine(words.slice(2))).toEqual({ capture: 'x.pcap', config: c });
    }
  });

  it('has one flag per setting', () => {
    const fields = new Set(Object.keys(FIELDS));
    expect(CONFIG_FLAGS).toHaveLength(fields.size);
    expect(new Set(CONFIG_FLAGS.map((f) => f.name)).size).toBe(fields.size);
  });

  it('a bad value names the flag, as a typed setting would its field', () => {
    expect(() => parseReplayLine(['x.pcap', '--queue-size', '0'])).toThrow('Expected `--queue-size` to be a whole number from 1 to 100000000, got `0`');
    expect(() => parseReplayLine(['x.pcap', '--batch-delay', 'soon'])).toThrow('Expected `--batch-delay` to be a duration such as 5, 5s, 500ms or 2m, got `soon`');
    expect(() => parseReplayLine(['x.pcap', '--cost', 'worker.perEvent=x'])).toThrow('Expected `--cost worker.perEvent` to be a number from 0 up, got `x`');
  });

  it('--logstash-version brings its release\'s batch.delay default (5 ms before 6.2), which a later --batch-delay overrides; 5.x is refused', () => {
    const at = (...flags: string[]) => parseReplayLine(['x.pcap', '--profile', 'logstash', ...flags]).config;
    expect([at().batchDelayNs, at('--logstash-version', '6.1.3').batchDelayNs, at('--logstash-version', '6.2').batchDelayNs]).toEqual([50e6, 5e6, 50e6]);
    expect(at('--logstash-version', '6.1.3', '--batch-delay', '7').batchDelayNs).toBe(7e6);
    const c = at('--logstash-version', '6.1.3');
    expect(parseReplayLine(replayCommand('x.pcap', c).split(' ').slice(2)).config).toEqual(c);
    const old = at('--logstash-version', '6.0', '--queue-drain', 'true');
    expect([old.batchDelayNs, old.queueDrain]).toEqual([5e6, true]);
    expect(parseReplayLine(replayCommand('x.pcap', old).split(' ').slice(2)).config).toEqual(old);
    expect(() => at('--logstash-version', '5.6')).toThrow('Expected `--logstash-version` to be a Logstash release such as 9.5, 8.6, 6.1.2 or 6.0, 6.0 or later, got `5.6`');
  });
});
