/**
 * A small hand-rolled SVG line chart: axes with round ticks, one polyline per series (optionally
 * drawn as steps, for CDFs), a legend. No dependencies; the output is a complete standalone file.
 *
 *   ┌ title ───────────────────────┐
 *   │ y ticks │ plot area  legend  │   plot area = width − LEFT − RIGHT by height − TOP − BOTTOM
 *   │         └─────────────────── │
 *   │           x ticks, x label   │
 */

export interface Series {
  name: string;
  points: ReadonlyArray<readonly [number, number]>;
  /** Draw horizontal-then-vertical steps (a CDF). */
  step?: boolean;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  /** Fixed y range top (e.g. 1 for a CDF); default the data's max. */
  yMax?: number;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const LEFT = 64;
const RIGHT = 16;
const TOP = 36;
const BOTTOM = 48;

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** About `count` round tick values (1, 2, 5 × 10ⁿ steps) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) hi = lo + 1;
  const raw = (hi - lo) / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let v = Math.floor(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1] < hi) ticks.push(Number((ticks[ticks.length - 1] + step).toPrecision(12)));
  return ticks;
}

export function formatNumber(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 10_000) return `${Number((v / 1000).toPrecision(3))}k`;
  return String(Number(v.toPrecision(3)));
}

function path(points: ReadonlyArray<readonly [number, number]>, step: boolean, sx: (x: number) => number, sy: (y: number) => number): string {
  const out: string[] = [];
  points.forEach(([x, y], i) => {
    if (i > 0 && step) out.push(`${sx(x).toFixed(1)},${sy(points[i - 1][1]).toFixed(1)}`);
    out.push(`${sx(x).toFixed(1)},${sy(y).toFixed(1)}`);
  });
  return out.join(' ');
}

export function lineChart(series: readonly Series[], o: ChartOptions): string {
  const W = o.width ?? 640;
  const H = o.height ?? 360;
  const pw = W - LEFT - RIGHT;
  const ph = H - TOP - BOTTOM;
  const all = series.flatMap((s) => s.points);
  const el: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(o.title)}</text>`,
  ];
  if (all.length === 0) {
    el.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle" fill="#888">no data</text>`, '</svg>');
    return el.join('\n') + '\n';
  }
  const xs = niceTicks(all.reduce((m, p) => Math.min(m, p[0]), 0), all.reduce((m, p) => Math.max(m, p[0]), -Infinity));
  const ys = niceTicks(0, o.yMax ?? all.reduce((m, p) => Math.max(m, p[1]), -Infinity));
  const [x0, x1, y0, y1] = [xs[0], xs[xs.length - 1], ys[0], ys[ys.length - 1]];
  const sx = (x: number): number => LEFT + ((x - x0) / (x1 - x0)) * pw;
  const sy = (y: number): number => TOP + ph - ((y - y0) / (y1 - y0)) * ph;
  for (const y of ys) {
    el.push(`<line x1="${LEFT}" x2="${LEFT + pw}" y1="${sy(y).toFixed(1)}" y2="${sy(y).toFixed(1)}" stroke="#eee"/>`);
    el.push(`<text x="${LEFT - 6}" y="${(sy(y) + 4).toFixed(1)}" text-anchor="end">${formatNumber(y)}</text>`);
  }
  for (const x of xs) el.push(`<text x="${sx(x).toFixed(1)}" y="${TOP + ph + 16}" text-anchor="middle">${formatNumber(x)}</text>`);
  el.push(
    `<line x1="${LEFT}" x2="${LEFT + pw}" y1="${TOP + ph}" y2="${TOP + ph}" stroke="#333"/>`,
    `<line x1="${LEFT}" x2="${LEFT}" y1="${TOP}" y2="${TOP + ph}" stroke="#333"/>`,
    `<text x="${LEFT + pw / 2}" y="${H - 10}" text-anchor="middle">${escapeXml(o.xLabel)}</text>`,
    `<text x="14" y="${TOP + ph / 2}" text-anchor="middle" transform="rotate(-90 14 ${TOP + ph / 2})">${escapeXml(o.yLabel)}</text>`,
  );
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    el.push(`<polyline fill="none" stroke="${color}" stroke-width="1.8" points="${path(s.points, s.step === true, sx, sy)}"/>`);
    const ly = TOP + 8 + i * 16;
    el.push(
      `<line x1="${LEFT + pw - 150}" x2="${LEFT + pw - 132}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${LEFT + pw - 128}" y="${ly + 4}">${escapeXml(s.name)}</text>`,
    );
  });
  el.push('</svg>');
  return el.join('\n') + '\n';
}
