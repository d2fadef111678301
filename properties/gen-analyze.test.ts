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
  // the shared capture arbitrary, plus the empty workload (its minimum is 20 transactions), plus the
  // opt-in kinds whose effect on the lossless view the manifest predicts (GenManifest.unpredicted):
  // unknown commands, inline commands and values over 10 MiB (one capture in 20: each is 7,000 packets)
  // in both modes; reused 4-tuples in reassemble mode
  const genOptions = fc
    .tuple(captureOptions, fc.boolean(), fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 19 }))
    .map(([o, empty, unknown, reuse, inline, big]) => ({ ...(empty ? { ...o, transactions: 0 } : o), unknown, reuse, inline, big: big === 19 ? 1 : 0, mss: 1448 }));

  let run = 0;
  test.prop([genOptions, fc.constantFrom<TcpMode>('reassemble', 'packetbeat')], budget(40))(
    'gen → analyze finds exactly what the manifest says went in',
    (given, mode) => {
      const opts = mode === 'reassemble' ? given : { ...given, reuse: 0 };
      const file = join(dir, `prop-${run++}.pcap`);
      generateRedisCapture({ ...opts, port: 6379 }, file);
      expectManifest(file, 6379, mode);
    },
  );
});
