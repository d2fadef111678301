import { expected, UsageError } from './errors.js';

/** Runs a `node:util` parseArgs call, turning its errors into one-line usage errors. */
export function withUsage<T>(command: string, parseFn: () => T): T {
  try {
    return parseFn();
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0]!;
    throw new UsageError(`lockstep ${command}: ${msg}`);
  }
}

export function intOption(name: string, raw: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^-?\d+$/.test(raw.trim())) throw expected(`--${name}`, `a whole number from ${min} to ${max}`, raw);
  const n = Number(raw);
  if (n < min || n > max) throw expected(`--${name}`, `a whole number from ${min} to ${max}`, raw);
  return n;
}

export function numberOption(name: string, raw: string | undefined, min: number, max = Number.MAX_VALUE): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    throw expected(`--${name}`, `a number from ${min}${max === Number.MAX_VALUE ? ' up' : ` to ${max}`}`, raw);
  }
  return n;
}

export function portsOption(name: string, raw: string | undefined): number[] | undefined {
  if (raw === undefined) return undefined;
  const parts = raw.split(',').map((s) => s.trim());
  const ports = parts.map(Number);
  if (parts.length === 0 || parts.some((p) => !/^\d+$/.test(p)) || ports.some((p) => p < 1 || p > 65535)) {
    throw expected(`--${name}`, 'a comma-separated list of ports from 1 to 65535', raw);
  }
  return ports;
}

export function choiceOption<T extends string>(name: string, raw: string | undefined, choices: readonly T[]): T | undefined {
  if (raw === undefined) return undefined;
  if (!(choices as readonly string[]).includes(raw)) throw expected(`--${name}`, `one of ${choices.join(', ')}`, raw);
  return raw as T;
}

export function onePositional(positionals: string[], what: string, command: string): string {
  if (positionals.length !== 1) {
    throw new UsageError(`lockstep ${command}: expected one ${what}, got ${positionals.length === 0 ? 'none' : positionals.map((p) => `\`${p}\``).join(' ')}`);
  }
  return positionals[0]!;
}
