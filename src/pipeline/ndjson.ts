import { closeSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';

const FLUSH_AT = 256 * 1024;

/**
 * Lines encoded straight into a 256 KiB block, written to a file descriptor
 * each time the block fills (and on {@link flush}): whole lines only.
 */
export class BlockWriter {
  private buf = Buffer.allocUnsafe(FLUSH_AT);
  private used = 0;

  constructor(readonly fd: number) {}

  write(line: string): void {
    // a UTF-16 code unit takes at most 3 bytes in UTF-8
    const worst = line.length * 3 + 1;
    const buf = this.reserve(worst);
    this.commitLine(this.used + buf.write(line, this.used, 'utf8'));
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
  }

  /** Bytes as they are (a piece of a line written elsewhere): not counted as a line. */
  writeBytes(bytes: Uint8Array): void {
    this.flush();
    let off = 0;
    while (off < bytes.length) off += writeSync(this.fd, bytes, off, bytes.length - off);
  }

  flush(): void {
    let off = 0;
    while (off < this.used) off += writeSync(this.fd, this.buf, off, this.used - off);
    this.used = 0;
  }
}

/** A file written under a temporary name and renamed into place when done: readers only ever see it whole. */
export class TempFile {
  readonly fd: number;
  private readonly tmp: string;
  private open = true;

  get isOpen(): boolean {
    return this.open;
  }

  constructor(readonly path: string) {
    this.tmp = `${path}.${process.pid}.tmp`;
    this.fd = openSync(this.tmp, 'w');
  }

  /** Closes the file and renames it into place. */
  commit(): void {
    if (!this.open) return;
    this.open = false;
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

/** NDJSON file output: a {@link BlockWriter} on a {@link TempFile} (also after an interruption: whole lines only). */
export class NdjsonWriter extends BlockWriter {
  private readonly file: TempFile;

  constructor(readonly path: string) {
    const file = new TempFile(path);
    super(file.fd);
    this.file = file;
  }

  /** Flushes and renames the file into place (once). */
  close(): void {
    if (this.file.isOpen) this.flush();
    this.file.commit();
  }

  discard(): void {
    this.file.discard();
  }
}
