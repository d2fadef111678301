import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { ByteCopier } from './bytes.js';

/** Buffers that are parts of larger ones (a byteOffset), as the reader's and the arena's are. */
function pool(n: number, size: number): Buffer[] {
  const all = Buffer.allocUnsafeSlow(n * (size + 3) + 5);
  for (let i = 0; i < all.length; i++) all[i] = (i * 131 + 7) & 0xff;
  return Array.from({ length: n }, (_, k) => all.subarray(5 + k * (size + 3), 5 + k * (size + 3) + size));
}

describe('ByteCopier', () => {
  // more buffers than it keeps views of, so views are made again and replaced
  const copies = fc.array(
    fc.record({ src: fc.nat({ max: 8 }), dst: fc.nat({ max: 8 }), from: fc.nat({ max: 400 }), len: fc.nat({ max: 300 }), at: fc.nat({ max: 400 }) }),
    { minLength: 1, maxLength: 40 },
  );

  test.prop([copies])('copies exactly the range, short or long, between any of nine buffers', (ops) => {
    const mine = pool(9, 700);
    const theirs = mine.map((b) => Buffer.from(b));
    const c = new ByteCopier();
    for (const { src, dst, from, len, at } of ops) {
      if (src === dst) continue; // ranges of one buffer may overlap: not what it is for
      c.copy(mine[src]!, from, len, mine[dst]!, at);
      theirs[src]!.copy(theirs[dst]!, at, from, from + len);
      expect(mine[dst]!.equals(theirs[dst]!)).toBe(true);
    }
  });

  it('writes nothing outside the range, at every length around the 8-byte steps and the native threshold', () => {
    const c = new ByteCopier();
    const src = Buffer.from(Array.from({ length: 300 }, (_, i) => (i % 250) + 1));
    for (const len of [0, 1, 3, 7, 8, 9, 15, 16, 17, 127, 128, 129, 200]) {
      const dst = Buffer.alloc(320);
      c.copy(src, 11, len, dst, 5);
      expect(dst.subarray(0, 5).every((x) => x === 0)).toBe(true);
      expect(dst.subarray(5, 5 + len).equals(src.subarray(11, 11 + len))).toBe(true);
      expect(dst.subarray(5 + len).every((x) => x === 0)).toBe(true);
    }
  });
});
