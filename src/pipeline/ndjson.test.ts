import { closeSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NdjsonWriter, OutputError } from './ndjson.js';

const dir = mkdtempSync(join(tmpdir(), 'lockstep-ndjson-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('NdjsonWriter', () => {
  it('shows the file under its name only once whole', () => {
    const path = join(dir, 'whole.ndjson');
    const w = new NdjsonWriter(path);
    for (let i = 0; i < 20_000; i++) w.write(`{"n":${i}}`);
    expect(existsSync(path)).toBe(false);
    w.close();
    const lines = readFileSync(path, 'utf8').split('\n');
    expect(lines).toHaveLength(20_001);
    expect(lines[19_999]).toBe('{"n":19999}');
  });

  it('a failed write names the file and the error, and leaves no file behind', () => {
    const path = join(dir, 'failed.ndjson');
    const w = new NdjsonWriter(path);
    // the descriptor goes away under the writer, as a disk that fills up makes the write fail
    closeSync((w as unknown as { file: { fd: number } }).file.fd);
    const write = () => {
      for (let i = 0; i < 100_000; i++) w.write(`{"n":${i}}`);
    };
    expect(write).toThrow(new OutputError(path, 'EBADF'));
    expect(readdirSync(dir).filter((f) => f.startsWith('failed'))).toEqual([]);
  });
});
