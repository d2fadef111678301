#!/usr/bin/env node
import { ANALYZE_USAGE, runAnalyze } from './analyze.js';
import { UsageError } from './errors.js';
import { errorReport, EXIT_CODES_USAGE, exitCodeFor } from './exit.js';
import { GEN_USAGE, runGen } from './gen.js';
import { REPLAY_USAGE, runReplay } from './replay.js';
import { SWEEP_USAGE, runSweep } from './sweep.js';
import { REPRO_USAGE, runRepro } from './repro.js';
import { GOLDEN_USAGE, runGolden } from './golden.js';

const USAGE = `lockstep — deterministic replay of packet-analysis pipelines

Commands:
  repro             elastic/beats#3404 start to finish, on the bundled scenario
  replay CAPTURE    one run of the simulated pipeline: fates, counters, the line that replays it
  sweep CAPTURE     drops and losses over queue_size × waitstop × seeds; the smallest lossless settings
  analyze CAPTURE   every Redis transaction in a capture (the lossless ground truth)
  gen redis         a deterministic synthetic Redis capture
  golden            check the golden cases under golden/ (--update rewrites them)

${REPRO_USAGE}

${REPLAY_USAGE}

${SWEEP_USAGE}

${ANALYZE_USAGE}

${GEN_USAGE}

${GOLDEN_USAGE}

${EXIT_CODES_USAGE}
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'replay':
      return (await runReplay(rest)).code;
    case 'sweep':
      return (await runSweep(rest)).code;
    case 'repro':
      return (await runRepro(rest)).code;
    case 'golden':
      return (await runGolden(rest)).code;
    case 'analyze':
      return runAnalyze(rest).code;
    case 'gen':
      return runGen(rest).code;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`lockstep: unknown command \`${command}\`; expected one of repro, replay, sweep, analyze, gen, golden (lockstep --help)`);
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(errorReport(e));
  process.exitCode = exitCodeFor(e);
}
