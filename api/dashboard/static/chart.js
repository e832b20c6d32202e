// A line chart drawn as SVG: axes with "nice" ticks, grid, one path per series with a
// marker per point, a legend, and a readout of every series at the hovered epoch.

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 560;
const HEIGHT = 300;
const MARGIN = { top: 36, right: 20, bottom: 46, left: 62 };

function s(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Round ``span / count`` up to 1, 2, 2.5 or 5 × 10^k. */
function niceStep(span, count) {
  const raw = span / Math.max(1, count);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  for (const factor of [1, 2, 2.5, 5, 10]) {
    if (raw <= factor * magnitude) return factor * magnitude;
  }
  return 10 * magnitude;
}

function niceTicks(min, max, count) {
  if (min === max) {
    const pad = Math.abs(min) * 0.05 || 0.05;
    min -= pad;
    max += pad;
  }
  const step = niceStep(max - min, count);
  const lo = Math.floor(min / step) * step;
  const hi = Math.ceil(max / step) * step;
  const ticks = [];
  for (let value = lo; value <= hi + step / 2; value += step) ticks.push(Number(value.toPrecision(12)));
  return { lo, hi, ticks, step };
}

function tickLabel(value, step) {
  const decimals = Math.max(0, -Math.floor(Math.log10(step)) + (step % 1 === 0 ? 0 : 1));
  return value.toFixed(Math.min(decimals, 4));
}

/**
 * series: [{key, name, color, points: [[epoch, value], ...]}]; returns a <figure>.
 * Each series' path carries data-series and data-points (how many points it joins).
 */
export function lineChart({ title, series, xLabel = "epoch", yLabel = "", id }) {
  const figure = document.createElement("figure");
  figure.className = "chart";
  if (id) figure.id = id;
  const caption = document.createElement("figcaption");
  caption.textContent = title;
  figure.append(caption);

  const svg = s("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    role: "img",
    "aria-label": `${title}: ${series.map((d) => d.name).join(", ")} by ${xLabel}`,
    class: "chart-svg",
  });
  figure.append(svg);

  const all = series.flatMap((d) => d.points).filter(([, y]) => Number.isFinite(y));
  if (all.length === 0) {
    svg.append(s("text", { x: WIDTH / 2, y: HEIGHT / 2, class: "chart-empty", "text-anchor": "middle" }, "No epochs recorded yet"));
    return figure;
  }

  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => y);
  const xMin = Math.min(...xs, 1);
  const xMax = Math.max(...xs, xMin + 1);
  const xTicks = niceTicks(xMin, xMax, Math.min(10, xMax - xMin));
  const xStep = Math.max(1, xTicks.step);
  const xLo = xMin;
  const xHi = xMax;
  const y = niceTicks(Math.min(...ys), Math.max(...ys), 5);
  const px = (value) => MARGIN.left + ((value - xLo) / (xHi - xLo)) * plotW;
  const py = (value) => MARGIN.top + plotH - ((value - y.lo) / (y.hi - y.lo)) * plotH;

  const grid = s("g", { class: "chart-grid" });
  const axes = s("g", { class: "chart-axes" });
  for (const value of y.ticks) {
    grid.append(s("line", { x1: MARGIN.left, x2: MARGIN.left + plotW, y1: py(value), y2: py(value) }));
    axes.append(s("text", { x: MARGIN.left - 8, y: py(value) + 4, "text-anchor": "end", class: "tick" }, tickLabel(value, y.step)));
  }
  const firstX = Math.ceil(xLo / xStep) * xStep;
  for (let value = firstX; value <= xHi + 1e-9; value += xStep) {
    grid.append(s("line", { x1: px(value), x2: px(value), y1: MARGIN.top, y2: MARGIN.top + plotH, class: "vertical" }));
    axes.append(s("line", { x1: px(value), x2: px(value), y1: MARGIN.top + plotH, y2: MARGIN.top + plotH + 5 }));
    axes.append(s("text", { x: px(value), y: MARGIN.top + plotH + 19, "text-anchor": "middle", class: "tick" }, String(Math.round(value))));
  }
  axes.append(s("line", { x1: MARGIN.left, x2: MARGIN.left + plotW, y1: MARGIN.top + plotH, y2: MARGIN.top + plotH, class: "axis" }));
  axes.append(s("line", { x1: MARGIN.left, x2: MARGIN.left, y1: MARGIN.top, y2: MARGIN.top + plotH, class: "axis" }));
  axes.append(s("text", { x: MARGIN.left + plotW / 2, y: HEIGHT - 8, "text-anchor": "middle", class: "axis-label" }, xLabel));
  if (yLabel) {
    const cy = MARGIN.top + plotH / 2;
    axes.append(s("text", { x: 16, y: cy, "text-anchor": "middle", class: "axis-label", transform: `rotate(-90 16 ${cy})` }, yLabel));
  }
  svg.append(grid, axes);

  const lines = s("g", { class: "chart-lines" });
  series.forEach((d) => {
    const points = d.points.filter(([, v]) => Number.isFinite(v));
    if (points.length === 0) return;
    const path = points.map(([px0, py0], i) => `${i === 0 ? "M" : "L"}${px(px0).toFixed(1)},${py(py0).toFixed(1)}`).join(" ");
    lines.append(s("path", { d: path, stroke: d.color, class: "series", "data-series": d.key, "data-points": points.length }));
    for (const [px0, py0] of points) {
      const dot = s("circle", { cx: px(px0).toFixed(1), cy: py(py0).toFixed(1), r: 3.5, fill: d.color, class: "marker", "data-series": d.key, "data-epoch": px0 });
      dot.append(s("title", {}, `${d.name}, epoch ${px0}: ${py0.toFixed(4)}`));
      lines.append(dot);
    }
  });
  svg.append(lines);

  // Legend, right-aligned above the plot.
  const legend = s("g", { class: "chart-legend" });
  let cursor = MARGIN.left + plotW;
  [...series].reverse().forEach((d) => {
    const width = 26 + d.name.length * 6.6;
    cursor -= width;
    const item = s("g", { transform: `translate(${cursor} 14)` });
    item.append(s("line", { x1: 0, x2: 16, y1: 0, y2: 0, stroke: d.color, "stroke-width": 2.5 }));
    item.append(s("circle", { cx: 8, cy: 0, r: 3, fill: d.color }));
    item.append(s("text", { x: 21, y: 4 }, d.name));
    legend.append(item);
    cursor -= 12;
  });
  svg.append(legend);

  attachReadout(svg, series, { px, plotH, xLo, xHi, plotW });
  return figure;
}

