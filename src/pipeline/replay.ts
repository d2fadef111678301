import { CaptureFeed, type Counters, type Feed } from '../analyze.js';
import type { CaptureReader } from '../pcap/reader.js';
import { formatEvent, type Transaction } from '../redis/transaction.js';
import { jitterOptions, NO_JITTER, StageCost } from '../sim/cost.js';
import { Random } from '../sim/random.js';
import { Scheduler, type Process, type StepHook } from '../sim/scheduler.js';
import type { PipelineConfig } from './config.js';
import { Ledger, type FateCounts, type LostCounts } from './ledger.js';
import { NdjsonWriter } from './ndjson.js';
import { ThreadedEventWriter } from './output-thread.js';
import { BoundedQueue, RESUME, WAKE } from './queue.js';
import { ThreadedFeed, wantsTcpThread } from './tcp-thread.js';
import { validateConfig } from './validate.js';

const DONE = -1;

/** Where published events go. */
export type OutputTarget = { kind: 'none' } | { kind: 'memory' } | { kind: 'file'; path: string } | { kind: 'stdout' };

export interface ReplayOptions {
  output?: OutputTarget;
  /** Write the fate of every transaction as NDJSON. */
  ledger?: string;
  /** Called before every scheduler step (determinism checks, traces). */
  hook?: StepHook;
  /**
   * Read, decode and follow TCP on a thread of their own ({@link ThreadedFeed}):
   * the same results, sooner on a machine with a core to spare. By default,
   * for captures of 16 MiB or more whose events do not go to a file (see
   * `TCP_THREAD_MIN_BYTES`).
   */
  tcpThread?: boolean;
}

/** Logstash's node-stats shape for the pipeline, exact because measured in simulated time. */
export interface LogstashStats {
  events: { in: number; filtered: number; out: number; duration_in_millis: number; queue_push_duration_in_millis: number };
}

export interface ReplaySummary {
  file: string;
  packets: number;
  transactions: number;
  counters: Counters & PipelineCounters;
  fates: FateCounts;
  lostAtShutdownBy: LostCounts;
  logstash: LogstashStats;
  /** Simulated time from the first packet to the last step, ns. */
  simTimeNs: number;
  /** Simulated time when the source finished the capture, ns. */
  sourceEndNs: number;
  steps: number;
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
  'publisher.lost_at_shutdown': number;
  'publisher.output_failed': number;
  'publisher.filtered': number;
  'publisher.queue_max_depth': number;
  'output.lines_written': number;
}

/** Where published events go. */
interface Sink {
  publish(tx: Transaction): void;
  close(): void;
  /** With a file: the writer, whose counters tests read. */
  writer?: ThreadedEventWriter;
}

function openSink(target: OutputTarget, lines: string[], feed: Feed): Sink {
  const base = feed.base;
  const nothing = () => {};
  switch (target.kind) {
    case 'none':
      return { publish: nothing, close: nothing };
    case 'memory':
      return { publish: (tx) => lines.push(formatEvent(tx, base)), close: nothing };
    case 'file': {
      // encoded and written on another thread: this one only hands over where each event's bytes are
      const w = new ThreadedEventWriter(target.path, base, feed.pool);
      feed.beforeRewrite = (buf) => w.beforeRewrite(buf);
      return { publish: (tx) => w.publish(tx), close: () => w.close(), writer: w };
    }
    case 'stdout': {
      let buf: string[] = [];
      const flush = () => {
        if (buf.length > 0) process.stdout.write(`${buf.join('\n')}\n`);
        buf = [];
      };
      return {
        publish(tx) {
          buf.push(formatEvent(tx, base));
          if (buf.length >= 4096) flush();
        },
        close: flush,
      };
    }
  }
}

/**
 * One replay: the capture's packets through the analyzer, the publisher queue,
 * the workers, maybe packetbeat's pipeline queue and output worker, to the
 * output, all on one simulated clock. {@link run} advances it in slices so a
 * caller can show progress or stop it; {@link finish} closes it and checks the ledger.
 */
