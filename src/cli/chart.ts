/**
 * Small charts for the terminal and for SVG files, that draw only what was
 * measured: a `points` series is a mark per replay made (nothing between
 * them: a sweep knows nothing between two queue sizes it replayed), a
 * `line` series a trace sampled all along (a queue's depth over time).
 * Ticks fall on round numbers; the legend sits outside the plot; `markers`
 * are vertical lines at moments worth naming (the end of the capture, the
 * shutdown).
 */

export interface Series {
  name: string;
  points: [number, number][];
  /** `points`: a mark at each measured point, nothing between (default); `line`: a sampled trace, joined. */
  style?: 'points' | 'line';
}

export interface Marker {
  x: number;
  label: string;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  logX?: boolean;
  width?: number;
  height?: number;
  /** Vertical lines at these x, each named in the legend. */
  markers?: Marker[];
  /** Lines under the legend: what the reader needs to read the chart right. */
  notes?: string[];
}

const MARKS = ['●', '▲', '■', '◆', '✚', '○', '△', '□'];
const MARKER_MARKS = ['┆', '╎', '┊', '¦'];

interface Scale {
  x(v: number): number;
  y(v: number): number;
  xMin: number;
  xMax: number;
  yMax: number;
  yTicks: number[];
  xTicks: number[];
}

/** Round tick values covering [0, max]: steps of 1, 2 or 5 × 10^k, about `count` of them. */
export function niceTicks(max: number, count = 4): number[] {
  if (max <= 0) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const top = Math.ceil(max / step) * step;
  const ticks: number[] = [];
  for (let v = 0; v <= top + step / 2; v += step) ticks.push(+v.toPrecision(12));
  return ticks;
}

function scale(series: Series[], markers: Marker[], logX: boolean, w: number, h: number): Scale {
  const xs = [...series.flatMap((s) => s.points.map((p) => p[0])), ...markers.map((m) => m.x)];
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const fx = (v: number) => (logX ? Math.log10(Math.max(v, 1)) : v);
  let xMin = xs.length ? Math.min(...xs) : 0;
  let xMax = xs.length ? Math.max(...xs) : 1;
  const linearTicks = logX ? [] : niceTicks(xMax - Math.min(0, xMin), 4);
  if (!logX) {
    xMin = Math.min(0, xMin);
    xMax = Math.max(xMax, linearTicks.at(-1)!);
  }
  // one x only (one replay): widen the axis around it so the point sits inside, not on an edge
  if (xMin === xMax) {
    xMin = logX ? xMin / 10 : xMin - 1;
    xMax = logX ? xMax * 10 : xMax + 1;
  }
  const yTicks = niceTicks(Math.max(1, ...ys));
  const yMax = yTicks.at(-1)!;
  const a = fx(xMin);
  const b = fx(xMax);
  const xTicks = logX
    ? Array.from({ length: Math.floor(Math.log10(Math.max(xMax, 1))) + 2 }, (_, i) => 10 ** i).filter((t) => t >= xMin && t <= xMax)
    : linearTicks.filter((t) => t >= xMin && t <= xMax);
  return {
    x: (v) => ((fx(v) - a) / (b - a)) * (w - 1),
    y: (v) => (1 - v / yMax) * (h - 1),
    xMin,
    xMax,
    yMax,
    yTicks,
    xTicks,
  };
}

function fmtNum(n: number): string {
  if (n >= 1e9) return `${+(n / 1e9).toPrecision(3)}G`;
  if (n >= 1e6) return `${+(n / 1e6).toPrecision(3)}M`;
  if (n >= 1e3) return `${+(n / 1e3).toPrecision(3)}k`;
  return String(Math.round(n * 1000) / 1000);
}

