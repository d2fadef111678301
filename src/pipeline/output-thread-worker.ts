/**
 * The output thread: takes event records out of the ring the replay fills,
 * encodes each as its NDJSON line ({@link EventEncoder}, the same bytes as
 * on the replay's thread) and writes them to the file descriptor of the
 * session. A `Worker` runs it as JavaScript: `../worker-url.ts` says which
 * file that is. The record format is in `output-records.ts`.
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { Ring } from '../live/ring.js';
import { RespMessage, type RespRole } from '../redis/resp.js';
import type { TimeBase } from '../redis/transaction.js';
import type { Connection } from '../tcp/connection.js';
import { getConn } from './conn-record.js';
import { EventEncoder } from './event-encoder.js';
import { BlockWriter } from './ndjson.js';
import { Ctl, EVENT_HEADER, Kind, type OutputThreadData, type SharedBuffer } from './output-records.js';

/** One session's state: the file, the encoder, the connections and time origin it was told of. */
class Session {
  readonly encoder = new EventEncoder();
  readonly conns: Connection[] = [];
  readonly base: TimeBase = { sec: 0, nsec: 0 };
  /** Per slot, the replay's capture buffer that events' bytes may be read in. */
  readonly shared: Buffer[] = [];
  /** Null once a write failed: the rest of the session is read and dropped. */
  writer: BlockWriter | null;

  constructor(
    fd: number,
    private readonly port: MessagePort,
  ) {
    this.writer = new BlockWriter(fd);
  }

  /** A message of an event record, its part at `at`: its bytes (slot 0), or their offset in the shared buffer of slot - 1. */
  private message(data: Buffer, view: DataView, slot: number, at: number, size: number, tsNs: number, isError: boolean, role: RespRole): RespMessage {
    return slot === 0
      ? new RespMessage(data, at, size, tsNs, isError, false, role)
      : new RespMessage(this.shared[slot - 1]!, view.getUint32(at, true), size, tsNs, isError, false, role);
  }

  /** Serves the record at `data[at..at+length)`; true at the session's end. */
  serve(data: Buffer, view: DataView, at: number, length: number): boolean {
    const kind = data[at];
    const writer = this.writer;
    if (kind === Kind.event) {
      if (writer === null) return false;
      const reqSize = view.getUint32(at + 8, true);
      const reqAt = at + EVENT_HEADER;
      const request = this.message(data, view, data[at + 2]!, reqAt, reqSize, view.getFloat64(at + 16, true), false, 'request');
      const respAt = reqAt + (data[at + 2] === 0 ? reqSize : 4);
      const response = this.message(data, view, data[at + 3]!, respAt, view.getUint32(at + 12, true), view.getFloat64(at + 24, true), data[at + 1] === 1, 'response');
      const tx = { id: 0, conn: this.conns[view.getUint32(at + 4, true)]!, request, response };
      const out = writer.reserve(EventEncoder.bound(tx));
      writer.commitLine(this.encoder.encode(tx, this.base, out, writer.offset));
    } else if (kind === Kind.conn) {
      const conn = getConn(data, view, at);
      this.conns[conn.id] = conn;
    } else if (kind === Kind.share) {
      const s = receiveMessageOnPort(this.port)!.message as SharedBuffer;
      this.shared[data[at + 1]!] = Buffer.from(s.buffer, s.byteOffset, s.length);
    } else if (kind === Kind.base) {
      this.base.sec = view.getFloat64(at + 4, true);
      this.base.nsec = view.getFloat64(at + 12, true);
    } else if (kind === Kind.bytes) {
      writer?.writeBytes(data.subarray(at + 4, at + length));
    } else if (kind === Kind.end) {
      writer?.flush();
      return true;
    }
    return false;
  }
}

/** Serves sessions until the process ends (the thread is unref'd: it never keeps the process alive). */
export function serveOutput(ring: Ring, control: Int32Array, message: Uint8Array, port: MessagePort): never {
  const data = ring.data;
  const view = ring.view;
  let session: Session | null = null;
  Atomics.store(control, Ctl.ready, 1);
  Atomics.notify(control, Ctl.ready);
  for (;;) {
    const batch = ring.peek();
    if (batch < 0) {
      ring.waitForData(100);
      continue;
    }
    const end = batch + ring.peekedLength;
    let ended = false;
    // a batch holds records, each after its u32 length
    for (let p = batch; p < end; p += 4 + view.getUint32(p, true)) {
      const at = p + 4;
      const length = view.getUint32(p, true);
      if (data[at] === Kind.begin) {
        session = new Session(view.getInt32(at + 4, true), port);
        continue;
      }
      try {
        if (session?.serve(data, view, at, length)) ended = true;
      } catch (err) {
        // the session writes nothing more; the replay's thread reports the first fault when it closes the file
        session!.writer = null;
        if (Atomics.load(control, Ctl.failed) === 0) {
          // the fault's code (ENOSPC, EIO...), a tab, its text
          const code = (err as NodeJS.ErrnoException).code ?? '';
          const text = Buffer.from(`${code}\t${err instanceof Error ? err.message : String(err)}`).subarray(0, message.length);
          message.set(text);
          Atomics.store(control, Ctl.messageLength, text.length);
          Atomics.store(control, Ctl.failed, 1);
        }
      }
    }
    ring.release();
    if (ended) {
      session = null;
      Atomics.add(control, Ctl.sessionsDone, 1);
      Atomics.notify(control, Ctl.sessionsDone);
    }
  }
}

if (parentPort !== null) {
  const d = workerData as OutputThreadData;
  serveOutput(Ring.attach(d.ring), new Int32Array(d.control), new Uint8Array(d.message), d.port);
}