export class Replay {
  readonly scheduler = new Scheduler();
  readonly feed: Feed;
  readonly ledger: Ledger;
  readonly queue: BoundedQueue;
  readonly pipeline: BoundedQueue | null;
  readonly workers: Worker[] = [];
  readonly outputWorker: Worker | null = null;
  publishedEvents = 0;
  linesWritten = 0;
  sourceEndNs = -1;
  private readonly sink: Sink;
  private readonly ledgerFile: NdjsonWriter | null;
  private readonly lines: string[] = [];
  private readonly source: Source;
  private finished = false;
  private readonly outputKind: OutputTarget['kind'];
  /** Runs at the end of the waitstop. */
  private readonly shutdownProcess: Process = { stage: 'shutdown', run: (now) => this.shutdown(now) };
  readonly failures: Random;

  constructor(capture: string | CaptureReader, readonly config: PipelineConfig, opts: ReplayOptions = {}) {
    validateConfig(config);
    const c = config;
    this.ledgerFile = opts.ledger ? new NdjsonWriter(opts.ledger) : null;
    this.ledger = new Ledger(this.ledgerFile);
    const jitter = c.jitter > 0 ? jitterOptions(c.jitter) : NO_JITTER;
    this.source = new Source(this, new StageCost('analyzer', c.costs.analyzer, jitter, c.seed));
    const sink = { onTransaction: (tx: Transaction) => this.source.emitted(tx) };
    const feedOptions = { ports: c.ports, tcp: c.tcp };
    this.feed =
      typeof capture === 'string' && wantsTcpThread(capture, opts.tcpThread, opts.output?.kind ?? 'none')
        ? new ThreadedFeed(capture, sink, feedOptions)
        : new CaptureFeed(capture, sink, feedOptions);
    this.outputKind = opts.output?.kind ?? 'none';
    try {
      this.sink = openSink(opts.output ?? { kind: 'none' }, this.lines, this.feed);
    } catch (e) {
      this.feed.stop();
      throw e;
    }
    this.failures = new Random(c.seed, 'output.failures');
    this.queue = new BoundedQueue('queue', c.queueSize, this.scheduler);
    this.pipeline = c.pipelineQueueSize > 0 ? new BoundedQueue('pipeline', c.pipelineQueueSize, this.scheduler) : null;
    for (let i = 0; i < c.workers; i++) {
      const cost = new StageCost(`worker.${i + 1}`, c.costs.worker, jitter, c.seed, c.drawsPer);
      this.workers.push(new Worker(this, `worker.${i + 1}`, this.queue, this.pipeline, c.batchSize, c.batchDelayNs, cost));
    }
    if (this.pipeline) {
      const cost = new StageCost('output', c.costs.output, jitter, c.seed, c.drawsPer);
      this.outputWorker = new Worker(this, 'output', this.pipeline, null, 1, 0, cost);
    }
    this.scheduler.hook = opts.hook ?? null;
    this.scheduler.at(0, this.source);
    for (const w of this.workers) this.queue.wait(w);
    if (this.outputWorker) this.pipeline!.wait(this.outputWorker);
  }

  /** Runs at most `maxSteps` steps; true when the replay has nothing left to do. */
  run(maxSteps = Infinity): boolean {
    const s = this.scheduler;
    s.stepLimit = s.steps + maxSteps;
    while (s.steps < s.stepLimit) if (!s.step()) return true;
    return s.pending === 0;
  }

  /** The end of a batch's service: filters, output failures, the output. */
  output(batch: Transaction[], from: number, to: number, now: number, worker: Worker): void {
    const failed = this.config.outputFailureRate > 0 && this.failures.float() < this.config.outputFailureRate;
    for (let i = from; i < to; i++) {
      const tx = batch[i]!;
      if (this.config.dropMethods.length > 0 && this.config.dropMethods.includes(tx.request.method)) {
        this.ledger.record(tx, 'filtered', now, worker.stage, 0);
      } else if (failed) {
        this.ledger.record(tx, 'output_failed', now, worker.stage, 0);
      } else {
        this.sink.publish(tx);
        this.linesWritten++;
        this.ledger.record(tx, 'published', now, worker.stage, 0);
      }
    }
  }

  /**
   * After a run with `drain`: the shortest waitstop that would have lost
   * nothing with `abort` — until the last event left the stages an abort
   * stops (the publisher's workers; the pipeline too unless it drains).
   */
  minWaitstopNoLossNs(): number {
    let done = this.sourceEndNs;
    for (const w of this.workers) done = Math.max(done, w.lastDeliveryNs);
    if (this.outputWorker && !this.config.drainPipeline) done = Math.max(done, this.outputWorker.lastDeliveryNs);
    return done - this.sourceEndNs;
  }

