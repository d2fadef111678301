import { CaptureFeed, PROTOCOLS, type Counters, type Feed } from '../feed.js';
import { feedKey, feedOptions, type FeedRecording } from './recording.js';
import type { CaptureReader } from '../pcap/reader.js';
import { Encoders, eventTimestamp, type EventOptions, type TimeBase, type Transaction } from '../protocols/index.js';
import { profileOf, type RunView, type StageSpec, type StoreView, type Topology } from '../profiles/index.js';
import { jitterOptions, NO_JITTER, StageCost, type JitterOptions } from '../sim/cost.js';
import { Random } from '../sim/random.js';
import { HandoffQueue } from '../sim/handoff.js';
import { Scheduler, type Clock, type Process, type StepHook, type Wakeup } from '../sim/scheduler.js';
import { PersistedQueue } from '../sim/persisted.js';
import { Store } from '../sim/store.js';
import type { PipelineConfig } from '../profiles/index.js';
import { Ledger, type FateCounts, type LostCounts } from './ledger.js';
import { NdjsonWriter, stdoutWriter } from './ndjson.js';
import { validateConfig } from '../profiles/index.js';

/** Where published events go. */
export type OutputTarget = { kind: 'none' } | { kind: 'memory' } | { kind: 'file'; path: string } | { kind: 'stdout' };

export interface ReplayOptions {
  output?: OutputTarget;
  /** Write the fate of every transaction as NDJSON. */
  ledger?: string;
  /** Called before every scheduler step (determinism checks, traces). */
  hook?: StepHook;
  /** The clock to run on (a test's own); a new one by default. */
  scheduler?: Scheduler;
  /**
   * The capture's analysis, recorded once ({@link FeedRecording}): played
   * instead of reading the capture when it was made with this replay's
   * capture and analysis options. The replay must run to its end.
   */
  recording?: FeedRecording;
}

export interface ReplaySummary {
  file: string;
  packets: number;
  transactions: number;
  counters: Counters & PipelineCounters;
  fates: FateCounts;
  lostAtShutdownBy: LostCounts;
  /** Events written a second time: read again from a persisted queue after a crash (lines written = published + duplicated). */
  duplicated: number;
  /** The counters the profile's shipper keeps, under its names ({@link Profile.counters}). */
  shipper: Record<string, number>;
  /** Simulated time from the first packet to the last step, ns. */
  simTimeNs: number;
  /** Simulated time when the source finished the capture, ns. */
  sourceEndNs: number;
  steps: number;
  /**
   * A Go program's model ({@link Topology.goSelect}): the instants at which
   * several steps were due and their order was drawn from the seed.
   */
  selectTies?: number;
  config: PipelineConfig;
  warnings: string[];
  error: string | null;
  /** Published events, with `output: memory`. */
  lines?: string[];
}

/** Counters packetbeat has (libbeat.*) and the ones it never kept. */
export interface PipelineCounters {
  'libbeat.publisher.published_events': number;
  'publisher.queue_accepted': number;
  'publisher.dropped_queue_full': number;
  /** Counted in published_events, then lost at shutdown: never written. */
  'publisher.published_not_written': number;
  'publisher.lost_at_shutdown': number;
  'publisher.output_failed': number;
  'publisher.filtered': number;
  'publisher.queue_max_depth': number;
  /** What the first queue holds when the run ends (a persisted queue keeps it on disk). */
  'publisher.queue_depth': number;
  'output.lines_written': number;
}

/** Where published events go, each encoded once by its protocol's encoder. */
interface Sink {
  publish(tx: Transaction): void;
  close(): void;
  /** The run failed: nothing is left under the output's name. */
  discard(): void;
}

function openSink(target: OutputTarget, lines: string[], base: TimeBase, options: EventOptions): Sink {
  const encoder = new Encoders(PROTOCOLS, options);
  const nothing = () => {};
  switch (target.kind) {
    case 'none':
      return { publish: nothing, close: nothing, discard: nothing };
    case 'memory':
      return { publish: (tx) => lines.push(encoder.format(tx, base)), close: nothing, discard: nothing };
    case 'file': {
      const w = new NdjsonWriter(target.path);
      return { publish: (tx) => encoder.write(tx, base, w), close: () => w.close(), discard: () => w.discard() };
    }
    case 'stdout': {
      const w = stdoutWriter();
      return { publish: (tx) => encoder.write(tx, base, w), close: () => w.flush(), discard: nothing };
    }
  }
}

