/** TCP sequence arithmetic modulo 2^32 (RFC 1982 style, as packetbeat's tcpSeqCompare). */

/** Signed distance a - b, in -2^31 .. 2^31-1. */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}
