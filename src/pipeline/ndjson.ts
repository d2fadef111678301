import { closeSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';

const FLUSH_AT = 256 * 1024;

/**
 * NDJSON file output: lines are encoded straight into a 256 KiB block, written
 * to a temporary file that is renamed into place on {@link close} (also after
 * an interruption: whole lines only).
 */
export class NdjsonWriter {
  lines = 0;
  private buf = Buffer.allocUnsafe(FLUSH_AT);
  private used = 0;
  private readonly fd: number;
  private readonly tmp: string;
  private open = true;

  constructor(readonly path: string) {
    this.tmp = `${path}.${process.pid}.tmp`;
    this.fd = openSync(this.tmp, 'w');
  }

  write(line: string): void {
    // a UTF-16 code unit takes at most 3 bytes in UTF-8
    const worst = line.length * 3 + 1;
    if (this.used + worst > this.buf.length) {
      this.flush();
      if (worst > this.buf.length) this.buf = Buffer.allocUnsafe(worst);
    }
    this.used += this.buf.write(line, this.used, 'utf8');
    this.buf[this.used++] = 0x0a;
    this.lines++;
  }

  /**
   * Room for a line of at most `bound` bytes: write it into the returned
   * buffer from {@link offset}, then {@link commitLine} with where it ends.
   */
  reserve(bound: number): Buffer {
    if (this.used + bound + 1 > this.buf.length) {
      this.flush();
      if (bound + 1 > this.buf.length) this.buf = Buffer.allocUnsafe(bound + 1);
    }
    return this.buf;
  }

  get offset(): number {
    return this.used;
  }

  commitLine(end: number): void {
    this.used = end;
    this.buf[this.used++] = 0x0a;
    this.lines++;
  }

  private flush(): void {
    let off = 0;
    while (off < this.used) off += writeSync(this.fd, this.buf, off, this.used - off);
    this.used = 0;
  }

  /** Flushes and renames the file into place: readers only ever see whole lines. */
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
