import { describe, expect, it } from 'vitest';
import { CaptureError } from '../pcap/errors.js';
import { ConfigError } from '../profiles/index.js';
import { LedgerImbalance } from '../pipeline/ledger.js';
import { UsageError } from './errors.js';
import { errorReport, exitCodeFor } from './exit.js';

function stackOverflow(): RangeError {
  const deeper = (n: number): number => deeper(n + 1) + 1;
  try {
    deeper(0);
  } catch (e) {
    return e as RangeError;
  }
  throw new Error('no overflow');
}

describe('exit codes', () => {
  it('a user’s mistake is 2', () => {
    expect(exitCodeFor(new UsageError('lockstep replay: expected one CAPTURE, got none'))).toBe(2);
    expect(exitCodeFor(new ConfigError('--queue-size', 'a whole number from 1 to 100000000', '0'))).toBe(2);
    expect(exitCodeFor(new CaptureError('x.pcap', 3, 100, 'caplen 1048576 exceeds the maximum 262144'))).toBe(2);
    expect(exitCodeFor(Object.assign(new Error("ENOENT: no such file or directory, open 'out/x.ndjson'"), { code: 'ENOENT', path: 'out/x.ndjson' }))).toBe(2);
  });

  it('a ledger imbalance is 3', () => {
    expect(exitCodeFor(new LedgerImbalance('transactions 5 != published 4 + ...'))).toBe(3);
  });

  it('anything else is a bug in lockstep, 70 (EX_SOFTWARE): a RangeError too, a stack overflow too', () => {
    expect(exitCodeFor(stackOverflow())).toBe(70);
    expect(exitCodeFor(new RangeError('Invalid array length'))).toBe(70);
    expect(exitCodeFor(new TypeError("Cannot read properties of undefined (reading 'depth')"))).toBe(70);
    expect(exitCodeFor('a string')).toBe(70);
  });
});

describe('what stderr says', () => {
  it('a user’s mistake: one line, as today', () => {
    expect(errorReport(new ConfigError('--queue-size', 'a whole number from 1 to 100000000', '0'))).toBe('Expected `--queue-size` to be a whole number from 1 to 100000000, got `0`\n');
    expect(errorReport(Object.assign(new Error('ENOENT'), { code: 'ENOENT', path: 'out/x.ndjson' }))).toBe('lockstep: out/x.ndjson: no such file or directory\n');
    expect(errorReport(new LedgerImbalance('transactions 5 != 4'))).toBe('lockstep: transactions 5 != 4\n');
  });

  it('a bug: the message, the stack, and a word to report it', () => {
    const e = new RangeError('Invalid array length');
    const lines = errorReport(e).trimEnd().split('\n');
    expect(lines[0]).toBe('lockstep: internal error: Invalid array length');
    expect(lines[1]).toBe('RangeError: Invalid array length');
    expect(lines[2]).toMatch(/^ {4}at /);
    expect(lines.at(-1)).toMatch(/^This is a bug in lockstep.*please report it/);
  });
});