  sourceEnded(now: number): void {
    this.sourceEndNs = now;
    // late: whatever completes at the very instant the waitstop ends still counts
    this.scheduler.at(now + this.config.waitstopNs, this.shutdownProcess, 0, true);
  }

  /** After the waitstop: abort loses what is left (packetbeat 5.x exits); drain lets it finish. */
  shutdown(now: number): void {
    if (this.config.shutdown === 'drain') return;
    for (const tx of this.queue.drain()) this.ledger.record(tx, 'lost_at_shutdown', now, 'queue', 0);
    for (const w of this.workers) w.stop(now);
    if (this.pipeline && !this.config.drainPipeline) {
      for (const tx of this.pipeline.drain()) this.ledger.record(tx, 'lost_at_shutdown', now, 'pipeline', 0);
      this.outputWorker!.stop(now);
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
    if (check) this.ledger.check(counters, this.linesWritten);
    const f = this.ledger.fates;
    const serviceNs = this.workers.reduce((n, w) => n + w.serviceNs, 0);
    return {
      file: this.feed.file,
      packets: this.feed.packets,
      transactions: this.ledger.transactions,
      counters,
      fates: { ...f },
      lostAtShutdownBy: { ...this.ledger.lostAtShutdownBy },
      logstash: {
        events: {
          in: this.queue.accepted,
          filtered: this.queue.accepted - f.filtered - this.ledger.lostAtShutdownBy.queue,
          out: f.published,
          duration_in_millis: Math.floor(serviceNs / 1e6),
          queue_push_duration_in_millis: Math.floor(this.queue.pushBlockedNs / 1e6),
        },
      },
      simTimeNs: this.scheduler.now,
      sourceEndNs: this.sourceEndNs,
      steps: this.scheduler.steps,
      config: this.config,
      warnings: this.feed.warnings.map((w) => w.message),
      error: this.feed.error?.message ?? null,
      ...(this.outputKind === 'memory' ? { lines: this.lines } : {}),
    };
  }

  /** The output thread's writer, when events go to a file. */
  get eventWriter(): ThreadedEventWriter | null {
    return this.sink.writer ?? null;
  }

  counters(): Counters & PipelineCounters {
    const f = this.ledger.fates;
    return {
      ...this.feed.counters(),
      'libbeat.publisher.published_events': this.publishedEvents,
      'publisher.queue_accepted': this.queue.accepted,
      'publisher.dropped_queue_full': f.dropped_queue_full,
      'publisher.lost_at_shutdown': f.lost_at_shutdown,
      'publisher.output_failed': f.output_failed,
      'publisher.filtered': f.filtered,
      'publisher.queue_max_depth': this.queue.maxDepth,
      'output.lines_written': this.linesWritten,
    };
  }
}

/**
 * The analyzer as a process: reads a packet, spends its cost, then publishes
 * the transactions that packet completed — dropping them when the queue is
 * full (`drop`), or waiting for room (`block`).
 */
class Source implements Process {
  readonly stage = 'source';
  /** Transactions the last packet completed: `pending[next..count)` still to publish. Slots are reused. */
  private readonly pending: Transaction[] = [];
  private count = 0;
  private next = 0;
  private ended = false;

  constructor(
    private readonly r: Replay,
    private readonly cost: StageCost,
  ) {}

  emitted(tx: Transaction): void {
    this.r.ledger.admit(tx);
    this.pending[this.count++] = tx;
  }

