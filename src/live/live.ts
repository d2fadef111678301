import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { CaptureFeed, formatEvent } from '../feed.js';
import { parseNumber, parsePorts, parseWhole } from '../profiles/index.js';
import { EOF_SLEEP_NS } from '../profiles/packetbeat5.js';
import { LedgerImbalance } from '../pipeline/ledger.js';
import type { TcpMode } from '../tcp/stream.js';
import { Control, StopMode } from './output.js';
import { Ring } from './ring.js';
import type { ThreadData } from './worker.js';

export interface LiveOptions {
  /** Redis server ports. */
  ports: number[];
  tcp: TcpMode;
  /** Events the publisher channel holds, and the pipeline queue behind the publisher (packetbeat's `queue_size`). */
  queueSize: number;
  /** Real time to wait after the capture ends before stopping (packetbeat's `-waitstop`), in ms. */
  waitstopMs: number;
  /** Real time the publisher spends on each event, in µs (default {@link LIVE_PUBLISHER_COST_US}). */
  publisherCostUs?: number;
  /** Real time the output spends on each event before writing it, in µs (default {@link LIVE_OUTPUT_COST_US}). */
  outputCostUs?: number;
  /** NDJSON file for the published events (default: a temporary file, removed after). */
  out?: string;
}

/** What one live run did. Every count but `transactions` changes from run to run. */
export interface LiveResult {
  /** Transactions the analyzer completed: `published + droppedQueueFull + lostAtShutdown`. */
  transactions: number;
  /** Lines the output wrote. */
  published: number;
  /** packetbeat's `libbeat.publisher.published_events`: what the publisher counted, `published + publishedNotWritten`. */
  publishedEvents: number;
  /** Pushes that found the channel full (packetbeat 5.x drops these without counting them). */
  droppedQueueFull: number;
  /** Events still in the channel when the run stopped: never counted. */
  lostInChannel: number;
  /** Events counted and never written: in the pipeline queue, or in the publisher's hands, when the run stopped. */
  publishedNotWritten: number;
  /** `lostInChannel + publishedNotWritten`. */
  lostAtShutdown: number;
  /** Real time from the first packet read to the threads' exit, in ms. */
  wallMs: number;
  /** The fault that ended reading the capture early, if any (what came before it was run). */
  captureError: string | null;
}

/**
 * The publisher's and the output's default costs per event, in µs: in the
 * ratio the real code's instrumented build measured (golden/oracles/pipeline/:
 * the output about 1.2 times the publisher). With them, on the issue-3404
 * capture (`queue_size` 1000, `-waitstop 0`), the analyzer outruns them and
 * a run loses thousands of events at the channel.
 */
export const LIVE_PUBLISHER_COST_US = 7;
export const LIVE_OUTPUT_COST_US = 8;

/**
 * The threads' script: always the built JavaScript. Tests import the
 * TypeScript sources, which a thread of Node 20 cannot run; `npm test` builds first.
 */
export const THREAD_SCRIPT = new URL(import.meta.url.endsWith('.ts') ? '../../dist/live/worker.js' : '../live/worker.js', import.meta.url);

/**
 * Replays a capture as packetbeat 5.x `-t` does, on real threads and the real
 * clock: the analyzer runs at top speed on this thread and hands each event to
 * a non-blocking push into a bounded channel (dropped when full); a publisher
 * thread takes them out, counts them, and hands them to the pipeline queue
 * with a send that blocks while it is full; an output thread drains that
 * queue into an NDJSON file. When the capture ends, the run sleeps 300 ms as
 * packetbeat 5's sniffer does, waits `waitstopMs`, and stops both threads
 * without draining. How much is lost depends on how the threads are
 * scheduled: each run differs. The deterministic account of the same run is
 * `replay`.
 */
