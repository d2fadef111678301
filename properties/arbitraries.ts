/**
 * What the properties range over: small generated captures with faults, and
 * configurations of every knob a replay line can spell out.
 */
import { fc } from '@fast-check/vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateRedisCapture, type GenOptions } from '../src/gen/redis.js';
import {
  PROFILES,
  resolveConfig,
  type ConfigPatch,
  type Pacing,
  type PipelineConfig,
  type Policy,
  type ShutdownMode,
} from '../src/profiles/index.js';
import type { DrawsPer } from '../src/sim/cost.js';
import type { TcpMode } from '../src/tcp/stream.js';

const US = 1_000;
const MS = 1_000_000;

/** A generated capture: the options `gen` made it from (and so `lockstep gen redis` can make it again). */
export type CaptureOptions = Partial<GenOptions>;

/**
 * Small captures (20–300 transactions) with every fault `gen` can put in
 * them, at rates from leisurely to faster than any default cost model drains.
 */
export const captureOptions: fc.Arbitrary<CaptureOptions> = fc.record({
  transactions: fc.integer({ min: 20, max: 300 }),
  connections: fc.integer({ min: 1, max: 12 }),
  pipeline: fc.integer({ min: 1, max: 8 }),
  seed: fc.integer({ min: 0, max: 0xffff }),
  rate: fc.constantFrom(500, 2400, 20_000, 200_000),
  midstream: fc.integer({ min: 0, max: 6 }),
  gaps: fc.integer({ min: 0, max: 3 }),
  retransmissions: fc.integer({ min: 0, max: 5 }),
  duplicates: fc.integer({ min: 0, max: 5 }),
  reorder: fc.integer({ min: 0, max: 3 }),
  tail: fc.integer({ min: 0, max: 3 }),
  resp3: fc.constantFrom(0, 0.5, 1),
  ipv6: fc.boolean(),
  nanos: fc.boolean(),
});

/**
 * None half the time (so a capture with few kinds, or none, is common), else
 * 1 to `max`; a counterexample shrinks each kind it does not need to 0.
 */
const someOf = (max: number) => fc.oneof({ withCrossShrink: true }, fc.constant(0), fc.integer({ min: 1, max }));

/**
 * The captures the packetbeat 5 view is held to packetbeat 5 against: every
 * fault of {@link captureOptions}, both command sets, and the traffic
 * packetbeat 5 misreads — unknown and two-word commands, inline commands,
 * pub/sub (pushes on RESP3), MONITOR, a value of about 10 MiB now and then (one
 * capture in 20: each is over 7,000 packets), reused 4-tuples (packetbeat 5 never
 * sees the SYN) and idle gaps over 10 s (its streams expire on the wall clock,
 * never under -t); segments of 1448, 536 or 64 bytes.
 */
export const differentialCaptureOptions: fc.Arbitrary<CaptureOptions> = fc
  .tuple(
    captureOptions,
    fc.record({
      commands: fc.constantFrom<GenOptions['commands']>('redis', 'packetbeat5'),
      unknown: someOf(8),
      inline: someOf(4),
      pubsub: someOf(2),
      monitor: someOf(2),
      big: fc.integer({ min: 0, max: 19 }).map((x) => (x === 19 ? 1 : 0)),
      reuse: someOf(3),
      idle: someOf(3),
      // small segments cut headers and lines (packetbeat 5 drops a direction on a cut array header)
      mss: fc.constantFrom(1448, 536, 64),
    }),
  )
  // a value over 10 MiB in 64-byte segments would be 160,000 packets
  .map(([o, kinds]) => ({ ...o, ...kinds, mss: kinds.big > 0 ? 1448 : kinds.mss }));

/**
 * A generated capture, maybe cut short at `cut` (a share of its packet
 * bytes, past the file header), as a capture tcpdump was killed in the
 * middle of writing ends: the last record is incomplete.
 */
export interface CaptureSpec {
  gen: CaptureOptions;
  cut: number | null;
}

export const captureSpec: fc.Arbitrary<CaptureSpec> = fc.record({
  gen: captureOptions,
  cut: fc.option(fc.integer({ min: 0, max: 999 }).map((x) => x / 1000), { freq: 4 }),
});

/** pcap's file header: a cut never goes into it (a file without one is refused, rightly). */
const PCAP_HEADER = 24;

/** Generated captures of one test file, in a temp dir, each made once per distinct options. */
export class Captures {
  private readonly dir = mkdtempSync(join(tmpdir(), 'lockstep-prop-'));
  private readonly made = new Map<string, string>();

  /** The path of the capture `options` generate (port 6379), generating it on first use. */
  path(options: CaptureOptions): string {
    const key = JSON.stringify(options);
    let file = this.made.get(key);
    if (file === undefined) {
      file = join(this.dir, `capture-${this.made.size}.pcap`);
      generateRedisCapture({ ...options, port: 6379 }, file);
      this.made.set(key, file);
    }
    return file;
  }