/**
 * One replay: the capture's packets through the analyzer and the stores and
 * stages of the profile's {@link Topology}, to the output, all on one
 * simulated clock. {@link run} advances it in slices so a caller can show
 * progress or stop it; {@link finish} closes it and checks the ledger.
 */
export class Replay {
  readonly scheduler: Scheduler;
  readonly feed: Feed;
  readonly ledger: Ledger;
  readonly topology: Topology;
  /** The stores, by name, in the topology's order. */
  readonly stores = new Map<string, Store<Transaction>>();
  /** Every stage's instances, in the topology's order. */
  readonly workers: Worker[] = [];
  readonly published = new PublishedCount();
  sourceEndNs = -1;
  /** The stores whose events are in published_events already. */
  private readonly countedStores: Set<string>;
  private readonly output: Output;
  private readonly sink: Sink;
  private readonly ledgerFile: NdjsonWriter | null;
  private readonly lines: string[] = [];
  private finished = false;
  private readonly outputKind: OutputTarget['kind'];

  constructor(capture: string | CaptureReader, readonly config: PipelineConfig, opts: ReplayOptions = {}) {
    validateConfig(config);
    const c = config;
    const t = profileOf(c.profile).topology(c);
    this.topology = t;
    this.scheduler = opts.scheduler ?? new Scheduler();
    if (t.goSelect) this.scheduler.shuffleTies(new Random(c.seed, 'go.select'));
    // the capture first: a capture that does not open leaves nothing else to undo
    let source: Source | null = null;
    const options = feedOptions(c, t);
    // the stages read a transaction's messages until its fate (a crash may read one again after: then every one is held)
    const emitted = {
      onTransaction: (tx: Transaction) => source!.emitted(tx),
      holds: c.crashAtNs > 0 ? () => true : (tx: Transaction) => !this.ledger.hasFate(tx),
    };
    const recording = opts.recording;
    this.feed =
      recording !== undefined && typeof capture === 'string' && recording.key === feedKey(capture, options)
        ? recording.play(emitted)
        : new CaptureFeed(capture, emitted, options);
    let ledgerFile: NdjsonWriter | null = null;
    try {
      ledgerFile = opts.ledger ? new NdjsonWriter(opts.ledger) : null;
      this.sink = openSink(opts.output ?? { kind: 'none' }, this.lines, this.feed.base, t.events);
    } catch (e) {
      ledgerFile?.discard();
      this.feed.stop();
      throw e;
    }
    this.ledgerFile = ledgerFile;
    this.ledger = new Ledger(ledgerFile, t.queues.map((q) => q.name));
    // a ledger line says which transaction it is, as its event would: joined on @timestamp, client, method, resource
    if (ledgerFile !== null) {
      const base = this.feed.base;
      this.ledger.describe = (tx) =>
        `,"@timestamp":"${eventTimestamp(base, tx.tsNs)}","client_ip":"${tx.conn.clientIp}","client_port":${tx.conn.clientPort},"method":${JSON.stringify(tx.method)},"resource":${JSON.stringify(tx.resource)}`;
    }
    this.outputKind = opts.output?.kind ?? 'none';
    const jitter = c.jitter > 0 ? jitterOptions(c.jitter) : NO_JITTER;
    for (const q of t.queues) {
      this.stores.set(
        q.name,
        q.persisted !== undefined
          ? new PersistedQueue<Transaction>(q.name, this.scheduler, q.persisted)
          : q.handoff === true
            ? new HandoffQueue<Transaction>(q.name, this.scheduler, q.whenFull === 'drop')
            : new Store<Transaction>(q.name, q.capacity, this.scheduler, q.memqueue && q.memqueue.minEvents > 1 ? q.memqueue : null, q.freedOnAck === true),
      );
    }
    const whenFull = t.queues.find((q) => q.name === t.source.output)!.whenFull;
    const end: Process = { stage: 'shutdown', run: (now) => this.shutdown(now) };
    const cost = new StageCost('analyzer', t.source.cost, jitter, c.seed);
    source = new Source(this.feed, this.scheduler, this.store(t.source.output), whenFull, this.ledger, cost, c, [...this.stores.values()], (now) => {
      this.sourceEndNs = now;
      // late: whatever completes at the very instant the waitstop ends still counts
      this.scheduler.at(now + t.shutdown.graceNs + t.shutdown.afterNs, end, 'deadline', 0, 'late');
    });
    // the filters run in the stage that says so, else at the output
    const stageFilters = t.stages.some((st) => st.filters === true);
    this.output = new Output(this.ledger, this.sink, stageFilters ? [] : c.dropMethods, c.outputFailureRate, new Random(c.seed, 'output.failures'));
    this.countedStores = countedStores(t);
    for (const spec of t.stages) {
      for (let i = 0; i < spec.instances; i++) {
        const name = spec.numbered ? `${spec.name}.${i + 1}` : spec.name;
        this.workers.push(this.worker(spec, name, jitter));
      }
    }
    this.scheduler.hook = opts.hook ?? this.scheduler.hook;
    this.scheduler.at(0, source, 'next');
    for (const w of this.workers) w.input.wait(w);
    if (c.crashAtNs > 0) this.scheduler.at(c.crashAtNs, { stage: 'crash', run: (now) => this.crash(now) }, 'deadline');
  }

