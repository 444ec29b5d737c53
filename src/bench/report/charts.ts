import { escapeXml } from './format.js';

/** One line (or bar stack layer) of a chart; null values leave a gap. */
export interface ChartSeries {
  name: string;
  color: string;
  values: Array<number | null>;
  dashed?: boolean;
}

export interface ChartOptions {
  id: string;
  title: string;
  /** x values (seconds from the start of the measured period). */
  xs: number[];
  series: ChartSeries[];
  /** Formats a y tick. */
  yFormat: (v: number) => string;
  kind: 'line' | 'bars';
  width?: number;
  height?: number;
}

/** 1, 2, 2.5 or 5 × 10^n at or above `v`: tick steps people read at a glance. */
export function niceStep(v: number): number {
  if (!(v > 0)) return 1;
  const exp = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * exp >= v) return m * exp;
  return 10 * exp;
}

const r1 = (v: number) => Math.round(v * 10) / 10;

/**
 * A time chart as inline SVG (no script, no network): axes, grid, ticks, legend, and lines or
 * stacked bars. Every shape has a <title>, so hovering a point in a browser shows its value.
 */
export function timeChart(o: ChartOptions): string {
  const width = o.width ?? 880;
  const height = o.height ?? 260;
  const m = { left: 64, right: 16, top: 34, bottom: 34 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const n = o.xs.length;
  const xMin = n ? o.xs[0]! : 0;
  const xMax = n ? Math.max(o.xs[n - 1]! + (o.kind === 'bars' ? 1 : 0), xMin + 1) : 1;
  let yMax = 0;
  if (o.kind === 'bars') {
    for (let i = 0; i < n; i++)
      yMax = Math.max(
        yMax,
        o.series.reduce((a, s) => a + (s.values[i] ?? 0), 0),
      );
  } else {
    for (const s of o.series)
      for (const v of s.values) if (v !== null && Number.isFinite(v)) yMax = Math.max(yMax, v);
  }
  const step = niceStep((yMax || 1) / 5);
  const yTop = Math.max(step, Math.ceil((yMax || 1) / step) * step);
  const x = (v: number) => m.left + ((v - xMin) / (xMax - xMin)) * pw;
  const y = (v: number) => m.top + ph - (v / yTop) * ph;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="${o.id}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeXml(o.title)}">`,
  );
  parts.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  parts.push(
    `<text x="${m.left}" y="18" font-size="14" font-weight="600" fill="#222">${escapeXml(o.title)}</text>`,
  );
  // Legend, right-aligned on the title line.
  let lx = width - m.right;
  for (const s of [...o.series].reverse()) {
    const w = 24 + s.name.length * 7;
    lx -= w;
    parts.push(
      `<rect x="${r1(lx)}" y="9" width="12" height="${s.dashed ? 3 : 10}" fill="${s.color}"/><text x="${r1(lx + 16)}" y="18" font-size="12" fill="#333">${escapeXml(s.name)}</text>`,
    );
  }
  // Grid and y ticks.
  for (let v = 0; v <= yTop + step / 2; v += step) {
    const yy = r1(y(v));
    parts.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${yy}" y2="${yy}" stroke="#e5e5e5"/>`);
    parts.push(
      `<text x="${m.left - 6}" y="${yy + 4}" font-size="11" text-anchor="end" fill="#555">${escapeXml(o.yFormat(v))}</text>`,
    );
  }
  // x ticks every nice number of seconds.
  const xStep = Math.max(1, niceStep((xMax - xMin) / 8));
  for (let v = Math.ceil(xMin / xStep) * xStep; v <= xMax; v += xStep) {
    const xx = r1(x(v));
    parts.push(`<line x1="${xx}" x2="${xx}" y1="${m.top + ph}" y2="${m.top + ph + 4}" stroke="#888"/>`);
    parts.push(
      `<text x="${xx}" y="${m.top + ph + 16}" font-size="11" text-anchor="middle" fill="#555">${v}s</text>`,
    );
  }
  parts.push(
    `<line x1="${m.left}" x2="${width - m.right}" y1="${m.top + ph}" y2="${m.top + ph}" stroke="#888"/><line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${m.top + ph}" stroke="#888"/>`,
  );
  if (n === 0) {
    parts.push(`<text x="${width / 2}" y="${height / 2}" text-anchor="middle" fill="#999">no data</text>`);
  } else if (o.kind === 'line') {
    for (const s of o.series) {
      let d = '';
      let pen = false;
      s.values.forEach((v, i) => {
        if (v === null || !Number.isFinite(v)) {
          pen = false;
          return;
        }
        d += `${pen ? 'L' : 'M'}${r1(x(o.xs[i]!))},${r1(y(v))}`;
        pen = true;
      });
      parts.push(
        `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}><title>${escapeXml(s.name)}</title></path>`,
      );
      // Single points would be invisible as a path: mark them.
      if (s.values.filter((v) => v !== null).length === 1) {
        const i = s.values.findIndex((v) => v !== null);
        parts.push(`<circle cx="${r1(x(o.xs[i]!))}" cy="${r1(y(s.values[i]!))}" r="3" fill="${s.color}"/>`);
      }
    }
  } else {
    const bw = Math.max(1, (pw / Math.max(1, xMax - xMin)) * 0.8);
    for (let i = 0; i < n; i++) {
      let base = 0;
      for (const s of o.series) {
        const v = s.values[i] ?? 0;
        if (v <= 0) continue;
        parts.push(
          `<rect x="${r1(x(o.xs[i]!) + bw * 0.1)}" y="${r1(y(base + v))}" width="${r1(bw)}" height="${r1(y(base) - y(base + v))}" fill="${s.color}"><title>${escapeXml(`${o.xs[i]}s ${s.name}: ${v}`)}</title></rect>`,
        );
        base += v;
      }
    }
  }
  parts.push('</svg>');
  return parts.join('');
}
