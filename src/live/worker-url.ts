import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The modules the output thread loads, in this folder; the entry last. */
const WORKER_MODULES = ['ring', 'output', 'worker'];

let fromSources: Promise<URL> | null = null;

/**
 * The script of live mode's output thread. Built (`dist/live/`), it is
 * `worker.js` beside this module. Run from sources (vitest runs the `.ts`
 * files, and Node 20 cannot), a `Worker` cannot load `worker.ts`: its three
 * modules are transpiled once with TypeScript (a dev dependency, there when
 * the sources are) into a temporary folder named by their hash, so the thread
 * always runs the code under test, never a stale `dist/`.
 */
export function liveWorkerUrl(): Promise<URL> {
  if (!import.meta.url.endsWith('.ts')) return Promise.resolve(new URL('./worker.js', import.meta.url));
  fromSources ??= transpileWorker();
  return fromSources;
}

async function transpileWorker(): Promise<URL> {
  const ts = (await import('typescript')).default;
  const sources = WORKER_MODULES.map((name) => ({
    name,
    text: readFileSync(fileURLToPath(new URL(`./${name}.ts`, import.meta.url)), 'utf8'),
  }));
  const hash = createHash('sha256');
  for (const s of sources) hash.update(s.name).update('\0').update(s.text).update('\0');
  const dir = join(tmpdir(), `lockstep-live-${hash.digest('hex').slice(0, 16)}`);
  const entry = join(dir, 'worker.js');
  if (!existsSync(entry)) {
    mkdirSync(dir, { recursive: true });
    const files: [string, string][] = [['package.json', '{"type":"module"}\n']];
    for (const s of sources) {
      const js = ts.transpileModule(s.text, {
        fileName: `${s.name}.ts`,
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      });
      files.push([`${s.name}.js`, js.outputText]);
    }
    // the entry last, each by rename: a concurrent test process sees all or nothing
    for (const [name, text] of files) {
      const tmp = join(dir, `${name}.${process.pid}.tmp`);
      writeFileSync(tmp, text);
      renameSync(tmp, join(dir, name));
    }
  }
  return pathToFileURL(entry);
}
