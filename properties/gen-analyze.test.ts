import { fc, test } from '@fast-check/vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe } from 'vitest';
import { generateRedisCapture } from '../src/gen/redis.js';
import type { TcpMode } from '../src/tcp/stream.js';
import { expectManifest } from '../test/support/manifest.js';
import { captureOptions } from './arbitraries.js';
import { budget } from './budget.js';

const dir = mkdtempSync(join(tmpdir(), 'lockstep-prop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('capture side, whole path', () => {
  // the shared capture arbitrary, plus the empty workload (its minimum is 20 transactions)
  const genOptions = fc.tuple(captureOptions, fc.boolean()).map(([o, empty]) => (empty ? { ...o, transactions: 0 } : o));

  let run = 0;
  test.prop([genOptions, fc.constantFrom<TcpMode>('reassemble', 'packetbeat')], budget(40))(
    'gen → analyze finds exactly what the manifest says went in',
    (opts, mode) => {
      const file = join(dir, `prop-${run++}.pcap`);
      generateRedisCapture({ ...opts, port: 6379 }, file);
      expectManifest(file, 6379, mode);
    },
  );
});
