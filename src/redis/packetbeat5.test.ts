/**
 * The packetbeat 5 view against packetbeat 5's own analyzer: on every golden
 * capture its events equal the oracle's committed output byte for byte, and
 * on small scripted captures each quirk gives the event worked out by hand
 * from the Go source — and, where the oracle is built (`.ci/run`), exactly
 * what the oracle prints for the same capture.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyze } from '../analyze.js';
import { generateRedisCapture, PRESETS, type GenManifest } from '../gen/redis.js';
import { scriptedPcap, type ScriptedSegment } from '../../test/support/capture.js';
import { lockstep, scratchDir } from '../../test/support/cli.js';
import { committedAnalyzerOutput, ORACLE_CAPTURES, ORACLES_DIR, oracleCapture, runAnalyzerOracle } from '../../test/support/oracles.js';
import { encodeCommand } from './encode.js';
import { parseMessage, putGoString } from './packetbeat5.js';
import { replay } from '../pipeline/replay.js';
import { resolveConfig, type ConfigPatch } from '../profiles/index.js';

const dir = scratchDir('lockstep-pb5-');

/** `analyze --as packetbeat5` on a file: its NDJSON events and packetbeat's three counters. */
function view(capture: string, ports: number[]) {
  const events = join(dir, 'events.ndjson');
  const s = analyze(capture, { ports, as: 'packetbeat5', events });
  return {
    events: readFileSync(events),
    counters: { events: s.transactions, 'redis.unmatched_responses': s.counters['redis.unmatched_responses'], 'tcp.dropped_because_of_gaps': s.counters['tcp.dropped_because_of_gaps'] },
  };
}

describe('the packetbeat 5 view on the golden captures equals packetbeat 5 byte for byte', () => {
  for (const { name } of ORACLE_CAPTURES) {
    it(name, () => {
      const c = committedAnalyzerOutput(name)!;
      const capture = oracleCapture(name);
      const mine = view(capture.path, capture.ports);
      expect(mine.counters).toEqual(c.counters);
      expect(createHash('sha256').update(mine.events).digest('hex')).toBe(c.sha256);
    });
  }

  it('the bundled scenario gives packetbeat 5 the report\'s analyzer counters: 23 unmatched responses, 4 gaps', () => {
    const { path, ports } = oracleCapture('issue-3404');
    expect(view(path, ports).counters).toEqual({ events: 23_498, 'redis.unmatched_responses': 23, 'tcp.dropped_because_of_gaps': 4 });
    // the manifest gen writes beside it records both views
    const m = JSON.parse(readFileSync(`${path}.manifest.json`, 'utf8')) as GenManifest;
    expect(m.packetbeat5).toEqual({ events: 23_498, unmatchedResponses: 23, gaps: 4, unpredicted: [] });
    expect([m.transactions.reassemble, m.unmatchedResponses, m.gaps.reassemble]).toEqual([23_498, 23, 4]);
    const lossless = analyze(path, { ports, tcp: 'packetbeat' });
    expect([lossless.transactions, lossless.counters['redis.unmatched_responses']]).toEqual([23_498, 23]);
    // and from the command line
    const cli = lockstep('analyze', path, '--ports', ports.join(','), '--as', 'packetbeat5', '--json');
    expect(cli.code).toBe(0);
    const summary = JSON.parse(cli.stdout) as { transactions: number; counters: Record<string, number> };
    expect([summary.transactions, summary.counters['redis.unmatched_responses']]).toEqual([23_498, 23]);
    expect(lockstep('analyze', path, '--as', 'packetbeat6').stderr.trim()).toBe('Expected `--as` to be one of lossless, packetbeat5, got `packetbeat6`');
  });

  it('with commands packetbeat 5 does not know, the views part: 23,069 events and 881 unmatched responses against 23,498 and 23', () => {
    const file = join(dir, 'issue-3404-redis-commands.pcap');
    generateRedisCapture({ ...PRESETS['issue-3404'], commands: 'redis' }, file);
    // its 215 FLUSHSLOTS and 214 LATENCY DOCTOR requests, and their replies, are responses nothing asked for
    expect(view(file, [7101]).counters).toEqual({ events: 23_069, 'redis.unmatched_responses': 881, 'tcp.dropped_because_of_gaps': 4 });
    expect(JSON.parse(readFileSync(`${file}.manifest.json`, 'utf8')).packetbeat5.unpredicted).toEqual(['commandsMissingFromItsTable']);
    const lossless = analyze(file, { ports: [7101], tcp: 'packetbeat' });
    expect([lossless.transactions, lossless.counters['redis.unmatched_responses'], lossless.byMethod.FLUSHSLOTS, lossless.byMethod.LATENCY]).toEqual([23_498, 23, 215, 214]);
    // and analyze --as packetbeat5 says so, against the lossless view
    const cli = lockstep('analyze', file, '--ports', '7101', '--as', 'packetbeat5');
    expect(cli.code).toBe(0);
    expect(cli.stdout.split('\n').slice(-4)).toEqual([
      'Against the wire (the lossless view, TCP reassembled): 23498 transactions, 23 unmatched responses',
      '  packetbeat 5 misses 429: FLUSHSLOTS 215, LATENCY 214',
      '  and counts 858 more unmatched responses (requests it takes for responses, replies it cannot pair)',
      '',
    ]);
    const json = JSON.parse(lockstep('analyze', file, '--ports', '7101', '--as', 'packetbeat5', '--json').stdout) as { againstTheWire: unknown };
    expect(json.againstTheWire).toEqual({ wireTransactions: 23_498, missed: { FLUSHSLOTS: 215, LATENCY: 214 }, added: {}, wireUnmatchedResponses: 23 });
  });
});