  run(now: number): void {
    const r = this.r;
    const q = r.queue;
    const feed = r.feed;
    for (;;) {
      while (this.next < this.count) {
        const tx = this.pending[this.next]!;
        if (q.tryPut(tx)) {
          this.next++;
          continue;
        }
        if (r.config.policy === 'drop') {
          // packetbeat 5.x PublishTransaction: select { case trans <- ev: default: } — dropped, uncounted there
          r.ledger.record(tx, 'dropped_queue_full', now, 'queue', q.depth);
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
        r.sourceEnded(now);
        return;
      }
      if (!feed.step()) {
        // the capture's end closes every connection, which may complete transactions: publish them now
        this.ended = true;
        if (this.count > 0) r.scheduler.at(now, this);
        else r.sourceEnded(now);
        return;
      }
      const cost = this.cost.next(1, feed.lastCaplen, this.count, 0);
      let start = now;
      if (r.config.pacing === 'timestamps') {
        const arrival = Math.round(feed.lastTsNs / r.config.speed);
        if (arrival > start) start = arrival;
      }
      // the next packet is usually done before anything else happens: step it here, not through the heap
      if (!r.scheduler.stepInline(start + cost, this)) {
        r.scheduler.at(start + cost, this);
        return;
      }
      now = r.scheduler.now;
    }
  }
}

const WAITING = 0;
const SERVING = 1;
const BLOCKED = 2;
const STOPPED = 3;

/**
 * A worker reading batches from a queue, as Logstash's `read_batch`: it takes
 * what is there up to `batchSize`; if that is not a full batch it polls for
 * `batchDelay`, the wait starting again after each event; then it spends its
 * service time and hands the batch on — to the next queue (blocking when it
 * is full) or to the output. packetbeat's publisher and output goroutines are
 * workers with a batch of one and no delay.
 */
export class Worker implements Process {
  /** Time spent serving batches, ns (Logstash's duration_in_millis for the filter+output workers). */
  serviceNs = 0;
  /** When this worker last handed a batch on, ns. */
  lastDeliveryNs = 0;
  private state = WAITING;
  /** The batch in hand is `batch[0..size)`; slots are reused, never reallocated. */
  private readonly batch: Transaction[] = [];
  private size = 0;
  private delivered = 0;
  private timerGen = 0;

  constructor(
    private readonly r: Replay,
    readonly stage: string,
    private readonly input: BoundedQueue,
    private readonly next: BoundedQueue | null,
    private readonly batchSize: number,
    private readonly batchDelayNs: number,
    private readonly cost: StageCost,
  ) {}

  run(now: number, token: number): void {
    if (this.state === STOPPED) return;
    if (token === DONE) {
      if (this.deliver(now)) this.fill(now);
    } else if (token === RESUME) {
      if (this.state === BLOCKED && this.deliver(now)) this.fill(now);
    } else if (token === WAKE) {
      if (this.state === WAITING) this.fill(now);
    } else if (token === this.timerGen && this.state === WAITING && this.size > 0) {
      this.serve(now);
    }
  }

  private fill(now: number): void {
    const q = this.input;
    let took = 0;
    while (this.size < this.batchSize && q.depth > 0) {
      this.batch[this.size++] = q.take(now);
      took++;
    }
    if (this.size >= this.batchSize || (this.size > 0 && this.batchDelayNs === 0)) {
      this.serve(now);
      q.wakeAnother(now);
      return;
    }
    this.state = WAITING;
    q.wait(this);
    if (took > 0) {
      // the poll's timeout starts again after each event
      this.timerGen++;
      this.r.scheduler.at(now + this.batchDelayNs, this, this.timerGen);
    }
  }

  private serve(now: number): void {
    this.input.unwait(this);
    this.state = SERVING;
    let bytes = 0;
    // an event's sizes and id sit in objects made long ago (cold in cache): read them only when the cost needs them
    if (this.cost.model.perByte !== 0) for (let i = 0; i < this.size; i++) bytes += this.batch[i]!.request.size + this.batch[i]!.response.size;
    const cost = this.cost.next(0, bytes, this.size, 1, this.cost.drawsPer === 'event' ? this.batch[0]!.id : 0);
    this.serviceNs += cost;
    this.r.scheduler.at(now + cost, this, DONE);
  }

  /** Hands the served batch on; false when blocked on a full next queue. */
  private deliver(now: number): boolean {
    this.lastDeliveryNs = now;
    const next = this.next;
    if (next === null) {
      this.r.output(this.batch, this.delivered, this.size, now, this);
    } else {
      while (this.delivered < this.size) {
        if (!next.tryPut(this.batch[this.delivered]!)) {
          this.state = BLOCKED;
          next.block(this, now);
          return false;
        }
        // packetbeat counts published_events here, as the publisher hands the event to the pipeline
        this.r.publishedEvents++;
        this.delivered++;
      }
    }
    // without a pipeline queue, the hand-off to the output is the publish
    if (next === null && this.input === this.r.queue) this.r.publishedEvents += this.size;
    this.size = 0;
    this.delivered = 0;
    this.state = WAITING;
    return true;
  }

  /** Shutdown: whatever this worker holds is lost in flight. */
  stop(now: number): void {
    for (let i = this.delivered; i < this.size; i++) {
      this.r.ledger.record(this.batch[i]!, 'lost_at_shutdown', now, 'in_flight', 0);
    }
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
