import type { MessagePort } from 'node:worker_threads';
import type { TcpOptions } from '../tcp/assembler.js';
import type { TcpMode } from '../tcp/stream.js';

/**
 * What the TCP thread hands a replay, in batches through a {@link Ring}: a
 * batch is records one after the other, each a multiple of 4 bytes, its
 * first byte its kind. Numbers are little-endian.
 *
 * - `packet` (16 bytes): u32 captured length at 4, f64 capture time at 8
 *   (ns since the first packet); what TCP made of it follows;
 * - `base` (24): f64 seconds and nanoseconds of the first packet at 8 and 16;
 * - `buffer` (4): the reader goes on in its pool's buffer at slot byte 1;
 *   byte 2 is 1 when that buffer is new, and is then the next message on
 *   the port (a `SharedBuffer`);
 * - `conn` (20 + texts, padded): u32 handle at 4, then the connection as
 *   `conn-record.ts` writes it, from byte 8. A handle names an open
 *   connection; a `close` frees it for a later one;
 * - `data` (24, or 24 + bytes padded): byte 1 direction, byte 2 where the
 *   bytes are (0: here, from 24; else 1 + the slot of a pool buffer), u32
 *   handle at 4, u32 offset in that buffer at 8, u32 length at 12, f64 time at 16;
 * - `gap` (24): byte 1 direction, u32 handle at 4, f64 lost bytes at 8, f64 time at 16;
 * - `fin` (16): byte 1 direction, u32 handle at 4, f64 time at 8;
 * - `close` (16): byte 1 the reason (an index in {@link CLOSE_REASONS}), u32 handle at 4, f64 time at 8;
 * - `eof` (4): the capture ended (or a fault ended it); what follows is
 *   the end closing every connection, then `end`;
 * - `end` (4): the job is done; its {@link JobEnd} is the next message on the port.
 */
export const Rec = { packet: 1, base: 2, buffer: 3, conn: 4, data: 5, gap: 6, fin: 7, close: 8, eof: 9, end: 10 } as const;

export const CLOSE_REASONS = ['fin', 'rst', 'expired', 'end_of_capture', 'reused'] as const;

/** Bytes of a `data` record before its bytes (when they are in it). */
export const DATA_HEADER = 24;

/** Words of the control block (an `Int32Array` on a `SharedArrayBuffer`). */
export const TcpCtl = {
  /**
   * `buffer` records the replay has served this job: the thread writes over
   * a pool buffer only once the replay has served the record of the buffer
   * before it (it lets go of the one after then). Set to {@link ALL_RELEASED} at `end`.
   */
  released: 0,
  /** Set by the replay when it gives up on the job (Ctrl-C): the thread stops where it is. */
  abort: 1,
  words: 2,
} as const;

export const ALL_RELEASED = 0x3fffffff;

/** A replay's request. */
export interface Job {
  file: string;
  ports: readonly number[];
  mode: TcpMode;
  tcpOptions?: Partial<TcpOptions>;
}

/** The last message of a job, after its `end` record (or instead of any record when the file would not open). */
export interface JobEnd {
  counters: Record<string, number>;
  warnings: { record: number; offset: number; message: string }[];
  /** A `CaptureError`'s fields. */
  error: { file: string; record: number; offset: number; reason: string } | null;
  /** An unexpected failure of the thread (a bug): its stack. */
  fatal: string | null;
}

/** What the thread is started with. */
export interface TcpThreadData {
  ring: SharedArrayBuffer;
  control: SharedArrayBuffer;
  port: MessagePort;
}