  /** The capture a spec describes: the generated one, or a copy of it cut short; and the cut's length in bytes. */
  spec(spec: CaptureSpec): { path: string; cutBytes: number | null } {
    const whole = this.path(spec.gen);
    if (spec.cut === null) return { path: whole, cutBytes: null };
    const bytes = readFileSync(whole);
    const cutBytes = PCAP_HEADER + Math.floor((bytes.length - PCAP_HEADER) * spec.cut);
    const path = `${whole}.cut-${cutBytes}.pcap`;
    writeFileSync(path, bytes.subarray(0, cutBytes));
    return { path, cutBytes };
  }

  /** A fresh file name in the same temp dir (events, ledgers). */
  scratch(name: string): string {
    return join(this.dir, `${this.made.size}-${name}`);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const cost = (max: number) => fc.integer({ min: 0, max });
/** A cost model patch: some fields set, the rest left at the profile's defaults. */
const costPatch = (perByte: number, perEvent: number, perBatch: number, perPacket = 0) =>
  fc.record(
    { perPacket: cost(perPacket), perByte: cost(perByte), perEvent: cost(perEvent), perBatch: cost(perBatch) },
    { requiredKeys: [] },
  );

/** A jitter sigma with one decimal (so replay lines stay short), off half the time. */
const jitter = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 15 }).map((x) => x / 10));

/** Methods `gen` produces, for `dropMethods`. */
const METHODS = ['GET', 'SET', 'PING', 'DEL', 'INCR', 'HELLO', 'MGET'] as const;

/**
 * Every setting a replay line carries, each either left at the profile's
 * default or drawn. Queues are small (1–64) most of the time so that
 * captures of a few hundred transactions do fill them. `drainPipeline` is
 * left at its default: no command-line flag sets it, so a failure could not be replayed.
 */
export const configPatch: fc.Arbitrary<ConfigPatch> = fc.record(
  {
    // the captures' server is on 6379; a list without it finds nothing, which must balance too
    ports: fc.oneof({ weight: 4, arbitrary: fc.constant<number[]>([6379]) }, { weight: 1, arbitrary: fc.constantFrom<number[]>([6379, 7101], [7101, 6379], [7101]) }),
    tcp: fc.constantFrom<TcpMode>('reassemble', 'packetbeat'),
    pacing: fc.constantFrom<Pacing>('topspeed', 'timestamps'),
    speed: fc.constantFrom(0.5, 1, 4, 100),
    queueSize: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 64 }) }, { weight: 1, arbitrary: fc.integer({ min: 65, max: 2000 }) }),
    policy: fc.constantFrom<Policy>('drop', 'block'),
    workers: fc.integer({ min: 1, max: 4 }),
    batchSize: fc.integer({ min: 1, max: 20 }),
    batchDelayNs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5 * MS })),
    pipelineQueueSize: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 64 })),
    waitstopNs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 20 * MS })),
    shutdown: fc.constantFrom<ShutdownMode>('abort', 'drain'),
    seed: fc.integer({ min: 0, max: 0xffffffff }),
    jitter,
    drawsPer: fc.constantFrom<DrawsPer>('slot', 'event'),
    costs: fc.record(
      {
        analyzer: costPatch(40, 20 * US, 0, 30 * US),
        worker: costPatch(200, 300 * US, 500 * US),
        output: costPatch(200, 300 * US, 500 * US),
      },
      { requiredKeys: [] },
    ),
    dropMethods: fc.oneof({ weight: 3, arbitrary: fc.constant<string[]>([]) }, { weight: 1, arbitrary: fc.subarray<string>([...METHODS], { minLength: 1 }) }),
    outputFailureRate: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(0.05, 0.2, 0.5) }),
    // Logstash's releases whose queues differ: 6.0's SynchronousQueue, 6.1.2's undrained shutdown, ×2 capacity to 6.3
    logstashVersion: fc.constantFrom('9.5', '8.6', '6.4', '6.2', '6.1.2', '6.0'),
    queueDrain: fc.boolean(),
  },
  { requiredKeys: [] },
);

/** A profile and a patch over it, resolved: any configuration `lockstep replay` can be given. */
export const config: fc.Arbitrary<PipelineConfig> = fc
  .tuple(fc.constantFrom(...PROFILES), configPatch)
  .map(([profile, patch]) => resolveConfig(profile, [patch]));

/** The same, with nothing filtered and no output failures: every published event is a transaction analyze finds. */
export const losslessOutputConfig: fc.Arbitrary<PipelineConfig> = config.map((c) => ({ ...c, dropMethods: [], outputFailureRate: 0 }));

/** packetbeat 6 / Logstash reading a file: block and drain (Logstash before 6.1.3 with queue.drain), nothing filtered or failed — nothing may be lost. */
export const blockDrainConfig: fc.Arbitrary<PipelineConfig> = losslessOutputConfig.map((c) => ({ ...c, policy: 'block', shutdown: 'drain', queueDrain: true }));

/**
 * Any configuration at all, including `drainPipeline: false` (libbeat's
 * publisher not waiting for its outputs), which no command-line flag sets:
 * a failure with it says so beside its replay line.
 */
export const anyConfig: fc.Arbitrary<PipelineConfig> = fc
  .tuple(config, fc.boolean())
  // shrinks towards the default (true), so a shrunk failure can be replayed from the command line when it may
  .map(([c, notDraining]) => (c.pipelineQueueSize > 0 ? { ...c, drainPipeline: !notDraining } : c));
