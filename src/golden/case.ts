/** Golden cases: `golden/NAME/case.json`, read and checked. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GEN_DEFAULTS, type GenOptions } from '../gen/redis.js';
import { ConfigError, parsePorts, PROFILE_DEFAULTS, PROFILES, type ConfigPatch, type ProfileName } from '../profiles/index.js';
import type { TcpMode } from '../tcp/stream.js';

/** The repository root: case.ts sits in src/golden/ and case.js in dist/golden/. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const GOLDEN_DIR = join(ROOT, 'golden');

/** Where a case's capture comes from. */
export type CaptureSpec =
  | { scenario: string }
  /** A committed capture, relative to the repository root, with its Redis ports or a file holding them. */
  | { file: string; ports?: number[]; portFile?: string }
  | { gen: Partial<GenOptions> };

/** What is run over the capture: a replay through a pipeline, or the lossless analysis. */
export type RunSpec = { replay: { profile: ProfileName; config: ConfigPatch } } | { analyze: { tcp: TcpMode } };

/** One golden case: `golden/NAME/case.json`, next to the output it must give. */
export interface GoldenCase {
  name: string;
  /** The case's directory (absolute). */
  dir: string;
  /**
   * What a committed capture's path is relative to: the directory that holds
   * the cases' directory (lockstep's repository root for its own `golden/`,
   * the user's project for theirs).
   */
  root: string;
  description: string;
  capture: CaptureSpec;
  run: RunSpec;
}

/** A JSON object (not null, not a list). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Same kind of JSON value (number, string, boolean, array, object) as `like`. */
function sameKind(v: unknown, like: unknown): boolean {
  if (Array.isArray(like)) return Array.isArray(v);
  if (isObject(like)) return isObject(v);
  return typeof v === typeof like;
}

function kindOf(v: unknown): string {
  return Array.isArray(v) ? 'a list' : isObject(v) ? 'an object' : `a ${typeof v}`;
}

/** Checks a partial object against a full one of defaults: known keys, values of the same kind. */
function checkPatch(where: string, prefix: string, patch: unknown, defaults: Record<string, unknown>): void {
  if (!isObject(patch)) throw new ConfigError(prefix, 'an object', JSON.stringify(patch), where);
  for (const [k, v] of Object.entries(patch)) {
    const key = `${prefix}.${k}`;
    if (!(k in defaults)) throw new ConfigError(key, `one of ${Object.keys(defaults).join(', ')}`, k, where);
    const like = defaults[k];
    if (isObject(like)) checkPatch(where, key, v, like);
    else if (!sameKind(v, like)) throw new ConfigError(key, kindOf(like), JSON.stringify(v), where);
  }
}

/** Reads and checks `dir/case.json`; errors name the file and the key. */
export function readCase(dir: string): GoldenCase {
  const file = join(dir, 'case.json');
  const root = dirname(dirname(resolve(dir)));
  const where = `${relative(process.cwd(), file) || file}: `;
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError('case.json', 'valid JSON', (e as Error).message.split('\n')[0], where);
  }
  if (!isObject(doc)) throw new ConfigError('case.json', 'an object', kindOf(doc), where);
  const known = ['description', 'capture', 'replay', 'analyze'];
  for (const k of Object.keys(doc)) if (!known.includes(k)) throw new ConfigError(k, `one of ${known.join(', ')}`, k, where);
  if (typeof doc.description !== 'string') throw new ConfigError('description', 'a string', JSON.stringify(doc.description), where);

  const c = doc.capture;
  let capture: CaptureSpec;
  if (isObject(c) && typeof c.scenario === 'string') capture = { scenario: c.scenario };
  else if (isObject(c) && typeof c.file === 'string') {
    if (c.ports === undefined && typeof c.portFile !== 'string') throw new ConfigError('capture.ports', 'a list of ports, or capture.portFile', 'nothing', where);
    capture = { file: c.file, ...(c.ports !== undefined ? { ports: parsePorts('capture.ports', c.ports, where) } : {}), ...(typeof c.portFile === 'string' ? { portFile: c.portFile } : {}) };
  } else if (isObject(c) && isObject(c.gen)) {
    checkPatch(where, 'capture.gen', c.gen, { ...GEN_DEFAULTS, packets: 0 });
    capture = { gen: c.gen as Partial<GenOptions> };
  } else {
    throw new ConfigError('capture', '{ "scenario": NAME }, { "file": PATH, "portFile": PATH } or { "gen": OPTIONS }', JSON.stringify(c), where);
  }

  let run: RunSpec;
  if (isObject(doc.replay) && doc.analyze === undefined) {
    const { profile, config = {} } = doc.replay;
    if (!PROFILES.includes(profile as ProfileName)) throw new ConfigError('replay.profile', `one of ${PROFILES.join(', ')}`, String(profile), where);
    checkPatch(where, 'replay.config', config, PROFILE_DEFAULTS.packetbeat5 as unknown as Record<string, unknown>);
    if ('profile' in (config as object)) throw new ConfigError('replay.config.profile', 'set as replay.profile', 'replay.config.profile', where);
    run = { replay: { profile: profile as ProfileName, config: config as ConfigPatch } };
  } else if (isObject(doc.analyze) && doc.replay === undefined) {
    const tcp = doc.analyze.tcp ?? 'reassemble';
    if (tcp !== 'reassemble' && tcp !== 'packetbeat') throw new ConfigError('analyze.tcp', 'reassemble or packetbeat', String(tcp), where);
    run = { analyze: { tcp } };
  } else {
    throw new ConfigError('case.json', 'one of "replay": { profile, config } or "analyze": { tcp }', Object.keys(doc).join(', '), where);
  }
  return { name: basename(dir), dir: resolve(dir), root, description: doc.description, capture, run };
}

/** Every case: each directory of `dir` (lockstep's own `golden/` by default) with a case.json, by name. */
export function goldenCases(dir = GOLDEN_DIR): GoldenCase[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ConfigError('--dir', 'a directory of golden cases (make one: lockstep golden --new CAPTURE --name NAME)', `${dir} (${err.code})`);
  }
  return entries
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'case.json')))
    .map((d) => d.name)
    .sort()
    .map((name) => readCase(join(dir, name)));
}