// A vertical guide and the values of every series at the epoch under the pointer.
function attachReadout(svg, series, { px, plotH, xLo, xHi, plotW }) {
  const guide = s("line", { y1: MARGIN.top, y2: MARGIN.top + plotH, class: "chart-guide", visibility: "hidden" });
  const label = s("text", { y: MARGIN.top + 14, class: "chart-readout", visibility: "hidden" });
  svg.append(guide, label);
  const overlay = s("rect", { x: MARGIN.left, y: MARGIN.top, width: plotW, height: plotH, fill: "transparent" });
  svg.append(overlay);
  overlay.addEventListener("mousemove", (event) => {
    const box = svg.getBoundingClientRect();
    const x = ((event.clientX - box.left) / box.width) * WIDTH;
    const epoch = Math.round(xLo + ((x - MARGIN.left) / plotW) * (xHi - xLo));
    const values = series
      .map((d) => [d, d.points.find(([e]) => e === epoch)])
      .filter(([, point]) => point && Number.isFinite(point[1]));
    if (values.length === 0) return;
    guide.setAttribute("x1", px(epoch));
    guide.setAttribute("x2", px(epoch));
    guide.setAttribute("visibility", "visible");
    label.textContent = `epoch ${epoch}: ` + values.map(([d, p]) => `${d.name} ${p[1].toFixed(4)}`).join(" · ");
    const left = px(epoch) > MARGIN.left + plotW / 2;
    label.setAttribute("x", px(epoch) + (left ? -8 : 8));
    label.setAttribute("text-anchor", left ? "end" : "start");
    label.setAttribute("visibility", "visible");
  });
  overlay.addEventListener("mouseleave", () => {
    guide.setAttribute("visibility", "hidden");
    label.setAttribute("visibility", "hidden");
  });
}
