import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseChoice, parseNumber, parseWhole } from '../profiles/values.js';
import { UsageError } from './errors.js';

/**
 * `node:util` parseArgs, its errors turned into one-line usage errors; an
 * unknown option gets the closest known one (`--queu-size`: did you mean
 * `--queue-size`?).
 */
export function parseWith<T extends ParseArgsConfig>(command: string, config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0]!;
    const unknown = /^Unknown option '([^']+)'/.exec(msg);
    if (unknown) {
      const near = closestName(unknown[1]!, Object.keys(config.options ?? {}));
      throw new UsageError(`lockstep ${command}: unknown option '${unknown[1]}'${near ? `; did you mean --${near}?` : ''} (lockstep ${command} --help lists them)`);
    }
    throw new UsageError(`lockstep ${command}: ${msg}`);
  }
}

/** The name closest to `given` (a misspelt option), or null when none is close: at most one edit per four letters. */
export function closestName(given: string, names: readonly string[]): string | null {
  const word = given.replace(/^-+/, '').split('=')[0]!;
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const name of names) {
    const d = editDistance(word, name);
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  return best !== null && bestDistance <= Math.max(1, Math.floor(word.length / 4)) ? best : null;
}

/** Levenshtein distance. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
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

/**
 * Ctrl-C and SIGTERM for a command that reads in slices: {@link requested}
 * turns true at a signal until {@link end}, and the command stops at its next
 * slice with every file whole. The handlers stay until the process exits: a
 * signal after `end` (while files are being finished) is ignored, where
 * Node's default action would kill the process with a file half renamed.
 */
export class StopSignals {
  requested = false;
  private listening = true;

  constructor() {
    const on = () => {
      if (this.listening) this.requested = true;
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  }

  end(): void {
    this.listening = false;
  }
}
