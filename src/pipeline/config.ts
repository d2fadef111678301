import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { PROFILE_LIST } from '../profiles/index.js';
import type { CostModel, DrawsPer } from '../sim/cost.js';
import type { TcpMode } from '../tcp/stream.js';

export type Policy = 'drop' | 'block';
export type ShutdownMode = 'abort' | 'drain';
export type Pacing = 'topspeed' | 'timestamps';
export type ProfileName = 'packetbeat5' | 'packetbeat6' | 'logstash';
export const PROFILES: readonly ProfileName[] = ['packetbeat5', 'packetbeat6', 'logstash'];
export const POLICIES: readonly Policy[] = ['drop', 'block'];
export const SHUTDOWN_MODES: readonly ShutdownMode[] = ['abort', 'drain'];
export const PACINGS: readonly Pacing[] = ['topspeed', 'timestamps'];

/** Costs of the three kinds of stage, in simulated ns. */
export interface Costs {
  /** The capture → TCP → Redis analyzer: per packet, per byte, per transaction it completes. */
  analyzer: CostModel;
  /** Workers reading the publisher queue (packetbeat's publisher goroutine; Logstash's filters+outputs). */
  worker: CostModel;
  /** packetbeat's output worker behind the pipeline queue (unused without one). */
  output: CostModel;
}

/** The full effective configuration of a replay. Every field can be set on its own. */
export interface PipelineConfig {
  profile: ProfileName;
  ports: number[];
  tcp: TcpMode;
  pacing: Pacing;
  /** With `timestamps` pacing: capture time runs this many times faster. */
  speed: number;
  /** Capacity of the publisher queue (packetbeat's `queue_size`). */
  queueSize: number;
  /** What a full publisher queue does to the producer: drop the event, or block. */
  policy: Policy;
  workers: number;
  batchSize: number;
  /** Logstash's `pipeline.batch.delay`: how long a worker polls for more, restarted after each event. */
  batchDelayNs: number;
  /** packetbeat's pipeline queue between the publisher and the output worker; 0: workers write themselves. */
  pipelineQueueSize: number;
  /** On abort, the pipeline behind the publisher still drains (libbeat's publisher.Stop waits for its outputs). */
  drainPipeline: boolean;
  /** Simulated time between the end of the capture and shutdown (packetbeat's `-waitstop`). */
  waitstopNs: number;
  shutdown: ShutdownMode;
  seed: number;
  /** Log-normal sigma of the cost jitter; 0 = none. */
  jitter: number;
  /** Whether the jitter of a worker's service belongs to the service slot (default) or to the event served. */
  drawsPer: DrawsPer;
  costs: Costs;
  /** Events whose method is listed here are dropped by a filter (fate `filtered`). */
  dropMethods: string[];
  /** Chance that an output service fails its whole batch (fate `output_failed`). */
  outputFailureRate: number;
}

/** Each profile's every setting, as the system ships it (`src/profiles/`). */
export const PROFILE_DEFAULTS: Record<ProfileName, PipelineConfig> = Object.fromEntries(
  PROFILE_LIST.map((p) => [p.name, { ...p.defaults, profile: p.name }]),
) as Record<ProfileName, PipelineConfig>;

/** A bad option, config key or value: says which, what was expected and what was given. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly key: string, expectedWhat: string, got: unknown, where = '') {
    super(`${where}Expected \`${key}\` to be ${expectedWhat}, got \`${typeof got === 'string' || typeof got === 'number' ? got : JSON.stringify(got)}\``);
  }
}

// ---- value parsers, shared by flags, -E overrides and YAML keys ----

export function parseWhole(key: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER, where = ''): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(key, `a whole number from ${min}${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`}`, v, where);
  }
  return n;
}

export function parseNumber(key: string, v: unknown, min: number, max = Infinity, where = ''): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new ConfigError(key, `a number from ${min}${max === Infinity ? ' up' : ` to ${max}`}`, v, where);
  }
  return n;
}

const UNITS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** A duration: `5` (seconds, as packetbeat's -waitstop), `5s`, `500ms`, `2m`, `100us`, `1.5s`. Returns ns. */
export function parseDuration(key: string, v: unknown, where = '', bareUnit = 's'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s|m|h)?\s*$/.exec(String(v));
  if (typeof v === 'boolean' || v === null || v === undefined || !m) {
    throw new ConfigError(key, 'a duration such as 5, 5s, 500ms or 2m', v, where);
  }
  return Math.round(Number(m[1]) * UNITS[m[2] ?? bareUnit]!);
}

/** Redis server ports: `6379,7101`, `[6379, 7101]` or a list; the one check of every port list (flags, YAML, -E, case files, the library). */
export function parsePorts(key: string, v: unknown, where = ''): number[] {
  const list = Array.isArray(v) ? v : String(v).replace(/^\[|\]$/g, '').split(',');
  const ports = list.map((p) => (typeof p === 'number' ? p : /^\s*\d+\s*$/.test(String(p)) ? Number(p) : NaN));
  if (ports.length === 0 || ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) {
    throw new ConfigError(key, 'a list of ports from 1 to 65535, such as 6379,7101', Array.isArray(v) ? v.join(',') : v, where);
  }
  return ports;
}

export function parseChoice<T extends string>(key: string, v: unknown, choices: readonly T[], where = ''): T {
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) throw new ConfigError(key, `one of ${choices.join(', ')}`, v, where);
  return v as T;
}

export function parseBool(key: string, v: unknown, where = ''): boolean {
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw new ConfigError(key, 'true or false', v, where);
}

/** A partial configuration: what one source (file, -E, flags) sets. */
export type ConfigPatch = Partial<Omit<PipelineConfig, 'costs'>> & { costs?: Partial<{ [K in keyof Costs]: Partial<CostModel> }> };

/**
 * Settings by their packetbeat.yml / logstash.yml / -E names. Each maps a raw
 * value onto the configuration, validating it under that name.
 */
const KEYS: Record<string, (v: unknown, where: string) => ConfigPatch> = {
  queue_size: (v, w) => {
    const n = parseWhole('queue_size', v, 1, 100_000_000, w);
    return { queueSize: n, pipelineQueueSize: n };
  },
  bulk_queue_size: (v, w) => {
    // packetbeat 5: the flows channel; blocking, and Redis transactions never use it
    parseWhole('bulk_queue_size', v, 0, 100_000_000, w);
    return {};
  },
  'packetbeat.protocols.redis.ports': (v, w) => ({ ports: parsePorts('packetbeat.protocols.redis.ports', v, w) }),
  'packetbeat.shutdown_timeout': (v, w) => ({ waitstopNs: parseDuration('packetbeat.shutdown_timeout', v, w) }),
  shutdown_timeout: (v, w) => ({ waitstopNs: parseDuration('shutdown_timeout', v, w) }),
  'queue.mem.events': (v, w) => ({ queueSize: parseWhole('queue.mem.events', v, 1, 100_000_000, w) }),
  'pipeline.workers': (v, w) => ({ workers: parseWhole('pipeline.workers', v, 1, 1024, w) }),
  'pipeline.batch.size': (v, w) => ({ batchSize: parseWhole('pipeline.batch.size', v, 1, 1_000_000, w) }),
  'pipeline.batch.delay': (v, w) => ({ batchDelayNs: parseDuration('pipeline.batch.delay', v, w, 'ms') }),
  'queue.type': (v, w) => {
    if (parseChoice('queue.type', v, ['memory', 'persisted'], w) === 'persisted') {
      throw new ConfigError('queue.type', 'memory (lockstep models the memory queue only)', v, w);
    }
    return {};
  },
};

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

