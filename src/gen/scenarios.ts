import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError } from '../profiles/values.js';
import { generateRedisCapture, GEN_DEFAULTS, MANIFEST_VERSION, PRESETS, type GenManifest } from './redis.js';

/**
 * Where bundled scenarios are generated on first use (deterministic, so a
 * cache, never committed): `$XDG_CACHE_HOME/lockstep`, else
 * `~/.cache/lockstep` — not the directory lockstep runs in. Where neither can
 * be made, the system's temporary directory.
 */
export function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  for (const dir of [join(base, 'lockstep'), join(tmpdir(), 'lockstep-cache')]) {
    try {
      mkdirSync(dir, { recursive: true });
      return dir;
    } catch {
      // not writable here: the next
    }
  }
  return join(tmpdir(), 'lockstep-cache');
}

/** The bundled scenario `path` is (its capture in the cache), or null. */
export function scenarioOf(path: string): string | null {
  const name = basename(path, '.pcap');
  return PRESETS[name] && path.endsWith('.pcap') && resolve(dirname(path)) === resolve(cacheDir()) ? name : null;
}

/** A capture named for people: a bundled scenario as `issue-3404 (bundled scenario)`, else its path. */
export function captureName(path: string): string {
  const name = scenarioOf(path);
  return name === null ? path : `${name} (bundled scenario)`;
}


export interface Scenario {
  capture: string;
  ports: number[];
}

/**
 * A bundled scenario: a `gen` preset with its seed, written to the cache
 * ({@link cacheDir}) as NAME.pcap the first time it is asked for (and again if
 * the preset or the manifest's shape changed).
 */
export function scenario(name: string): Scenario {
  const preset = PRESETS[name];
  if (!preset) throw new ConfigError('--scenario', `one of ${Object.keys(PRESETS).join(', ')}`, name);
  const options = { ...GEN_DEFAULTS, ...preset };
  const dir = cacheDir();
  const capture = join(dir, `${name}.pcap`);
  const manifest = `${capture}.manifest.json`;
  const made = existsSync(capture) && existsSync(manifest) ? (JSON.parse(readFileSync(manifest, 'utf8')) as Partial<GenManifest>) : null;
  const current = made !== null && made.version === MANIFEST_VERSION && JSON.stringify(made.options) === JSON.stringify(options);
  if (!current) {
    generateRedisCapture(options, capture);
  }
  return { capture, ports: [options.port] };
}
