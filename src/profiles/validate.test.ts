import { describe, expect, it } from 'vitest';
import { scriptedCapture } from '../../test/support/capture.js';
import { ConfigError, PROFILE_DEFAULTS, PROFILES, resolveConfig, type PipelineConfig } from './index.js';
import { Replay } from '../pipeline/replay.js';
import { sweep } from '../pipeline/sweep.js';
import { validateConfig } from './index.js';

const config = resolveConfig('packetbeat5', []);
const capture = () => scriptedCapture([{ atNs: 0, toServer: true, payload: '*1\r\n$4\r\nPING\r\n' }]);

describe('a library caller’s configuration', () => {
  it('a bad field is a ConfigError naming it, not an internal RangeError', () => {
    expect(() => new Replay(capture(), { ...config, queueSize: -3 })).toThrow(
      new ConfigError('queueSize', 'a whole number from 1 to 100000000', -3),
    );
    expect(() => new Replay(capture(), { ...config, queueSize: -3 })).toThrow(
      'Expected `queueSize` to be a whole number from 1 to 100000000, got `-3`',
    );
  });

  it('every profile’s defaults are valid, and come back unchanged', () => {
    for (const p of PROFILES) expect(validateConfig(PROFILE_DEFAULTS[p])).toBe(PROFILE_DEFAULTS[p]);
  });

  it.each<[Partial<Record<keyof PipelineConfig, unknown>>, string]>([
    [{ profile: 'packetbeat9' }, 'Expected `profile` to be one of packetbeat5, packetbeat6, packetbeat7, packetbeat8, logstash, vector, got `packetbeat9`'],
    [{ ports: [6379, 70000] }, 'Expected `ports` to be a list of ports from 1 to 65535, such as 6379,7101, got `6379,70000`'],
    [{ ports: [] }, 'Expected `ports` to be a list of ports from 1 to 65535, such as 6379,7101, got ``'],
    [{ tcp: 'fast' }, 'Expected `tcp` to be one of reassemble, packetbeat, got `fast`'],
    [{ speed: 0 }, 'Expected `speed` to be a number from 0.000001 up, got `0`'],
    [{ queueSize: 1.5 }, 'Expected `queueSize` to be a whole number from 1 to 100000000, got `1.5`'],
    [{ queueSize: '5' }, 'Expected `queueSize` to be 5 as a number, got `"5"`'],
    [{ workers: 0 }, 'Expected `workers` to be a whole number from 1 to 1024, got `0`'],
    [{ batchDelayNs: -1 }, 'Expected `batchDelayNs` to be a whole number from 0 up, got `-1`'],
    [{ pipelineQueueSize: -1 }, 'Expected `pipelineQueueSize` to be a whole number from 0 to 100000000, got `-1`'],
    [{ drainPipeline: 'false' }, 'Expected `drainPipeline` to be false as a boolean, got `"false"`'],
    [{ waitstopNs: Number.NaN }, 'Expected `waitstopNs` to be a whole number from 0 up, got `NaN`'],
    [{ seed: 2 ** 32 }, 'Expected `seed` to be a whole number from 0 to 4294967295, got `4294967296`'],
    [{ jitter: 11 }, 'Expected `jitter` to be a number from 0 to 10, got `11`'],
    [{ drawsPer: 'batch' }, 'Expected `drawsPer` to be one of slot, event, got `batch`'],
    [{ costs: { ...config.costs, worker: { ...config.costs.worker, perEvent: -1 } } }, 'Expected `costs.worker.perEvent` to be a number from 0 up, got `-1`'],
    [{ costs: { analyzer: config.costs.analyzer } }, 'Expected `costs.worker` to be an object of perPacket, perByte, perEvent, perBatch, warmup (ns), got `undefined`'],
    [{ dropMethods: ['GET', ''] }, 'Expected `dropMethods` to be a list of Redis methods such as GET,PING, got `GET,`'],
    [{ outputFailureRate: 2 }, 'Expected `outputFailureRate` to be a number from 0 to 1, got `2`'],
  ])('%j', (patch, message) => {
    expect(() => validateConfig({ ...config, ...patch } as PipelineConfig)).toThrow(ConfigError);
    expect(() => validateConfig({ ...config, ...patch } as PipelineConfig)).toThrow(message);
  });

  it('sweep checks its base and its range before the first replay', () => {
    const o = { capture: 'never-opened.pcap', base: config, queueMin: 1, queueMax: 10, waitstops: [0], seeds: [0] };
    expect(() => sweep({ ...o, base: { ...config, workers: 0 } } )).toThrow('Expected `workers` to be a whole number from 1 to 1024, got `0`');
    expect(() => sweep({ ...o, queueMin: 0 } )).toThrow('Expected `queueMin` to be a whole number from 1 to 100000000, got `0`');
    expect(() => sweep({ ...o, queueMin: 20 } )).toThrow('Expected `queueMax` to be at least queueMin (20), got `10`');
    expect(() => sweep({ ...o, seeds: [] } )).toThrow('Expected `seeds` to be a list of at least one, got `[]`');
  });
});
