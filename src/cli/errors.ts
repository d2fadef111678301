/**
 * A mistake in how lockstep was called: names the option, what was expected
 * and what arrived (after p-queue's messages). The CLI prints it on one line
 * and exits 2.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function expected(option: string, what: string, got: unknown): UsageError {
  return new UsageError(`Expected \`${option}\` to be ${what}, got \`${String(got)}\``);
}

/**
 * The version of every `--json` document lockstep prints: its first key. It
 * changes when a key is renamed or removed, or its meaning or unit changes
 * (adding a key does not change it).
 */
export const JSON_SCHEMA_VERSION = 1;

/** One `--json` document: `schemaVersion` first, then `doc`'s keys, on one line. */
export function jsonLine(doc: object): string {
  return `${JSON.stringify({ schemaVersion: JSON_SCHEMA_VERSION, ...doc })}\n`;
}
