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
