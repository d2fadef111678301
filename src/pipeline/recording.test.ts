import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateRedisCapture } from '../gen/redis.js';
import { PROFILES, resolveConfig, type ConfigPatch, type PipelineConfig } from '../profiles/index.js';
import { feedOptions, FeedRecording } from './recording.js';
import { replay } from './replay.js';
import { withQueueSize } from './sweep.js';

const dir = mkdtempSync(join(tmpdir(), 'lockstep-recording-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// gaps, retransmissions, reordering, a cut tail: transactions completed mid-capture and at its end
const capture = join(dir, 'faults.pcap');
generateRedisCapture({ transactions: 3000, connections: 12, pipeline: 4, mss: 400, gaps: 3, retransmissions: 20, reorder: 20, tail: 5, seed: 31 }, capture);

function both(config: PipelineConfig) {
  const recording = FeedRecording.make(capture, feedOptions(config), 1_000_000)!;
  const played = replay(capture, config, { output: { kind: 'memory' }, recording });
  const read = replay(capture, config, { output: { kind: 'memory' } });
  return { played, read };
}

describe('a recorded feed, played to a replay', () => {
  it.each(PROFILES.flatMap((profile) => [[profile, {}], [profile, { queueSize: 3, waitstopNs: 0 }], [profile, { seed: 5, jitter: 0.3 }], [profile, { pacing: 'timestamps', speed: 1 }]] as [string, ConfigPatch][]))(
    '%s %j: the same summary, events and counters as reading the capture',
    (profile, patch) => {
      const config = resolveConfig(profile as PipelineConfig['profile'], [{ ports: [6379], ...patch }]);
      const { played, read } = both(config);
      expect(read.transactions).toBeGreaterThan(2000);
      expect(played).toEqual(read);
    },
  );

  it('is played only to a replay with its capture and analysis options; past its packet limit none is made', () => {
    const config = resolveConfig('packetbeat5', [{ ports: [6379] }]);
    const other = FeedRecording.make(capture, feedOptions({ ...config, ports: [7101] }), 1_000_000)!;
    expect(other.transactions.length).toBe(0);
    const read = replay(capture, withQueueSize(config, 10), { output: { kind: 'memory' } });
    expect(read.transactions).toBeGreaterThan(2000);
    expect(replay(capture, withQueueSize(config, 10), { output: { kind: 'memory' }, recording: other })).toEqual(read);
    const packets = read.packets;
    expect(FeedRecording.make(capture, feedOptions(config), packets - 1)).toBeNull();
    expect(FeedRecording.make(capture, feedOptions(config), packets)!.packets).toBe(packets);
  });
});
