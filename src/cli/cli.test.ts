import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withBadCaplen } from '../../test/support/capture.js';
import { BIN, lockstep, scratchDir } from '../../test/support/cli.js';

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

  it('lockstep alone: the usage on stderr, exit 2; lockstep --help: the same on stdout, exit 0', () => {
    const none = lockstep();
    const help = lockstep('--help');
    expect([none.code, help.code, none.stdout, help.stderr]).toEqual([2, 0, '', '']);
    expect(none.stderr).toBe(help.stdout);
    expect(help.stdout).toContain('lockstep replay CAPTURE');
  });
});

describe('mistakes get one line and exit 2', () => {
  it.each([
    [['analyze', 'x.pcap', '--ports', 'abc'], /^Expected `--ports` to be a list of ports from 1 to 65535, such as 6379,7101, got `abc`\n$/],
    [['analyze', 'x.pcap', '--tcp', 'fast'], /^Expected `--tcp` to be one of reassemble, packetbeat, got `fast`\n$/],
    [['analyze'], /^lockstep analyze: expected one CAPTURE, got none\n$/],
    [['analyze', 'x.pcap', '--bogus'], /^lockstep analyze: unknown option '--bogus' \(lockstep analyze --help lists them\)\n$/],
    [['replay', 'x.pcap', '--queu-size', '5'], /^lockstep replay: unknown option '--queu-size'; did you mean --queue-size\? \(lockstep replay --help lists them\)\n$/],
    [['replay', 'x.pcap', '--queue-size', '-1'], /^Expected `--queue-size` to be a whole number from 1 to 100000000, got `-1`\n$/],
    [['replay', 'x.pcap', '--queue-size=-1'], /^Expected `--queue-size` to be a whole number from 1 to 100000000, got `-1`\n$/],
    [['gen', 'redis', '--out', 'f.pcap', '--connections', '0'], /^Expected `--connections` to be a whole number from 1 to 60000, got `0`\n$/],
    [['gen', 'redis'], /^lockstep gen: `--out FILE` is required\n$/],
    // gen builds the capture in memory: sizes it cannot hold are refused, not run out of memory
    [['gen', 'redis', '--out', join(dir, 'huge.pcap'), '--transactions', '100000000'], /^Expected `--transactions` to be a whole number from 0 to 1000000, got `100000000`\n$/],
    [['gen', 'redis', '--out', join(dir, 'huge.pcap'), '--packets', '1000000000'], /^Expected `--packets` to be a whole number from 1 to 4000000, got `1000000000`\n$/],
    [['gen', 'redis', '--out', join(dir, 'few.pcap'), '--connections', '9', '--packets', '10'], /^Expected `packets` to be at least \d+, what the connections and faults alone need, got `10`\n$/],
    [['frobnicate'], /^lockstep: unknown command `frobnicate`/],
    [['analyze', '/nonexistent/file.pcap'], /^\/nonexistent\/file.pcap: cannot open: no such file or directory\n$/],
    // a directory, or a pipe (which cannot be read by position; a FIFO nobody writes would block the open)
    ...[['replay'], ['analyze'], ['sweep', '--queue-size', '1..10'], ['compare']].map(
      ([cmd, ...more]) => [[cmd!, dir, ...more], new RegExp(`^${dir}: is a directory, not a capture file\n$`)] as [string[], RegExp],
    ),
    [['replay', capture, '--out', join(dir, 'no', 'such', 'events.ndjson')], new RegExp(`^lockstep: ${dir}/no/such/events.ndjson: no such file or directory\n$`)],
    [['golden', '--dir', join(dir, 'no-cases')], /^Expected `--dir` to be a directory of golden cases \(make one: lockstep golden --new CAPTURE --name NAME\), got `.*no-cases \(ENOENT\)`\n$/],
    [['golden', '--new', capture], /^lockstep golden: --new needs --name NAME \(letters, digits, '\.', '_', '-'\), got ``\n$/],
    [['golden', '--name', 'x'], /^lockstep golden: --name, --description, --analyze and replay options go with --new CAPTURE\n$/],
    [['replay', '/dev/stdin'], /^\/dev\/stdin: not a regular file \(a pipe, socket or device\): lockstep reads a capture by position; save it to a file first\n$/],
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

describe('a command in a pipeline', () => {
  /** `lockstep ARGS | READER` in bash: lockstep's exit status and stderr, and what the reader printed. */
  function piped(reader: string, ...args: string[]): { code: number; stderr: string; stdout: string } {
    const errFile = join(dir, 'piped.err');
    const quoted = args.map((a) => `'${a}'`).join(' ');
    const r = spawnSync('bash', ['-c', `NO_COLOR=1 '${process.execPath}' ${BIN} ${quoted} 2>'${errFile}' | ${reader}; exit \${PIPESTATUS[0]}`], { encoding: 'utf8' });
    return { code: r.status!, stderr: readFileSync(errFile, 'utf8'), stdout: r.stdout };
  }

  it('a reader that leaves early (| head) ends nothing in error: no EPIPE, the usual exit code', () => {
    for (const args of [['replay', capture, '--output', 'stdout'], ['replay', capture, '--plot'], ['analyze', capture, '--events', '-'], ['gen', 'redis', '--help']]) {
      const r = piped('head -c 1 >/dev/null', ...args);
      expect([args.join(' '), r.code, r.stderr.includes('EPIPE')]).toEqual([args.join(' '), 0, false]);
    }
  });

  it('with the events on stdout (--output stdout, --out -), the summary goes to stderr: stdout is NDJSON only', () => {
    expect(lockstep('replay', capture, '--out', '-').stdout).toBe(lockstep('replay', capture, '--output', 'stdout').stdout);
    const a = lockstep('analyze', capture, '--events', '-');
    expect([a.code, a.stdout.trimEnd().split('\n').length, a.stderr]).toEqual([0, 40, expect.stringContaining('40 transactions')]);
    const r = lockstep('replay', capture, '--output', 'stdout');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.every((l) => JSON.parse(l).method !== undefined)).toBe(true);
    expect(r.stderr).toMatch(/^fate +events$/m);
    expect(r.stderr).toMatch(/^replay this run exactly: /m);
  });
});

describe("packetbeat's command line, as Go's flag package reads it", () => {
  it('-flag=value, --flag=value, -d SELECTOR, -e, -v, -t: accepted; -E keys lockstep does not model are listed, not fatal', () => {
    const r = lockstep('replay', '-I', capture, '-t', '-e', '-v', '-d', 'publish', '-waitstop=2', '-E', 'packetbeat.protocols.redis.ports=6379', '-E', 'logging.level=debug');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\(packetbeat5: queue 1000 drop, 1 worker, waitstop 2s then abort, topspeed\)/);
    expect(r.stderr).toBe('lockstep: warning: -E: not modelled, ignored: logging.level\n');
    expect(lockstep('replay', capture, '--waitstop=500ms').stdout).toMatch(/waitstop 0.5s then abort/);
  });
});

describe('the CI gate: --max-loss N, --fail-on-loss', () => {
  it('replay: exit 4 and one line when more than N are lost, else the usual 0', () => {
    const over = lockstep('replay', capture, '--queue-size', '1', '--fail-on-loss');
    expect([over.code, over.stderr]).toEqual([4, 'lockstep: lost 27 (dropped_queue_full 27): more than the 0 allowed\n']);
    expect(over.stdout).toMatch(/^dropped_queue_full +27$/m);
    expect(lockstep('replay', capture, '--queue-size', '1', '--max-loss', '27').code).toBe(0);
    expect(lockstep('replay', capture, '--queue-size', '1', '--max-loss', '26').code).toBe(4);
    expect(lockstep('replay', capture, '--max-loss', '-1').stderr).toBe('Expected `--max-loss` to be a whole number from 0 up, got `-1`\n');
  });

  it('compare: every shipper must keep within the limit; sweep: some setting in the range must', () => {
    const c = lockstep('compare', capture, '--profiles', 'packetbeat5,packetbeat6,logstash', '--fail-on-loss');
    expect([c.code, c.stderr]).toEqual([4, 'lockstep: packetbeat6: lost 40 (lost_at_shutdown 40): more than the 0 allowed\n']);
    expect(lockstep('compare', capture, '--profiles', 'packetbeat5,logstash,vector', '--fail-on-loss').code).toBe(0);
    const s = lockstep('sweep', capture, '--queue-size', '1..3', '--waitstop', '0', '--fail-on-loss');
    expect([s.code, s.stderr]).toEqual([4, 'lockstep: no setting in the sweep loses at most 0: the least lost is 32 (queue_size 3, waitstop 0s, seed 0)\n']);
    expect(lockstep('sweep', capture, '--queue-size', '1..50', '--fail-on-loss').code).toBe(0);
  });
});

describe('warnings that explain', () => {
  it('no traffic on the ports given: the busiest server ports in the capture', () => {
    const r = lockstep('replay', capture, '--ports', '7000,7001');
    // 40 transactions on 3 connections, 2 of them begun before the capture (no SYN seen)
    const busiest = 'the busiest server ports in the capture: 6379 (136 segments, 1 connection opened)';
    expect([r.code, r.stderr]).toEqual([0, `lockstep: warning: no TCP traffic on ports 7000,7001; ${busiest} — give --ports 6379?\n`]);
    expect(lockstep('analyze', capture, '--ports', '7000').stderr).toContain(busiest);
  });

  it('options that change nothing in this run say so', () => {
    const warn = (...args: string[]) => lockstep('replay', capture, ...args).stderr.split('\n').filter((l) => l.startsWith('lockstep: warning: '));
    expect(warn('--profile', 'logstash', '--seed', '3')).toEqual(['lockstep: warning: --seed changes nothing without --jitter or --output-failure-rate']);
    // packetbeat is a Go program: its seed orders what is due at one instant
    expect(warn('--profile', 'packetbeat6', '--seed', '3')).toEqual([]);
    expect(warn('--speed', '4')).toEqual(['lockstep: warning: --speed changes nothing at topspeed pacing (give --pacing timestamps)']);
    expect(warn('--speed', '4', '--pacing', 'timestamps')).toEqual([]);
    expect(warn('--profile', 'logstash', '--queue-size', '10')).toEqual([
      "lockstep: warning: --queue-size does not size Logstash's memory queue: it holds pipeline.batch.size × pipeline.workers (250 here)",
    ]);
    expect(warn('--check-determinism', '--ledger', join(dir, 'l.ndjson'))).toEqual(['lockstep: warning: --check-determinism runs twice in memory and writes nothing: --ledger ignored']);
  });
});

describe('the ledger joins its events', () => {
  it('each line carries the @timestamp, client, method and resource of its event: the published lines are the events, as a multiset', () => {
    const ledger = join(dir, 'join.ledger.ndjson');
    const events = join(dir, 'join.events.ndjson');
    expect(lockstep('replay', capture, '--queue-size', '3', '--ledger', ledger, '--out', events).code).toBe(0);
    const key = (o: Record<string, unknown>) => [o['@timestamp'], o.client_ip, o.client_port, o.method, o.resource].join(' ');
    const lines = (f: string) => readFileSync(f, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const published = lines(ledger).filter((l) => l.fate === 'published').map(key).sort();
    expect(published).toHaveLength(15);
    expect(published).toEqual(lines(events).map(key).sort());
    expect(lines(ledger).every((l) => typeof l['@timestamp'] === 'string' && typeof l.method === 'string' && typeof l.resource === 'string')).toBe(true);
  });
});

describe('the bundled scenario lives in a cache, not the current directory', () => {
  it('--scenario writes its capture under $XDG_CACHE_HOME/lockstep, and a replay line names it --scenario, which replays it', () => {
    const cache = join(dir, 'cache');
    const work = join(dir, 'work');
    mkdirSync(work, { recursive: true });
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [join(process.cwd(), BIN), ...args], { cwd: work, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', XDG_CACHE_HOME: cache } });
    const r = run('replay', '--scenario', 'issue-3404');
    expect(r.status).toBe(0);
    expect(readdirSync(work)).toEqual([]);
    expect(readdirSync(join(cache, 'lockstep')).sort()).toEqual(['issue-3404.pcap', 'issue-3404.pcap.manifest.json']);
    expect(r.stdout).toMatch(/^issue-3404 \(bundled scenario\) {2}72257 packets → 23498 transactions/);
    const line = /^replay this run exactly: lockstep replay (--scenario issue-3404 .*)$/m.exec(r.stdout)![1]!;
    const again = run('replay', ...line.split(' '));
    expect(again.stdout).toBe(r.stdout);
  });
});

describe('a config file says which shipper it is', () => {
  it('the profile a file gave, and why, on stderr; --profile overrides it; --json documents start with schemaVersion', () => {
    const yml = join(dir, 'pb.yml');
    writeFileSync(yml, 'queue.mem:\n  events: 64\npacketbeat.protocols.redis.ports: [6379]\n');
    const r = lockstep('replay', capture, '-c', yml);
    expect(r.stderr).toBe(`lockstep: ${yml}: profile packetbeat8 (queue.mem.events is Beats 6+'s; --profile packetbeat6 or packetbeat7 for releases before 8.13)\n`);
    expect(r.stdout).toMatch(/\(packetbeat8: queue 64 block/);
    const ls = join(dir, 'logstash.yml');
    writeFileSync(ls, 'pipeline.workers: 3\npipeline.id: main\npipeline.unsafe_shutdown: false\n');
    const l = lockstep('replay', capture, '-c', ls);
    expect(l.stderr).toBe(`lockstep: warning: ${ls}: not modelled, ignored: pipeline.id, pipeline.unsafe_shutdown\nlockstep: ${ls}: profile logstash (its keys are Logstash's)\n`);
    expect(lockstep('replay', capture, '-c', yml, '--profile', 'packetbeat6').stderr).toBe('');
    for (const args of [['replay', capture, '--json'], ['analyze', capture, '--json'], ['compare', capture, '--profiles', 'vector', '--json']]) {
      expect(Object.keys(JSON.parse(lockstep(...args).stdout))[0]).toBe('schemaVersion');
    }
  });
});

describe('interruption and output faults', () => {
  it('analyze: SIGTERM mid-read stops it (exit 130), the events read so far whole under their name, nothing temporary left', async () => {
    const out = join(dir, 'term.analyze.ndjson');
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [BIN, 'analyze', '--scenario', 'issue-3404', '--events', out], { env: { ...process.env, NO_COLOR: '1' } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    while (!readdirSync(dir).some((f) => f.startsWith('term.analyze.ndjson.') && f.endsWith('.tmp'))) await new Promise((r) => setTimeout(r, 5));
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect([code, stderr.trimEnd().split('\n').at(-1)]).toEqual([130, 'lockstep: interrupted: the figures above are what had been read so far']);
    const text = readFileSync(out, 'utf8');
    expect(text === '' || text.endsWith('\n')).toBe(true);
    for (const line of text.split('\n').filter(Boolean)) JSON.parse(line);
    expect(text.split('\n').filter(Boolean).length).toBeLessThan(23498);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('SIGTERM mid-run: exit 130, both files whole (every line JSON) under their names, nothing temporary left', async () => {
    const out = join(dir, 'term.events.ndjson');
    const ledger = join(dir, 'term.ledger.ndjson');
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [BIN, 'replay', '--scenario', 'issue-3404', '--out', out, '--ledger', ledger], { env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    // the run has begun once its temporary files exist
    while (!readdirSync(dir).some((f) => f.startsWith('term.events.ndjson.') && f.endsWith('.tmp'))) await new Promise((r) => setTimeout(r, 5));
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(code).toBe(130);
    expect(stdout).toContain('interrupted: the figures below are what had happened so far');
    for (const f of [out, ledger]) {
      const text = readFileSync(f, 'utf8');
      expect(text === '' || text.endsWith('\n')).toBe(true);
      for (const line of text.split('\n').filter(Boolean)) JSON.parse(line);
    }
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a full disk (/dev/full) or a missing directory: one line naming the user path, exit 2, no file left under a temporary name', () => {
    for (const args of [['--out', '/dev/full'], ['--ledger', '/dev/full'], ['--stats', '/dev/full'], ['--svg', '/dev/full'], ['--stats', join(dir, 'none', 's.json')]]) {
      const r = lockstep('replay', capture, ...args);
      const path = args[1]!;
      expect([r.code, r.stderr]).toEqual([2, `lockstep: ${path}: ${path === '/dev/full' ? 'no space left on device' : 'no such file or directory'}\n`]);
    }
    // gen too: the device is written in place and kept, the error names it
    const g = lockstep('gen', 'redis', '--transactions', '100', '--out', '/dev/full');
    expect([g.code, g.stderr, statSync('/dev/full').isCharacterDevice()]).toEqual([2, 'lockstep: /dev/full: no space left on device\n', true]);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('determinism under load', () => {
  it('a seeded replay writes the same bytes while other processes keep every core busy', async () => {
    const { spawn } = await import('node:child_process');
    const { cpus } = await import('node:os');
    const run = (tag: string) => {
      const out = join(dir, `load.${tag}.ndjson`);
      const ledger = join(dir, `load.${tag}.ledger.ndjson`);
      const r = lockstep('replay', '--scenario', 'issue-3404', '--profile', 'packetbeat6', '--jitter', '0.5', '--seed', '7', '--out', out, '--ledger', ledger, '--json');
      expect(r.code).toBe(0);
      return [readFileSync(out, 'utf8'), readFileSync(ledger, 'utf8'), r.stdout];
    };
    const quiet = run('quiet');
    // a busy loop per core, for longer than the replay takes
    const hogs = cpus().map(() => spawn(process.execPath, ['-e', 'const end = Date.now() + 20000; while (Date.now() < end);'], { stdio: 'ignore' }));
    try {
      await new Promise((r) => setTimeout(r, 200));
      const loaded = run('loaded');
      expect(loaded[0]).toBe(quiet[0]);
      expect(loaded[1]).toBe(quiet[1]);
      expect(loaded[2]).toBe(quiet[2]);
    } finally {
      for (const h of hogs) h.kill('SIGKILL');
    }
  });
});
