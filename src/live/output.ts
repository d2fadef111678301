import { closeSync, openSync, writeSync, writevSync } from 'node:fs';
import type { Ring } from './ring.js';

/** Words of the control block the analyzer, the publisher and the output threads share (an `Int32Array`). */
export const Control = {
  /** A {@link StopMode}: set by the analyzer, read by the other threads between events. */
  stop: 0,
  /** Lines written so far: set by the output. */
  written: 1,
  /** packetbeat's `published_events`: events the publisher counted, before its blocking send. */
  counted: 2,
  /** 1 when the publisher was stopped holding an event it had counted and could not hand on. */
  held: 3,
  words: 4,
} as const;

/** What the output does when told to stop. */
export const StopMode = {
  running: 0,
  /** Stop after the event in hand; what is still queued is lost (packetbeat 5.x's exit after `-waitstop`). */
  abort: 1,
  /** Write everything queued, then stop (as a Logstash memory queue drains). */
  drain: 2,
} as const;

export interface OutputOptions {
  /** NDJSON file to write (truncated first). */
  out: string;
  /** Real time spent on each event before its write, in µs (a busy wait: a slower output). */
  costUs: number;
  /** Called once the file is open and events are awaited. */
  onReady?: () => void;
}

/**
 * packetbeat 5's publisher goroutine: takes each event out of the channel,
 * spends its cost, counts it in `published_events`, then hands it to the
 * pipeline queue with a send that blocks while the queue is full
 * (libbeat/publisher/client.go, then the worker queue). Told to abort, it
 * stops between events, or in the middle of that send with the event it had
 * counted still in its hands.
 */
export function runPublisher(channel: Ring, queue: Ring, control: Int32Array, opts: { costUs: number; onReady?: () => void }): void {
  const aborted = () => Atomics.load(control, Control.stop) === StopMode.abort;
  let counted = 0;
  opts.onReady?.();
  for (;;) {
    if (aborted()) break;
    const event = channel.pop();
    if (event === null) {
      channel.waitForData(50);
      continue;
    }
    if (opts.costUs > 0) spin(opts.costUs);
    Atomics.store(control, Control.counted, ++counted);
    if (!queue.pushWaiting(event, aborted)) {
      Atomics.store(control, Control.held, 1);
      break;
    }
  }
}

const NEWLINE = new Uint8Array([0x0a]);

/**
 * The output worker: takes events out of the pipeline queue and writes each
 * as one NDJSON line with one write, as packetbeat's file output does, until
 * told to stop. The lines written so far are kept in the control block.
 */
export function runOutput(ring: Ring, control: Int32Array, opts: OutputOptions): void {
  const fd = openSync(opts.out, 'w');
  const iov: Uint8Array[] = [NEWLINE, NEWLINE];
  let written = 0;
  try {
    opts.onReady?.();
    for (;;) {
      const stop = Atomics.load(control, Control.stop);
      if (stop === StopMode.abort) break;
      const event = ring.pop();
      if (event === null) {
        if (stop === StopMode.drain) break;
        // the timeout bounds how late a stop without a wake-up is seen
        ring.waitForData(50);
        continue;
      }
      if (opts.costUs > 0) spin(opts.costUs);
      iov[0] = event;
      writeAll(fd, iov, event.length + 1);
      Atomics.store(control, Control.written, ++written);
    }
  } finally {
    closeSync(fd);
  }
}

/** Busy-waits `us` microseconds of real time: the thread stays on its core, as a CPU-bound encoder would. */
function spin(us: number): void {
  const until = performance.now() + us / 1000;
  while (performance.now() < until);
}

/** One `writev` (a short write to a regular file is rare; finish it if it happens). */
function writeAll(fd: number, iov: Uint8Array[], total: number): void {
  let done = writevSync(fd, iov);
  if (done === total) return;
  const line = Buffer.concat(iov);
  while (done < total) done += writeSync(fd, line, done, total - done);
}
