import { describe, expect, it } from 'vitest';
import { runGolden } from './golden.js';

describe('lockstep golden', () => {
  it('golden --update is refused under CI, in one line, with exit 2', async () => {
    const saved = process.env.CI;
    const write = process.stderr.write;
    let err = '';
    process.env.CI = 'true';
    process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
    try {
      // --case names no case: were the refusal broken, this would throw rather than rewrite anything
      expect((await runGolden(['--update', '--case', 'no-such-case'])).code).toBe(2);
    } finally {
      process.stderr.write = write;
      if (saved === undefined) delete process.env.CI;
      else process.env.CI = saved;
    }
    expect(err.trimEnd().split('\n')).toHaveLength(1);
    expect(err).toContain('--update');
  });
});
