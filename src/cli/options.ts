/**
 * `lockstep replay`'s options, one table: where the capture and settings come
 * from, the settings (pipeline/replay-line.ts, which also writes them back as
 * the replay line), and what a run writes. The usage text, the parseArgs
 * options and packetbeat's spellings are made from it.
 */
import { UsageError } from './errors.js';
import { CONFIG_FLAGS, type Flag } from '../pipeline/replay-line.js';
import { SETTING_KEYS } from '../profiles/index.js';
import { GATE_OPTIONS } from './gate.js';

/** What parseArgs gives for a table of flags: a string (or strings) per valued flag, a boolean per switch. */
export type FlagValues<F extends readonly Flag[]> = {
  [E in F[number] as E['name']]?: E extends { value: string } ? (E extends { multiple: true } ? string[] : string) : boolean;
};

/** Where the capture and the settings come from; the flags of single settings override these. */
export const SOURCES = [
  { name: 'capture', value: 'FILE', packetbeat: '-I', help: 'the capture (or give it first, without a flag)' },
  { name: 'scenario', value: 'NAME', help: 'a bundled scenario (issue-3404): generated on first use into the cache ($XDG_CACHE_HOME/lockstep or ~/.cache/lockstep), with its ports' },
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
  { name: 'plot', help: "each queue's depth over simulated time, in the terminal, with the end of the capture and the shutdown marked" },
  { name: 'svg', value: 'FILE', help: 'the same chart as an SVG file' },
] as const satisfies readonly Flag[];

/** Every option of `lockstep replay`, in the order the usage lists them. */
export const REPLAY_OPTIONS: readonly Flag[] = [...SOURCES, ...CONFIG_FLAGS, ...OUTPUTS, ...GATE_OPTIONS];

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

/** packetbeat's switches that say nothing to a replay: log to stderr (`-e`), verbose (`-v`), no publishing to outputs (`-N`) aside. */
const PACKETBEAT_SWITCHES = new Set(['-e', '-v']);
/** packetbeat's flags with a value that say nothing to a replay: debug selectors (`-d publish`), the loop count (`-l`), paths. */
const PACKETBEAT_IGNORED = new Set(['-d', '-l', '-path.home', '-path.config', '-path.data', '-path.logs', '-dump', '-cpuprofile', '-memprofile', '-httpprof']);

/**
 * packetbeat's command line turned into ours, as Go's `flag` package reads
 * it (`-name value`, `-name=value`, `--name=value`, `-t` and `-t=true`):
 * - its flags (`-I`, `-c`, `-E`, `-waitstop`) become ours;
 * - `-t` (topspeed) and `-I` (reading a file, paced by its timestamps unless
 *   -t) say how to pace;
 * - `-e`, `-v` and `-d SELECTOR`, `-l N`, … do nothing here and are dropped
 *   with their values;
 * - `--name=value` of our flags is split, and a value that starts with a `-`
 *   and is a number (`--queue-size -1`) stays the flag's value, so its check
 *   says what is wrong with it;
 * - bare values are filled in (`--jitter` alone).
 */
export function translatePacketbeatArgs(argv: string[], flags: readonly Flag[]): { args: string[]; packetbeatStyle: boolean; topspeed: boolean } {
  const named = new Map<string, Flag>();
  for (const f of flags) {
    named.set(`--${f.name}`, f);
    if (f.packetbeat) {
      named.set(f.packetbeat, f);
      named.set(`-${f.packetbeat}`, f);
    }
  }
  const args: string[] = [];
  let packetbeatStyle = false;
  let topspeed = false;
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i]!;
    if (raw === '--') {
      args.push(...argv.slice(i));
      break;
    }
    // -name=value (Go), --name=value
    const eq = raw.startsWith('-') ? raw.indexOf('=') : -1;
    const a = eq > 0 ? raw.slice(0, eq) : raw;
    const inline = eq > 0 ? raw.slice(eq + 1) : undefined;
    const single = a.startsWith('--') && a.length > 2 && !named.has(a) ? a.slice(1) : a;
    if (single === '-t') {
      topspeed = inline === undefined || inline === 'true';
      continue;
    }
    if (PACKETBEAT_SWITCHES.has(single)) continue;
    if (PACKETBEAT_IGNORED.has(single)) {
      if (inline === undefined) i++;
      continue;
    }
    const flag = named.get(a) ?? named.get(single);
    if (!flag) {
      args.push(raw);
      continue;
    }
    if (flag.packetbeat === single || flag.packetbeat === a) packetbeatStyle ||= flag.name === 'capture';
    if (inline !== undefined && flag.value !== undefined) {
      args.push(`--${flag.name}=${inline}`);
      continue;
    }
    args.push(`--${flag.name}`);
    if (flag.value === undefined) continue;
    const next = argv[i + 1];
    if (flag.bare !== undefined) {
      args.push(next !== undefined && NUMBER.test(next) ? argv[++i]! : flag.bare);
    } else if (next !== undefined && SIGNED.test(next)) {
      // parseArgs takes a word starting with - for an option: give it as the value
      args[args.length - 1] = `--${flag.name}=${argv[++i]!}`;
    }
  }
  return { args, packetbeatStyle, topspeed };
}

/** A negative number, which parseArgs would take for an option. */
const SIGNED = /^-\d*\.?\d+$/;

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
