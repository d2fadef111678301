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
import type { OutputWorkerData } from './worker.js';

export interface LiveOptions {
  /** Redis server ports. */
  ports: number[];
  tcp: TcpMode;
  /** Events the publisher channel holds (packetbeat's `queue_size`). */
  queueSize: number;
  /** Real time to wait after the capture ends before stopping (packetbeat's `-waitstop`), in ms. */
  waitstopMs: number;
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
  /** Pushes that found the channel full (packetbeat 5.x drops these without counting them). */
  droppedQueueFull: number;
  /** Events still in the channel when the output was stopped. */
  lostAtShutdown: number;
  /** Real time from the first packet read to the output's exit, in ms. */
  wallMs: number;
  /** The fault that ended reading the capture early, if any (what came before it was run). */
  captureError: string | null;
}

/**
 * The output's default cost per event, in µs. With it, on the issue-3404
 * capture (`queue_size` 1000, `-waitstop 0`), the analyzer outruns the output
 * and a run publishes somewhere around the report's counts; see the README.
 */
export const LIVE_OUTPUT_COST_US = 8;

/**
 * The output thread's script: always the built JavaScript. Tests import the
 * TypeScript sources, which a thread of Node 20 cannot run; `npm test` builds first.
 */
export const OUTPUT_THREAD_SCRIPT = new URL(import.meta.url.endsWith('.ts') ? '../../dist/live/worker.js' : './worker.js', import.meta.url);

/**
 * Replays a capture as packetbeat 5.x `-t` does, on real threads and the real
 * clock: the analyzer runs at top speed on this thread and hands each event to
 * a non-blocking push into a bounded channel (dropped when full); an output
 * thread drains the channel into an NDJSON file; when the capture ends, the
 * run sleeps 300 ms as packetbeat 5's sniffer does, waits `waitstopMs`, and
 * stops the output without draining. How much is
 * lost depends on how the two threads are scheduled: each run differs. The
 * deterministic account of the same run is `replay`.
 */
export async function runLive(capture: string, opts: LiveOptions): Promise<LiveResult> {
  const queueSize = parseWhole('queueSize', opts.queueSize, 1, 2 ** 30);
  const waitstopMs = parseNumber('waitstopMs', opts.waitstopMs, 0);
  const costUs = parseNumber('outputCostUs', opts.outputCostUs ?? LIVE_OUTPUT_COST_US, 0);
  parsePorts('ports', opts.ports);

  const ring = Ring.create(queueSize);
  const control = new Int32Array(new SharedArrayBuffer(Control.words * 4));
  let transactions = 0;
  let dropped = 0;
  // opened before the thread starts: a bad capture fails here, with nothing else to undo
  const feed: CaptureFeed = new CaptureFeed(
    capture,
    {
      onTransaction(tx) {
        transactions++;
        if (!ring.tryPushText(formatEvent(tx, feed.base))) dropped++;
      },
    },
    { ports: opts.ports, tcp: opts.tcp },
  );

  const tmp = opts.out === undefined ? mkdtempSync(join(tmpdir(), 'lockstep-live-out-')) : null;
  const out = opts.out ?? join(tmp!, 'events.ndjson');
  const data: OutputWorkerData = { ring: ring.buffer, control: control.buffer, out, costUs };
  const worker = new Worker(OUTPUT_THREAD_SCRIPT, { workerData: data });
  let running = true;
  const exited = new Promise<void>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', (code) => {
      running = false;
      if (code === 0) resolve();
      else reject(new Error(`live output thread exited with code ${code}`));
    });
  });
  try {
    // a thread takes tens of ms to start: the capture is not read before the output awaits events
    await Promise.race([new Promise<void>((resolve) => worker.once('message', () => resolve())), exited]);

    const start = performance.now();
    // the sniffer's loop: it never yields, so the output really runs beside it, on another core
    while (feed.step());
    // packetbeat 5's sniffer sleeps 300 ms at the end of the file (sniffer.go), then main sleeps -waitstop
    await sleep(EOF_SLEEP_NS / 1e6 + waitstopMs);
    Atomics.store(control, Control.stop, StopMode.abort);
    ring.wake();
    await exited;
    const wallMs = performance.now() - start;

    const result: LiveResult = {
      transactions,
      published: Atomics.load(control, Control.written),
      droppedQueueFull: dropped,
      lostAtShutdown: ring.size,
      wallMs,
      captureError: feed.error?.message ?? null,
    };
    check(result, feed.counters()['redis.transactions'], ring, out);
    return result;
  } finally {
    // still there only after a throw (exited is raced above, so its rejection is handled)
    if (running) {
      await worker.terminate();
      feed.reader.close();
    }
    if (tmp !== null) rmSync(tmp, { recursive: true, force: true });
  }
}

/** The ledger's equations, for a run whose events were counted on two threads. */
function check(r: LiveResult, analyzed: number, ring: Ring, out: string): void {
  const fail = (what: string) => {
    throw new LedgerImbalance(`live: ${what} (${JSON.stringify(r)})`);
  };
  if (r.transactions !== analyzed) fail(`${r.transactions} events for ${analyzed} transactions`);
  if (r.transactions !== r.published + r.droppedQueueFull + r.lostAtShutdown) {
    fail('transactions != published + droppedQueueFull + lostAtShutdown');
  }
  if (ring.pushed !== r.transactions - r.droppedQueueFull || ring.popped !== r.published) {
    fail(`the channel saw ${ring.pushed} pushes and ${ring.popped} pops`);
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