  private store(name: string): Store<Transaction> {
    const s = this.stores.get(name);
    if (s === undefined) throw new Error(`topology: no store named ${name}`);
    return s;
  }

  private worker(spec: StageSpec, name: string, jitter: JitterOptions): Worker {
    const c = this.config;
    const cost = new StageCost(name, spec.cost, jitter, c.seed, c.drawsPer);
    const next = spec.output === null ? null : this.store(spec.output);
    return new Worker(
      name, this.scheduler, this.store(spec.input), next, this.output, this.ledger, spec.countsPublished ? this.published : null, spec.batch, cost,
      this.countedStores.has(spec.input), spec.filters === true ? c.dropMethods : null,
      spec.output === null ? 'block' : this.topology.queues.find((q) => q.name === spec.output)!.whenFull,
      spec.takesOnlyWithRoom === true,
    );
  }

  /** The store the analyzer publishes into (packetbeat's `queue_size` channel; Logstash's queue). */
  get queue(): Store<Transaction> {
    return this.store(this.topology.source.output);
  }

  /** Runs at most `maxSteps` steps; true when the replay has nothing left to do. */
  run(maxSteps = Infinity): boolean {
    const s = this.scheduler;
    s.stepLimit = s.steps + maxSteps;
    try {
      while (s.steps < s.stepLimit) if (!s.step()) return true;
    } catch (e) {
      // a failed write, or a bug: no half-written file is left under its name, and the capture is let go
      this.abandon();
      throw e;
    }
    return s.pending === 0;
  }

  /** Ends a run that failed: closes the capture and drops the output files. */
  private abandon(): void {
    if (this.finished) return;
    this.finished = true;
    this.feed.stop();
    this.sink.discard();
    this.ledgerFile?.discard();
  }

  /**
   * After a run with `drain`: the shortest waitstop that would have lost
   * nothing with `abort` — until the last event left the stages an abort
   * stops.
   */
  minWaitstopNoLossNs(): number {
    const shutdown = profileOf(this.config.profile).topology({ ...this.config, shutdown: 'abort' }).shutdown;
    let done = this.sourceEndNs;
    for (const w of this.workers) if (shutdown.stops.includes(w.spec)) done = Math.max(done, w.lastDeliveryNs);
    return Math.max(0, done - this.sourceEndNs - shutdown.graceNs);
  }

  /**
   * The shipper crashes and starts again at once: what its memory held is
   * lost (`lost_in_crash`), the workers' batches with it; a persisted queue
   * keeps what is on disk and reads again from its checkpoints, so what was
   * acked since is written twice (`duplicated`). The input goes on: what it
   * had not handed to the queue yet, it hands to the new process.
   */
  private crash(now: number): void {
    const again = new Set<Transaction>();
    // where an event is furthest along first: what the workers hold, then the stores from the last: a persisted
    // queue also lists what it lent out and was not acked, and those further on know whether it was counted
    const lost: [Transaction, string, boolean][] = [];
    for (const w of this.workers) {
      const { held, counted } = w.crash();
      for (const tx of held) lost.push([tx, 'in_flight', counted]);
    }
    for (const [name, store] of [...this.stores].reverse()) {
      const r = store.crash(now, this.config.crashPowerLoss);
      for (const tx of r.again) again.add(tx);
      const counted = this.countedStores.has(name);
      for (const tx of r.lost) lost.push([tx, name, counted]);
    }
    for (const [tx, where, counted] of lost) {
      if (this.ledger.hasFate(tx)) continue;
      // still on the persisted queue's disk: read again, and counted again when served again
      if (again.has(tx)) {
        if (counted) this.ledger.recounted++;
      } else {
        this.ledger.record(tx, 'lost_in_crash', now, where, 0, counted);
      }
    }
    for (const store of this.stores.values()) store.wakeAnother(now);
  }

