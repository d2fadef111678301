#!/usr/bin/env node
import type { Command } from './command.js';
import { UsageError } from './errors.js';
import { errorReport, EXIT, EXIT_CODES_USAGE, exitCodeFor } from './exit.js';
import { packageVersion } from './version.js';

/**
 * Each command's module, loaded when that command runs: a command pays only
 * for what it imports (`analyze` needs no YAML, diff or thread code).
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  repro: async () => (await import('./repro.js')).command,
  replay: async () => (await import('./replay.js')).command,
  sweep: async () => (await import('./sweep.js')).command,
  calibrate: async () => (await import('./calibrate.js')).command,
  compare: async () => (await import('./compare.js')).command,
  crashes: async () => (await import('./crashes.js')).command,
  analyze: async () => (await import('./analyze.js')).command,
  gen: async () => (await import('./gen.js')).command,
  golden: async () => (await import('./golden.js')).command,
};

const usage = async () => `lockstep — deterministic replay of packet-analysis pipelines

Commands:
  repro             elastic/beats#3404 start to finish, on the bundled scenario
  replay CAPTURE    one run of the simulated pipeline: fates, counters, the line that replays it
  sweep CAPTURE     drops and losses over queue_size × waitstop × seeds; the smallest lossless settings
  calibrate CAPTURE the costs that reproduce runs you observed (published counts, uptimes)
  compare CAPTURE   one capture through every shipper, side by side
  crashes CAPTURE   the run crashed at N moments: what each crash lost and wrote twice
  analyze CAPTURE   every Redis transaction in a capture (the lossless ground truth)
  gen redis         a deterministic synthetic Redis capture
  golden            check the golden cases under golden/ (--update rewrites them)
lockstep CMD --help shows one command's options; lockstep --version its version.

${(await Promise.all(Object.values(COMMANDS).map((load) => load()))).map((c) => c.usage).join('\n\n')}

${EXIT_CODES_USAGE}
`;

/** `--help` or `-h` anywhere before a `--` that ends the options. */
function wantsHelp(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const load = name === undefined ? undefined : COMMANDS[name];
  if (load) {
    const command = await load();
    if (!wantsHelp(rest)) return (await command.run(rest)).code;
    process.stdout.write(`${[command.usage, command.more, EXIT_CODES_USAGE].filter(Boolean).join('\n\n')}\n`);
    return EXIT.ok;
  }
  switch (name) {
    case '--version':
      process.stdout.write(`${packageVersion()}\n`);
      return EXIT.ok;
    case undefined:
      // no command: a usage error, on stderr
      process.stderr.write(await usage());
      return EXIT.userError;
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(await usage());
      return EXIT.ok;
    default:
      throw new UsageError(`lockstep: unknown command \`${name}\`; expected one of ${Object.keys(COMMANDS).join(', ')} (lockstep --help)`);
  }
}

/**
 * A reader that left (`lockstep … | head`): the rest of stdout is dropped
 * quietly, and the command still finishes its work (every file it writes is
 * whole) and exits as it would have.
 */
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  process.stdout.write = (() => true) as typeof process.stdout.write;
});

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(errorReport(e));
  process.exitCode = exitCodeFor(e);
}
