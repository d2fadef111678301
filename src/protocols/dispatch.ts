import type { CloseReason, Connection, Direction, StreamAnalyzer } from '../tcp/connection.js';
import type { Protocol, ProtocolAnalyzer, TransactionSink } from './protocol.js';

/** Which protocol each server port speaks (packetbeat's `packetbeat.protocols.<name>.ports`). */
export type PortMap = ReadonlyArray<{ protocol: Protocol; ports: readonly number[] }>;

/**
 * The analyzers of a port map: one per protocol, and the stream analyzer TCP
 * feeds, which is that analyzer when there is one protocol and otherwise
 * sends each connection to the analyzer of its server port.
 */
export function analyzersFor(map: PortMap, sink: TransactionSink): { analyzers: ProtocolAnalyzer[]; stream: StreamAnalyzer; ports: number[] } {
  const analyzers = map.map((m) => m.protocol.analyzer(sink));
  const ports = map.flatMap((m) => [...m.ports]);
  if (analyzers.length === 1) return { analyzers, stream: analyzers[0]!, ports };
  const byPort: (StreamAnalyzer | undefined)[] = [];
  map.forEach((m, i) => {
    for (const p of m.ports) byPort[p] = analyzers[i];
  });
  const of = (c: Connection) => byPort[c.serverPort]!;
  const stream: StreamAnalyzer = {
    onData: (c: Connection, d: Direction, buf: Buffer, off: number, len: number, ts: number) => of(c).onData(c, d, buf, off, len, ts),
    onGap: (c: Connection, d: Direction, lost: number, ts: number) => of(c).onGap(c, d, lost, ts),
    onFin: (c: Connection, d: Direction, ts: number) => of(c).onFin(c, d, ts),
    onClose: (c: Connection, r: CloseReason, ts: number) => of(c).onClose(c, r, ts),
  };
  return { analyzers, stream, ports };
}