  /** After the waitstop: what the topology's shutdown stops loses what it holds; the rest drains. */
  private shutdown(now: number): void {
    const last = this.topology.shutdown.lastRead ?? [];
    if (last.length > 0) {
      const readers = this.workers.filter((w) => last.includes(w.spec));
      let running = readers.length;
      for (const w of readers) w.lastRead(now, (t) => --running === 0 && this.stopAll(t));
      return;
    }
    this.stopAll(now);
  }

  /** What the topology's shutdown stops loses what it holds, in its order. */
  private stopAll(now: number): void {
    for (const name of this.topology.shutdown.stops) {
      const store = this.stores.get(name);
      if (store !== undefined) {
        const counted = this.countedStores.has(name);
        for (const tx of store.drain()) this.ledger.lostAtShutdown(tx, now, name, counted);
      }
      for (const w of this.workers) if (w.spec === name) w.stop(now);
    }
  }

  /** Closes outputs, checks the ledger, and reports. Throws LedgerImbalance if an equation fails. */
  finish(): ReplaySummary {
    return this.summarize(true);
  }

  /** A run stopped before its end (Ctrl-C): whole lines so far, no balance to check. */
  finishInterrupted(): ReplaySummary {
    return this.summarize(false);
  }

  private summarize(check: boolean): ReplaySummary {
    if (!this.finished) {
      this.finished = true;
      this.feed.stop();
      this.sink.close();
      this.ledgerFile?.close();
    }
    const counters = this.counters();
    const t = this.topology;
    const counts = t.stages.some((st) => st.countsPublished) || t.queues.some((q) => q.countsPublished === true);
    if (check) this.ledger.check(this.feed.transactions, this.feed.equations(), this.output.linesWritten, counts ? this.publishedEvents : null);
    const f = this.ledger.fates;
    return {
      file: this.feed.file,
      packets: this.feed.packets,
      transactions: this.ledger.transactions,
      counters,
      fates: { ...f },
      lostAtShutdownBy: { ...this.ledger.lostAtShutdownBy },
      duplicated: this.ledger.duplicated,
      shipper: profileOf(this.config.profile).counters(this.view(), this.config),
      simTimeNs: this.scheduler.now,
      sourceEndNs: this.sourceEndNs,
      steps: this.scheduler.steps,
      ...(this.topology.goSelect ? { selectTies: this.scheduler.drawnTies } : {}),
      config: this.config,
      warnings: this.feed.warnings.map((w) => w.message),
      error: this.feed.error?.message ?? null,
      ...(this.outputKind === 'memory' ? { lines: this.lines } : {}),
    };
  }

  /** Events counted as published: by the stages that count them, and as the stores that count them accepted them. */
  get publishedEvents(): number {
    let n = this.published.count;
    for (const q of this.topology.queues) if (q.countsPublished === true) n += this.store(q.name).accepted;
    return n;
  }

  /** The run as a profile reads it for its shipper's counters. */
  view(): RunView {
    const none: StoreView = { accepted: 0, dropped: 0, taken: 0, depth: 0, maxDepth: 0, pushBlockedNs: 0, pushBlockedWholeMs: 0, pushBlockedWallMs: 0 };
    return {
      published: this.publishedEvents,
      analyzer: this.feed.counters(),
      fates: this.ledger.fates,
      lostAtShutdownBy: this.ledger.lostAtShutdownBy,
      store: (name) => this.stores.get(name) ?? none,
      serviceNs: (stage) => this.workers.reduce((ns, w) => (w.spec === stage ? ns + w.serviceNs : ns), 0),
      serviceWholeMs: (stage) => this.workers.reduce((ms, w) => (w.spec === stage ? ms + w.serviceWholeMs : ms), 0),
      serviceWallMs: (stage) => this.workers.reduce((ms, w) => (w.spec === stage ? ms + w.serviceWallMs : ms), 0),
      uptimeNs: this.scheduler.now,
      served: (stage) => this.workers.reduce((n, w) => (w.spec === stage ? n + w.servedEvents : n), 0),
    };
  }

