/* Terminal output shared by what prints: the commands (src/cli/) and the golden reports (src/golden/). */
import { Chalk } from 'chalk';

/** chalk that honours NO_COLOR (no-color.org) as well as chalk's own detection. */
export const paint = new Chalk(process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '' ? { level: 0 } : {});

export function table(rows: (string | number)[][], align: ('l' | 'r')[] = []): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, String(c).length)));
  return rows
    .map((r) =>
      r.map((c, i) => (align[i] === 'r' ? String(c).padStart(widths[i]!) : String(c).padEnd(widths[i]!))).join('  ').trimEnd(),
    )
    .join('\n');
}
