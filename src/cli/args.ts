import { parseChoice, parseNumber, parseWhole } from '../profiles/index.js';
import { UsageError } from './errors.js';

/** Runs a `node:util` parseArgs call, turning its errors into one-line usage errors. */
export function withUsage<T>(command: string, parseFn: () => T): T {
  try {
    return parseFn();
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0]!;
    throw new UsageError(`lockstep ${command}: ${msg}`);
  }
}

// The flags' values are checked by the parsers -E overrides and YAML keys use (pipeline/config.ts).
export function intOption(name: string, raw: string | undefined, min: number, max?: number): number | undefined {
  return raw === undefined ? undefined : parseWhole(`--${name}`, raw, min, max);
}

export function numberOption(name: string, raw: string | undefined, min: number, max?: number): number | undefined {
  return raw === undefined ? undefined : parseNumber(`--${name}`, raw, min, max);
}

export function choiceOption<T extends string>(name: string, raw: string | undefined, choices: readonly T[]): T | undefined {
  return raw === undefined ? undefined : parseChoice(`--${name}`, raw, choices);
}

export function onePositional(positionals: string[], what: string, command: string): string {
  if (positionals.length !== 1) {
    throw new UsageError(`lockstep ${command}: expected one ${what}, got ${positionals.length === 0 ? 'none' : positionals.map((p) => `\`${p}\``).join(' ')}`);
  }
  return positionals[0]!;
}