  counters(): Counters & PipelineCounters {
    const f = this.ledger.fates;
    const q = this.queue;
    return {
      ...this.feed.counters(),
      'libbeat.publisher.published_events': this.publishedEvents,
      'publisher.queue_accepted': q.accepted,
      'publisher.dropped_queue_full': f.dropped_queue_full,
      'publisher.lost_at_shutdown': f.lost_at_shutdown,
      'publisher.published_not_written': this.ledger.countedLost,
      'publisher.output_failed': f.output_failed,
      'publisher.filtered': f.filtered,
      'publisher.queue_max_depth': q.maxDepth,
      'publisher.queue_depth': q.depth,
      'output.lines_written': this.output.linesWritten,
    };
  }
}

/** The stores whose events packetbeat has counted in published_events: those a counting stage feeds, and any after them. */
function countedStores(t: Topology): Set<string> {
  const counted = new Set<string>(t.queues.filter((q) => q.countsPublished === true).map((q) => q.name));
  for (let grew = true; grew; ) {
    grew = false;
    for (const st of t.stages) {
      if (st.output !== null && !counted.has(st.output) && (st.countsPublished || counted.has(st.input))) {
        counted.add(st.output);
        grew = true;
      }
    }
  }
  return counted;
}

/** packetbeat's `libbeat.publisher.published_events`, counted by the stages the topology says. */
export class PublishedCount {
  count = 0;
}

/** The end of the chain: filters, output failures, the event file. Each event gets its fate here. */
class Output {
  linesWritten = 0;

  constructor(
    private readonly ledger: Ledger,
    private readonly sink: Sink,
    /** The filters' methods, when no stage runs them before (see {@link StageSpec.filters}). */
    private readonly dropMethods: readonly string[],
    private readonly failureRate: number,
    private readonly failures: Random,
  ) {}

  /** The end of a batch's service: `batch[from..to)` reaches the output at `now`, from `stage`; `counted`: in published_events already. */
  take(batch: Transaction[], from: number, to: number, now: number, stage: string, counted: boolean): void {
    const failed = this.failureRate > 0 && this.failures.float() < this.failureRate;
    for (let i = from; i < to; i++) {
      const tx = batch[i]!;
      if (this.ledger.hasFate(tx)) {
        // read again from a persisted queue after a crash: written again, unless filtered or failed again
        this.ledger.redelivered++;
        if (!failed && !this.dropMethods.includes(tx.method)) {
          this.sink.publish(tx);
          this.linesWritten++;
          this.ledger.duplicate(tx, now, stage);
        }
        continue;
      }
      if (this.dropMethods.length > 0 && this.dropMethods.includes(tx.method)) {
        this.ledger.record(tx, 'filtered', now, stage, 0, counted);
      } else if (failed) {
        this.ledger.record(tx, 'output_failed', now, stage, 0, counted);
      } else {
        this.sink.publish(tx);
        this.linesWritten++;
        this.ledger.record(tx, 'published', now, stage, 0, counted);
      }
    }
  }
}

/**
 * The analyzer as a process: reads a packet, spends its cost, then publishes
 * the transactions that packet completed into its store — dropping them when
 * it is full (`drop`), or waiting for room (`block`).
 */
class Source implements Process {
  readonly stage = 'source';
  /** Transactions the last packet completed: `pending[next..count)` still to publish. Slots are reused. */
  private readonly pending: Transaction[] = [];
  private count = 0;
  private next = 0;
  private ended = false;

  constructor(
    private readonly feed: Feed,
    private readonly clock: Clock,
    private readonly out: Store<Transaction>,
    private readonly whenFull: 'drop' | 'block',
    private readonly ledger: Ledger,
    private readonly cost: StageCost,
    private readonly config: Pick<PipelineConfig, 'pacing' | 'speed' | 'gcSlowdown' | 'gcHeapEvents'>,
    /** Every store: what they hold slows the analyzer ({@link PipelineConfig.gcSlowdown}). */
    private readonly stores: Store<Transaction>[],
    private readonly onEnd: (now: number) => void,
  ) {}

  emitted(tx: Transaction): void {
    this.ledger.admit(tx);
    this.pending[this.count++] = tx;
  }

