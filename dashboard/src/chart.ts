// Line charts as inline SVG: a few polylines, two axis labels and a legend are all the operators'
// charts need, so no chart library ships in the bundle (see the README).

/** One line: its name and [unix seconds, value] points, oldest first. */
export interface Series {
  name: string;
  points: [number, number][];
}

const W = 520;
const H = 180;
const PAD = { left: 64, right: 8, top: 10, bottom: 22 };
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];
const SVG = 'http://www.w3.org/2000/svg';

function el(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) {
    e.setAttribute(k, String(v));
  }
  if (text !== undefined) {
    e.textContent = text;
  }
  return e;
}

/**
 * A chart of the series, scaled to their range (from 0), with the newest value of each in the
 * legend; an accessible image whose name is the title. Says so when there is nothing to draw.
 */
export function lineChart(title: string, series: Series[], format: (v: number) => string): HTMLElement {
  const figure = document.createElement('figure');
  figure.className = 'chart';
  const caption = document.createElement('figcaption');
  caption.textContent = title;
  figure.append(caption);
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) {
    const p = document.createElement('p');
    p.className = 'note';
    p.textContent = 'No figures yet.';
    figure.append(p);
    return figure;
  }
  const t0 = Math.min(...all.map((p) => p[0]));
  const t1 = Math.max(...all.map((p) => p[0]), t0 + 1);
  const top = Math.max(...all.map((p) => p[1]), 0) || 1;
  // Some room above the highest value, so that a steady line does not run along the frame.
  const x = (t: number) => PAD.left + ((t - t0) / (t1 - t0)) * (W - PAD.left - PAD.right);
  const y = (v: number) => H - PAD.bottom - (v / (top * 1.15)) * (H - PAD.top - PAD.bottom);
  const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title, class: 'chart-plot' });
  svg.append(
    el('line', { x1: PAD.left, y1: y(0), x2: W - PAD.right, y2: y(0), stroke: '#8a99a8' }),
    el('line', { x1: PAD.left, y1: y(top), x2: W - PAD.right, y2: y(top), stroke: '#dde2e7' }),
    el('text', { x: PAD.left - 4, y: y(top) + 4, 'text-anchor': 'end', 'font-size': 11 }, format(top)),
    el('text', { x: PAD.left - 4, y: y(0) + 4, 'text-anchor': 'end', 'font-size': 11 }, format(0)),
    el('text', { x: PAD.left, y: H - 4, 'font-size': 11 }, clock(t0)),
    el('text', { x: W - PAD.right, y: H - 4, 'text-anchor': 'end', 'font-size': 11 }, clock(t1)));
  const legend = document.createElement('ul');
  legend.className = 'legend';
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length];
    if (s.points.length > 0) {
      svg.append(el('polyline', { fill: 'none', stroke: colour, 'stroke-width': 2,
        points: s.points.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ') }));
    }
    const item = document.createElement('li');
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = colour;
    const last = s.points[s.points.length - 1];
    item.append(swatch, `${s.name}: ${last ? format(last[1]) : '—'}`);
    legend.append(item);
  });
  figure.append(svg, legend);
  return figure;
}

function clock(t: number): string {
  return new Date(t * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function bytes(v: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v >= 100 || i === 0 ? 0 : 1)} ${units[i]}`;
}

export function plain(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}
