import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { ConfigPatch, PipelineConfig, ProfileName, Setting } from './profile.js';
import { PROFILE_LIST } from './registry.js';
import { ConfigError } from './values.js';

/** Each profile's every setting, as the system ships it. */
export const PROFILE_DEFAULTS: Record<ProfileName, PipelineConfig> = Object.fromEntries(
  PROFILE_LIST.map((p) => [p.name, { ...p.defaults, profile: p.name }]),
) as Record<ProfileName, PipelineConfig>;

/**
 * Settings by their packetbeat.yml / logstash.yml / -E names: every
 * profile's, each declared by the profile whose system reads it. A file or
 * `-E` may give any of them.
 */
const KEYS: Record<string, Setting> = Object.assign({}, ...PROFILE_LIST.map((p) => p.settings));

/** The keys a config file or `-E` may give, in the profiles' order. */
export const SETTING_KEYS: readonly string[] = Object.keys(KEYS);

/** Flattens nested YAML maps into dotted keys, as Beats and Logstash read them. */
function flatten(obj: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (obj !== null && typeof obj === 'object' && !Array.isArray(obj)) {
    for (const [k, v] of Object.entries(obj)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out[prefix] = obj;
  }
  return out;
}

/** Applies one `key=value` (-E) or a YAML key; unknown keys are an error, naming the key. */
export function settingPatch(key: string, value: unknown, where = ''): ConfigPatch {
  const apply = KEYS[key];
  if (!apply) throw new ConfigError(key, `a known setting (${Object.keys(KEYS).join(', ')})`, value, where);
  return apply(value, where);
}

/** Which profile a config file implies, and its settings. */
export function readConfigFile(path: string): { profile: ProfileName | null; patches: ConfigPatch[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError('-c', 'a readable packetbeat.yml or logstash.yml', `${path} (${(e as NodeJS.ErrnoException).code})`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    const line = (e as { linePos?: { line: number }[] }).linePos?.[0]?.line;
    throw new ConfigError('-c', 'valid YAML', `${path}${line ? `:${line}` : ''}: ${(e as Error).message.split('\n')[0]}`);
  }
  const flat = flatten(doc ?? {});
  // packetbeat 5.x also accepts `packetbeat.protocols: [{type: redis, ports: [...]}]`
  const list = flat['packetbeat.protocols'];
  if (Array.isArray(list)) {
    delete flat['packetbeat.protocols'];
    for (const p of list as { type?: unknown; ports?: unknown }[]) {
      if (p?.type === 'redis' && p.ports !== undefined) flat['packetbeat.protocols.redis.ports'] = p.ports;
    }
  }
  const patches: ConfigPatch[] = [];
  let profile: ProfileName | null = null;
  for (const [key, value] of Object.entries(flat)) {
    if (key.startsWith('packetbeat.') || key === 'queue_size' || key === 'bulk_queue_size') profile ??= 'packetbeat5';
    if (key.startsWith('pipeline.') || key === 'queue.type') profile ??= 'logstash';
    if (!(key in KEYS)) {
      // keys lockstep does not model (outputs, logging, other protocols) are read and left alone
      if (key.startsWith('packetbeat.protocols.redis.') || key.startsWith('pipeline.') || key.startsWith('queue.')) {
        throw new ConfigError(key, `a known setting (${Object.keys(KEYS).join(', ')})`, value, `${path}: `);
      }
      continue;
    }
    patches.push(settingPatch(key, value, `${path}: `));
  }
  return { profile, patches };
}

/** Profile defaults, then each patch in order (later wins). */
export function resolveConfig(profile: ProfileName, patches: ConfigPatch[]): PipelineConfig {
  const base = PROFILE_DEFAULTS[profile];
  let c: PipelineConfig = { ...base, costs: { ...base.costs } };
  for (const p of patches) {
    const { costs, ...rest } = p;
    c = { ...c, ...rest, profile };
    if (costs) {
      for (const stage of ['analyzer', 'worker', 'output'] as const) {
        if (costs[stage]) c.costs = { ...c.costs, [stage]: { ...c.costs[stage], ...costs[stage] } };
      }
    }
  }
  return c;
}

