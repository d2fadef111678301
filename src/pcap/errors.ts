/**
 * A fault in a capture file. The message names the file, the record number and
 * the byte offset, so the CLI can print it on one line: everything read before
 * the fault has already been handed out and stays valid.
 */
export class CaptureError extends Error {
  override readonly name = 'CaptureError';
  constructor(
    readonly file: string,
    /** 1-based number of the record (packet or pcapng block) at fault; 0 for the file header. */
    readonly record: number,
    /** Byte offset in the file where the faulty record starts. */
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`${file}: ${record === 0 ? 'header' : `record ${record}`} at byte offset ${offset}: ${reason}`);
  }
}

/** A problem that does not stop reading, like tshark's "cut short in the middle of a packet". */
export interface CaptureWarning {
  readonly record: number;
  readonly offset: number;
  readonly message: string;
}
