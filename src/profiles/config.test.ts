import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDuration, readConfigFile, resolveConfig, settingPatch } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'lockstep-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('configuration', () => {
  it('reads packetbeat.yml: queue_size, bulk_queue_size, the redis ports (map and list forms)', () => {
    const map = readConfigFile(file('a.yml', 'queue_size: 250\nbulk_queue_size: 0\npacketbeat.protocols.redis:\n  ports: [7101, 7102]\noutput.file:\n  path: /tmp\n'));
    expect(map.profile).toBe('packetbeat5');
    const c = resolveConfig('packetbeat5', map.patches);
    expect([c.queueSize, c.pipelineQueueSize, c.ports]).toEqual([250, 250, [7101, 7102]]);
    const list = readConfigFile(file('b.yml', 'packetbeat.protocols:\n- type: redis\n  ports: [7101]\n- type: http\n  ports: [80]\n'));
    expect(resolveConfig('packetbeat5', list.patches).ports).toEqual([7101]);
  });

  it("reads packetbeat.yml's redis transaction_timeout, send_request, send_response and the shipper's name", () => {
    const f = readConfigFile(
      file('redis.yml', 'name: edge-1\npacketbeat.protocols.redis:\n  ports: [6379]\n  transaction_timeout: 30s\n  send_request: true\n  send_response: false\n'),
    );
    const c = resolveConfig('packetbeat5', f.patches);
    expect([c.transactionTimeoutNs, c.sendRequest, c.sendResponse, c.beatName]).toEqual([30e9, true, false, 'edge-1']);
    const d = resolveConfig('packetbeat5', []);
    expect([d.transactionTimeoutNs, d.sendRequest, d.sendResponse, d.beatName, d.beatHostname, d.beatVersion]).toEqual([10e9, false, false, '', 'lockstep', '5.6.17']);
    expect(() => settingPatch('packetbeat.protocols.redis.send_request', 'yes')).toThrow('Expected `packetbeat.protocols.redis.send_request` to be true or false, got `yes`');
    expect(() => settingPatch('name', 'a\nb')).toThrow('Expected `name` to be a name: one line of text, at most 255 bytes, got `a\nb`');
  });

  it('reads logstash.yml: workers, batch size and delay, the memory queue', () => {
    const f = readConfigFile(file('logstash.yml', 'pipeline.workers: 4\npipeline:\n  batch:\n    size: 50\n    delay: 5\nqueue.type: memory\n'));
    expect(f.profile).toBe('logstash');
    const c = resolveConfig('logstash', f.patches);
    expect([c.workers, c.batchSize, c.batchDelayNs, c.policy, c.shutdown]).toEqual([4, 50, 5_000_000, 'block', 'drain']);
    const pq = readConfigFile(
      file('pq.yml', 'queue.type: persisted\nqueue:\n  max_events: 500\n  max_bytes: 4gb\n  page_capacity: 16mb\n  checkpoint.writes: 1\n  checkpoint.acks: 0\n'),
    );
    const p = resolveConfig('logstash', pq.patches);
    expect([pq.profile, p.queueType, p.queueMaxEvents, p.queueMaxBytes, p.queuePageCapacity, p.checkpointWrites, p.checkpointAcks]).toEqual([
      'logstash', 'persisted', 500, 4 * 1024 ** 3, 16 * 1024 ** 2, 1, 0,
    ]);
  });

  it('names the key, what was expected and what was given', () => {
    expect(() => readConfigFile(file('bad.yml', 'queue_size: lots\n'))).toThrow(`${join(dir, 'bad.yml')}: Expected \`queue_size\` to be a whole number from 1 to 100000000, got \`lots\``);
    expect(() => settingPatch('packetbeat.protocols.redis.ports', '7101,x')).toThrow('Expected `packetbeat.protocols.redis.ports` to be a list of ports from 1 to 65535, such as 6379,7101, got `7101,x`');
    expect(() => settingPatch('queue.type', 'disk')).toThrow('Expected `queue.type` to be one of memory, persisted, got `disk`');
    expect(() => settingPatch('queue.max_bytes', '1 lot')).toThrow('Expected `queue.max_bytes` to be a size such as 1024mb, 64mb, 4gb or a number of bytes, got `1 lot`');
    expect(() => settingPatch('queue_sise', '5')).toThrow(/^Expected `queue_sise` to be a known setting/);
    expect(() => readConfigFile(file('broken.yml', 'queue_size: [1,\n'))).toThrow(/Expected `-c` to be valid YAML, got `.*broken.yml/);
    expect(() => readConfigFile(join(dir, 'missing.yml'))).toThrow(/missing.yml \(ENOENT\)/);
  });

  it('parses durations as packetbeat and Logstash users write them', () => {
    expect(parseDuration('w', '5')).toBe(5e9);
    expect(parseDuration('w', '5s')).toBe(5e9);
    expect(parseDuration('w', '500ms')).toBe(5e8);
    expect(parseDuration('w', '1.5s')).toBe(1.5e9);
    expect(parseDuration('w', '2m')).toBe(120e9);
    expect(parseDuration('w', '100us')).toBe(1e5);
    expect(() => parseDuration('--waitstop', '5 parsecs')).toThrow('Expected `--waitstop` to be a duration such as 5, 5s, 500ms or 2m, got `5 parsecs`');
  });

  it('later settings win over earlier ones, and profiles are topologies', () => {
    const c = resolveConfig('packetbeat5', [{ queueSize: 10 }, { queueSize: 20 }]);
    expect(c.queueSize).toBe(20);
    expect(resolveConfig('packetbeat5', []).pipelineQueueSize).toBe(1000);
    expect(resolveConfig('logstash', []).pipelineQueueSize).toBe(0);
    expect(resolveConfig('packetbeat6', []).policy).toBe('block');
  });
});