  run(now: number): void {
    const q = this.out;
    const feed = this.feed;
    const clock = this.clock;
    for (;;) {
      while (this.next < this.count) {
        const tx = this.pending[this.next]!;
        if (q.tryPut(tx)) {
          this.next++;
          // Logstash's persisted queue writes, then waits while it is full
          if (q.mustWait) {
            q.block(this, now);
            return;
          }
          continue;
        }
        if (this.whenFull === 'drop') {
          // packetbeat 5.x PublishTransaction: select { case trans <- ev: default: } — dropped, uncounted there
          this.ledger.record(tx, 'dropped_queue_full', now, q.name, q.depth);
          q.dropped++;
          this.next++;
          continue;
        }
        q.block(this, now);
        return;
      }
      if (this.next !== 0) {
        this.count = 0; // not pending.length = 0: resizing an array is a runtime call, per packet
        this.next = 0;
      }
      if (this.ended) {
        this.onEnd(now);
        return;
      }
      if (!feed.step()) {
        // the capture's end closes every connection, which may complete transactions: publish them now
        this.ended = true;
        if (this.count > 0) clock.at(now, this, 'next');
        else this.onEnd(now);
        return;
      }
      let cost = this.cost.next(1, feed.lastCaplen, this.count, 0);
      if (this.config.gcSlowdown > 0) cost = this.heldSlowdown(cost);
      let start = now;
      if (this.config.pacing === 'timestamps') {
        const arrival = Math.round(feed.lastTsNs / this.config.speed);
        if (arrival > start) start = arrival;
      }
      // the next packet is usually done before anything else happens: step it here, not through the heap
      if (!clock.stepInline(start + cost, this, 'next')) {
        clock.at(start + cost, this, 'next');
        return;
      }
      now = clock.now;
    }
  }

  /**
   * A packet's cost while the stores hold events: Go's collector marks the
   * live heap once a cycle, and a cycle comes every time the heap doubles but
   * at least every 4 MB (runtime/mgc.go, heapminimum). Below that minimum the
   * marking per byte allocated grows with what is live; above it, it stays.
   */
  private heldSlowdown(cost: number): number {
    let held = 0;
    for (const s of this.stores) held += s.depth;
    return Math.round(cost * (1 + this.config.gcSlowdown * Math.min(1, held / this.config.gcHeapEvents)));
  }
}

const WAITING = 0;
const SERVING = 1;
const BLOCKED = 2;
const STOPPED = 3;

/**
 * A worker reading batches from a store, as Logstash's `read_batch`: it
 * takes what is there up to the batch size; if that is not a full batch it
 * polls for the batch delay, the wait starting again after each event; then
 * it spends its service time and hands the batch on — to the next store
 * (blocking when it is full) or to the output. packetbeat's publisher and
 * output goroutines are workers with a batch of one and no delay.
 */
export class Worker implements Process {
  /** Time spent serving batches, ns (Logstash's duration_in_millis for the filter+output workers). */
  serviceNs = 0;
  /** The same, each batch's truncated to whole ms first. */
  serviceWholeMs = 0;
  /** The same, each batch's as the difference of two readings of a ms clock (Logstash 6.0's `current_time_millis`). */
  serviceWallMs = 0;
  /** Events served, before the filters. */
  servedEvents = 0;
  /** When this worker last handed a batch on, ns. */
  lastDeliveryNs = 0;
  /** The topology stage this worker is an instance of. */
  readonly spec: string;
  private state = WAITING;
  /** The batch in hand is `batch[0..size)`; slots are reused, never reallocated. */
  private readonly batch: Transaction[] = [];
  private size = 0;
  private delivered = 0;
  private timerGen = 0;
  /** Events taken for the batch in hand, filtered ones included: what it acknowledges once done. */
  private taken = 0;
  private readonly batchSize: number;
  private readonly batchDelayNs: number;
  /** Polls in a row that must time out with nothing before a partial batch is served. */
  private readonly polls: number;
  private emptyPolls = 0;
  /** The wait starts again after each event (Logstash), or once for the whole batch (the Beats 8.13 get request). */
  private readonly restart: boolean;
  private waiting = false;

  /** The batch in hand is in published_events: counted by this stage once served, or by one before it. */
  private counted = false;
  /** Bumped by a crash: a service that was under way then never ends. */
  private epoch = 0;
  /** Reads it may still begin ({@link lastRead}); then it stops and calls `onStop`. */
  private readsLeft = Infinity;
  private onStop: ((now: number) => void) | null = null;

