/** A two-panel line chart as hand-written SVG: log-scale x (clients), linear y. No dependencies. */
export interface Series {
  name: string;
  colour: string;
  points: { x: number; y: number }[];
}

export interface Panel {
  title: string;
  yLabel: string;
  series: Series[];
}

const W = 420;
const H = 300;
const M = { l: 60, r: 15, t: 30, b: 45 };

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function panel(p: Panel, ox: number, xs: number[]): string {
  const all = p.series.flatMap((s) => s.points);
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  const yMax = niceMax(Math.max(...all.map((q) => q.y), 0) * 1.05);
  const lx = (x: number): number => ox + M.l + ((Math.log10(x) - Math.log10(xMin)) / Math.max(1e-9, Math.log10(xMax) - Math.log10(xMin))) * (W - M.l - M.r);
  const ly = (y: number): number => M.t + (1 - y / yMax) * (H - M.t - M.b);
  const out: string[] = [];
  out.push(`<text x="${ox + W / 2}" y="18" text-anchor="middle" font-weight="bold">${escape(p.title)}</text>`);
  out.push(`<line x1="${ox + M.l}" y1="${H - M.b}" x2="${ox + W - M.r}" y2="${H - M.b}" stroke="#333"/>`);
  out.push(`<line x1="${ox + M.l}" y1="${M.t}" x2="${ox + M.l}" y2="${H - M.b}" stroke="#333"/>`);
  for (let i = 0; i <= 4; i++) {
    const y = (yMax * i) / 4;
    out.push(`<line x1="${ox + M.l}" y1="${ly(y)}" x2="${ox + W - M.r}" y2="${ly(y)}" stroke="#ddd"/>`);
    out.push(`<text x="${ox + M.l - 5}" y="${ly(y) + 4}" text-anchor="end">${Number(y.toPrecision(3))}</text>`);
  }
  for (const x of xs) out.push(`<text x="${lx(x)}" y="${H - M.b + 15}" text-anchor="middle">${x}</text>`);
  out.push(`<text x="${ox + (W + M.l) / 2}" y="${H - 8}" text-anchor="middle">clients (log scale)</text>`);
  out.push(`<text transform="translate(${ox + 14},${(H - M.b + M.t) / 2}) rotate(-90)" text-anchor="middle">${escape(p.yLabel)}</text>`);
  p.series.forEach((s, i) => {
    const pts = s.points.filter((q) => Number.isFinite(q.y)).sort((a, b) => a.x - b.x);
    if (pts.length > 1) out.push(`<polyline fill="none" stroke="${s.colour}" stroke-width="2" points="${pts.map((q) => `${lx(q.x).toFixed(1)},${ly(q.y).toFixed(1)}`).join(' ')}"/>`);
    for (const q of pts) out.push(`<circle cx="${lx(q.x).toFixed(1)}" cy="${ly(q.y).toFixed(1)}" r="3" fill="${s.colour}"/>`);
    out.push(`<rect x="${ox + M.l + 10}" y="${M.t + 6 + i * 16}" width="10" height="10" fill="${s.colour}"/>`);
    out.push(`<text x="${ox + M.l + 25}" y="${M.t + 15 + i * 16}">${escape(s.name)}</text>`);
  });
  return out.join('\n');
}

export function scalingSvg(panels: Panel[], xs: number[]): string {
  const width = W * panels.length;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${H}" viewBox="0 0 ${width} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${H}" fill="white"/>`,
    ...panels.map((p, i) => panel(p, i * W, xs)),
    '</svg>',
    '',
  ].join('\n');
}
