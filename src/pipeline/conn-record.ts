import type { Connection } from '../tcp/connection.js';

/**
 * A connection as the records handed between threads describe it (the
 * output thread's `conn` record, the TCP thread's): from byte 8 of the
 * record, u16 client port at 8, server port at 10, the lengths of the client
 * and server address texts at 12 and 14, u32 connection id at 16, the texts
 * (latin1) from 20. Bytes 0–7 are the record's own (its kind, a key).
 */
export const CONN_TEXTS = 20;

/** Bytes of a record describing `conn`, before any padding. */
export function connRecordBytes(conn: Connection): number {
  // latin1 takes a byte per UTF-16 unit
  return CONN_TEXTS + conn.clientIp.length + conn.serverIp.length;
}

/** Writes `conn` into the record at `at` (bytes 8 on). */
export function putConn(data: Buffer, view: DataView, at: number, conn: Connection): void {
  view.setUint16(at + 8, conn.clientPort, true);
  view.setUint16(at + 10, conn.serverPort, true);
  view.setUint16(at + 12, conn.clientIp.length, true);
  view.setUint16(at + 14, conn.serverIp.length, true);
  view.setUint32(at + 16, conn.id, true);
  const serverAt = at + CONN_TEXTS + data.write(conn.clientIp, at + CONN_TEXTS, 'latin1');
  data.write(conn.serverIp, serverAt, 'latin1');
}

/** The connection the record at `at` describes. */
export function getConn(data: Buffer, view: DataView, at: number): Connection {
  const clientEnd = at + CONN_TEXTS + view.getUint16(at + 12, true);
  return {
    id: view.getUint32(at + 16, true),
    clientIp: data.toString('latin1', at + CONN_TEXTS, clientEnd),
    clientPort: view.getUint16(at + 8, true),
    serverIp: data.toString('latin1', clientEnd, clientEnd + view.getUint16(at + 14, true)),
    serverPort: view.getUint16(at + 10, true),
    app: undefined,
  };
}

/** Bytes of the record at `at`, before any padding. */
export function connRecordLength(view: DataView, at: number): number {
  return CONN_TEXTS + view.getUint16(at + 12, true) + view.getUint16(at + 14, true);
}
