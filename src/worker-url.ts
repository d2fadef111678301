import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** `src/` (or `dist/`): every module a thread loads lies under it. */
const ROOT = dirname(fileURLToPath(import.meta.url));
const FROM_SOURCES = import.meta.url.endsWith('.ts');
const cache = new Map<string, URL>();

/**
 * The script a `Worker` runs for module `name` (relative to `src/`, without
 * extension, e.g. `live/worker`). Built, it is the `.js` file in `dist/`.
 * Run from sources (vitest runs the `.ts` files, and Node 20 cannot), the
 * module and everything it imports are transpiled once with TypeScript (a dev
 * dependency, there when the sources are) into a temporary folder named by
 * their hash, so a thread always runs the code under test, never a stale `dist/`.
 */
export function workerUrl(name: string): URL {
  if (!FROM_SOURCES) return pathToFileURL(join(ROOT, `${name}.js`));
  let url = cache.get(name);
  if (url === undefined) {
    url = transpile(name);
    cache.set(name, url);
  }
  return url;
}

/** Node options that decide how a thread's modules load and what it warns about. */
const LOADING_OPTIONS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader', '--conditions', '-C', '--enable-source-maps', '--no-warnings', '--no-deprecation', '--trace-warnings', '--preserve-symlinks']);
/** Options whose value may follow as the next argument. */
const WITH_VALUE = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader', '--conditions', '-C', '--input-type', '--cpu-prof-dir', '--heap-prof-dir']);

/** The process's Node options that `keep` accepts (by name), each with its value. */
function execArgv(keep: (name: string) => boolean): string[] {
  const out: string[] = [];
  const args = process.execArgv;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg : arg.slice(0, eq);
    const takesNext = eq < 0 && WITH_VALUE.has(name) && i + 1 < args.length;
    if (keep(name)) {
      out.push(arg);
      if (takesNext) out.push(args[i + 1]!);
    }
    if (takesNext) i++;
  }
  return out;
}

/**
 * Starts a thread running {@link workerUrl}, with the process's Node options
 * (`--import`, `--cpu-prof`, …) but not `--input-type`, which a thread
 * started from `node --input-type=module -e` would refuse for its own file
 * (ERR_INPUT_TYPE_NOT_ALLOWED). A thread refuses V8 and process-wide options
 * such as `--max-semi-space-size` (ERR_WORKER_INVALID_EXEC_ARGV): then it
 * gets only the options that decide how its modules load.
 */
export function startWorker(url: URL, options: Omit<WorkerOptions, 'execArgv'>): Worker {
  try {
    return new Worker(url, { ...options, execArgv: execArgv((name) => name !== '--input-type') });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw e;
    return new Worker(url, { ...options, execArgv: execArgv((name) => LOADING_OPTIONS.has(name) || name.startsWith('--experimental-')) });
  }
}

/** Relative imports (`from './x.js'`, `import './y.js'`) of a module's source, type-only ones left out. */
function imports(text: string): string[] {
  const found: string[] = [];
  const re = /^(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?'(\.{1,2}\/[^']+)\.js';/gm;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) if (m[2] === undefined) found.push(m[3]!);
  return found;
}

function transpile(entry: string): URL {
  // the module graph from the entry, each file once
  const sources = new Map<string, string>();
  const todo = [join(ROOT, `${entry}.ts`)];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (sources.has(file)) continue;
    const text = readFileSync(file, 'utf8');
    sources.set(file, text);
    for (const spec of imports(text)) todo.push(join(dirname(file), `${spec}.ts`));
  }
  const files = [...sources].map(([file, text]) => ({ name: relative(ROOT, file).slice(0, -3), text })).sort((a, b) => (a.name < b.name ? -1 : 1));
  const hash = createHash('sha256');
  for (const s of files) hash.update(s.name).update('\0').update(s.text).update('\0');
  const dir = join(tmpdir(), `lockstep-worker-${hash.digest('hex').slice(0, 16)}`);
  const main = join(dir, `${entry}.js`);
  if (!existsSync(main)) {
    const ts = createRequire(import.meta.url)('typescript') as typeof import('typescript');
    const js = (s: { name: string; text: string }): [string, string] => [
      `${s.name}.js`,
      ts.transpileModule(s.text, {
        fileName: `${s.name}.ts`,
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      }).outputText,
    ];
    // the entry last: files appear by rename, so a concurrent test process finds all or nothing
    const out: [string, string][] = [['package.json', '{"type":"module"}\n'], ...files.filter((s) => s.name !== entry).map(js)];
    out.push(js(files.find((s) => s.name === entry)!));
    for (const [name, text] of out) {
      const target = join(dir, name);
      mkdirSync(dirname(target), { recursive: true });
      const tmp = `${target}.${process.pid}.tmp`;
      writeFileSync(tmp, text);
      renameSync(tmp, target);
    }
  }
  return pathToFileURL(main);
}
