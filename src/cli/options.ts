/**
 * `lockstep replay`'s options, one table: where the capture and settings come
 * from, the settings (pipeline/replay-line.ts, which also writes them back as
 * the replay line), and what a run writes. The usage text, the parseArgs
 * options and packetbeat's spellings are made from it.
 */
import { UsageError } from './errors.js';
import { CONFIG_FLAGS, type Flag } from '../pipeline/replay-line.js';
import { SETTING_KEYS } from '../profiles/index.js';

/** What parseArgs gives for a table of flags: a string (or strings) per valued flag, a boolean per switch. */
export type FlagValues<F extends readonly Flag[]> = {
  [E in F[number] as E['name']]?: E extends { value: string } ? (E extends { multiple: true } ? string[] : string) : boolean;
};

/** Where the capture and the settings come from; the flags of single settings override these. */
export const SOURCES = [
  { name: 'capture', value: 'FILE', packetbeat: '-I', help: 'the capture (or give it first, without a flag)' },
  { name: 'scenario', value: 'NAME', help: 'a bundled scenario (issue-3404): generated into .lockstep/ on first use, with its ports' },
  {
    name: 'config',
    value: 'FILE',
    packetbeat: '-c',
    help: `packetbeat.yml or logstash.yml (${SETTING_KEYS.join(', ')})`,
  },
  { name: 'set', value: 'KEY=VALUE', packetbeat: '-E', multiple: true, help: 'one of those keys, over the file' },
] as const satisfies readonly Flag[];

/** What a replay writes and prints. */
export const OUTPUTS = [
  { name: 'out', value: 'FILE', help: 'the published events, as NDJSON' },
  { name: 'output', value: 'stdout|none', help: 'or the events on stdout, or nowhere (the default)' },
  { name: 'ledger', value: 'FILE', help: 'the fate of every transaction, as NDJSON' },
  { name: 'stats', value: 'FILE', help: "Logstash's _node/stats/pipelines" },
  { name: 'json', help: 'the summary as one JSON object on stdout' },
  { name: 'check-determinism', help: 'run twice, hash every step, report the first divergence' },
  { name: 'plot', help: "the publisher queue's depth over simulated time, in the terminal" },
  { name: 'svg', value: 'FILE', help: 'the same chart as an SVG file' },
] as const satisfies readonly Flag[];

/** Every option of `lockstep replay`, in the order the usage lists them. */
export const REPLAY_OPTIONS: readonly Flag[] = [...SOURCES, ...CONFIG_FLAGS, ...OUTPUTS];

/** The flag of one setting (`ports`), for commands that take a few of replay's. */
export function configFlag(name: string): Flag {
  const flag = CONFIG_FLAGS.find((f) => f.name === name);
  if (!flag) throw new Error(`internal: no setting flag --${name}`);
  return flag;
}

const WIDTH = 100;
const COLUMN = 32;

/** Usage lines of a table of flags: the flag and its value, then what it does, wrapped. */
export function optionsUsage(flags: readonly Flag[]): string {
  const lines: string[] = [];
  for (const f of flags) {
    const value = f.value === undefined ? '' : ` ${f.value}`;
    let left = `  --${f.name}${value}${f.packetbeat ? `, ${f.packetbeat}${value}` : ''}`;
    if (left.length > COLUMN - 2) {
      lines.push(left);
      left = '';
    }
    let line = left.padEnd(COLUMN);
    for (const word of f.help.split(' ')) {
      if (line.length + word.length > WIDTH && line.trim() !== '') {
        lines.push(line.trimEnd());
        line = ' '.repeat(COLUMN);
      }
      line += `${word} `;
    }
    lines.push(line.trimEnd());
  }
  return lines.join('\n');
}

/** A number, as a flag with a bare value takes the next word only when it is one (`--jitter --seed 7`). */
const NUMBER = /^\d*\.?\d+$/;

/**
 * packetbeat's single-dash flags, turned into ours, and bare values filled in.
 * `-t` (topspeed) and `-I` (reading a file, paced by its timestamps unless -t)
 * say how to pace; `-e` and `-d` (log to stderr, debug selectors) do nothing here.
 */
export function translatePacketbeatArgs(argv: string[], flags: readonly Flag[]): { args: string[]; packetbeatStyle: boolean; topspeed: boolean } {
  const named = new Map<string, Flag>();
  for (const f of flags) {
    named.set(`--${f.name}`, f);
    if (f.packetbeat) named.set(f.packetbeat, f);
  }
  const args: string[] = [];
  let packetbeatStyle = false;
  let topspeed = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-t') {
      topspeed = true;
      continue;
    }
    if (a === '-e' || a === '-d') continue;
    if (a === '-I') packetbeatStyle = true;
    const flag = named.get(a);
    if (!flag) {
      args.push(a);
      continue;
    }
    args.push(`--${flag.name}`);
    if (flag.bare !== undefined) {
      const next = argv[i + 1];
      args.push(next !== undefined && NUMBER.test(next) ? argv[++i]! : flag.bare);
    }
  }
  return { args, packetbeatStyle, topspeed };
}

/**
 * Takes a command's own options out of `argv` (`--name value`, or a switch);
 * the rest is a replay command line. A command that runs replays (sweep,
 * calibrate) reads its settings from that rest.
 */
export function splitOwnFlags<F extends readonly Flag[]>(argv: string[], flags: F, command: string): { rest: string[]; own: FlagValues<F> } {
  const rest: string[] = [];
  const own: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const flag = flags.find((f) => `--${f.name}` === a);
    if (!flag) rest.push(a);
    else if (flag.value === undefined) own[flag.name] = true;
    else {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`lockstep ${command}: option '${a}' needs a value`);
      own[flag.name] = v;
    }
  }
  return { rest, own: own as FlagValues<F> };
}
