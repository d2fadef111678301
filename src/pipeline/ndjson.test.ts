import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NdjsonWriter, OutputError } from './ndjson.js';

const dir = mkdtempSync(join(tmpdir(), 'lockstep-ndjson-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('NdjsonWriter', () => {
  it('writes through a symbolic link, and into a device in place: neither is replaced by a regular file', () => {
    const real = join(dir, 'real.ndjson');
    writeFileSync(real, 'old\n');
    const link = join(dir, 'link.ndjson');
    symlinkSync(real, link);
    const w = new NdjsonWriter(link);
    w.write('{"n":1}');
    w.close();
    expect([lstatSync(link).isSymbolicLink(), readFileSync(real, 'utf8')]).toEqual([true, '{"n":1}\n']);
    // a copy of /dev/null where the test may make one (root), else /dev/null itself
    const made = spawnSync('mknod', [join(dir, 'null'), 'c', '1', '3']).status === 0;
    const device = made ? join(dir, 'null') : '/dev/null';
    const d = new NdjsonWriter(device);
    d.write('{"n":2}');
    d.close();
    expect(statSync(device).isCharacterDevice()).toBe(true);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a file that cannot be made is named as the user gave it, not by its temporary name', () => {
    const path = join(dir, 'no', 'such', 'x.ndjson');
    expect(() => new NdjsonWriter(path)).toThrow(expect.objectContaining({ code: 'ENOENT', path }));
  });

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
