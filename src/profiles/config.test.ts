import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDuration, PROFILE_LIST, readConfigFile, resolveConfig, settingPatch, unappliedKeys } from './index.js';

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
    const list = readConfigFile(file('b.yml', 'packetbeat.protocols:\n- type: redis\n  ports: [7101]\n  send_request: true\n  enabled: true\n- type: http\n  ports: [80]\n'));
    expect([resolveConfig('packetbeat5', list.patches).ports, resolveConfig('packetbeat5', list.patches).sendRequest]).toEqual([[7101], true]);
    // the list form's other keys are named as the map form names them, and listed when not modelled
    expect(list.ignored).toEqual(['packetbeat.protocols.redis.enabled', 'packetbeat.protocols.http.ports']);
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
    const f = readConfigFile(file('logstash.yml', 'pipeline.workers: 4\npipeline:\n  batch:\n    size: 50\n    delay: 5\nqueue.type: memory\nqueue.drain: true\n'));
    expect(f.profile).toBe('logstash');
    const c = resolveConfig('logstash', f.patches);
    expect([c.workers, c.batchSize, c.batchDelayNs, c.policy, c.shutdown, c.queueDrain]).toEqual([4, 50, 5_000_000, 'block', 'drain', true]);
    const pq = readConfigFile(
      file('pq.yml', 'queue.type: persisted\nqueue:\n  max_events: 500\n  max_bytes: 4gb\n  page_capacity: 16mb\n  checkpoint.writes: 1\n  checkpoint.acks: 0\n'),
    );
    const p = resolveConfig('logstash', pq.patches);
    expect([pq.profile, p.queueType, p.queueMaxEvents, p.queueMaxBytes, p.queuePageCapacity, p.checkpointWrites, p.checkpointAcks]).toEqual([
      'logstash', 'persisted', 500, 4 * 1024 ** 3, 16 * 1024 ** 2, 1, 0,
    ]);
  });

  it("takes a Beats output section's batch and workers for packetbeat 6+ (outputs.ReadHostList, SuccessNet), and says where it does not apply", () => {
    const es = readConfigFile(
      file('pb8.yml', 'queue.mem:\n  events: 8192\noutput.elasticsearch:\n  hosts: [a:9200, b:9200]\n  worker: 2\n  index: x\n'),
    );
    expect([es.profile, es.ignored]).toEqual(['packetbeat8', ['output.elasticsearch.index']]);
    const output = (name: 'packetbeat5' | 'packetbeat7' | 'packetbeat8', patches = es.patches) => {
      const c = resolveConfig(name, patches);
      const stage = PROFILE_LIST.find((p) => p.name === name)!.topology(c).stages.find((st) => st.input === 'queue')!;
      return [c.queueSize, stage.batch.size, stage.instances];
    };
    // 2 hosts × worker 2; elasticsearch's bulk_max_size is 1600 in 8.13+, 50 before
    expect(output('packetbeat8')).toEqual([8192, 1600, 4]);
    expect(output('packetbeat7')).toEqual([8192, 50, 4]);
    // packetbeat 5's model keeps its one output worker: the keys are reported, not applied
    expect(resolveConfig('packetbeat5', es.patches).workers).toBe(resolveConfig('packetbeat5', []).workers);
    expect(unappliedKeys('packetbeat5', es.patches)).toEqual(['output.elasticsearch.hosts', 'output.elasticsearch.worker', 'queue.mem.events']);
    // queue.mem.* is Beats 6+'s: packetbeat 5's queue keeps its queue_size
    expect(resolveConfig('packetbeat5', es.patches).queueSize).toBe(1000);
    expect(unappliedKeys('packetbeat8', es.patches)).toEqual([]);
    // the logstash output fails over between hosts (one worker) unless loadbalance: true
    const ls = (extra: string) => readConfigFile(file('ls.yml', `output.logstash:\n  hosts: [a, b, c]\n  worker: 2\n  bulk_max_size: 512\n${extra}`)).patches;
    expect(output('packetbeat7', ls(''))).toEqual([4096, 512, 1]);
    expect(output('packetbeat7', ls('  loadbalance: true\n'))).toEqual([4096, 512, 6]);
    // the file output asks for no size: a get returns what one buffer (6/7) or MaxGetRequest (8.13+) gives
    const f = readConfigFile(file('file.yml', 'output.file:\n  path: /tmp\n')).patches;
    expect(output('packetbeat7', f)).toEqual([4096, 1_000_000, 1]);
    expect(output('packetbeat8', f)).toEqual([3200, 1600, 1]);
    // -E: the key alone
    expect(settingPatch('output.elasticsearch.bulk_max_size', '100', '-E: ')).toMatchObject({ batchSize: 100, onlyFor: ['packetbeat6', 'packetbeat7', 'packetbeat8'] });
    expect(settingPatch('output.redis.workers', '3', '-E: ')).toMatchObject({ workers: 3 });
    expect(() => settingPatch('output.logstash.worker', '3', '-E: ')).toThrow('-E: Expected `output.logstash.worker` to be given in the config file (this output has one worker unless loadbalance: true there), got `3`');
    expect(() => readConfigFile(file('h.yml', 'output.redis:\n  hosts: []\n'))).toThrow('Expected `output.redis.hosts` to be a list of one or more hosts, got `[]`');
  });

  it('a file that is not a mapping, and a value of the wrong kind under a known key, are errors naming them (shared/repro-inputs/config-*.yml)', () => {
    expect(() => readConfigFile(file('list.yml', '[1,2,3]\n'))).toThrow(`Expected \`-c\` to be a mapping of settings (key: value lines), got \`${join(dir, 'list.yml')}: a list\``);
    expect(() => readConfigFile(file('map.yml', 'queue_size: {a: 1}\n'))).toThrow('Expected `queue_size` to be a whole number from 1 to 100000000, got `{"a":1}`');
    expect(() => readConfigFile(file('bin.yml', 'queue_size: !!binary aGVsbG8=\n'))).toThrow(/^.*bin\.yml: Expected `queue_size` to be a whole number from 1 to 100000000, got `\{"type":"Buffer"/);
    // an empty file is no settings
    expect(readConfigFile(file('empty.yml', '')).patches).toEqual([]);
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
