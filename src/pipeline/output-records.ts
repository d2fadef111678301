import type { MessagePort } from 'node:worker_threads';

/**
 * The records a replay hands its output thread, in batches through a
 * {@link Ring}: in a batch, each record follows its u32 length. All numbers
 * are little-endian; a record's first byte is its kind:
 *
 * - `begin`: i32 at 4, the file descriptor to write (a session starts);
 * - `base`: f64 at 4 and 12, the capture's time origin (seconds, nanoseconds);
 * - `conn`: the connection as `conn-record.ts` writes it, from byte 8;
 * - `share`: byte 1 is a slot; the buffer to read in that slot is the next
 *   message on the thread's port (a `SharedBuffer`);
 * - `event`: byte 1 is 1 for an error reply; bytes 2 and 3 say where the
 *   request's and the response's bytes are: 0 here, else 1 + the slot of a
 *   shared buffer; u32 connection id at 4, request size at 8, response size
 *   at 12; f64 request and response capture times at 16 and 24; from 32 the
 *   request, then the response: its bytes, or the u32 offset of its bytes in
 *   the shared buffer;
 * - `bytes`: from 4, bytes to write as they are (an event too large for a
 *   record, encoded on the replay's thread, in pieces);
 * - `end`: the session ends: flush, and count it done.
 */
export const Kind = { begin: 1, base: 2, conn: 3, event: 4, bytes: 5, end: 6, share: 7 } as const;

/** Bytes of an `event` record before the request's. */
export const EVENT_HEADER = 32;

/** Words of the control block (an `Int32Array` on a `SharedArrayBuffer`). */
export const Ctl = {
  /** Set once the thread runs. */
  ready: 0,
  /** Sessions the thread has ended (`end` records served). */
  sessionsDone: 1,
  /** Set when a write failed; the fault's text is in the message buffer. */
  failed: 2,
  messageLength: 3,
  words: 4,
} as const;

/** What the thread is started with. */
export interface OutputThreadData {
  ring: SharedArrayBuffer;
  control: SharedArrayBuffer;
  message: SharedArrayBuffer;
  port: MessagePort;
}

/** What the port carries for a `share` record. */
export interface SharedBuffer {
  buffer: SharedArrayBuffer;
  byteOffset: number;
  length: number;
}
