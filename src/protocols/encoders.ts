import { ANALYZER_EVENTS, type EventOptions, type LineBuffer, type Protocol, type TimeBase, type Transaction, type TransactionEncoder } from './protocol.js';

/** Writes any transaction as its protocol's event, with one encoder per protocol, made on first use. */
export class Encoders implements TransactionEncoder {
  private readonly byName = new Map<string, TransactionEncoder>();

  constructor(
    private readonly protocols: Readonly<Record<string, Protocol>>,
    private readonly options: EventOptions = ANALYZER_EVENTS,
  ) {}

  private lastName = '';
  private last: TransactionEncoder | null = null;

  private of(tx: Transaction): TransactionEncoder {
    if (tx.protocol !== this.lastName || this.last === null) {
      let e = this.byName.get(tx.protocol);
      if (e === undefined) {
        e = this.protocols[tx.protocol]!.encoder(this.options);
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
