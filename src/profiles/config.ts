import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ConfigPatch, PipelineConfig, ProfileName, Setting } from './profile.js';
import { PROFILE_LIST } from './registry.js';
import { ConfigError } from './values.js';
import { vectorKey } from './vector.js';
import { beatsOutputPatches, beatsOutputSetting, modelledOutput, outputKey, outputTypes } from './beats-output.js';

/**
 * The YAML and TOML parsers, loaded when a file is read (only `-c` needs
 * them): a command without one starts without their 81 modules.
 */
const load = createRequire(import.meta.url);
const parseYaml = (text: string): unknown => (load('yaml') as typeof import('yaml')).parse(text);
const parseToml = (text: string): unknown => (load('smol-toml') as typeof import('smol-toml')).parse(text);

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

/**
 * Flattens nested YAML maps into dotted keys, as Beats and Logstash read
 * them. A key lockstep reads keeps its value whole, whatever it is (a map or
 * binary under `queue_size` is that setting's error, not keys of its own).
 */
function flatten(obj: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  const plainMap = obj !== null && typeof obj === 'object' && !Array.isArray(obj) && !ArrayBuffer.isView(obj);
  if (plainMap && !(prefix in KEYS)) {
    for (const [k, v] of Object.entries(obj)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out[prefix] = obj;
  }
  return out;
}

/** Whether a config-file or `-E` key is one lockstep applies (else it is listed as ignored). */
export function isModelledSetting(key: string): boolean {
  const out = outputKey(key);
  return out ? modelledOutput(out[0]) : key in KEYS;
}

/** Applies one `key=value` (-E) or a YAML key; unknown keys are an error, naming the key. */
export function settingPatch(key: string, value: unknown, where = ''): ConfigPatch {
  // a Beats output's bulk_max_size, worker, …: its batch and workers, for Beats 6+ profiles
  const out = outputKey(key);
  if (out) return beatsOutputSetting(out[0], out[1], value, where);
  const apply = KEYS[key];
  if (!apply) throw new ConfigError(key, `a known setting (${Object.keys(KEYS).join(', ')})`, value, where);
  return apply(value, where);
}

/**
 * Which profile a config file implies, its settings, and the keys lockstep
 * does not model (outputs, logging, other protocols, …): read, listed, left alone.
 */
export function readConfigFile(path: string): { profile: ProfileName | null; reason: string; patches: ConfigPatch[]; ignored: string[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError('-c', 'a readable packetbeat.yml, logstash.yml or vector.yaml/.toml', `${path} (${(e as NodeJS.ErrnoException).code})`);
  }
  let doc: unknown;
  if (path.endsWith('.toml')) {
    try {
      doc = parseToml(text);
    } catch (e) {
      const line = (e as { line?: number }).line;
      throw new ConfigError('-c', 'valid TOML', `${path}${line ? `:${line}` : ''}: ${(e as Error).message.split('\n')[0]}`);
    }
  } else {
    try {
      doc = parseYaml(text);
    } catch (e) {
      const line = (e as { linePos?: { line: number }[] }).linePos?.[0]?.line;
      throw new ConfigError('-c', 'valid YAML', `${path}${line ? `:${line}` : ''}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  // a config file is a mapping of settings (an empty file is none)
  if (doc !== null && doc !== undefined && (typeof doc !== 'object' || Array.isArray(doc))) {
    throw new ConfigError('-c', 'a mapping of settings (key: value lines)', `${path}: ${Array.isArray(doc) ? 'a list' : `a ${typeof doc}`}`);
  }
  const flat = flatten(doc ?? {});
  // packetbeat also accepts `packetbeat.protocols: [{type: redis, ports: [...], send_request: true}, …]`: each
  // entry's keys as the map form names them (another protocol's are then listed as not modelled)
  const list = flat['packetbeat.protocols'];
  if (Array.isArray(list)) {
    delete flat['packetbeat.protocols'];
    for (const p of list as Record<string, unknown>[]) {
      const type = typeof p?.type === 'string' ? p.type : 'unnamed';
      for (const [k, v] of Object.entries(p ?? {})) if (k !== 'type') flat[`packetbeat.protocols.${type}.${k}`] = v;
    }
  }
  const patches: ConfigPatch[] = [];
  const ignored: string[] = [];
  let profile: ProfileName | null = null;
  let reason = '';
  // the memory queue's keys are Beats 6+'s (packetbeat 5 has queue_size): the newest release, unless --profile says
  const memqueue = Object.keys(flat).find((k) => k.startsWith('queue.mem.'));
  if (memqueue) {
    profile = 'packetbeat8';
    reason = `${memqueue} is Beats 6+'s; --profile packetbeat6 or packetbeat7 for releases before 8.13`;
  }
  // the output section shapes a Beats 6+ output stage (its batch and workers)
  const outputs = outputTypes(flat);
  for (const type of outputs) patches.push(...beatsOutputPatches(type, flat, `${path}: `));
  for (const [raw, value] of Object.entries(flat)) {
    if (outputKey(raw) && outputs.some((t) => raw.startsWith(`output.${t}.`))) continue;
    if (raw.startsWith('packetbeat.') || raw === 'queue_size' || raw === 'bulk_queue_size') profile ??= 'packetbeat5';
    if (raw.startsWith('pipeline.') || raw === 'queue.type') profile ??= 'logstash';
    if (/^(sources|transforms|sinks)\./.test(raw)) profile ??= 'vector';
    // a Vector sink's buffer, whatever the sink's ID (with several sinks, the last one's)
    const key = vectorKey(raw) ?? raw;
    if (key in KEYS) patches.push(settingPatch(key, value, `${path}: `));
    else ignored.push(raw);
  }
  if (profile && !reason) reason = `its keys are ${profile === 'packetbeat5' ? 'packetbeat 5' : profile === 'logstash' ? "Logstash's" : "Vector's"}`;
  return { profile, reason, patches, ignored };
}

/** The keys of the patches that do not apply to `profile` (a Beats output's keys under Logstash, …). */
export function unappliedKeys(profile: ProfileName, patches: readonly ConfigPatch[]): string[] {
  const applies = (p: ConfigPatch) => !p.onlyFor || p.onlyFor.includes(profile);
  // a key may give one patch per group of profiles: unapplied when none of them applies
  const applied = new Set(patches.filter(applies).flatMap((p) => p.keys ?? []));
  return [...new Set(patches.filter((p) => !applies(p)).flatMap((p) => p.keys ?? []))].filter((k) => !applied.has(k));
}

/** Profile defaults, then each patch in order (later wins). */
export function resolveConfig(profile: ProfileName, patches: ConfigPatch[]): PipelineConfig {
  const base = PROFILE_DEFAULTS[profile];
  let c: PipelineConfig = { ...base, costs: { ...base.costs } };
  for (const p of patches) {
    if (p.onlyFor && !p.onlyFor.includes(profile)) continue;
    const { costs, onlyFor: _onlyFor, keys: _keys, ...rest } = p;
    c = { ...c, ...rest, profile };
    if (costs) {
      for (const stage of ['analyzer', 'worker', 'output'] as const) {
        if (costs[stage]) c.costs = { ...c.costs, [stage]: { ...c.costs[stage], ...costs[stage] } };
      }
    }
  }
  return c;
}

