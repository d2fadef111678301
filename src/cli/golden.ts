import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { goldenCases, readCase } from '../golden/case.js';
import { compareCase, updateCase, updateCommand } from '../golden/expected.js';
import { PROFILE_DEFAULTS, type ConfigPatch, type PipelineConfig } from '../profiles/index.js';
import { UsageError } from './errors.js';
import { parseReplayArgs } from './replay.js';
import { runCase } from '../golden/run.js';
import { paint } from '../style.js';
import { choiceOption, parseWith } from './args.js';
import type { Command } from './command.js';

export const GOLDEN_USAGE = `lockstep golden [--dir DIR] [--update] [--case NAME]
lockstep golden [--dir DIR] --new CAPTURE --name NAME [--description TEXT] [--analyze] [replay options]

Checks the golden cases under DIR (default ./golden): each is a capture and a config (DIR/NAME/case.json)
with the summary and events they must give (expected.json, events.head.ndjson, events.sha256).
Prints ok or MISMATCH with a unified diff per case; exits 1 on any mismatch.
  --dir DIR          the cases' directory (default golden, in the current directory); a case's capture
                     file is named relative to DIR's parent (your project)
  --update           rewrite the expected files from this build; refused under CI
  --case NAME        only this case (repeatable)
  --new CAPTURE      write a new case DIR/NAME from a capture and replay options (--profile, --ports,
                     --queue-size, -c packetbeat.yml, …) or --analyze (the lossless view), with its
                     expected files from this build
  --name NAME        the new case's name
  --description TEXT what the new case shows`;

/** CI set to anything but empty, "false" or "0". */
function inCi(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
}

export async function runGolden(argv: string[]): Promise<{ code: number }> {
  const own = splitGoldenArgs(argv);
  const { values } = parseWith('golden', {
      args: own.args,
      allowPositionals: false,
      strict: true,
      options: {
        dir: { type: 'string' }, update: { type: 'boolean' }, case: { type: 'string', multiple: true },
        new: { type: 'string' }, name: { type: 'string' }, description: { type: 'string' }, analyze: { type: 'boolean' },
      },
    });
  const dir = resolve(values.dir ?? 'golden');
  if (values.new !== undefined) return newCase(dir, values.new, values.name, values.description, values.analyze === true, own.replay);
  if (values.name !== undefined || values.description !== undefined || values.analyze || own.replay.length > 0) {
    throw new UsageError('lockstep golden: --name, --description, --analyze and replay options go with --new CAPTURE');
  }
  if (values.update && inCi()) {
    process.stderr.write(`lockstep golden: --update is refused under CI (CI=${process.env.CI}); update golden files locally with ${updateCommand({ dir: join(dir, 'x') })} and commit them\n`);
    return { code: 2 };
  }
  let cases = goldenCases(dir);
  if (values.case) {
    const names = cases.map((c) => c.name);
    for (const n of values.case) choiceOption('case', n, names);
    cases = cases.filter((c) => values.case!.includes(c.name));
  }
  const width = Math.max(...cases.map((c) => c.name.length));
  let mismatches = 0;
  for (const c of cases) {
    const t0 = performance.now();
    const actual = runCase(c);
    const secs = `${((performance.now() - t0) / 1000).toFixed(1)} s`;
    const info = paint.dim(`${actual.headline}  ${secs}`);
    if (values.update) {
      const changed = updateCase(c, actual);
      const status = changed.length > 0 ? paint.yellow('updated  ') : paint.green('unchanged');
      process.stdout.write(`${status} ${c.name.padEnd(width)}  ${info}${changed.length > 0 ? `  (${changed.join(', ')})` : ''}\n`);
      continue;
    }
    const r = compareCase(c, actual);
    if (r.ok) {
      process.stdout.write(`${paint.green('ok      ')} ${c.name.padEnd(width)}  ${info}\n`);
    } else {
      mismatches++;
      process.stdout.write(`${paint.red('MISMATCH')} ${c.name.padEnd(width)}  ${info}\n${r.diff}\n`);
    }
  }
  if (values.update) return { code: 0 };
  if (mismatches > 0) {
    process.stdout.write(
      `${paint.red(`${mismatches} of ${cases.length} golden cases do not match.`)} If the changes are intended: ${paint.cyan(updateCommand({ dir: join(dir, 'x') }))}\n`,
    );
    return { code: 1 };
  }
  process.stdout.write(`${cases.length} golden cases match\n`);
  return { code: 0 };
}

/** golden's own options; with --new, the rest are replay options for the new case. */
const GOLDEN_FLAGS = new Set(['--dir', '--update', '--case', '--new', '--name', '--description', '--analyze']);
const GOLDEN_SWITCHES = new Set(['--update', '--analyze']);

function splitGoldenArgs(argv: string[]): { args: string[]; replay: string[] } {
  const args: string[] = [];
  const replay: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const name = a.split('=')[0]!;
    if (!GOLDEN_FLAGS.has(name)) {
      replay.push(a);
      continue;
    }
    args.push(a);
    if (!GOLDEN_SWITCHES.has(name) && !a.includes('=') && i + 1 < argv.length) args.push(argv[++i]!);
  }
  // without --new, what is not golden's is an unknown option of golden's
  return argv.some((a) => a === '--new' || a.startsWith('--new=')) ? { args, replay } : { args: [...args, ...replay], replay: [] };
}

/** The settings of `c` that are not its profile's defaults (ports and the profile itself aside): the case's `config`. */
function configPatch(c: PipelineConfig): ConfigPatch {
  const defaults = PROFILE_DEFAULTS[c.profile] as unknown as Record<string, unknown>;
  const patch: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) {
    if (k === 'profile' || k === 'ports') continue;
    if (JSON.stringify(v) !== JSON.stringify(defaults[k])) patch[k] = v;
  }
  return patch as ConfigPatch;
}

/** `--new CAPTURE --name NAME`: writes DIR/NAME/case.json and its expected files from this build. */
function newCase(dir: string, capture: string, name: string | undefined, description: string | undefined, analyze: boolean, replayArgs: string[]): { code: number } {
  if (name === undefined || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new UsageError(`lockstep golden: --new needs --name NAME (letters, digits, '.', '_', '-'), got \`${name ?? ''}\``);
  }
  const caseDir = join(dir, name);
  if (existsSync(join(caseDir, 'case.json'))) throw new UsageError(`lockstep golden: ${relative(process.cwd(), caseDir)} exists already: change its case.json, or give another --name`);
  const cli = parseReplayArgs([capture, ...replayArgs]);
  // the capture, named relative to the project (DIR's parent), so the case moves with it
  const file = relative(dirname(dir), resolve(capture));
  const doc = {
    description: description ?? `${analyze ? 'The lossless view of' : `${cli.config.profile} on`} ${file}`,
    capture: { file, ports: cli.config.ports },
    // the lossless view reassembles TCP unless --tcp says otherwise
    ...(analyze ? { analyze: { tcp: replayArgs.some((a) => a.startsWith('--tcp')) ? cli.config.tcp : 'reassemble' } } : { replay: { profile: cli.config.profile, config: configPatch(cli.config) } }),
  };
  mkdirSync(caseDir, { recursive: true });
  writeFileSync(join(caseDir, 'case.json'), `${JSON.stringify(doc, null, 2)}\n`);
  const c = readCase(caseDir);
  const written = updateCase(c);
  process.stdout.write(`${paint.green('new      ')} ${name}  ${paint.dim(`${relative(process.cwd(), caseDir)}: case.json, ${written.join(', ')}`)}\n`);
  return { code: 0 };
}

export const command: Command = { usage: GOLDEN_USAGE, run: runGolden };
