/**
 * The CLI bundled: `dist/cli/main.js` and the chunks its commands load, in
 * place of the ~50 modules tsc emits for it. Each command still loads only
 * its own chunks; a cold `lockstep analyze` starts ~12 ms sooner (farm-bench,
 * in the commit that added this). The input is tsc's output, so the code that
 * runs is the code tsc checked and emitted; the library (`dist/index.js`)
 * stays as tsc emits it. Chunks stay beside `main.js`, at the same depth as
 * tsc's modules, so paths taken from `import.meta.url` hold in both.
 */
import { defineConfig } from 'rolldown';

export default defineConfig({
  input: 'dist/cli/main.js',
  platform: 'node',
  output: { dir: 'dist/cli', format: 'esm', entryFileNames: '[name].js', chunkFileNames: 'bundle-[name].js' },
});
