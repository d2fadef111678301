import type { Transaction } from '../protocols/protocol.js';
import type { Connection } from '../tcp/connection.js';
import type { RespMessage } from './resp.js';

/** A request paired with its response, whatever a message is in the view that paired them. */
export abstract class Pair<M extends { readonly size: number; readonly tsNs: number }> implements Transaction {
  /**
   * Request and response bytes, summed while both are at hand: a stage that
   * charges per byte reads it long after, when reading the two messages
   * again would cost it two cache misses.
   */
  readonly bytes: number;

  constructor(
    readonly id: number,
    readonly conn: Connection,
    readonly request: M,
    readonly response: M,
  ) {
    this.bytes = request.size + response.size;
  }

  abstract get protocol(): string;

  /** The command, upper-cased (packetbeat's `method`). */
  abstract get method(): string;

  /** packetbeat's `resource`: the key. */
  abstract get resource(): string;

  get tsNs(): number {
    return this.request.tsNs;
  }
}

/** A request paired with its response: one packetbeat `type: redis` event. */
export class RedisTransaction extends Pair<RespMessage> {
  get protocol(): 'redis' {
    return 'redis';
  }

  get method(): string {
    return this.request.method;
  }

  /** The request's second word, as the event's `resource` (event.ts). */
  get resource(): string {
    return this.request.args?.[1] ?? '';
  }
}
