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

let cachedSecond = NaN;
let cachedPrefix = '';

/** ISO-8601 with milliseconds in UTC, as libbeat's `common.Time` (2006-01-02T15:04:05.000Z). */
export function formatTimestamp(base: TimeBase, relNs: number): string {
  const ms = base.sec * 1000 + Math.floor((base.nsec + relNs) / 1e6);
  const second = Math.floor(ms / 1000);
  // events come in time order: the date and time up to the second are built once per second
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, 20);
  }
  const frac = ms - second * 1000;
  return `${cachedPrefix}${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}Z`;
}

const NEEDS_ESCAPE = /["\\\u0000-\u001f\u2028\u2029\ud800-\udfff]/;

/** JSON string literal; plain strings (the usual case) skip JSON.stringify's scan and copy. */
export function jsonString(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
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
  const redis = resp.isError ? `{"error":${jsonString(resp.text)}}` : `{"return_value":${jsonString(resp.text)}}`;
  const c = tx.conn;
  return (
    `{"@timestamp":"${formatTimestamp(base, req.tsNs)}","bytes_in":${req.size},"bytes_out":${resp.size},` +
    `"client_ip":"${c.clientIp}","client_port":${c.clientPort},"client_proc":"","client_server":"",` +
    `"ip":"${c.serverIp}","method":${jsonString(method)},"port":${c.serverPort},"proc":"",` +
    `"query":${jsonString(req.text)},"redis":${redis},"resource":${jsonString(resource)},` +
    `"responsetime":${responsetime},"server":"","status":"${resp.isError ? 'Error' : 'OK'}","type":"redis"}`
  );
}
