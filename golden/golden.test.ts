import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// vitest's workers write to a pipe and say in FORCE_TTY whether vitest's own output is a terminal;
// chalk (loaded with the golden modules below, not before) takes FORCE_COLOR, so the diffs are coloured there too
if (process.env.FORCE_TTY === 'true' && process.env.FORCE_COLOR === undefined) process.env.FORCE_COLOR = '1';
const { GOLDEN_DIR, goldenCases, readCase } = await import('../src/golden/case.js');
const { compareCase, mismatchReport } = await import('../src/golden/expected.js');
const { goldenTests } = await import('../src/vitest.js');
const { runCase } = await import('../src/golden/run.js');

const cases = goldenCases();

describe('golden cases', () => {
  it('are all there: the issue scenario fourteen ways, the real capture, a pipelined RESP3 session', () => {
    const names = cases.map((c) => c.name);
    expect(names.filter((n) => n.startsWith('issue-3404-'))).toHaveLength(14);
    expect(names).toContain('issue-3404-packetbeat6');
    expect(names).toContain('issue-3404-vector');
    expect(names).toContain('issue-3404-packetbeat7');
    expect(names).toContain('issue-3404-packetbeat8');
    expect(names).toContain('issue-3404-logstash-pq-crash');
    expect(names).toContain('issue-3404-logstash-6.1.2');
    expect(names).toContain('real-redis-packetbeat8');
    expect(names).toContain('issue-3404-vector-drop-newest');
    expect(names).toContain('real-redis-logstash');
    expect(names).toContain('real-redis-packetbeat6');
    expect(names).toContain('pipelined-resp3-logstash');
  });
});

// every case, through the helper users run in their own projects (lockstep/vitest)
goldenTests('golden');

describe('a golden mismatch', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lockstep-golden-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('shows a unified diff of the number that changed and the command that accepts it', () => {
    const name = 'pipelined-resp3-logstash';
    cpSync(join(GOLDEN_DIR, name), join(dir, name), { recursive: true });
    const file = join(dir, name, 'expected.json');
    const text = readFileSync(file, 'utf8');
    const published = JSON.parse(text).summary.fates.published as number;
    writeFileSync(file, text.replace(`"published": ${published}`, `"published": ${published + 1}`));
    const c = readCase(join(dir, name));
    const r = compareCase(c, runCase(c));
    expect(r.ok).toBe(false);
    const plain = mismatchReport(c, r.diff).replace(/\u001b\[[0-9;]*m/g, '');
    expect(plain).toContain(`-      "published": ${published + 1}`);
    expect(plain).toContain(`+      "published": ${published}`);
    expect(plain).toContain('@@');
    // a directory other than lockstep's own golden/: the CLI with --dir
    expect(plain).toContain(`npx lockstep golden --dir ${relative(process.cwd(), dir)} --update`);
    expect(plain).not.toContain('events.head.ndjson');
  });

  it('a port file that does not hold ports: its case, its file and the one message every port list gives', () => {
    const name = 'bad-port-file';
    mkdirSync(join(dir, name));
    const portFile = join(dir, 'port.txt');
    writeFileSync(portFile, '7101\n0\n');
    writeFileSync(join(dir, name, 'case.json'), JSON.stringify({ description: 'x', capture: { file: 'x.pcap', portFile }, analyze: {} }));
    const c = readCase(join(dir, name));
    expect(() => runCase(c)).toThrow(/case\.json: .*port\.txt: Expected `capture\.portFile` to be a list of ports from 1 to 65535, such as 6379,7101, got `7101,0`$/);
  });
});
