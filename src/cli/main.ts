#!/usr/bin/env node
import { ANALYZE_USAGE, runAnalyze } from './analyze.js';
import { UsageError } from './errors.js';
import { errorReport, EXIT, EXIT_CODES_USAGE, exitCodeFor } from './exit.js';
import { GEN_USAGE, runGen } from './gen.js';
import { GOLDEN_USAGE, runGolden } from './golden.js';
import { REPLAY_USAGE, runReplay } from './replay.js';
import { REPRO_USAGE, runRepro } from './repro.js';
import { runSweep, SWEEP_REPLAY_OPTIONS, SWEEP_USAGE } from './sweep.js';
import { packageVersion } from './version.js';

interface Command {
  /** Its usage, in `lockstep --help`. */
  usage: string;
  /** What `lockstep CMD --help` adds to it. */
  more?: string;
  run(argv: string[]): Promise<{ code: number }> | { code: number };
}

const COMMANDS: Record<string, Command> = {
  repro: { usage: REPRO_USAGE, run: runRepro },
  replay: { usage: REPLAY_USAGE, run: runReplay },
  sweep: { usage: SWEEP_USAGE, more: SWEEP_REPLAY_OPTIONS, run: runSweep },
  analyze: { usage: ANALYZE_USAGE, run: runAnalyze },
  gen: { usage: GEN_USAGE, run: runGen },
  golden: { usage: GOLDEN_USAGE, run: runGolden },
};

const USAGE = `lockstep — deterministic replay of packet-analysis pipelines

Commands:
  repro             elastic/beats#3404 start to finish, on the bundled scenario
  replay CAPTURE    one run of the simulated pipeline: fates, counters, the line that replays it
  sweep CAPTURE     drops and losses over queue_size × waitstop × seeds; the smallest lossless settings
  analyze CAPTURE   every Redis transaction in a capture (the lossless ground truth)
  gen redis         a deterministic synthetic Redis capture
  golden            check the golden cases under golden/ (--update rewrites them)
lockstep CMD --help shows one command's options; lockstep --version its version.

${Object.values(COMMANDS).map((c) => c.usage).join('\n\n')}

${EXIT_CODES_USAGE}
`;

/** `--help` or `-h` anywhere before a `--` that ends the options. */
function wantsHelp(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = name === undefined ? undefined : COMMANDS[name];
  if (command) {
    if (!wantsHelp(rest)) return (await command.run(rest)).code;
    process.stdout.write(`${[command.usage, command.more, EXIT_CODES_USAGE].filter(Boolean).join('\n\n')}\n`);
    return EXIT.ok;
  }
  switch (name) {
    case '--version':
      process.stdout.write(`${packageVersion()}\n`);
      return EXIT.ok;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return name === undefined ? EXIT.userError : EXIT.ok;
    default:
      throw new UsageError(`lockstep: unknown command \`${name}\`; expected one of ${Object.keys(COMMANDS).join(', ')} (lockstep --help)`);
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(errorReport(e));
  process.exitCode = exitCodeFor(e);
}
