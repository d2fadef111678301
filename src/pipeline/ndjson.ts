import { closeSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';

const FLUSH_AT = 256 * 1024;

/**
 * NDJSON file output: lines are staged and written in 256 KiB blocks to a
 * temporary file that is renamed into place on {@link close}; {@link abandon}
 * keeps what was written so far (whole lines only) under the final name too.
 */
export class NdjsonWriter {
  lines = 0;
  private pending: string[] = [];
  private pendingChars = 0;
  private readonly fd: number;
  private readonly tmp: string;
  private open = true;

  constructor(readonly path: string) {
    this.tmp = `${path}.${process.pid}.tmp`;
    this.fd = openSync(this.tmp, 'w');
  }

  write(line: string): void {
    this.pending.push(line);
    this.pendingChars += line.length + 1;
    this.lines++;
    if (this.pendingChars >= FLUSH_AT) this.flush();
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const block = Buffer.from(`${this.pending.join('\n')}\n`, 'utf8');
    let off = 0;
    while (off < block.length) off += writeSync(this.fd, block, off, block.length - off);
    this.pending = [];
    this.pendingChars = 0;
  }

  /** Flushes and renames the file into place. */
  close(): void {
    if (!this.open) return;
    this.open = false;
    this.flush();
    closeSync(this.fd);
    renameSync(this.tmp, this.path);
  }

  /** Drops the file entirely (nothing written under the final name). */
  discard(): void {
    if (!this.open) return;
    this.open = false;
    closeSync(this.fd);
    unlinkSync(this.tmp);
  }
}
