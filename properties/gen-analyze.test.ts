import { fc, test } from '@fast-check/vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe } from 'vitest';
import { generateRedisCapture, type GenOptions } from '../src/gen/redis.js';
import type { TcpMode } from '../src/tcp/stream.js';
import { expectManifest } from '../src/testing/manifest.js';
import { budget } from './budget.js';

const dir = mkdtempSync(join(tmpdir(), 'lockstep-prop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('capture side, whole path', () => {
  const genOptions: fc.Arbitrary<Partial<GenOptions>> = fc.record({
    transactions: fc.integer({ min: 0, max: 300 }),
    connections: fc.integer({ min: 1, max: 12 }),
    pipeline: fc.integer({ min: 1, max: 8 }),
    seed: fc.integer({ min: 0, max: 0xffff }),
    midstream: fc.integer({ min: 0, max: 6 }),
    gaps: fc.integer({ min: 0, max: 3 }),
    retransmissions: fc.integer({ min: 0, max: 5 }),
    duplicates: fc.integer({ min: 0, max: 5 }),
    reorder: fc.integer({ min: 0, max: 3 }),
    tail: fc.integer({ min: 0, max: 3 }),
    resp3: fc.constantFrom(0, 0.5, 1),
    ipv6: fc.boolean(),
    nanos: fc.boolean(),
  });

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
