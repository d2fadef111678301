/** The reproduction a failing property prints must reproduce: the lines round-trip, the files are left. */
import { test } from '@fast-check/vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/profiles/index.js';
import { parseReplayLine, replayCommand } from '../src/pipeline/replay-line.js';
import { lockstep } from '../test/support/cli.js';
import { anyConfig, Captures, captureOptions, config } from './arbitraries.js';
import { budget } from './budget.js';
import { genCommand, shellWords, unexpressed, withRepro, type FailureRecord } from './repro.js';

const captures = new Captures();
afterAll(() => captures.remove());

describe('reproduction lines', () => {
  test.prop([config], budget(100))('the replay line of any configuration parses back to that configuration', (c) => {
    const words = shellWords(replayCommand('some capture.pcap', c));
    expect(words.slice(0, 3)).toEqual(['lockstep', 'replay', 'some capture.pcap']);
    expect(parseReplayLine(words.slice(2))).toEqual({ capture: 'some capture.pcap', config: c });
  });

  test.prop([anyConfig], budget(100))('a replay line says every setting', (c) => {
    expect(unexpressed(replayCommand('x.pcap', c), c)).toEqual([]);
  });

  test.prop([captureOptions], budget(5))('the gen line writes the same capture, byte for byte', (gen) => {
    const out = captures.scratch('regenerated.pcap');
    const words = genCommand(gen, out).split(' ');
    expect(words.slice(0, 3)).toEqual(['lockstep', 'gen', 'redis']);
    // the built CLI, as a user runs the line (npm test builds first)
    expect(lockstep(...words.slice(1)).code).toBe(0);
    expect(readFileSync(out).equals(readFileSync(captures.path(gen)))).toBe(true);
  });

  it('a failing body keeps its capture, writes what failed, and rethrows with the lines that replay it', () => {
    const gen = { transactions: 20, seed: 5 };
    const capture = captures.path(gen);
    const c = resolveConfig('packetbeat5', [{ queueSize: 3 }]);
    const dir = captures.scratch('failures');
    let thrown: unknown;
    try {
      withRepro(capture, c, () => expect(1, 'published').toBe(2), { gen, dir, name: 'broken' });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(Error);
    const message = (thrown as Error).message;
    const kept = join(dir, 'broken.pcap');
    expect(message).toContain('published');
    expect(message).toContain(replayCommand(kept, c));
    expect(message).toContain(genCommand(gen, kept));
    expect((thrown as Error).cause).toBeInstanceOf(Error);
    expect(readFileSync(kept).equals(readFileSync(capture))).toBe(true);
    expect(existsSync(`${kept}.manifest.json`)).toBe(true);
    const record = JSON.parse(readFileSync(join(dir, 'broken.json'), 'utf8')) as FailureRecord;
    expect(record.replay).toEqual([replayCommand(kept, c)]);
    expect(record.configs).toEqual([c]);
  });

  it('a passing body returns its value and leaves nothing', () => {
    const dir = captures.scratch('no-failures');
    expect(withRepro(captures.path({ transactions: 20 }), [], () => 42, { dir })).toBe(42);
    expect(existsSync(dir)).toBe(false);
  });
});
