/** Direction of a segment: the client's bytes to the server (requests), or the server's back (responses). */
export const CLIENT_TO_SERVER = 0;
export const SERVER_TO_CLIENT = 1;
export type Direction = typeof CLIENT_TO_SERVER | typeof SERVER_TO_CLIENT;

/** Why a connection is forgotten; `evicted`: the table was full ({@link TcpOptions.maxConnections}) and it was the least recently seen. */
export type CloseReason = 'fin' | 'rst' | 'expired' | 'end_of_capture' | 'reused' | 'evicted';

/**
 * The contract between TCP and an application analyzer, after packetbeat's
 * `TcpProtocolPlugin` (Parse, GapInStream, ReceivedFin): bytes in order per
 * direction, holes that will never be filled, and the end of the connection.
 */
export interface StreamAnalyzer {
  /**
   * In-order payload. `buf` (a read buffer of the capture, or a held
   * segment's copy) stays as it is until {@link release} is called with it:
   * an analyzer that keeps views of it copies them then.
   */
  onData(conn: Connection, dir: Direction, buf: Buffer, offset: number, length: number, tsNs: number): void;
  /** The capture reader is done with `buf` and will load into it again: whatever still views it is copied first. */
  release?(buf: Buffer): void;
  /** `lostBytes` of this direction will never arrive. */
  onGap(conn: Connection, dir: Direction, lostBytes: number, tsNs: number): void;
  onFin(conn: Connection, dir: Direction, tsNs: number): void;
  /** The connection is forgotten; the analyzer accounts for whatever it still holds. */
  onClose(conn: Connection, reason: CloseReason, tsNs: number): void;
}

/** A TCP connection between a client and a monitored server port. */
export interface Connection {
  /** Stable id, in order of first sight (1-based). */
  readonly id: number;
  readonly clientIp: string;
  readonly clientPort: number;
  readonly serverIp: string;
  readonly serverPort: number;
  /** Analyzer state; owned by the analyzer, dropped with the connection. */
  app: unknown;
}