const TS = '2016-12-22T11:07:23';
const CLIENT = '"client_ip":"10.0.0.2","client_port":40000,"client_proc":"","client_server":"","ip":"10.0.0.1"';
const SERVER_AS_CLIENT = '"client_ip":"10.0.0.1","client_port":6379,"client_proc":"","client_server":"","ip":"10.0.0.2"';

/** A scripted capture through the view (and through the oracle, where it is built: they must agree). */
function scripted(name: string, segments: ScriptedSegment[]) {
  const file = join(dir, `${name}.pcap`);
  writeFileSync(file, scriptedPcap(segments));
  const mine = view(file, [6379]);
  if (ORACLES_DIR !== null) {
    const theirs = runAnalyzerOracle(file, [6379]);
    expect(mine.events.toString('utf8'), 'the oracle prints the same events').toBe(theirs.events.toString('utf8'));
    expect(mine.counters, 'and the same counters').toEqual(theirs.counters);
  }
  return { lines: mine.events.toString('utf8').split('\n').filter((l) => l !== ''), counters: mine.counters };
}

const ms = (n: number) => n * 1_000_000;

describe('packetbeat 5 quirks, each worked out from its source', () => {
  it('a command missing from the 5.x table is a response: HSETNX and its reply are two unmatched responses', () => {
    const r = scripted('hsetnx', [
      { atNs: 0, toServer: true, payload: encodeCommand(['HSETNX', 'h', 'f', 'v']) },
      { atNs: ms(1), toServer: false, payload: ':1\r\n' },
    ]);
    expect(r.lines).toEqual([]);
    expect(r.counters).toEqual({ events: 0, 'redis.unmatched_responses': 2, 'tcp.dropped_because_of_gaps': 0 });
  });

  it('a server array that starts with a command word is a request, sent by the server', () => {
    const r = scripted('config-get-save', [
      { atNs: 0, toServer: true, payload: encodeCommand(['CONFIG', 'GET', 'save']) },
      { atNs: ms(2), toServer: false, payload: '*2\r\n$4\r\nsave\r\n$0\r\n\r\n' },
      { atNs: ms(5), toServer: true, payload: encodeCommand(['GET', 'a']) },
      { atNs: ms(9), toServer: false, payload: '$1\r\n1\r\n' },
    ]);
    // CONFIG GET (two words in the table: never matches) is unmatched; ["save", ""] waits as a request; GET a waits behind it
    expect(r.lines).toEqual([
      `{"@timestamp":"${TS}.002Z","bytes_in":20,"bytes_out":7,${SERVER_AS_CLIENT},"method":"SAVE","port":40000,"proc":"","query":"save ","redis":{"return_value":"1"},"resource":"","responsetime":7,"server":"","status":"OK","type":"redis"}`,
    ]);
    expect(r.counters).toEqual({ events: 1, 'redis.unmatched_responses': 1, 'tcp.dropped_because_of_gaps': 0 });
  });

  it('an array header cut by the end of a segment drops the direction: the request after it is lost', () => {
    const whole = encodeCommand(['GET', 'a']);
    const r = scripted('cut-header', [
      { atNs: 0, toServer: true, payload: whole.subarray(0, 3) }, // "*2\r"
      { atNs: ms(1), toServer: true, payload: whole.subarray(3) },
      { atNs: ms(2), toServer: true, payload: encodeCommand(['GET', 'b']) },
      { atNs: ms(3), toServer: false, payload: '$1\r\n1\r\n$1\r\n2\r\n' },
    ]);
    // "*2\r" fails; "\n$3..." starts with no RESP type and fails too; GET b pairs with the first reply, the second finds none
    expect(r.lines).toEqual([
      `{"@timestamp":"${TS}.002Z","bytes_in":20,"bytes_out":7,${CLIENT},"method":"GET","port":6379,"proc":"","query":"GET b","redis":{"return_value":"1"},"resource":"b","responsetime":1,"server":"","status":"OK","type":"redis"}`,
    ]);
    expect(r.counters['redis.unmatched_responses']).toBe(1);
  });

  it('a message cut inside a bulk string waits, and keeps the time of its first segment', () => {
    const whole = encodeCommand(['SET', 'k', 'value']);
    const r = scripted('cut-bulk', [
      { atNs: ms(1), toServer: true, payload: whole.subarray(0, 20) },
      { atNs: ms(4), toServer: true, payload: whole.subarray(20) },
      { atNs: ms(6), toServer: false, payload: '+OK\r\n' },
    ]);
    expect(r.lines).toEqual([
      `{"@timestamp":"${TS}.001Z","bytes_in":${whole.length},"bytes_out":5,${CLIENT},"method":"SET","port":6379,"proc":"","query":"SET k value","redis":{"return_value":"OK"},"resource":"k","responsetime":5,"server":"","status":"OK","type":"redis"}`,
    ]);
  });

  it('a RESP3 reply is not RESP to packetbeat 5: the direction is dropped, the request stays unanswered', () => {
    const r = scripted('resp3', [
      { atNs: 0, toServer: true, payload: encodeCommand(['GET', 'a']) },
      { atNs: ms(1), toServer: false, payload: '_\r\n' },
      { atNs: ms(2), toServer: true, payload: encodeCommand(['GET', 'b']) },
      { atNs: ms(3), toServer: false, payload: '$1\r\nB\r\n' },
    ]);
    // the queue is FIFO: the reply to GET b pairs with GET a
    expect(r.lines).toEqual([
      `{"@timestamp":"${TS}.000Z","bytes_in":20,"bytes_out":7,${CLIENT},"method":"GET","port":6379,"proc":"","query":"GET a","redis":{"return_value":"B"},"resource":"a","responsetime":3,"server":"","status":"OK","type":"redis"}`,
    ]);
  });

  it('values are encoded as Go writes them: <>& as \\u003c…, \\b as \\u0008, each invalid UTF-8 byte as \\ufffd', () => {
    const value = Buffer.concat([Buffer.from('<a>&"\\\n\b\t\u2028é'), Buffer.from([0xff, 0xed, 0xa0, 0x80, 0x7f])]);
    const request = Buffer.concat([Buffer.from(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${value.length}\r\n`), value, Buffer.from('\r\n')]);
    const r = scripted('escapes', [
      { atNs: 0, toServer: true, payload: request },
      { atNs: ms(1), toServer: false, payload: '-ERR <no>\r\n' },
    ]);
    const query = 'SET k \\u003ca\\u003e\\u0026\\"\\\\\\n\\u0008\\t\\u2028é\\ufffd\\ufffd\\ufffd\\ufffd\u007f';
    expect(r.lines).toEqual([
      `{"@timestamp":"${TS}.000Z","bytes_in":${request.length},"bytes_out":11,${CLIENT},"method":"SET","port":6379,"proc":"","query":"${query}","redis":{"error":"ERR \\u003cno\\u003e"},"resource":"k","responsetime":1,"server":"","status":"Error","type":"redis"}`,
    ]);
  });
});

describe('packetbeat 5 past 10 MiB in a stream', () => {
  it('drops the connection: the rest of the big value is not RESP, its reply finds no request, the next pair is an event', () => {
    const big = Buffer.concat([Buffer.from(`*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$${11 << 20}\r\n`), Buffer.alloc(11 << 20, 0x78), Buffer.from('\r\n')]);
    const segments: ScriptedSegment[] = [];
    for (let at = 0; at < big.length; at += 60_000) segments.push({ atNs: ms(1), toServer: true, payload: big.subarray(at, at + 60_000) });
    segments.push({ atNs: ms(2), toServer: false, payload: '+OK\r\n' });
    segments.push({ atNs: ms(3), toServer: true, payload: encodeCommand(['GET', 'a']) });
    segments.push({ atNs: ms(4), toServer: false, payload: '$1\r\n1\r\n' });
    const r = scripted('ten-mib', segments);
    expect(r.lines).toEqual([
      `{"@timestamp":"${TS}.003Z","bytes_in":20,"bytes_out":7,${CLIENT},"method":"GET","port":6379,"proc":"","query":"GET a","redis":{"return_value":"1"},"resource":"a","responsetime":1,"server":"","status":"OK","type":"redis"}`,
    ]);
    expect(r.counters).toEqual({ events: 1, 'redis.unmatched_responses': 1, 'tcp.dropped_because_of_gaps': 0 });
  });
});

describe('parseMessage, as redis_parse.go', () => {
  it('renders arrays and nils as packetbeat does, and a request only by its first word', () => {
    const m = (s: string) => parseMessage(Buffer.from(s));
    expect(m('*3\r\n$1\r\na\r\n*-1\r\n*2\r\n:1\r\n+x\r\n')).toMatchObject({ kind: 'message', value: Buffer.from('[a, nil, [1, x]]'), isRequest: false });
    expect(m('*0\r\n')).toMatchObject({ kind: 'message', value: Buffer.from('[]') });
    expect(m('$-1\r\n')).toMatchObject({ kind: 'message', value: Buffer.from('nil') });
    expect(m('*1\r\n$4\r\nping\r\n')).toMatchObject({ kind: 'message', isRequest: true, method: Buffer.from('ping'), value: Buffer.from('ping') });
    // a bulk length is read as far as its digits go
    expect(m('$3xyz\r\nabc\r\n')).toMatchObject({ kind: 'message', value: Buffer.from('abc') });
    expect(m('$3\r\nabcd\r\n')).toEqual({ kind: 'error' });
    expect(m('$3\r\nab')).toEqual({ kind: 'incomplete' });
    expect(m('*2\r')).toEqual({ kind: 'error' });
    expect(m('%1\r\n')).toEqual({ kind: 'error' });
  });

  it('putGoString escapes as encoding/json with HTML escaping', () => {
    const out = Buffer.alloc(200);
    const end = putGoString(out, 0, Buffer.from([0x3c, 0x08, 0x0c, 0x7f, 0xc3, 0xa9, 0xe2, 0x80, 0xa9, 0xc0, 0xaf, 0xf4, 0x90, 0x80, 0x80]));
    expect(out.toString('utf8', 0, end)).toBe('"\\u003c\\u0008\\u000c\u007fé\\u2029\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd"');
  });
});

describe('as packetbeat 5 publishes them (--profile packetbeat5)', () => {
  /** Every event of a replay that loses none. */
  function published(capture: string, ports: number[], patch: ConfigPatch): string[] {
    const config = resolveConfig('packetbeat5', [{ ports, queueSize: 100_000, waitstopNs: 5e9 }, patch]);
    return replay(capture, config, { output: { kind: 'memory' } }).lines!;
  }

  it('adds beat {hostname, name, version}, and send_request / send_response copy query and value (libbeat client.go, redis.go:308)', () => {
    const file = join(dir, 'published.pcap');
    writeFileSync(file, scriptedPcap([
      { atNs: 0, toServer: true, payload: encodeCommand(['GET', 'k<1>']) },
      { atNs: ms(3), toServer: false, payload: '-ERR "no"\r\n' },
    ]));
    expect(published(file, [6379], {})).toEqual([
      `{"@timestamp":"${TS}.000Z","beat":{"hostname":"lockstep","name":"lockstep","version":"5.6.17"},"bytes_in":23,"bytes_out":11,${CLIENT},"method":"GET","port":6379,"proc":"","query":"GET k\\u003c1\\u003e","redis":{"error":"ERR \\"no\\""},"resource":"k\\u003c1\\u003e","responsetime":3,"server":"","status":"Error","type":"redis"}`,
    ]);
    expect(published(file, [6379], { beatName: 'edge&1', beatHostname: 'h', beatVersion: '5.0.0', sendRequest: true, sendResponse: true })).toEqual([
      `{"@timestamp":"${TS}.000Z","beat":{"hostname":"h","name":"edge\\u00261","version":"5.0.0"},"bytes_in":23,"bytes_out":11,${CLIENT},"method":"GET","port":6379,"proc":"","query":"GET k\\u003c1\\u003e","redis":{"error":"ERR \\"no\\""},"request":"GET k\\u003c1\\u003e","resource":"k\\u003c1\\u003e","response":"ERR \\"no\\"","responsetime":3,"server":"","status":"Error","type":"redis"}`,
    ]);
  });

  it('names both ends of a loopback connection after the shipper (publish.go GetServerName), as packetbeat 5 wrote real-redis', () => {
    const { path, ports } = oracleCapture('real-redis');
    const lines = published(path, ports, { beatHostname: 'vm' });
    expect(lines).toHaveLength(10_017);
    // the first line pb5full (../shared/oracles/packetbeat5-pipeline) wrote on a host named vm
    expect(lines[0]).toBe(
      '{"@timestamp":"2026-11-21T05:54:56.928Z","beat":{"hostname":"vm","name":"vm","version":"5.6.17"},"bytes_in":14,"bytes_out":7,"client_ip":"127.0.0.1","client_port":34706,"client_proc":"","client_server":"vm","ip":"127.0.0.1","method":"PING","port":32117,"proc":"","query":"ping","redis":{"return_value":"PONG"},"resource":"","responsetime":0,"server":"vm","status":"OK","type":"redis"}',
    );
  });

  it('forgets a connection idle past transaction_timeout at capture pace, never at top speed (as under -t)', () => {
    // a BLPOP answered after 15 s of capture time
    const file = join(dir, 'blpop-15s.pcap');
    writeFileSync(file, scriptedPcap([
      { atNs: 0, toServer: true, payload: encodeCommand(['BLPOP', 'q', '0']) },
      { atNs: 15e9, toServer: false, payload: '*2\r\n$1\r\nq\r\n$1\r\nx\r\n' },
    ]));
    const run = (patch: ConfigPatch) => {
      const s = replay(file, resolveConfig('packetbeat5', [{ queueSize: 100, waitstopNs: 1e9 }, patch]), { output: { kind: 'memory' } });
      return [s.lines!.length, s.counters['redis.unmatched_responses'], s.counters['tcp.streams_expired']];
    };
    expect(run({})).toEqual([1, 0, 0]);
    // at the capture's pace the 10 s default expires it: the reply meets an empty connection
    expect(run({ pacing: 'timestamps', speed: 100 })).toEqual([0, 1, 1]);
    expect(run({ pacing: 'timestamps', speed: 100, transactionTimeoutNs: 20e9 })).toEqual([1, 0, 0]);
  });
});