export async function runLive(capture: string, opts: LiveOptions): Promise<LiveResult> {
  const queueSize = parseWhole('queueSize', opts.queueSize, 1, 2 ** 30);
  const waitstopMs = parseNumber('waitstopMs', opts.waitstopMs, 0);
  const publisherCostUs = parseNumber('publisherCostUs', opts.publisherCostUs ?? LIVE_PUBLISHER_COST_US, 0);
  const outputCostUs = parseNumber('outputCostUs', opts.outputCostUs ?? LIVE_OUTPUT_COST_US, 0);
  parsePorts('ports', opts.ports);

  const channel = Ring.create(queueSize);
  const queue = Ring.create(queueSize);
  const control = new Int32Array(new SharedArrayBuffer(Control.words * 4));
  let transactions = 0;
  let dropped = 0;
  // opened before the threads start: a bad capture fails here, with nothing else to undo
  const feed: CaptureFeed = new CaptureFeed(
    capture,
    {
      onTransaction(tx) {
        transactions++;
        if (!channel.tryPushText(formatEvent(tx, feed.base))) dropped++;
      },
    },
    { ports: opts.ports, tcp: opts.tcp },
  );

  const tmp = opts.out === undefined ? mkdtempSync(join(tmpdir(), 'lockstep-live-out-')) : null;
  const out = opts.out ?? join(tmp!, 'events.ndjson');
  const threads = [
    startThread({ role: 'publisher', channel: channel.buffer, queue: queue.buffer, control: control.buffer, costUs: publisherCostUs }),
    startThread({ role: 'output', queue: queue.buffer, control: control.buffer, out, costUs: outputCostUs }),
  ];
  const exited = Promise.all(threads.map((t) => t.exited));
  try {
    // a thread takes tens of ms to start: the capture is not read before both await events
    await Promise.race([Promise.all(threads.map((t) => t.ready)), exited]);

    const start = performance.now();
    // the sniffer's loop: it never yields, so the other threads really run beside it
    while (feed.step());
    // packetbeat 5's sniffer sleeps 300 ms at the end of the file (sniffer.go), then main sleeps -waitstop
    await sleep(EOF_SLEEP_NS / 1e6 + waitstopMs);
    Atomics.store(control, Control.stop, StopMode.abort);
    channel.wake();
    queue.wake();
    await exited;
    const wallMs = performance.now() - start;

    const published = Atomics.load(control, Control.written);
    const publishedEvents = Atomics.load(control, Control.counted);
    const result: LiveResult = {
      transactions,
      published,
      publishedEvents,
      droppedQueueFull: dropped,
      lostInChannel: channel.size,
      publishedNotWritten: publishedEvents - published,
      lostAtShutdown: channel.size + publishedEvents - published,
      wallMs,
      captureError: feed.error?.message ?? null,
    };
    check(result, feed.counters()['redis.transactions'], channel, queue, Atomics.load(control, Control.held), out);
    return result;
  } finally {
    // still there only after a throw (exited is raced above, so its rejection is handled)
    for (const t of threads) if (t.running()) await t.worker.terminate();
    feed.reader.close();
    if (tmp !== null) rmSync(tmp, { recursive: true, force: true });
  }
}

function startThread(data: ThreadData) {
  const worker = new Worker(THREAD_SCRIPT, { workerData: data });
  let running = true;
  const exited = new Promise<void>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', (code) => {
      running = false;
      if (code === 0) resolve();
      else reject(new Error(`live ${data.role} thread exited with code ${code}`));
    });
  });
  // handled where it is raced; a failure before that is not left unhandled
  exited.catch(() => {});
  const ready = new Promise<void>((resolve) => worker.once('message', () => resolve()));
  return { worker, exited, ready, running: () => running };
}

/** The ledger's equations, for a run whose events were counted on three threads. */
function check(r: LiveResult, analyzed: number, channel: Ring, queue: Ring, held: number, out: string): void {
  const fail = (what: string) => {
    throw new LedgerImbalance(`live: ${what} (${JSON.stringify(r)})`);
  };
  if (r.transactions !== analyzed) fail(`${r.transactions} events for ${analyzed} transactions`);
  if (r.transactions !== r.published + r.droppedQueueFull + r.lostAtShutdown) {
    fail('transactions != published + droppedQueueFull + lostAtShutdown');
  }
  if (channel.pushed !== r.transactions - r.droppedQueueFull || channel.popped !== r.publishedEvents) {
    fail(`the channel saw ${channel.pushed} pushes and ${channel.popped} pops`);
  }
  // what the publisher counted is in the file, in the queue, or in its hands
  if (queue.pushed !== r.publishedEvents - held || queue.popped !== r.published || r.publishedNotWritten !== queue.size + held) {
    fail(`the pipeline queue saw ${queue.pushed} pushes and ${queue.popped} pops, and holds ${queue.size} (publisher holding ${held})`);
  }
  const lines = countLines(out);
  if (lines !== r.published) fail(`${out} has ${lines} lines for ${r.published} published`);
}

function countLines(file: string): number {
  const bytes = readFileSync(file);
  let n = 0;
  for (let i = bytes.indexOf(0x0a); i !== -1; i = bytes.indexOf(0x0a, i + 1)) n++;
  return n;
}
