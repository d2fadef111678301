import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { CaptureError } from './errors.js';

/** Positional byte source: a file descriptor, or a buffer in tests. */
export interface ByteSource {
  readonly name: string;
  /** Reads up to `length` bytes at `position` into `into[offset..]`; returns how many were read (0 at the end). */
  read(into: Buffer, offset: number, length: number, position: number): number;
  size(): number;
  close(): void;
}

/**
 * A capture file, read by position. A directory, a pipe or a device is
 * refused before it is opened (opening a FIFO nobody writes would wait for
 * ever, and a pipe cannot be read by position).
 */
export function fileSource(path: string): ByteSource {
  const st = statSync(path);
  if (st.isDirectory()) throw new CaptureError(path, 0, 0, 'is a directory, not a capture file', false);
  if (!st.isFile()) {
    throw new CaptureError(path, 0, 0, 'not a regular file (a pipe, socket or device): lockstep reads a capture by position; save it to a file first', false);
  }
  const fd = openSync(path, 'r');
  let open = true;
  return {
    name: path,
    read: (into, offset, length, position) => readSync(fd, into, offset, length, position),
    size: () => fstatSync(fd).size,
    close: () => {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

export function bufferSource(bytes: Uint8Array, name = '<buffer>'): ByteSource {
  return {
    name,
    read(into, offset, length, position) {
      if (position >= bytes.length) return 0;
      const n = Math.min(length, bytes.length - position);
      into.set(bytes.subarray(position, position + n), offset);
      return n;
    },
    size: () => bytes.length,
    close() {},
  };
}
