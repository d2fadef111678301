import { redis } from '../redis/protocol.js';
import type { CloseReason, Connection, Direction, StreamAnalyzer } from '../tcp/connection.js';
import type { LineBuffer, Protocol, ProtocolAnalyzer, TimeBase, Transaction, TransactionEncoder, TransactionSink } from './protocol.js';

export type * from './protocol.js';

/** Every protocol lockstep analyzes, by name. */
export const PROTOCOLS: Readonly<Record<string, Protocol>> = { redis };

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

/** Writes any transaction as its protocol's event, with one encoder per protocol, made on first use. */
export class Encoders implements TransactionEncoder {
  private readonly byName = new Map<string, TransactionEncoder>();
  private lastName = '';
  private last: TransactionEncoder | null = null;

  private of(tx: Transaction): TransactionEncoder {
    if (tx.protocol !== this.lastName || this.last === null) {
      let e = this.byName.get(tx.protocol);
      if (e === undefined) {
        e = PROTOCOLS[tx.protocol]!.encoder();
        this.byName.set(tx.protocol, e);
      }
      this.lastName = tx.protocol;
      this.last = e;
    }
    return this.last;
  }

  write(tx: Transaction, base: TimeBase, w: LineBuffer): void {
    this.of(tx).write(tx, base, w);
  }

  format(tx: Transaction, base: TimeBase): string {
    return this.of(tx).format(tx, base);
  }
}

const shared = new Encoders();

/** One transaction's event as a string, without its newline. */
export function formatEvent(tx: Transaction, base: TimeBase): string {
  return shared.format(tx, base);
}
