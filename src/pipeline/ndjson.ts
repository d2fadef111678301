import { closeSync, openSync, realpathSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';

const FLUSH_AT = 256 * 1024;

/** Writing an output file failed (a full disk, a closed descriptor): names the file and the system's code. */
export class OutputError extends Error {
  override readonly name = 'OutputError';
  constructor(
    readonly path: string,
    readonly code: string,
  ) {
    super(`${path}: ${code}`);
  }
}

/**
 * Lines encoded straight into a 256 KiB block, handed to `out` each time the
 * block fills (and on {@link flush}): whole lines only.
 */
export class BlockWriter {
  private buf = Buffer.allocUnsafe(FLUSH_AT);
  private used = 0;

  /** `out` takes `bytes` (valid only during the call: the block is reused). */
  constructor(private readonly out: (bytes: Buffer) => void) {}

  write(line: string): void {
    // a UTF-16 code unit takes at most 3 bytes in UTF-8
    const buf = this.reserve(line.length * 3);
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

  flush(): void {
    if (this.used === 0) return;
    this.out(this.buf.subarray(0, this.used));
    this.used = 0;
  }
}

/**
 * A file written under a temporary name and renamed into place when done:
 * readers only ever see it whole. A symbolic link is written through (its
 * target is the file replaced); a target that exists and is not a regular
 * file (`/dev/null`, a FIFO) is written in place, never replaced. An error
 * names the user's path, not the temporary one.
 */
export class TempFile {
  readonly fd: number;
  /** The temporary file, or null when writing in place. */
  private readonly tmp: string | null;
  private readonly target: string;
  private open = true;

  get isOpen(): boolean {
    return this.open;
  }

  constructor(readonly path: string) {
    let target = path;
    let inPlace = false;
    try {
      target = realpathSync(path);
      inPlace = !statSync(target).isFile();
    } catch {
      // not there yet (or a dangling link): a new file under `path`
    }
    this.target = target;
    this.tmp = inPlace ? null : `${target}.${process.pid}.tmp`;
    try {
      this.fd = openSync(this.tmp ?? target, 'w');
    } catch (e) {
      throw Object.assign(e as NodeJS.ErrnoException, { path });
    }
  }

  /** Closes the file and renames it into place. */
  commit(): void {
    if (!this.open) return;
    this.open = false;
    closeSync(this.fd);
    if (this.tmp !== null) renameSync(this.tmp, this.target);
  }

  /** Drops the file entirely (nothing written under the final name). */
  discard(): void {
    if (!this.open) return;
    this.open = false;
    try {
      closeSync(this.fd);
    } catch {
      // already closed: the file is removed all the same
    }
    if (this.tmp !== null) unlinkSync(this.tmp);
  }
}

/**
 * NDJSON file output: a {@link BlockWriter} on a {@link TempFile} (also after
 * an interruption: whole lines only). A failed write discards the file and
 * throws {@link OutputError}.
 */
export class NdjsonWriter extends BlockWriter {
  private readonly file: TempFile;

  constructor(readonly path: string) {
    const file = new TempFile(path);
    super((bytes) => {
      try {
        let off = 0;
        while (off < bytes.length) off += writeSync(file.fd, bytes, off, bytes.length - off);
      } catch (e) {
        file.discard();
        throw new OutputError(path, (e as NodeJS.ErrnoException).code ?? (e as Error).message);
      }
    });
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

/** NDJSON on standard output, a block at a time. */
export function stdoutWriter(): BlockWriter {
  return new BlockWriter((bytes) => process.stdout.write(Buffer.from(bytes)));
}

/**
 * Writes `text` to `path` whole: through a {@link TempFile}, so a failed write
 * (a full disk) leaves neither a part nor an empty file under the name, a
 * symbolic link is written through and a device in place. A failure is an
 * {@link OutputError} naming `path`.
 */
export function writeWhole(path: string, text: string): void {
  const file = new TempFile(path);
  try {
    const bytes = Buffer.from(text);
    let off = 0;
    while (off < bytes.length) off += writeSync(file.fd, bytes, off, bytes.length - off);
  } catch (e) {
    file.discard();
    throw new OutputError(path, (e as NodeJS.ErrnoException).code ?? (e as Error).message);
  }
  file.commit();
}
