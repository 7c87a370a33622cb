/** A small line chart as inline SVG: no JavaScript, readable on a phone, printable. */
import { esc } from './html.js';

export interface Series {
  label: string;
  color: string;
  points: Array<{ t: number; v: number }>;
  format: (v: number) => string;
}

export function lineChart(title: string, s: Series, emptyText: string): string {
  const pts = [...s.points].sort((a, b) => a.t - b.t);
  if (pts.length === 0) return `<p class="empty">${esc(emptyText)}</p>`;
  const W = 640, H = 200, L = 64, R = 12, T = 14, B = 30;
  const t0 = pts[0].t, t1 = pts[pts.length - 1].t;
  const vmax = Math.max(...pts.map((p) => p.v)) * 1.15 || 1;
  const x = (t: number) => (t1 === t0 ? L + (W - L - R) / 2 : L + ((t - t0) / (t1 - t0)) * (W - L - R));
  const y = (v: number) => T + (1 - v / vmax) * (H - T - B);
  const grid = [0, 0.5, 1].map((f) => {
    const v = vmax * f;
    return `<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#e2e6ec"/><text x="${L - 6}" y="${y(v) + 4}" text-anchor="end" font-size="11" fill="#5d6778">${esc(s.format(v))}</text>`;
  }).join('');
  const day = (t: number) => new Date(t).toISOString().slice(5, 10);
  const path = pts.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
  const dots = pts.map((p) => `<circle cx="${x(p.t).toFixed(1)}" cy="${y(p.v).toFixed(1)}" r="3.5" fill="${s.color}"><title>${esc(new Date(p.t).toISOString().slice(0, 16).replace('T', ' '))}: ${esc(s.format(p.v))}</title></circle>`).join('');
  return `<figure style="margin:0"><svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">
${grid}<path d="${path}" fill="none" stroke="${s.color}" stroke-width="2"/>${dots}
<text x="${L}" y="${H - 8}" font-size="11" fill="#5d6778">${esc(day(t0))}</text><text x="${W - R}" y="${H - 8}" font-size="11" fill="#5d6778" text-anchor="end">${esc(day(t1))}</text>
</svg><figcaption class="muted" style="font-size:13px">${esc(title)}</figcaption></figure>`;
}
