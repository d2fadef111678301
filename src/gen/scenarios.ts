import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../profiles/index.js';
import { generateRedisCapture, GEN_DEFAULTS, MANIFEST_VERSION, PRESETS, type GenManifest } from './redis.js';

/** Where bundled scenarios are generated on first use (deterministic, so a cache, never committed). */
export const SCENARIO_DIR = '.lockstep';

export interface Scenario {
  capture: string;
  ports: number[];
}

/**
 * A bundled scenario: a `gen` preset with its seed, written to `.lockstep/NAME.pcap`
 * the first time it is asked for (and again if the preset or the manifest's shape changed).
 */
export function scenario(name: string): Scenario {
  const preset = PRESETS[name];
  if (!preset) throw new ConfigError('--scenario', `one of ${Object.keys(PRESETS).join(', ')}`, name);
  const options = { ...GEN_DEFAULTS, ...preset };
  const capture = join(SCENARIO_DIR, `${name}.pcap`);
  const manifest = `${capture}.manifest.json`;
  const made = existsSync(capture) && existsSync(manifest) ? (JSON.parse(readFileSync(manifest, 'utf8')) as Partial<GenManifest>) : null;
  const current = made !== null && made.version === MANIFEST_VERSION && JSON.stringify(made.options) === JSON.stringify(options);
  if (!current) {
    mkdirSync(SCENARIO_DIR, { recursive: true });
    generateRedisCapture(options, capture);
  }
  return { capture, ports: [options.port] };
}
