import { readFileSync } from 'node:fs';

/** lockstep's version, read from its package.json (two folders up from src/cli/ and from dist/cli/). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
