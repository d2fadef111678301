import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { Control, StopMode } from './output.js';
import { Ring } from './ring.js';
import type { ThreadData } from './worker.js';
import { THREAD_SCRIPT } from './live.js';

const text = (b: Uint8Array | null) => (b === null ? null : Buffer.from(b).toString('utf8'));

describe('Ring', () => {
  it('gives records back in the order they were pushed, then null', () => {
    const ring = Ring.create(8);
    expect(ring.tryPush(Buffer.from('SET key3'))).toBe(true);
    expect(ring.tryPushText('GET key3')).toBe(true);
    expect(ring.tryPush(new Uint8Array(0))).toBe(true);
    expect(ring.size).toBe(3);
    expect(text(ring.pop())).toBe('SET key3');
    expect(text(ring.pop())).toBe('GET key3');
    expect(text(ring.pop())).toBe('');
    expect(ring.pop()).toBeNull();
    expect([ring.pushed, ring.popped, ring.size]).toEqual([3, 3, 0]);
  });

  it('refuses a push when it holds `capacity` events, and takes one again after a pop', () => {
    const ring = Ring.create(3);
    for (const s of ['a', 'b', 'c']) expect(ring.tryPushText(s)).toBe(true);
    expect(ring.tryPushText('d')).toBe(false);
    expect(ring.tryPush(Buffer.from('d'))).toBe(false);
    expect(ring.size).toBe(3);
    expect(text(ring.pop())).toBe('a');
    expect(ring.tryPushText('d')).toBe(true);
    expect([text(ring.pop()), text(ring.pop()), text(ring.pop()), ring.pop()]).toEqual(['b', 'c', 'd', null]);
  });

  it('refuses a push when the bytes are full, before the event count is', () => {
    // 64 bytes: two 20-byte records take 2 × 24
    const ring = Ring.create(100, 64);
    expect(ring.byteCapacity).toBe(64);
    expect(ring.tryPush(new Uint8Array(20))).toBe(true);
    expect(ring.tryPush(new Uint8Array(20))).toBe(true);
    expect(ring.tryPush(new Uint8Array(20))).toBe(false);
    expect(ring.tryPush(new Uint8Array(12))).toBe(true);
    expect(ring.size).toBe(3);
  });

  it('wraps around its bytes: records of every length come back whole', () => {
    const ring = Ring.create(5, 128);
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 5000; round++) {
      // lengths 0..60 in a pattern that leaves every offset before the end
      while (ring.tryPushText(String(next).padEnd((next * 7) % 61, '.'))) next++;
      const take = 1 + (round % 3);
      for (let i = 0; i < take; i++) {
        const got = text(ring.pop());
        if (got === null) break;
        expect(got).toBe(String(expected).padEnd((expected * 7) % 61, '.'));
        expected++;
      }
    }
    while (text(ring.pop()) === String(expected).padEnd((expected * 7) % 61, '.')) expected++;
    expect(expected).toBe(next);
    expect(next).toBeGreaterThan(5000);
  });

  it('keeps counting across the 32-bit overflow of its counters', () => {
    const fresh = Ring.create(4, 64);
    // head, headBytes (words 0, 1) and tail, tailBytes (16, 17): an empty ring just before 2^31
    const words = new Int32Array(fresh.buffer);
    for (const w of [0, 1, 16, 17]) words[w] = 2 ** 31 - 6;
    const ring = Ring.attach(fresh.buffer);
    for (let i = 0; i < 40; i++) {
      expect(ring.tryPushText(`r${i}`)).toBe(true);
      expect(ring.tryPushText(`s${i}`)).toBe(true);
      expect(ring.size).toBe(2);
      expect([text(ring.pop()), text(ring.pop()), ring.pop()]).toEqual([`r${i}`, `s${i}`, null]);
    }
    for (const s of ['a', 'b', 'c', 'd']) expect(ring.tryPushText(s)).toBe(true);
    expect(ring.tryPushText('e')).toBe(false);
    expect(words[0]).toBeLessThan(0); // the head did wrap
  });

  it('is seen whole from a second view of the same buffer', () => {
    const producer = Ring.create(4);
    producer.tryPushText('one');
    const consumer = Ring.attach(producer.buffer);
    expect([consumer.capacity, consumer.byteCapacity]).toEqual([4, producer.byteCapacity]);
    expect(text(consumer.pop())).toBe('one');
    expect(producer.size).toBe(0);
  });

  it('rejects a bad capacity and a record larger than the ring, naming the numbers', () => {
    expect(() => Ring.create(0)).toThrow('Expected `capacity` to be an integer from 1 to 1073741824, got `0`');
    expect(() => Ring.create(1.5)).toThrow(RangeError);
    expect(() => Ring.create(4, 64).tryPush(new Uint8Array(29))).toThrow(
      'A record of 29 bytes is too large for a ring of 64 bytes (at most 28)',
    );
    expect(Ring.create(4, 64).tryPush(new Uint8Array(28))).toBe(true);
  });
});