  constructor(
    readonly stage: string,
    private readonly clock: Clock,
    readonly input: Store<Transaction>,
    private readonly next: Store<Transaction> | null,
    private readonly output: Output,
    private readonly ledger: Ledger,
    private readonly published: PublishedCount | null,
    batch: { size: number; delayNs: number; polls?: number; restart?: boolean },
    private readonly cost: StageCost,
    /** What it reads was counted in published_events by a stage before it. */
    private readonly readsCounted = false,
    /** The methods its filters drop once served, before counting and handing on (null: it runs none). */
    private readonly dropMethods: readonly string[] | null = null,
    /** What a full next store does to what this worker hands on: wait for room, or drop it (Vector's `drop_newest`). */
    private readonly whenNextFull: 'drop' | 'block' = 'block',
    /** It takes only while the next store has room ({@link StageSpec.takesOnlyWithRoom}). */
    private readonly onlyWithRoom = false,
  ) {
    const dot = stage.indexOf('.');
    this.spec = dot < 0 ? stage : stage.slice(0, dot);
    this.batchSize = batch.size;
    this.batchDelayNs = batch.delayNs;
    this.polls = batch.polls ?? 1;
    this.restart = batch.restart ?? true;
  }

  run(now: number, wakeup: Wakeup, arg: number): void {
    if (this.state === STOPPED) return;
    if (wakeup === 'served') {
      if (arg !== this.epoch) return;
      this.served(now);
      if (this.deliver(now)) this.fill(now);
    } else if (wakeup === 'room') {
      if (this.state === BLOCKED && this.deliver(now)) this.fill(now);
    } else if (wakeup === 'item') {
      if (this.state === WAITING) this.fill(now);
    } else if (wakeup === 'timeout' && arg === this.timerGen && this.state === WAITING && this.waiting) {
      if (!this.restart) this.answer(now);
      else if (++this.emptyPolls >= this.polls) this.serve(now);
      else this.poll(now);
    }
  }

  private fill(now: number): void {
    const q = this.input;
    const next = this.next;
    if (this.onlyWithRoom && next !== null && next.full) {
      // wait for room before taking anything: woken with `room`, delivers its empty hands and fills
      this.state = BLOCKED;
      next.block(this, now);
      return;
    }
    if (this.size === 0 && this.readsLeft !== Infinity) {
      // a new read after the shutdown signal: the last one, or none; one that finds nothing ends the loop
      if (this.readsLeft === 0 || q.takeableBy(this) === 0) return this.finish(now);
      this.readsLeft--;
    }
    if (!this.restart) {
      this.request(now);
      return;
    }
    // one take: what the store shows now, up to the batch (with a flush rule, of one buffer)
    const took = Math.min(this.batchSize - this.size, q.takeableBy(this));
    for (let i = 0; i < took; i++) this.batch[this.size++] = q.take(now, this);
    this.taken += took;
    if (this.size >= this.batchSize || (this.size > 0 && this.batchDelayNs === 0)) {
      this.serve(now);
      q.wakeAnother(now);
      return;
    }
    this.state = WAITING;
    q.wait(this);
    if (took > 0) {
      // the poll's timeout starts again after each event
      this.waiting = true;
      this.emptyPolls = 0;
      this.poll(now);
    }
  }

  /**
   * The Beats 8.13 get request (memqueue runloop.go): answered at once when a
   * whole batch waits (or with no wait to make), else it waits — with no timer
   * until there is an event, then until the batch fills or the wait ends. The
   * events stay in the queue until it is answered.
   */
  private request(now: number): void {
    const q = this.input;
    const takeable = q.takeableBy(this);
    if (takeable >= this.batchSize || (takeable > 0 && this.batchDelayNs === 0)) {
      this.answer(now);
      return;
    }
    this.state = WAITING;
    q.wait(this);
    if (takeable > 0 && !this.waiting) {
      this.waiting = true;
      this.poll(now);
    }
  }

  /** Takes what the queue has, up to the batch, and serves it. */
  private answer(now: number): void {
    const q = this.input;
    const took = Math.min(this.batchSize, q.takeableBy(this));
    this.waiting = false;
    // another output's request took them first: ask again
    if (took === 0) return this.request(now);
    for (let i = 0; i < took; i++) this.batch[this.size++] = q.take(now, this);
    this.taken += took;
    this.serve(now);
    q.wakeAnother(now);
  }

  /** Waits one batch delay for more. */
  private poll(now: number): void {
    this.timerGen++;
    this.clock.at(now + this.batchDelayNs, this, 'timeout', this.timerGen);
  }

  private serve(now: number): void {
    this.input.unwait(this);
    this.input.endRead(this, now);
    this.state = SERVING;
    this.emptyPolls = 0;
    this.waiting = false;
    let bytes = 0;
    // an event's sizes and id sit in objects made long ago (cold in cache): read them only when the cost needs them
    if (this.cost.model.perByte !== 0) for (let i = 0; i < this.size; i++) bytes += this.batch[i]!.bytes;
    const cost = this.cost.next(0, bytes, this.size, 1, this.cost.drawsPer === 'event' ? this.batch[0]!.id : 0);
    this.serviceNs += cost;
    this.serviceWholeMs += Math.floor(cost / 1e6);
    this.serviceWallMs += Math.floor((now + cost) / 1e6) - Math.floor(now / 1e6);
    this.clock.at(now + cost, this, 'served', this.epoch);
  }

