import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../analyze.js';
import { generateRedisCapture } from '../gen/redis.js';
import { CaptureError } from '../pcap/errors.js';
import { ConfigError } from '../profiles/index.js';
import { runLive, type LiveResult } from './live.js';

describe('runLive', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lockstep-live-test-'));
  const capture = join(dir, 'small.pcap');
  /** The lossless events of the capture, in order: what every live run publishes a subsequence of. */
  let truth: string[] = [];
  beforeAll(() => {
    generateRedisCapture({ transactions: 3000, connections: 16, gaps: 2, midstream: 3, seed: 11 }, capture);
    const events = join(dir, 'truth.ndjson');
    const summary = analyze(capture, { ports: [6379], tcp: 'packetbeat', events });
    truth = readFileSync(events, 'utf8').split('\n').slice(0, -1);
    expect(truth.length).toBe(summary.transactions);
    expect(truth.length).toBeGreaterThan(2900);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The file holds exactly `published` whole lines, each one of the capture's events, in capture order. */
  function expectPublishedFile(out: string, r: LiveResult): void {
    const text = readFileSync(out, 'utf8');
    expect(text === '' || text.endsWith('\n')).toBe(true);
    const lines = text.split('\n').slice(0, -1);
    expect(lines.length).toBe(r.published);
    let at = 0;
    for (const line of lines) {
      while (at < truth.length && truth[at] !== line) at++;
      if (at === truth.length) expect.fail(`a published line is not one of the capture's events (in order): ${line}`);
      at++;
    }
  }

  it('loses events when the output is slow and the queue small, and accounts for every one', async () => {
    const out = join(dir, 'lossy.ndjson');
    const r = await runLive(capture, { ports: [6379], tcp: 'packetbeat', queueSize: 50, waitstopMs: 0, outputCostUs: 1000, out });
    expect(r.transactions).toBe(truth.length);
    expect(r.published + r.droppedQueueFull + r.lostAtShutdown).toBe(r.transactions);
    // 1 ms an event: to keep up, the analyzer would have to take 3 s over 3,000 transactions
    expect(r.published).toBeLessThan(r.transactions);
    // at exit: at most the channel (uncounted), and the pipeline queue plus the publisher's event (counted, unwritten)
    expect(r.lostInChannel).toBeLessThanOrEqual(50);
    expect(r.publishedNotWritten).toBeLessThanOrEqual(51);
    expect(r.lostAtShutdown).toBe(r.lostInChannel + r.publishedNotWritten);
    expect(r.publishedEvents).toBe(r.published + r.publishedNotWritten);
    expect(r.captureError).toBeNull();
    expectPublishedFile(out, r);
  });

  it('loses nothing with a queue that holds the whole capture, a long waitstop and a free output', async () => {
    const out = join(dir, 'lossless.ndjson');
    const r = await runLive(capture, {
      ports: [6379],
      tcp: 'packetbeat',
      queueSize: 5000,
      waitstopMs: 1500,
      publisherCostUs: 0,
      outputCostUs: 0,
      out,
    });
    expect(r).toMatchObject({ transactions: truth.length, published: truth.length, publishedEvents: truth.length, droppedQueueFull: 0, lostAtShutdown: 0 });
    expect(r.wallMs).toBeGreaterThanOrEqual(1500);
    expect(readFileSync(out, 'utf8')).toBe(truth.join('\n') + '\n');
  });

  it('a slow output behind a fast publisher: the pipeline queue fills and the publisher blocks, so what is lost at exit was counted', async () => {
    const out = join(dir, 'counted.ndjson');
    // the publisher keeps up with the analyzer (no cost); the output takes 2 ms an event, so 300 ms + 0 s writes about 150 of them
    const r = await runLive(capture, { ports: [6379], tcp: 'packetbeat', queueSize: 1000, waitstopMs: 0, publisherCostUs: 0, outputCostUs: 2000, out });
    expect(r.publishedEvents).toBe(r.published + r.publishedNotWritten);
    expect(r.published).toBeLessThan(1000);
    // the queue was full when the run stopped: its 1,000 (and the publisher's blocked event) were counted and never written
    expect(r.publishedNotWritten).toBeGreaterThanOrEqual(1000);
    expect(r.lostAtShutdown).toBe(r.lostInChannel + r.publishedNotWritten);
    expectPublishedFile(out, r);
  });

  it('writes to a temporary file, removed after, when no `out` is given', async () => {
    const r = await runLive(capture, { ports: [6379], tcp: 'reassemble', queueSize: 1000, waitstopMs: 0, outputCostUs: 20 });
    expect(r.transactions).toBe(analyze(capture, { ports: [6379], tcp: 'reassemble' }).transactions);
    expect(r.published + r.droppedQueueFull + r.lostAtShutdown).toBe(r.transactions);
  });

  it('rejects bad options by name and a missing capture before a thread starts', async () => {
    const base = { ports: [6379], tcp: 'packetbeat' as const, queueSize: 10, waitstopMs: 0 };
    await expect(runLive(capture, { ...base, queueSize: 0 })).rejects.toThrow(
      new ConfigError('queueSize', 'a whole number from 1 to 1073741824', 0),
    );
    await expect(runLive(capture, { ...base, waitstopMs: -1 })).rejects.toThrow('Expected `waitstopMs`');
    await expect(runLive(capture, { ...base, outputCostUs: Number.NaN })).rejects.toThrow('Expected `outputCostUs`');
    await expect(runLive(capture, { ...base, publisherCostUs: -1 })).rejects.toThrow('Expected `publisherCostUs`');
    await expect(runLive(capture, { ...base, ports: [70000] })).rejects.toThrow('Expected `ports`');
    await expect(runLive(join(dir, 'missing.pcap'), base)).rejects.toThrow(CaptureError);
  });
});
