import { isDeepStrictEqual } from 'node:util';
import { DRAWS_PER, type CostModel } from '../sim/cost.js';
import { TCP_MODES } from '../tcp/stream.js';
import { PACINGS, POLICIES, QUEUE_TYPES, SHUTDOWN_MODES, type Costs, type PipelineConfig } from './profile.js';
import { parseLogstashVersion } from './logstash.js';
import { PROFILES } from './registry.js';
import { ConfigError, parseBool, parseChoice, parseNumber, parsePorts, parseText, parseWhole } from './values.js';

/** Reads one setting's value under the name it was given as (`queueSize`, `--queue-size`), or throws a ConfigError. */
export type FieldCheck<T> = (key: string, value: unknown, where?: string) => T;

export const COST_STAGES = ['analyzer', 'worker', 'output'] as const satisfies readonly (keyof Costs)[];
export const COST_FIELDS = ['perPacket', 'perByte', 'perEvent', 'perBatch', 'warmup'] as const satisfies readonly (keyof CostModel)[];

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

const whole = (min: number, max?: number): FieldCheck<number> => (k, v, w) => parseWhole(k, v, min, max, w);
const number = (min: number, max?: number): FieldCheck<number> => (k, v, w) => parseNumber(k, v, min, max, w);
const choice = <T extends string>(choices: readonly T[]): FieldCheck<T> => (k, v, w) => parseChoice(k, v, choices, w);

function methods(key: string, v: unknown, where = ''): string[] {
  if (!Array.isArray(v) || v.some((m) => typeof m !== 'string' || m.trim() === '')) {
    throw new ConfigError(key, 'a list of Redis methods such as GET,PING', Array.isArray(v) ? v.join(',') : v, where);
  }
  return v;
}

function costs(key: string, v: unknown, where = ''): Costs {
  const stages = {} as Costs;
  for (const stage of COST_STAGES) {
    const model = isObject(v) ? v[stage] : undefined;
    if (!isObject(model)) throw new ConfigError(`${key}.${stage}`, `an object of ${COST_FIELDS.join(', ')} (ns)`, model, where);
    const m = {} as CostModel;
    for (const field of COST_FIELDS) m[field] = parseNumber(`${key}.${stage}.${field}`, model[field], 0, Infinity, where);
    stages[stage] = m;
  }
  return stages;
}

/**
 * Each field of {@link PipelineConfig}, checked with the parsers and bounds the
 * command-line flags use: one place says what a valid configuration is.
 */
export const FIELDS: { [K in keyof PipelineConfig]-?: FieldCheck<PipelineConfig[K]> } = {
  profile: choice(PROFILES),
  ports: (k, v, w) => parsePorts(k, v, w),
  tcp: choice(TCP_MODES),
  pacing: choice(PACINGS),
  speed: number(1e-6),
  queueSize: whole(1, 100_000_000),
  policy: choice(POLICIES),
  workers: whole(1, 1024),
  batchSize: whole(1, 1_000_000),
  batchDelayNs: whole(0),
  pipelineQueueSize: whole(0, 100_000_000),
  sourceQueueSize: whole(0, 100_000_000),
  drainPipeline: (k, v, w) => parseBool(k, v, w),
  waitstopNs: whole(0),
  shutdown: choice(SHUTDOWN_MODES),
  seed: whole(0, 0xffffffff),
  jitter: number(0, 10),
  drawsPer: choice(DRAWS_PER),
  costs,
  dropMethods: methods,
  outputFailureRate: number(0, 1),
  transactionTimeoutNs: whole(1),
  maxConnections: whole(1, 100_000_000),
  sendRequest: (k, v, w) => parseBool(k, v, w),
  sendResponse: (k, v, w) => parseBool(k, v, w),
  beatName: (k, v, w) => parseText(k, v, w),
  beatHostname: (k, v, w) => parseText(k, v, w),
  beatVersion: (k, v, w) => parseText(k, v, w),
  gcSlowdown: number(0, 100),
  gcHeapEvents: whole(1),
  flushMinEvents: whole(0, 100_000_000),
  flushTimeoutNs: whole(0),
  queueType: choice(QUEUE_TYPES),
  queueMaxEvents: whole(0, 1_000_000_000),
  queueMaxBytes: whole(0),
  queuePageCapacity: whole(1024),
  checkpointWrites: whole(0, 1_000_000_000),
  checkpointAcks: whole(0, 1_000_000_000),
  crashAtNs: whole(0),
  crashPowerLoss: (k, v, w) => parseBool(k, v, w),
  queueDrain: (k, v, w) => parseBool(k, v, w),
  logstashVersion: (k, v, w) => parseLogstashVersion(k, v, w),
};

/**
 * Checks every field of a configuration a library caller built, as the flags
 * would: a bad one throws a ConfigError naming the field, what was expected
 * and what arrived (``Expected `queueSize` to be a whole number from 1 to
 * 100000000, got `-3` ``). Returns the configuration unchanged.
 */
export function validateConfig(config: PipelineConfig): PipelineConfig {
  if (!isObject(config)) throw new ConfigError('config', 'an object', config);
  for (const key of Object.keys(FIELDS) as (keyof PipelineConfig)[]) {
    const value = config[key];
    const read = FIELDS[key](key, value);
    // the parsers also read the flags' text ("5", "true"); a configuration holds the values themselves
    if (!isDeepStrictEqual(read, value)) throw new ConfigError(key, `${JSON.stringify(read)} as a ${Array.isArray(read) ? 'list' : typeof read}`, JSON.stringify(value));
  }
  return config;
}