/** A chart drawn with characters: a mark per measured point, a trace for `line` series, markers as dotted columns. */
export function terminalChart(series: Series[], o: ChartOptions): string {
  const w = o.width ?? 64;
  const h = o.height ?? 14;
  const markers = o.markers ?? [];
  const s = scale(series, markers, o.logX ?? false, w, h);
  const grid: string[][] = Array.from({ length: h }, () => new Array<string>(w).fill(' '));
  markers.forEach((mk, k) => {
    const cx = Math.round(s.x(mk.x));
    for (let y = 0; y < h; y++) if (grid[y]![cx] === ' ') grid[y]![cx] = MARKER_MARKS[k % MARKER_MARKS.length]!;
  });
  series.forEach((ser, k) => {
    const pts = [...ser.points].sort((p, q) => p[0] - q[0]);
    const mark = MARKS[k % MARKS.length]!;
    if (ser.style === 'line') {
      // a sampled trace: joined, step by step, with its own mark
      for (let i = 0; i + 1 < pts.length; i++) {
        const [x0, y0] = [s.x(pts[i]![0]), s.y(pts[i]![1])];
        const [x1, y1] = [s.x(pts[i + 1]![0]), s.y(pts[i + 1]![1])];
        const steps = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
        for (let t = 0; t <= steps; t++) grid[Math.round(y0 + ((y1 - y0) * t) / steps)]![Math.round(x0 + ((x1 - x0) * t) / steps)] = mark;
      }
    }
    for (const [x, y] of pts) grid[Math.round(s.y(y))]![Math.round(s.x(x))] = mark;
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
  const indent = ' '.repeat(pad + 2);
  for (const [k, ser] of series.entries()) lines.push(`${indent}${MARKS[k % MARKS.length]} ${ser.name}${ser.style === 'line' ? '' : ' (a mark per replay)'}`);
  for (const [k, mk] of markers.entries()) lines.push(`${indent}${MARKER_MARKS[k % MARKER_MARKS.length]} ${mk.label} (${fmtNum(mk.x)})`);
  for (const n of o.notes ?? []) lines.push(`${indent}${n}`);
  return `${lines.join('\n')}\n`;
}

const COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
const SHAPES = ['circle', 'triangle', 'square', 'diamond'] as const;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A mark of shape `k` at (x, y). */
function shape(k: number, x: number, y: number, color: string): string {
  const r = 3.5;
  switch (SHAPES[k % SHAPES.length]) {
    case 'circle':
      return `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${r}" fill="${color}"/>`;
    case 'triangle':
      return `<polygon points="${x.toFixed(1)},${(y - r - 1).toFixed(1)} ${(x - r - 0.5).toFixed(1)},${(y + r).toFixed(1)} ${(x + r + 0.5).toFixed(1)},${(y + r).toFixed(1)}" fill="${color}"/>`;
    case 'square':
      return `<rect x="${(x - r).toFixed(1)}" y="${(y - r).toFixed(1)}" width="${2 * r}" height="${2 * r}" fill="${color}"/>`;
    default:
      return `<polygon points="${x.toFixed(1)},${(y - r - 1).toFixed(1)} ${(x + r + 1).toFixed(1)},${y.toFixed(1)} ${x.toFixed(1)},${(y + r + 1).toFixed(1)} ${(x - r - 1).toFixed(1)},${y.toFixed(1)}" fill="${color}"/>`;
  }
}

/** The same chart as a standalone SVG document, its legend below the plot. */
export function svgChart(series: Series[], o: ChartOptions): string {
  const W = 760;
  const markers = o.markers ?? [];
  const legendRows = series.length + markers.length + (o.notes?.length ?? 0);
  const plotH = 300;
  const m = { l: 70, r: 30, t: 40, b: 60 };
  const H = m.t + plotH + m.b + 18 * legendRows + 10;
  const s = scale(series, markers, o.logX ?? false, W - m.l - m.r, plotH);
  const X = (v: number) => m.l + s.x(v);
  const Y = (v: number) => m.t + s.y(v);
  const bottom = m.t + plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(o.title)}</text>`,
  ];
  for (const v of s.yTicks) {
    parts.push(`<line x1="${m.l}" y1="${Y(v).toFixed(1)}" x2="${W - m.r}" y2="${Y(v).toFixed(1)}" stroke="#e4e4e4"/>`);
    parts.push(`<text x="${m.l - 6}" y="${Y(v).toFixed(1)}" text-anchor="end" dominant-baseline="middle">${fmtNum(v)}</text>`);
  }
  parts.push(`<line x1="${m.l}" y1="${bottom}" x2="${W - m.r}" y2="${bottom}" stroke="black"/>`);
  parts.push(`<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${bottom}" stroke="black"/>`);
  for (const t of s.xTicks) {
    parts.push(`<line x1="${X(t).toFixed(1)}" y1="${bottom}" x2="${X(t).toFixed(1)}" y2="${bottom + 4}" stroke="black"/>`);
    parts.push(`<text x="${X(t).toFixed(1)}" y="${bottom + 18}" text-anchor="middle">${fmtNum(t)}</text>`);
  }
  parts.push(`<text x="${(m.l + W - m.r) / 2}" y="${bottom + 40}" text-anchor="middle">${esc(o.xLabel)}${o.logX ? ' (log scale)' : ''}</text>`);
  parts.push(`<text x="16" y="${(m.t + bottom) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(m.t + bottom) / 2})">${esc(o.yLabel)}</text>`);
  markers.forEach((mk) => {
    parts.push(`<line x1="${X(mk.x).toFixed(1)}" y1="${m.t}" x2="${X(mk.x).toFixed(1)}" y2="${bottom}" stroke="#555" stroke-dasharray="4 3"/>`);
  });
  series.forEach((ser, k) => {
    const color = COLORS[k % COLORS.length]!;
    const pts = [...ser.points].sort((p, q) => p[0] - q[0]);
    if (ser.style === 'line') {
      if (pts.length > 1) parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${pts.map(([x, y]) => `${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(' ')}"/>`);
    } else {
      for (const [x, y] of pts) parts.push(shape(k, X(x), Y(y), color));
    }
  });
  // the legend, under the plot
  let row = bottom + 62;
  series.forEach((ser, k) => {
    const color = COLORS[k % COLORS.length]!;
    parts.push(ser.style === 'line' ? `<line x1="${m.l}" y1="${row - 4}" x2="${m.l + 16}" y2="${row - 4}" stroke="${color}" stroke-width="2"/>` : shape(k, m.l + 8, row - 4, color));
    parts.push(`<text x="${m.l + 24}" y="${row}">${esc(ser.name)}${ser.style === 'line' ? '' : ' (a mark per replay)'}</text>`);
    row += 18;
  });
  for (const mk of markers) {
    parts.push(`<line x1="${m.l}" y1="${row - 4}" x2="${m.l + 16}" y2="${row - 4}" stroke="#555" stroke-dasharray="4 3"/>`);
    parts.push(`<text x="${m.l + 24}" y="${row}">${esc(mk.label)} (${fmtNum(mk.x)})</text>`);
    row += 18;
  }
  for (const n of o.notes ?? []) {
    parts.push(`<text x="${m.l}" y="${row}" fill="#444">${esc(n)}</text>`);
    row += 18;
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
