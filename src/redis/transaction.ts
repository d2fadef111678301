import type { Transaction } from '../protocols/protocol.js';
import type { Connection } from '../tcp/connection.js';
import type { RespMessage } from './resp.js';

/** A request paired with its response: one packetbeat `type: redis` event. */
export class RedisTransaction implements Transaction {
  constructor(
    readonly id: number,
    readonly conn: Connection,
    readonly request: RespMessage,
    readonly response: RespMessage,
  ) {}

  get protocol(): 'redis' {
    return 'redis';
  }

  get bytes(): number {
    return this.request.size + this.response.size;
  }

  /** The command, upper-cased (packetbeat's `method`). */
  get method(): string {
    return this.request.method;
  }
}
