import { CaptureError, FILE_CODES } from '../pcap/errors.js';
import { ConfigError } from '../profiles/values.js';
import { LedgerImbalance } from '../pipeline/ledger.js';
import { UsageError } from './errors.js';

/** lockstep's exit codes, as the usage text lists them. */
export const EXIT = {
  ok: 0,
  /** --check-determinism found a divergence; golden cases do not match. */
  checkFailed: 1,
  userError: 2,
  ledgerImbalance: 3,
  /** --max-loss / --fail-on-loss: a run lost more events than allowed. */
  lossOverLimit: 4,
  /** EX_SOFTWARE (sysexits.h): a bug in lockstep. */
  internalError: 70,
  /** 128 + SIGINT. */
  interrupted: 130,
} as const;

export const EXIT_CODES_USAGE = `Exit codes: 0 ok, 1 check failed (--check-determinism, golden), 2 user error (one line on stderr),
  3 ledger imbalance, 4 more events lost than --max-loss / --fail-on-loss allow, 70 internal error (a bug:
  the stack on stderr), 130 interrupted`;

/** A file-system error that names its file (an --out directory that does not exist, a capture not readable). */
function fileError(e: unknown): e is NodeJS.ErrnoException & { path: string } {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && typeof (e as NodeJS.ErrnoException).path === 'string';
}

/** Only the typed errors a user can cause are their mistake: anything else (a RangeError, a stack overflow) is a bug. */
function userError(e: unknown): e is Error {
  return e instanceof UsageError || e instanceof ConfigError || e instanceof CaptureError || fileError(e);
}

/** The exit code of a run that ended with `e` thrown. */
export function exitCodeFor(e: unknown): number {
  if (userError(e)) return EXIT.userError;
  if (e instanceof LedgerImbalance) return EXIT.ledgerImbalance;
  return EXIT.internalError;
}

/** What stderr says about `e`: one line for a user's mistake or an imbalance; for a bug, its stack and where to take it. */
export function errorReport(e: unknown): string {
  if (fileError(e)) return `lockstep: ${e.path}: ${FILE_CODES[e.code!] ?? e.code}\n`;
  if (userError(e)) return `${e.message}\n`;
  if (e instanceof LedgerImbalance) return `lockstep: ${e.message}\n`;
  const message = e instanceof Error ? e.message : String(e);
  const stack = e instanceof Error && e.stack ? `${e.stack}\n` : '';
  return `lockstep: internal error: ${message}\n${stack}This is a bug in lockstep, not in how it was called: please report it with the command line and the lines above.\n`;
}
