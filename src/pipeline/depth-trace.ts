/** Queue depth changes, kept as the deepest point per time bucket so a long run stays small. */
export class DepthTrace {
  private readonly times: number[] = [];
  private readonly depths: number[] = [];

  add(now: number, depth: number): void {
    const n = this.times.length;
    if (n > 0 && this.times[n - 1] === now) {
      if (depth > this.depths[n - 1]!) this.depths[n - 1] = depth;
      return;
    }
    this.times.push(now);
    this.depths.push(depth);
  }

  /** At most `buckets` points over [0, end]: the deepest queue in each bucket (x in seconds). */
  points(endNs: number, buckets: number): [number, number][] {
    const width = Math.max(1, endNs) / buckets;
    const max = new Array<number>(buckets + 1).fill(-1);
    let last = 0;
    let j = 0;
    for (let b = 0; b <= buckets; b++) {
      const until = (b + 1) * width;
      let m = last;
      while (j < this.times.length && this.times[j]! < until) {
        last = this.depths[j]!;
        if (last > m) m = last;
        j++;
      }
      max[b] = m;
    }
    return max.map((d, b): [number, number] => [(b * width) / 1e9, d]);
  }
}
