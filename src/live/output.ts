import { closeSync, openSync, writeSync, writevSync } from 'node:fs';
import type { Ring } from './ring.js';

/** Words of the control block the analyzer and the output thread share (an `Int32Array`). */
export const Control = {
  /** A {@link StopMode}: set by the analyzer, read by the output between events. */
  stop: 0,
  /** Lines written so far: set by the output. */
  written: 1,
  words: 2,
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

const NEWLINE = new Uint8Array([0x0a]);

/**
 * The publisher side: takes events out of the ring and writes each as one
 * NDJSON line with one write, as packetbeat's file output does, until told to
 * stop. The lines written so far are kept in the control block.
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
