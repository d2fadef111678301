/**
 * A capture's analysis, kept to be played again: for each packet its time and
 * captured length and the transactions it completed, then what the end of
 * the capture completed, the counters and the warnings. A replay reads its
 * capture only through these (a {@link Feed}), and the capture side reads
 * nothing of the queues, the waitstop or the seed: so the replays of a sweep,
 * which differ only in those, can share one reading of the capture instead
 * of reading, reassembling and parsing it once each. Transactions are shared
 * too: nothing downstream writes to one (the ledger keys its fates by id).
 */
import { CaptureFeed, PROTOCOLS, streamTimeout, type Counters, type Feed, type FeedOptions } from '../feed.js';
import type { CaptureError, CaptureWarning } from '../pcap/errors.js';
import { profileOf, type PipelineConfig, type Topology } from '../profiles/index.js';
import type { Equation, TimeBase, Transaction, TransactionSink } from '../protocols/index.js';

/**
 * Captures up to this many packets are read once by a command that replays
 * them many times (sweep, calibrate) and played to each replay: ~16 bytes a
 * packet and the transactions (a few MB for the bundled scenario); a larger
 * one is read again by each replay.
 */
export const RECORDED_PACKETS = 250_000;

/** How a replay of `config` reads its capture: the profile's analyzer on the configured ports and TCP. */
export function feedOptions(config: PipelineConfig, topology: Topology = profileOf(config.profile).topology(config)): FeedOptions {
  const c = config;
  return {
    ports: [{ protocol: PROTOCOLS[topology.source.protocol]!, ports: c.ports }],
    tcp: c.tcp,
    tcpOptions: { streamTimeoutNs: streamTimeout(c.tcp, c.pacing === 'topspeed', c.transactionTimeoutNs), maxConnections: c.maxConnections },
  };
}

/** What identifies a feed: the capture and every option of its analysis. */
export function feedKey(capture: string, o: FeedOptions): string {
  const ports = o.ports.map((p) => (typeof p === 'number' ? p : `${p.protocol.name}:${p.ports.join(',')}`));
  return JSON.stringify([capture, ports, o.tcp, o.tcpOptions ?? {}]);
}

export class FeedRecording {
  private constructor(
    readonly key: string,
    readonly file: string,
    readonly base: TimeBase,
    readonly packets: number,
    readonly times: Float64Array,
    readonly caplens: Uint32Array,
    /** Transactions completed once packet i was read: `transactions[0 .. ends[i])`; the rest came at the capture's end. */
    readonly ends: Uint32Array,
    readonly transactions: readonly Transaction[],
    readonly error: CaptureError | null,
    readonly warnings: readonly CaptureWarning[],
    readonly counters: Readonly<Counters>,
    readonly equations: readonly Equation[],
  ) {}

  /** The capture read once through a {@link CaptureFeed}; null past `maxPackets` (keeping it all would cost more than reading again). */
  static make(capture: string, options: FeedOptions, maxPackets: number): FeedRecording | null {
    const transactions: Transaction[] = [];
    const feed = new CaptureFeed(capture, { onTransaction: (tx) => transactions.push(tx) }, options);
    let times = new Float64Array(1024);
    let caplens = new Uint32Array(1024);
    let ends = new Uint32Array(1024);
    let n = 0;
    while (feed.step()) {
      if (n === maxPackets) {
        feed.stop();
        return null;
      }
      if (n === times.length) {
        [times, caplens, ends] = [grown(times, new Float64Array(2 * n)), grown(caplens, new Uint32Array(2 * n)), grown(ends, new Uint32Array(2 * n))];
      }
      times[n] = feed.lastTsNs;
      caplens[n] = feed.lastCaplen;
      ends[n] = transactions.length;
      n++;
    }
    return new FeedRecording(feedKey(capture, options), feed.file, { ...feed.base }, n, times, caplens, ends, transactions, feed.error, [...feed.warnings], feed.counters(), feed.equations());
  }

  /**
   * For a command that replays `capture` many times with `config`'s analysis
   * (sweep, calibrate): its recording, or undefined past {@link RECORDED_PACKETS}
   * (each replay then reads the capture).
   */
  static forReplays(capture: string, config: PipelineConfig): FeedRecording | undefined {
    return FeedRecording.make(capture, feedOptions(config), RECORDED_PACKETS) ?? undefined;
  }

  /** A feed giving `sink` what the capture gave, packet by packet. */
  play(sink: TransactionSink): Feed {
    return new PlayedFeed(this, sink);
  }
}

function grown<T extends Float64Array | Uint32Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

/** A recording played: {@link step} gives the next packet's time and length, and the transactions it completed. */
class PlayedFeed implements Feed {
  readonly base: TimeBase;
  packets = 0;
  bytes = 0;
  lastTsNs = 0;
  lastCaplen = 0;
  transactions = 0;
  private done = false;

  constructor(
    private readonly r: FeedRecording,
    private readonly sink: TransactionSink,
  ) {
    this.base = { ...r.base };
  }

  get file(): string {
    return this.r.file;
  }

  get error(): CaptureError | null {
    return this.r.error;
  }

  get warnings(): readonly CaptureWarning[] {
    return this.r.warnings;
  }

  step(): boolean {
    if (this.done) return false;
    const r = this.r;
    const i = this.packets;
    if (i < r.packets) {
      this.lastTsNs = r.times[i]!;
      this.lastCaplen = r.caplens[i]!;
      this.bytes += this.lastCaplen;
      this.packets++;
    } else {
      this.done = true;
    }
    const to = i < r.packets ? r.ends[i]! : r.transactions.length;
    while (this.transactions < to) this.sink.onTransaction(r.transactions[this.transactions++]!);
    return !this.done;
  }

  stop(): void {
    this.done = true;
  }

  /** The capture's counters: a played feed is read to its end (the sweep's replays are). */
  counters(): Counters {
    return { ...this.r.counters };
  }

  equations(): Equation[] {
    return [...this.r.equations];
  }
}
