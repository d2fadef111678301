/** Small charts for the terminal and for SVG files: points joined per series, linear or log x. */

export interface Series {
  name: string;
  points: [number, number][];
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  logX?: boolean;
  width?: number;
  height?: number;
}

const MARKS = ['●', '▲', '■', '◆', '✚', '○', '△', '□'];

interface Scale {
  x(v: number): number;
  y(v: number): number;
  xMin: number;
  xMax: number;
  yMax: number;
}

function scale(series: Series[], logX: boolean, w: number, h: number): Scale {
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const fx = (v: number) => (logX ? Math.log10(Math.max(v, 1)) : v);
  const xMin = xs.length ? Math.min(...xs) : 0;
  const xMax = xs.length ? Math.max(...xs) : 1;
  const yMax = Math.max(1, ...ys);
  const a = fx(xMin);
  const b = fx(xMax) === a ? a + 1 : fx(xMax);
  return {
    x: (v) => ((fx(v) - a) / (b - a)) * (w - 1),
    y: (v) => (1 - v / yMax) * (h - 1),
    xMin,
    xMax,
    yMax,
  };
}

function fmtNum(n: number): string {
  if (n >= 1e9) return `${+(n / 1e9).toPrecision(3)}G`;
  if (n >= 1e6) return `${+(n / 1e6).toPrecision(3)}M`;
  if (n >= 1e3) return `${+(n / 1e3).toPrecision(3)}k`;
  return String(Math.round(n * 100) / 100);
}

/** A chart drawn with characters: one mark per series, lines between points, axes labelled at the ends. */
export function terminalChart(series: Series[], o: ChartOptions): string {
  const w = o.width ?? 64;
  const h = o.height ?? 14;
  const s = scale(series, o.logX ?? false, w, h);
  const grid: string[][] = Array.from({ length: h }, () => new Array<string>(w).fill(' '));
  series.forEach((ser, k) => {
    const pts = [...ser.points].sort((p, q) => p[0] - q[0]);
    for (let i = 0; i + 1 < pts.length; i++) {
      // a dotted line between consecutive points
      const [x0, y0] = [s.x(pts[i]![0]), s.y(pts[i]![1])];
      const [x1, y1] = [s.x(pts[i + 1]![0]), s.y(pts[i + 1]![1])];
      const steps = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
      for (let t = 0; t <= steps; t++) {
        const cx = Math.round(x0 + ((x1 - x0) * t) / steps);
        const cy = Math.round(y0 + ((y1 - y0) * t) / steps);
        if (grid[cy]![cx] === ' ') grid[cy]![cx] = '·';
      }
    }
    for (const [x, y] of pts) grid[Math.round(s.y(y))]![Math.round(s.x(x))] = MARKS[k % MARKS.length]!;
  });
  const yTop = fmtNum(s.yMax);
  const pad = Math.max(yTop.length, 1);
  const lines = [o.title, `${o.yLabel}`];
  grid.forEach((row, i) => {
    const label = i === 0 ? yTop : i === h - 1 ? '0' : '';
    lines.push(`${label.padStart(pad)} │${row.join('').trimEnd()}`);
  });
  lines.push(`${' '.repeat(pad)} └${'─'.repeat(w)}`);
  const left = fmtNum(s.xMin);
  const right = fmtNum(s.xMax);
  lines.push(`${' '.repeat(pad + 2)}${left}${' '.repeat(Math.max(1, w - left.length - right.length))}${right}`);
  lines.push(`${' '.repeat(pad + 2)}${o.xLabel}${o.logX ? ' (log scale)' : ''}`);
  if (series.length > 1 || series[0]?.name) lines.push(`${' '.repeat(pad + 2)}${series.map((ser, k) => `${MARKS[k % MARKS.length]} ${ser.name}`).join('   ')}`);
  return `${lines.join('\n')}\n`;
}

const COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The same chart as a standalone SVG document. */
export function svgChart(series: Series[], o: ChartOptions): string {
  const W = 720;
  const H = 400;
  const m = { l: 70, r: 20, t: 40, b: 60 };
  const s = scale(series, o.logX ?? false, W - m.l - m.r, H - m.t - m.b);
  const X = (v: number) => (m.l + s.x(v)).toFixed(1);
  const Y = (v: number) => (m.t + s.y(v)).toFixed(1);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(o.title)}</text>`,
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="black"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="black"/>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = (s.yMax * i) / 4;
    parts.push(`<text x="${m.l - 6}" y="${Y(v)}" text-anchor="end" dominant-baseline="middle">${fmtNum(v)}</text>`);
    parts.push(`<line x1="${m.l}" y1="${Y(v)}" x2="${W - m.r}" y2="${Y(v)}" stroke="#ddd"/>`);
  }
  const ticks = o.logX
    ? Array.from({ length: Math.floor(Math.log10(Math.max(s.xMax, 1))) + 1 }, (_, i) => 10 ** i).filter((t) => t >= s.xMin && t <= s.xMax)
    : [0, 1, 2, 3, 4].map((i) => s.xMin + ((s.xMax - s.xMin) * i) / 4);
  for (const t of ticks) parts.push(`<text x="${X(t)}" y="${H - m.b + 18}" text-anchor="middle">${fmtNum(t)}</text>`);
  parts.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 18}" text-anchor="middle">${esc(o.xLabel)}${o.logX ? ' (log scale)' : ''}</text>`);
  parts.push(`<text x="16" y="${(m.t + H - m.b) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(m.t + H - m.b) / 2})">${esc(o.yLabel)}</text>`);
  series.forEach((ser, k) => {
    const color = COLORS[k % COLORS.length]!;
    const pts = [...ser.points].sort((p, q) => p[0] - q[0]);
    if (pts.length > 1) parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${pts.map(([x, y]) => `${X(x)},${Y(y)}`).join(' ')}"/>`);
    if (pts.length <= 200) for (const [x, y] of pts) parts.push(`<circle cx="${X(x)}" cy="${Y(y)}" r="3" fill="${color}"/>`);
    parts.push(`<text x="${W - m.r - 4}" y="${m.t + 14 * (k + 1)}" text-anchor="end" fill="${color}">${esc(ser.name)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
