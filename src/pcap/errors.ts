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
    /** The fault is at a place in the file (else the file as a whole: a directory, a pipe). */
    located = true,
  ) {
    super(located ? `${file}: ${record === 0 ? 'header' : `record ${record}`} at byte offset ${offset}: ${reason}` : `${file}: ${reason}`);
  }
}

/** A problem that does not stop reading, like tshark's "cut short in the middle of a packet". */
export interface CaptureWarning {
  readonly record: number;
  readonly offset: number;
  readonly message: string;
}

/** What a file-system error code means, in the words `ls` and `cat` use. */
export const FILE_CODES: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  ENOSPC: 'no space left on device',
  EROFS: 'read-only file system',
  EEXIST: 'file exists',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'file name too long',
  ELOOP: 'too many levels of symbolic links',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large',
};
