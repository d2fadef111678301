import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withBadCaplen } from '../../test/support/capture.js';
import { lockstep, scratchDir } from '../../test/support/cli.js';

const dir = scratchDir('lockstep-cli-');

const capture = join(dir, 'small.pcap');
const gen = lockstep('gen', 'redis', '--transactions', '40', '--connections', '3', '--midstream', '2', '--seed', '5', '--out', capture);

describe('lockstep gen and analyze', () => {
  it('generates and analyzes, --json with every counter present', () => {
    expect(gen.code).toBe(0);
    const r = lockstep('analyze', capture, '--json');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.packets).toBe(JSON.parse(readFileSync(`${capture}.manifest.json`, 'utf8')).packets);
    expect(s.transactions).toBe(40);
    expect(Object.values(s.byMethod).reduce((a: number, b) => a + (b as number), 0)).toBe(40);
    expect(s.counters['redis.unmatched_responses']).toBe(2);
    expect(s.counters['tcp.dropped_because_of_gaps']).toBe(0);
    expect(Object.keys(s.counters)).toContain('redis.parse_errors');
  });

  it('prints a readable summary with packetbeat\'s closing line, without colour under NO_COLOR', () => {
    const r = lockstep('analyze', capture);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('40 transactions');
    expect(r.stdout).toMatch(/^Total non-zero values: {2}.*redis\.unmatched_responses=2/m);
    expect(r.stdout).not.toContain('\u001b[');
  });

  it('writes --events as NDJSON, one line per transaction', () => {
    const events = join(dir, 'events.ndjson');
    expect(lockstep('analyze', capture, '--events', events).code).toBe(0);
    const lines = readFileSync(events, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(40);
    expect(JSON.parse(lines[0]!)).toMatchObject({ type: 'redis', port: 6379 });
  });

  it('gives the same bytes for the same gen options', () => {
    const again = join(dir, 'again.pcap');
    lockstep('gen', 'redis', '--transactions', '40', '--connections', '3', '--midstream', '2', '--seed', '5', '--out', again);
    expect(readFileSync(again).equals(readFileSync(capture))).toBe(true);
  });
});

describe('help and version', () => {
  it.each(['replay', 'sweep', 'repro', 'analyze', 'gen', 'golden'])('lockstep %s --help and -h: its usage on stdout, exit 0', (command) => {
    for (const flag of ['--help', '-h']) {
      const r = lockstep(command, 'x.pcap', flag);
      expect([r.code, r.stderr]).toEqual([0, '']);
      expect(r.stdout).toMatch(new RegExp(`^lockstep ${command} `));
      expect(r.stdout).toMatch(/^Exit codes: 0 ok,[\s\S]* 70 internal error/m);
    }
  });

  it('lockstep --version: the version in package.json', () => {
    const r = lockstep('--version');
    expect([r.code, r.stdout]).toEqual([0, `${JSON.parse(readFileSync('package.json', 'utf8')).version}\n`]);
  });

  it('lockstep alone: the usage, exit 2; lockstep --help: the same, exit 0', () => {
    const none = lockstep();
    const help = lockstep('--help');
    expect([none.code, help.code]).toEqual([2, 0]);
    expect(none.stdout).toBe(help.stdout);
    expect(help.stdout).toContain('lockstep replay CAPTURE');
  });
});

describe('mistakes get one line and exit 2', () => {
  it.each([
    [['analyze', 'x.pcap', '--ports', 'abc'], /^Expected `--ports` to be a list of ports from 1 to 65535, such as 6379,7101, got `abc`\n$/],
    [['analyze', 'x.pcap', '--tcp', 'fast'], /^Expected `--tcp` to be one of reassemble, packetbeat, got `fast`\n$/],
    [['analyze'], /^lockstep analyze: expected one CAPTURE, got none\n$/],
    [['analyze', 'x.pcap', '--bogus'], /^lockstep analyze: Unknown option '--bogus'/],
    [['gen', 'redis', '--out', 'f.pcap', '--connections', '0'], /^Expected `--connections` to be a whole number from 1 to 60000, got `0`\n$/],
    [['gen', 'redis'], /^lockstep gen: `--out FILE` is required\n$/],
    [['gen', 'redis', '--out', join(dir, 'few.pcap'), '--connections', '9', '--packets', '10'], /^Expected `packets` to be at least \d+, what the connections and faults alone need, got `10`\n$/],
    [['frobnicate'], /^lockstep: unknown command `frobnicate`/],
    [['analyze', '/nonexistent/file.pcap'], /^\/nonexistent\/file.pcap: header at byte offset 0: cannot open: ENOENT\n$/],
  ])('%j', (args, message) => {
    const r = lockstep(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('a damaged capture: the summary of what came before, then the fault on one line', () => {
    const bad = join(dir, 'bad.pcap');
    const off = withBadCaplen(capture, 6, 1 << 20, bad);
    const r = lockstep('analyze', bad, '--json');
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).packets).toBe(5);
    expect(r.stderr).toBe(`lockstep: ${bad}: record 6 at byte offset ${off}: caplen 1048576 exceeds the maximum 262144\n`);
  });

  it('a file that is not a capture', () => {
    const junk = join(dir, 'junk.pcap');
    writeFileSync(junk, 'hello, world, not a capture');
    const r = lockstep('analyze', junk);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`${junk}: header at byte offset 0: bad magic 0x68656c6c; expected a pcap magic (a1b2c3d4, a1b23c4d, either byte order) or a pcapng section header (0a0d0d0a)\n`);
  });
});
