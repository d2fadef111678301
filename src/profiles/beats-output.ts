import type { ConfigPatch, ProfileName } from './profile.js';
import { ConfigError, parseWhole } from './values.js';

/** The profiles of Beats 6+ (the memory queue, its settings, an output stage reading it). */
export const BEATS6_PROFILES: readonly ProfileName[] = ['packetbeat6', 'packetbeat7', 'packetbeat8'];

/** An output section's keys that shape the pipeline: the rest of the section (index, ssl, …) is not modelled. */
const SHAPING = ['bulk_max_size', 'worker', 'workers', 'hosts', 'loadbalance'] as const;

/** A batch as large as the queue gives: an output with no `bulk_max_size` (file, console) asks for -1. */
const WHOLE_BUFFER = 1_000_000;

/**
 * Each output's `bulk_max_size` default and whether its hosts are balanced
 * (one worker per host × `worker`) or fail over (one worker), read at
 * elastic/beats:
 * - elasticsearch: 50 (libbeat/outputs/elasticsearch/config.go
 *   `defaultBulkSize = 50`, 6.x and 7.x), 1600 in 8.13 and later (the
 *   output's docs there: "The default is 1600"); `LoadBalance: true`;
 * - logstash: 2048 (outputs/logstash/config.go), `loadbalance: false`;
 * - redis: 2048, `LoadBalance: true` (outputs/redis/config.go);
 * - kafka: 2048, one client (outputs/kafka/kafka.go `outputs.Success(..., client)`);
 * - file, console: no size, one client (`outputs.Success(-1, ...)`).
 * `outputs.SuccessNet`: with `loadbalance` one client per host entry, else
 * one failover client; `outputs.ReadHostList` repeats each host `worker`
 * (alias `workers`) times.
 */
const OUTPUTS: Record<string, { bulk: (profile: ProfileName) => number; loadbalance: boolean | null }> = {
  elasticsearch: { bulk: (p) => (p === 'packetbeat8' ? 1600 : 50), loadbalance: true },
  logstash: { bulk: () => 2048, loadbalance: false },
  redis: { bulk: () => 2048, loadbalance: true },
  kafka: { bulk: () => 2048, loadbalance: null },
  file: { bulk: () => WHOLE_BUFFER, loadbalance: null },
  console: { bulk: () => WHOLE_BUFFER, loadbalance: null },
};

/** Whether lockstep models `output.TYPE` (its batch and workers). */
export function modelledOutput(type: string): boolean {
  return type in OUTPUTS;
}

/** `output.TYPE.KEY` → [TYPE, KEY] when KEY shapes the pipeline. */
export function outputKey(key: string): [string, string] | null {
  const m = /^output\.([a-z_]+)\.([a-z_]+)$/.exec(key);
  return m && (SHAPING as readonly string[]).includes(m[2]!) ? [m[1]!, m[2]!] : null;
}

/**
 * The output stage a Beats 6+ config file's `output.TYPE` section gives:
 * its batch (`bulk_max_size`, ≤ 0 meaning as large as the queue gives) and
 * its workers. One patch per group of profiles whose defaults differ; each
 * applies only to Beats 6+ profiles (packetbeat 5's model has one output
 * worker, as its oracle). `flat` has the file's dotted keys; `types` the
 * output sections present (`output.TYPE.*` or `output.TYPE: {}`).
 */
export function beatsOutputPatches(type: string, flat: Record<string, unknown>, where: string): ConfigPatch[] {
  const out = OUTPUTS[type];
  if (!out) return [];
  const key = (k: string) => `output.${type}.${k}`;
  const bulk = flat[key('bulk_max_size')];
  const given = bulk === undefined ? null : parseWhole(key('bulk_max_size'), bulk, -1, 1_000_000, where);
  // hostWorkerCfg.NumWorkers: `worker` wins over `workers`; less than 1 means 1
  const worker = flat[key('worker')] ?? flat[key('workers')];
  const perHost = Math.max(1, worker === undefined ? 1 : parseWhole(key('worker'), worker, 0, 1024, where));
  const hostList = flat[key('hosts')];
  const hosts = hostList === undefined ? 1 : Array.isArray(hostList) ? hostList.length : typeof hostList === 'string' ? 1 : -1;
  if (hosts < 1) throw new ConfigError(key('hosts'), 'a list of one or more hosts', hostList, where);
  const lbRaw = flat[key('loadbalance')];
  if (lbRaw !== undefined && typeof lbRaw !== 'boolean') throw new ConfigError(key('loadbalance'), 'true or false', lbRaw, where);
  const loadbalance = out.loadbalance === null ? false : (lbRaw ?? out.loadbalance);
  const workers = loadbalance ? Math.min(1024, perHost * hosts) : 1;
  const batch = (p: ProfileName) => (given === null ? out.bulk(p) : given <= 0 ? WHOLE_BUFFER : given);
  const groups: ProfileName[][] = [['packetbeat6', 'packetbeat7'], ['packetbeat8']];
  const keys = Object.keys(flat).filter((k) => k.startsWith(`output.${type}.`) && outputKey(k) !== null);
  return groups.map((onlyFor) => ({ batchSize: batch(onlyFor[0]!), workers, onlyFor, keys: keys.length > 0 ? keys : [`output.${type}`] }));
}

/**
 * One output key given alone (`-E output.elasticsearch.worker=4`): what it
 * says, over what the file gave. `hosts` and `loadbalance` need the rest of
 * the section: give them in the file.
 */
export function beatsOutputSetting(type: string, key: string, value: unknown, where: string): ConfigPatch {
  const full = `output.${type}.${key}`;
  if (!OUTPUTS[type]) throw new ConfigError(full, `a key of a modelled output (${Object.keys(OUTPUTS).join(', ')})`, value, where);
  const only = { onlyFor: BEATS6_PROFILES, keys: [full] };
  if (key === 'bulk_max_size') {
    const n = parseWhole(full, value, -1, 1_000_000, where);
    return { batchSize: n <= 0 ? WHOLE_BUFFER : n, ...only };
  }
  if (key === 'worker' || key === 'workers') {
    const lb = OUTPUTS[type]!.loadbalance;
    if (lb === null) return only;
    if (!lb) throw new ConfigError(full, 'given in the config file (this output has one worker unless loadbalance: true there)', value, where);
    return { workers: Math.max(1, parseWhole(full, value, 0, 1024, where)), ...only };
  }
  throw new ConfigError(full, `given in the config file with its output section (-E takes bulk_max_size and worker)`, value, where);
}

/** The output sections (`output.TYPE…`) of a file's dotted keys. */
export function outputTypes(flat: Record<string, unknown>): string[] {
  const types = new Set<string>();
  for (const k of Object.keys(flat)) {
    const m = /^output\.([a-z_]+)(\.|$)/.exec(k);
    if (m && flat[k] !== null && OUTPUTS[m[1]!] && flat[`output.${m[1]}.enabled`] !== false) types.add(m[1]!);
  }
  return [...types];
}
