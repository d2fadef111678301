/**
 * Issue 18, interruption and output faults: Ctrl-C or SIGTERM at any moment
 * of a large replay leaves whole lines and a summary that adds up; a full or
 * read-only filesystem is one line naming the user's path, exit 2, and no
 * file under a temporary or a final name.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, lockstep, scratchDir } from './support/cli.js';

const dir = scratchDir('lockstep-interrupt-');

/** A small seeded generator (mulberry32): the moments are the same on every run. */
function moments(seed: number, n: number, maxMs: number): number[] {
  let a = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out.push(Math.floor((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * maxMs));
  }
  return out;
}

function lines(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  // whole lines only: empty, or ending in a newline
  expect(text === '' || text.endsWith('\n'), file).toBe(true);
  return text.split('\n').filter(Boolean);
}

describe('a signal at any moment of a 300,000-transaction replay', () => {
  const capture = join(dir, 'big.pcap');

  it('SIGINT and SIGTERM, at eight seeded moments: exit 130, both files whole, and the summary says what they hold', async () => {
    expect(lockstep('gen', 'redis', '--transactions', '300000', '--connections', '64', '--seed', '7', '--out', capture).code).toBe(0);
    const delays = moments(18, 8, 1500);
    const seen: string[] = [];
    for (const [i, delay] of delays.entries()) {
      const signal = i % 2 === 0 ? 'SIGINT' : 'SIGTERM';
      const out = join(dir, `e${i}.ndjson`);
      const ledger = join(dir, `l${i}.ndjson`);
      const child = spawn(process.execPath, [BIN, 'replay', capture, '--profile', 'logstash', '--shutdown', 'drain', '--out', out, '--ledger', ledger, '--json'], {
        env: { ...process.env, NO_COLOR: '1' },
      });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      const closed = new Promise<number | null>((r) => child.on('close', r));
      // from the moment the run has begun (its temporary files exist), `delay` ms later
      while (!readdirSync(dir).some((f) => f.startsWith(`e${i}.ndjson.`) && f.endsWith('.tmp')) && child.exitCode === null) await new Promise((r) => setTimeout(r, 2));
      await new Promise((r) => setTimeout(r, delay));
      child.kill(signal);
      const code = await closed;
      const s = JSON.parse(stdout) as { interrupted: boolean; transactions: number; fates: Record<string, number> };
      // a run that ended before the signal came is whole: exit 0
      expect([code, s.interrupted], `${signal} after ${delay} ms`).toEqual(s.interrupted ? [130, true] : [0, false]);
      const events = lines(out);
      const fates = lines(ledger).map((l) => JSON.parse(l) as { id: number; fate: string });
      for (const e of events) JSON.parse(e);
      const total = Object.values(s.fates).reduce((a, b) => a + b, 0);
      expect([events.length, fates.length, fates.filter((f) => f.fate === 'published').length, new Set(fates.map((f) => f.id)).size]).toEqual([
        s.fates.published,
        total,
        s.fates.published,
        total,
      ]);
      // every transaction the run reached has a fate or is still on its way; none is counted twice
      expect(total).toBeLessThanOrEqual(s.transactions);
      if (!s.interrupted) expect(total).toBe(s.transactions);
      expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      seen.push(s.interrupted ? 'interrupted' : 'whole');
    }
    // the moments fall while the run goes on, not only before or after it
    expect(seen).toContain('interrupted');
  }, 180_000);
});

describe('a full or read-only filesystem', () => {
  // a 256 KiB tmpfs where the machine lets us mount one (root, as CI runs); /dev/full otherwise
  const mnt = join(dir, 'small');
  mkdirSync(mnt);
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt]).status === 0;
  afterAll(() => {
    if (mounted) spawnSync('umount', [mnt]);
  });

  it('ENOSPC mid-write on --out, --ledger, analyze --events and gen --out, or a read-only one: one line naming the path, exit 2, nothing left behind', () => {
    const at = (name: string) => (mounted ? join(mnt, name) : '/dev/full');
    const cases: [string[], string[]][] = [
      [['replay', '--scenario', 'issue-3404', '--out', at('e.ndjson')], [at('e.ndjson')]],
      [['replay', '--scenario', 'issue-3404', '--ledger', at('l.ndjson')], [at('l.ndjson')]],
      // both on the full filesystem: whichever fills it first is named
      [['replay', '--scenario', 'issue-3404', '--shutdown', 'drain', '--out', at('e.ndjson'), '--ledger', at('l.ndjson')], [at('e.ndjson'), at('l.ndjson')]],
      [['analyze', '--scenario', 'issue-3404', '--events', at('a.ndjson')], [at('a.ndjson')]],
      [['gen', 'redis', '--transactions', '20000', '--out', at('g.pcap')], [at('g.pcap')]],
    ];
    for (const [args, paths] of cases) {
      const r = lockstep(...args);
      const errors = r.stderr.split('\n').filter((l) => l.startsWith('lockstep:') && !l.startsWith('lockstep: warning:'));
      expect([r.code, errors.length], args.join(' ')).toEqual([2, 1]);
      expect(paths.map((p) => `lockstep: ${p}: no space left on device`)).toContain(errors[0]);
      // no partial file under the final name, nothing temporary
      if (mounted) expect(readdirSync(mnt)).toEqual([]);
    }
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    if (!mounted) return;
    // the same filesystem read-only
    expect(spawnSync('mount', ['-o', 'remount,ro', mnt]).status).toBe(0);
    try {
      for (const flag of ['--out', '--stats', '--ledger']) {
        const path = join(mnt, `x${flag}`);
        const r = lockstep('replay', '--scenario', 'issue-3404', flag, path);
        expect([r.code, r.stderr]).toEqual([2, `lockstep: ${path}: read-only file system\n`]);
      }
      expect(readdirSync(mnt)).toEqual([]);
    } finally {
      spawnSync('mount', ['-o', 'remount,rw', mnt]);
    }
  });
});