describe('Ring between two threads (the live output worker)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lockstep-ring-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Starts the output thread on `ring`, writing to `out`; resolves once it awaits events. */
  async function startOutput(ring: Ring, out: string, costUs: number) {
    const control = new Int32Array(new SharedArrayBuffer(Control.words * 4));
    const data: ThreadData = { role: 'output', queue: ring.buffer, control: control.buffer, out, costUs };
    const worker = new Worker(THREAD_SCRIPT, { workerData: data });
    const exited = new Promise<number>((resolve, reject) => {
      worker.once('error', reject);
      worker.once('exit', resolve);
    });
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      exited.then(() => reject(new Error('output thread exited before it was ready')), reject);
    });
    return {
      /** Tells the thread to write what is queued and stop; resolves to the lines it wrote. */
      async drain(): Promise<number> {
        Atomics.store(control, Control.stop, StopMode.drain);
        ring.wake();
        expect(await exited).toBe(0);
        return Atomics.load(control, Control.written);
      },
    };
  }

  const lines = (file: string) => readFileSync(file, 'utf8').split('\n');

  it('moves 50,000 records in order with no loss when the producer waits for room', async () => {
    const ring = Ring.create(64);
    const out = join(dir, 'all.ndjson');
    const output = await startOutput(ring, out, 0);
    for (let i = 0; i < 50_000; i++) {
      const record = `{"n":${i}}`;
      while (!ring.tryPushText(record));
    }
    expect(await output.drain()).toBe(50_000);
    const got = lines(out);
    expect(got.pop()).toBe(''); // the file ends with a newline
    expect(got.length).toBe(50_000);
    for (let i = 0; i < got.length; i++) if (got[i] !== `{"n":${i}}`) expect(got[i]).toBe(`{"n":${i}}`);
    expect([ring.pushed, ring.popped]).toEqual([50_000, 50_000]);
  });

  it('pushWaiting blocks while the ring is full, as a Go channel send: 50,000 records through 8 slots, none lost, in order', async () => {
    const ring = Ring.create(8);
    const out = join(dir, 'blocking.ndjson');
    const output = await startOutput(ring, out, 0);
    const enc = new TextEncoder();
    for (let i = 0; i < 50_000; i++) expect(ring.pushWaiting(enc.encode(`{"n":${i}}`), () => false)).toBe(true);
    expect(await output.drain()).toBe(50_000);
    const got = lines(out);
    expect(got.pop()).toBe('');
    expect(got).toEqual(Array.from({ length: 50_000 }, (_, i) => `{"n":${i}}`));
  });

  it('pushWaiting gives up, pushing nothing, once told to stop while the ring stays full', () => {
    const ring = Ring.create(2);
    const r = new Uint8Array([1, 2, 3]);
    expect([ring.tryPush(r), ring.tryPush(r), ring.tryPush(r)]).toEqual([true, true, false]);
    let asked = 0;
    // no consumer: each wait times out (50 ms), then it asks again
    expect(ring.pushWaiting(r, () => ++asked === 2)).toBe(false);
    expect(asked).toBe(2);
    expect([ring.size, ring.pushed]).toEqual([2, 2]);
  });

  it('drops what finds the ring full when the output is slower: drops + delivered = pushed, order kept', async () => {
    const ring = Ring.create(256);
    const out = join(dir, 'lossy.ndjson');
    // 200 µs an event: at most 5,000 a second, far below the producer's rate
    const output = await startOutput(ring, out, 200);
    let dropped = 0;
    for (let i = 0; i < 100_000; i++) if (!ring.tryPushText(`{"n":${i}}`)) dropped++;
    const delivered = await output.drain();
    expect(dropped + delivered).toBe(100_000);
    expect(dropped).toBeGreaterThan(0);
    const got = lines(out);
    expect(got.pop()).toBe('');
    expect(got.length).toBe(delivered);
    let last = -1;
    for (const line of got) {
      const n = (JSON.parse(line) as { n: number }).n;
      if (n <= last) expect(n).toBeGreaterThan(last);
      last = n;
    }
  });
});
