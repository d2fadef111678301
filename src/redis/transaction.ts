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

/** ISO-8601 with milliseconds in UTC, as libbeat's `common.Time` (2006-01-02T15:04:05.000Z). */
export function formatTimestamp(base: TimeBase, relNs: number): string {
  const ms = base.sec * 1000 + Math.floor((base.nsec + relNs) / 1e6);
  return new Date(ms).toISOString();
}

/**
 * One NDJSON line in packetbeat 5.x's shape: the fields of `protos/redis`
 * `newTransaction` after the publisher's `normalizeTransAddr`, keys sorted as
 * Go's encoding/json writes a map.
 */
export function formatEvent(tx: Transaction, base: TimeBase): string {
  const req = tx.request;
  const resp = tx.response;
  const method = req.method;
  const resource = req.args?.[1] ?? '';
  // Go's integer division of nanoseconds by 1e6 truncates toward zero
  const responsetime = Math.trunc((resp.tsNs - req.tsNs) / 1e6);
  const redis = resp.isError ? `{"error":${JSON.stringify(resp.text)}}` : `{"return_value":${JSON.stringify(resp.text)}}`;
  const c = tx.conn;
  return (
    `{"@timestamp":"${formatTimestamp(base, req.tsNs)}","bytes_in":${req.size},"bytes_out":${resp.size},` +
    `"client_ip":"${c.clientIp}","client_port":${c.clientPort},"client_proc":"","client_server":"",` +
    `"ip":"${c.serverIp}","method":${JSON.stringify(method)},"port":${c.serverPort},"proc":"",` +
    `"query":${JSON.stringify(req.text)},"redis":${redis},"resource":${JSON.stringify(resource)},` +
    `"responsetime":${responsetime},"server":"","status":"${resp.isError ? 'Error' : 'OK'}","type":"redis"}`
  );
}
