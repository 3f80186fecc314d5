import type { SeriesPoint } from '../sampler.js';

/** Hand-written SVG: no chart package, just paths and text. */

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const n1 = (x: number) => (Math.round(x * 10) / 10).toString();

export interface DayPanel {
  label: string;
  series: readonly SeriesPoint[];
}

/** Small multiples: jobs in the system (grey), waiting (red) and instances (blue) over one day. */
export function busyDaySvg(title: string, dayStart: number, panels: readonly DayPanel[]): string {
  const cols = 2;
  const pw = 460;
  const ph = 150;
  const m = { l: 36, r: 10, t: 22, b: 22 };
  const rows = Math.ceil(panels.length / cols);
  const W = cols * (pw + m.l + m.r);
  const H = 40 + rows * (ph + m.t + m.b) + 20;
  // One scale for the panels that are comparable; a policy whose backlog runs away (hundreds
  // of jobs) gets its own, or it would flatten every other panel to a line at zero.
  const peaks = panels.map((p) => Math.max(1, ...p.series.map((s) => Math.max(s.instances, s.pending + s.running))));
  const sorted = [...peaks].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 1;
  const shared = Math.max(1, ...peaks.filter((v) => v <= 4 * median));
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<text x="${W - 10}" y="20" text-anchor="end"><tspan fill="#999">■ jobs in system</tspan>  <tspan fill="#d62728">— waiting</tspan>  <tspan fill="#1f77b4">— instances</tspan></text>`,
  ];
  panels.forEach((p, k) => {
    const own = peaks[k]! > shared;
    const yMax = own ? peaks[k]! : shared;
    const ox = (k % cols) * (pw + m.l + m.r) + m.l;
    const oy = 40 + Math.floor(k / cols) * (ph + m.t + m.b) + m.t;
    const x = (t: number) => ox + ((t - dayStart) / 86_400_000) * pw;
    const y = (v: number) => oy + ph - (v / yMax) * ph;
    const step = (val: (s: SeriesPoint) => number, close: boolean) => {
      let d = `M${n1(x(dayStart))},${n1(y(0))}`;
      let last = 0;
      for (const s of p.series) {
        d += `L${n1(x(s.t))},${n1(y(last))}L${n1(x(s.t))},${n1(y(val(s)))}`;
        last = val(s);
      }
      d += `L${n1(x(dayStart + 86_400_000))},${n1(y(last))}`;
      if (close) d += `L${n1(x(dayStart + 86_400_000))},${n1(y(0))}Z`;
      return d;
    };
    out.push(`<text x="${ox}" y="${oy - 6}" font-weight="bold">${esc(p.label)}${own ? '<tspan font-weight="normal" fill="#d62728"> (own scale: backlog runs away)</tspan>' : ''}</text>`);
    out.push(`<rect x="${ox}" y="${oy}" width="${pw}" height="${ph}" fill="none" stroke="#ccc"/>`);
    for (let h = 0; h <= 24; h += 3) out.push(`<text x="${n1(x(dayStart + h * 3_600_000))}" y="${oy + ph + 14}" text-anchor="middle" fill="#666">${h}h</text>`);
    for (let v = 0; v <= yMax; v += Math.max(1, Math.ceil(yMax / 4))) out.push(`<text x="${ox - 4}" y="${n1(y(v) + 4)}" text-anchor="end" fill="#666">${v}</text>`);
    out.push(`<path d="${step((s) => s.pending + s.running, true)}" fill="#ddd" stroke="none"/>`);
    out.push(`<path d="${step((s) => s.pending, false)}" fill="none" stroke="#d62728" stroke-width="1.2"/>`);
    out.push(`<path d="${step((s) => s.instances, false)}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

export interface ScatterPoint {
  label: string;
  cost: number;
  p95: number;
}

export interface ScatterPanel {
  title: string;
  lowerBound: number;
  peers: readonly ScatterPoint[];
  /** Our policy over its knobs, one curve per knob; the default point is marked. */
  curves: readonly { knob: string; points: readonly ScatterPoint[] }[];
  ours: ScatterPoint;
  /** Other settings of ours worth marking on their own (e.g. with the warm pool sized 'auto'). */
  marks?: readonly ScatterPoint[];
}

/** Cost (log) against p95 wait (log of 1 + s), one panel per billing × concurrency. */
export function scatterSvg(title: string, panels: readonly ScatterPanel[]): string {
  const cols = 2;
  const pw = 440;
  const ph = 300;
  const m = { l: 60, r: 150, t: 28, b: 40 };
  const rows = Math.ceil(panels.length / cols);
  const W = cols * (pw + m.l + m.r);
  const H = 40 + rows * (ph + m.t + m.b);
  const colors = ['#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="10">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  panels.forEach((p, k) => {
    const ox = (k % cols) * (pw + m.l + m.r) + m.l;
    const oy = 40 + Math.floor(k / cols) * (ph + m.t + m.b) + m.t;
    const marks = p.marks ?? [];
    const all = [...p.peers, ...p.curves.flatMap((c) => c.points), p.ours, ...marks];
    const cMin = Math.min(p.lowerBound, ...all.map((a) => a.cost)) * 0.9;
    const cMax = Math.max(...all.map((a) => a.cost)) * 1.1;
    const wMax = Math.max(10, ...all.map((a) => a.p95)) * 1.2;
    const lx = (s: number) => Math.log10(1 + s);
    const x = (s: number) => ox + (lx(s) / lx(wMax)) * pw;
    const y = (c: number) => oy + ph - ((Math.log10(c) - Math.log10(cMin)) / (Math.log10(cMax) - Math.log10(cMin))) * ph;
    out.push(`<text x="${ox}" y="${oy - 8}" font-size="12" font-weight="bold">${esc(p.title)}</text>`);
    out.push(`<rect x="${ox}" y="${oy}" width="${pw}" height="${ph}" fill="none" stroke="#ccc"/>`);
    for (const s of [0, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 28800].filter((v) => v <= wMax)) {
      out.push(`<line x1="${n1(x(s))}" y1="${oy}" x2="${n1(x(s))}" y2="${oy + ph}" stroke="#eee"/><text x="${n1(x(s))}" y="${oy + ph + 12}" text-anchor="middle" fill="#666">${s < 60 ? `${s}s` : s < 3600 ? `${s / 60}m` : `${s / 3600}h`}</text>`);
    }
    const decade = Math.pow(10, Math.floor(Math.log10(cMin)));
    for (let c = decade; c <= cMax; c *= 10) {
      for (const mult of [1, 2, 5]) {
        const v = c * mult;
        if (v < cMin || v > cMax) continue;
        out.push(`<line x1="${ox}" y1="${n1(y(v))}" x2="${ox + pw}" y2="${n1(y(v))}" stroke="#eee"/><text x="${ox - 4}" y="${n1(y(v) + 3)}" text-anchor="end" fill="#666">$${v}</text>`);
      }
    }
    out.push(`<text x="${ox + pw / 2}" y="${oy + ph + 28}" text-anchor="middle">job wait p95 (log scale)</text>`);
    out.push(`<text transform="translate(${ox - 48},${oy + ph / 2}) rotate(-90)" text-anchor="middle">cost USD (log scale)</text>`);
    out.push(`<line x1="${ox}" y1="${n1(y(p.lowerBound))}" x2="${ox + pw}" y2="${n1(y(p.lowerBound))}" stroke="#000" stroke-dasharray="4 3"/><text x="${ox + pw - 2}" y="${n1(y(p.lowerBound) - 3)}" text-anchor="end">lower bound $${p.lowerBound.toFixed(0)}</text>`);
    p.curves.forEach((c, i) => {
      const pts = [...c.points].sort((a, b) => a.p95 - b.p95);
      if (pts.length > 1) out.push(`<path d="${pts.map((q, j) => `${j ? 'L' : 'M'}${n1(x(q.p95))},${n1(y(q.cost))}`).join('')}" fill="none" stroke="${colors[i % colors.length]}" stroke-width="1.5"/>`);
      for (const q of pts) out.push(`<circle cx="${n1(x(q.p95))}" cy="${n1(y(q.cost))}" r="2.5" fill="${colors[i % colors.length]}"><title>${esc(`ours ${q.label}: $${q.cost.toFixed(2)}, p95 ${q.p95} s`)}</title></circle>`);
      out.push(`<text x="${ox + pw + 8}" y="${oy + 14 + i * 14}" fill="${colors[i % colors.length]}">— ours, ${esc(c.knob)}</text>`);
    });
    out.push(`<circle cx="${n1(x(p.ours.p95))}" cy="${n1(y(p.ours.cost))}" r="5" fill="#2ca02c" stroke="#000"/><text x="${n1(x(p.ours.p95) + 7)}" y="${n1(y(p.ours.cost) + 4)}" font-weight="bold">ours (defaults)</text>`);
    for (const q of marks) {
      out.push(`<circle cx="${n1(x(q.p95))}" cy="${n1(y(q.cost))}" r="5" fill="#17becf" stroke="#000"><title>${esc(`${q.label}: $${q.cost.toFixed(2)}, p95 ${q.p95} s`)}</title></circle><text x="${n1(x(q.p95) + 7)}" y="${n1(y(q.cost) + 4)}" font-weight="bold">${esc(q.label)}</text>`);
    }
    for (const q of p.peers) {
      out.push(`<rect x="${n1(x(q.p95) - 3)}" y="${n1(y(q.cost) - 3)}" width="6" height="6" fill="#d62728"><title>${esc(`${q.label}: $${q.cost.toFixed(2)}, p95 ${q.p95} s`)}</title></rect>`);
      out.push(`<text x="${n1(x(q.p95) + 6)}" y="${n1(y(q.cost) - 4)}" fill="#a00">${esc(q.label)}</text>`);
    }
  });
  out.push('</svg>');
  return out.join('\n');
}
