// ---- value parsers, shared by flags, -E overrides, YAML keys and the library's checks ----

/** A bad option, config key or value: says which, what was expected and what was given. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly key: string, expectedWhat: string, got: unknown, where = '') {
    super(`${where}Expected \`${key}\` to be ${expectedWhat}, got \`${typeof got === 'string' || typeof got === 'number' ? got : JSON.stringify(got)}\``);
  }
}

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

const BYTE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3, tb: 1024 ** 4 };

/** A size as logstash.yml gives it (Logstash's ByteValue, 1024-based): `1024mb`, `64mb`, `4gb`, or bytes. Returns bytes. */
export function parseBytes(key: string, v: unknown, where = ''): number {
  const m = /^\s*(\d+)\s*(b|kb|mb|gb|tb)?\s*$/i.exec(String(v));
  if (typeof v === 'boolean' || v === null || v === undefined || !m) throw new ConfigError(key, 'a size such as 1024mb, 64mb, 4gb or a number of bytes', v, where);
  return Number(m[1]) * BYTE_UNITS[(m[2] ?? 'b').toLowerCase()]!;
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


/** A name (YAML may give it as a number): one line of printable text, at most 255 bytes. */
export function parseText(key: string, v: unknown, where = ''): string {
  const t = typeof v === 'number' && Number.isFinite(v) ? String(v) : v;
  if (typeof t !== 'string' || Buffer.byteLength(t) > 255 || /[\u0000-\u001f\u007f]/.test(t)) {
    throw new ConfigError(key, 'a name: one line of text, at most 255 bytes', v, where);
  }
  return t;
}
