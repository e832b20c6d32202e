// Small DOM and formatting helpers. Text always goes in as text nodes, never as HTML,
// so nothing the API returns (run names, log lines, error messages) can inject markup.

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name === "style") Object.assign(node.style, value);
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replaceChildren(node, ...children) {
  node.replaceChildren();
  append(node, children);
}

export const ACTIVE_STATUSES = new Set(["queued", "running", "cancelling"]);

export function statusPill(status) {
  return h("span", { class: `pill status-${status}`, dataset: { status } }, status);
}

export function fmtNumber(value, digits = 3) {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  if (typeof value !== "number") return String(value);
  if (Number.isInteger(value)) return value.toLocaleString("en-US");
  return value.toFixed(digits);
}

export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const hours = Math.floor(m / 60);
  return `${hours} h ${m % 60} min`;
}

export function fmtTime(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return date.toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

export function fmtAgo(iso) {
  if (!iso) return "—";
  const seconds = (Date.now() - new Date(iso).getTime()) / 1000;
  if (seconds < 5) return "just now";
  return `${fmtDuration(seconds)} ago`;
}

export function timeCell(iso) {
  return h("time", { datetime: iso ?? "", title: fmtTime(iso) }, fmtAgo(iso));
}

export function progressBar(fraction, label) {
  const known = typeof fraction === "number" && Number.isFinite(fraction);
  const clamped = known ? Math.min(1, Math.max(0, fraction)) : 0;
  const percent = Math.round(clamped * 100);
  return h(
    "div",
    {
      class: "progress",
      role: "progressbar",
      "aria-valuemin": 0,
      "aria-valuemax": 100,
      "aria-valuenow": percent,
      dataset: { fraction: known ? clamped.toFixed(4) : "" },
    },
    h("div", { class: "progress-track" }, h("div", { class: "progress-fill", style: { width: `${percent}%` } })),
    h("span", { class: "progress-label" }, label ?? (known ? `${percent}%` : "—")),
  );
}

export function errorBox(error, what) {
  const status = error?.status ? ` (HTTP ${error.status})` : "";
  return h(
    "div",
    { class: "error-box", role: "alert" },
    h("strong", {}, `Could not load ${what}${status}.`),
    h("p", {}, error?.message ?? String(error)),
    error?.hint ? h("p", { class: "muted" }, error.hint) : null,
  );
}

export function keyValues(pairs, className = "kv") {
  return h(
    "dl",
    { class: className },
    pairs.map(([key, value]) => h("div", { class: "kv-item" }, h("dt", {}, key), h("dd", {}, value ?? "—"))),
  );
}

/** A header row; a label ending in "#" is a numeric column (right-aligned, like its cells). */
export function headerRow(labels) {
  return h("thead", {}, h("tr", {}, labels.map((label) => label.endsWith("#")
    ? h("th", { class: "num" }, label.slice(0, -1))
    : h("th", {}, label))));
}

export function emptyRow(columns, text) {
  return h("tr", { class: "empty" }, h("td", { colspan: columns }, text));
}
