/**
 * lockstep in a user's own repository, as they get it: a throw-away project
 * installs lockstep from `npm pack`, keeps two golden cases of its own (made
 * with `lockstep golden --new`) and runs them with `npx vitest`; a change to a
 * case fails with its diff, `vitest -u` accepts it, and CI never does.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../test/support/cli.js';

const dir = scratchDir('lockstep-user-');
const project = join(dir, 'shipper-config');
const vitestVersion = JSON.parse(readFileSync('node_modules/vitest/package.json', 'utf8')).version as string;

/** A command in the project, without CI in its environment unless given; its exit code and output. */
function inProject(cmd: string, args: string[], env: Record<string, string> = {}): { code: number; out: string } {
  const { CI: _ci, GITHUB_ACTIONS: _gh, ...rest } = process.env;
  const r = spawnSync(cmd, args, { cwd: project, encoding: 'utf8', env: { ...rest, NO_COLOR: '1', ...env } });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

describe('a project of its own: npm pack, two golden cases, npx vitest', () => {
  it('passes, fails on a change with the diff, accepts it with vitest -u (never under CI)', () => {
    // the package as npm would publish it (dist is built by npm test)
    const tarball = execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], { encoding: 'utf8' }).trim().split('\n').at(-1)!;
    mkdirSync(join(project, 'captures'), { recursive: true });
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'shipper-config', private: true, type: 'module' }));
    const install = inProject('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(dir, tarball), `vitest@${vitestVersion}`]);
    expect(install.code, install.out).toBe(0);
    // the package carries its licence and the vitest helper
    expect(['LICENSE', 'README.md'].filter((f) => !readdirSync(join(project, 'node_modules', 'lockstep')).includes(f))).toEqual([]);
    const lockstep = (...args: string[]) => inProject('npx', ['lockstep', ...args]);
    expect(lockstep('gen', 'redis', '--transactions', '40', '--connections', '3', '--seed', '5', '--out', 'captures/peak.pcap').code).toBe(0);
    const made = [
      lockstep('golden', '--new', 'captures/peak.pcap', '--name', 'peak-packetbeat8', '--profile', 'packetbeat8', '--queue-size', '100'),
      lockstep('golden', '--new', 'captures/peak.pcap', '--name', 'peak-lossless', '--analyze'),
    ];
    expect(made.map((m) => m.code)).toEqual([0, 0]);
    expect(readdirSync(join(project, 'golden')).sort()).toEqual(['peak-lossless', 'peak-packetbeat8']);
    writeFileSync(join(project, 'golden.test.js'), "import { goldenTests } from 'lockstep/vitest';\ngoldenTests('golden');\n");

    const vitest = (...args: string[]) => inProject('npx', ['vitest', 'run', ...args]);
    const first = vitest();
    expect([first.code, first.out]).toEqual([0, expect.stringMatching(/Tests +2 passed \(2\)/)]);

    // a change to the config: the case fails, naming the number that moved and the command that accepts it
    const caseFile = join(project, 'golden', 'peak-packetbeat8', 'case.json');
    writeFileSync(caseFile, readFileSync(caseFile, 'utf8').replace('"packetbeat8"', '"packetbeat5"'));
    const failed = vitest();
    expect(failed.code).toBe(1);
    expect(failed.out).toMatch(/golden case peak-packetbeat8 .* does not match its expected output/);
    expect(failed.out).toMatch(/^- +"batchSize": 1600,$/m);
    expect(failed.out).toMatch(/^\+ +"batchSize": 1,$/m);
    expect(failed.out).toContain('npx lockstep golden --dir golden --update');
    // CI never updates: -u there still fails
    expect(inProject('npx', ['vitest', 'run', '-u'], { CI: 'true' }).code).toBe(1);
    expect(vitest('-u').code).toBe(0);
    expect(vitest().code).toBe(0);
    expect(lockstep('golden').out).toMatch(/2 golden cases match/);
  });
});
