import type { Connection } from '../tcp/connection.js';
import type { RespMessage } from './resp.js';

/** A request paired with its response: one packetbeat `type: redis` event. */
export interface Transaction {
  /** Stable id: 1-based, in the order transactions complete in the capture. */
  readonly id: number;
  readonly conn: Connection;
  readonly request: RespMessage;
  readonly response: RespMessage;
}

/** Capture time origin: the first packet's absolute time. Event times are relative to it. */
export interface TimeBase {
  sec: number;
  nsec: number;
}

export function transactionMethod(tx: Transaction): string {
  return tx.request.method;
}