  /**
   * The batch is served: the filters drop what they drop (packetbeat's
   * processors, before the count), then packetbeat counts the rest in
   * published_events — before the send that may block (libbeat/publisher/client.go).
   */
  private served(now: number): void {
    this.servedEvents += this.size;
    const drop = this.dropMethods;
    if (drop !== null && drop.length > 0) {
      let kept = 0;
      for (let i = 0; i < this.size; i++) {
        const tx = this.batch[i]!;
        if (drop.includes(tx.method)) this.ledger.record(tx, 'filtered', now, this.stage, 0, this.readsCounted);
        else this.batch[kept++] = tx;
      }
      this.size = kept;
    }
    if (this.published !== null) this.published.count += this.size;
    this.counted = this.readsCounted || this.published !== null;
  }

  /** Hands the served batch on; false when blocked on a full next store. */
  private deliver(now: number): boolean {
    // a batch its filters emptied was held until now all the same (what an abort before now loses)
    if (this.size > 0 || this.taken > 0) this.lastDeliveryNs = now;
    const next = this.next;
    if (next === null) {
      this.output.take(this.batch, this.delivered, this.size, now, this.stage, this.counted);
    } else {
      while (this.delivered < this.size) {
        const tx = this.batch[this.delivered]!;
        if (!next.tryPut(tx)) {
          if (this.whenNextFull === 'drop') {
            this.ledger.record(tx, 'dropped_queue_full', now, next.name, next.depth, this.counted);
            next.dropped++;
            this.delivered++;
            continue;
          }
          this.state = BLOCKED;
          next.block(this, now);
          return false;
        }
        this.delivered++;
      }
    }
    this.size = 0;
    this.delivered = 0;
    this.counted = false;
    this.state = WAITING;
    // the batch is done: a store that frees room on acknowledgement (the Beats memory queue) gets it back
    this.input.ack(this.taken, now, this);
    this.taken = 0;
    return true;
  }

  /** A crash: the batch in hand is forgotten (returned, for the caller to give fates), and the worker waits anew. */
  crash(): { held: Transaction[]; counted: boolean } {
    const held = this.batch.slice(this.delivered, this.size);
    // as at shutdown: served and blocked on the next store, counted; not yet served, only if counted before it
    const counted = this.state === BLOCKED ? this.counted : this.readsCounted;
    this.size = 0;
    this.delivered = 0;
    this.taken = 0;
    this.counted = false;
    this.waiting = false;
    this.emptyPolls = 0;
    this.timerGen++;
    this.epoch++;
    if (this.state !== STOPPED) {
      this.state = WAITING;
      this.input.wait(this);
    }
    return { held, counted };
  }

  /**
   * The shutdown signal (Logstash's worker_loop, before 6.1.3): the batch in
   * hand (or the read under way) finishes, one more read follows, and the
   * worker stops, calling `onStop`. Waiting with nothing, it stops now.
   */
  lastRead(now: number, onStop: (now: number) => void): void {
    this.onStop = onStop;
    if (this.state === STOPPED || (this.state === WAITING && this.size === 0)) return this.finish(now);
    this.readsLeft = 1;
  }

  private finish(now: number): void {
    this.state = STOPPED;
    this.input.unwait(this);
    const done = this.onStop;
    this.onStop = null;
    done?.(now);
  }

  /** Shutdown: whatever this worker holds is lost in flight (counted in published_events if it was served by a counting stage, or read from one). */
  stop(now: number): void {
    // served and blocked on the next store: counted; not yet served: only if counted before it
    const counted = this.state === BLOCKED ? this.counted : this.readsCounted;
    for (let i = this.delivered; i < this.size; i++) this.ledger.lostAtShutdown(this.batch[i]!, now, 'in_flight', counted);
    this.size = 0;
    this.state = STOPPED;
    this.input.unwait(this);
  }
}

/** Replays a capture to the end and returns its summary. */
export function replay(capture: string, config: PipelineConfig, opts: ReplayOptions = {}): ReplaySummary {
  const r = new Replay(capture, config, opts);
  r.run();
  return r.finish();
}
