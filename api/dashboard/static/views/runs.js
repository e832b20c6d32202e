// #/runs: every run, newest first, with live status and progress (re-polled by app.js).

import { api } from "../api.js";
import {
  emptyRow, errorBox, fmtDuration, fmtNumber, h, headerRow, progressBar, replaceChildren, statusPill,
  timeCell,
} from "../dom.js";

const STATUSES = ["queued", "running", "cancelling", "succeeded", "failed", "cancelled"];
const PAGE = 50;
const COLUMNS = ["Run#", "Name", "Model", "Seed#", "Status", "Progress", "Train loss#", "Samples/s#", "ETA#", "Attempt#", "Updated"];

export function progressLabel(progress, status) {
  const { epoch, epochs, fraction_done: fraction } = progress;
  const percent = typeof fraction === "number" ? `${Math.round(fraction * 100)}%` : "";
  if (status === "queued") return "waiting";
  if (epoch && epochs) return `epoch ${epoch}/${epochs} · ${percent}`;
  return percent || "—";
}

function runRow(run) {
  const progress = run.progress ?? {};
  const active = run.status === "running" || run.status === "cancelling";
  return h(
    "tr",
    { dataset: { runId: run.id, status: run.status } },
    h("td", { class: "num" }, h("a", { href: `#/runs/${run.id}` }, `#${run.id}`)),
    h("td", { class: "name" }, h("a", { href: `#/runs/${run.id}` }, run.run_name)),
    h("td", {}, run.model),
    h("td", { class: "num" }, run.seed),
    h("td", {}, statusPill(run.status), run.status_reason && run.status !== "succeeded"
      ? h("span", { class: "reason", title: run.status_reason }, run.status_reason) : null),
    h("td", { class: "progress-cell" }, progressBar(progress.fraction_done, progressLabel(progress, run.status))),
    h("td", { class: "num" }, fmtNumber(progress.train_loss, 4)),
    h("td", { class: "num" }, active ? fmtNumber(progress.samples_per_s, 0) : "—"),
    h("td", { class: "num" }, active ? fmtDuration(progress.eta_s) : "—"),
    h("td", { class: "num" }, `${run.attempt}/${run.attempt_limit}`),
    h("td", {}, timeCell(run.heartbeat_at ?? run.finished_at ?? run.created_at)),
  );
}

export function runsView(root, params) {
  const status = params.get("status") ?? "";
  const offset = Number(params.get("offset") ?? 0);
  const body = h("tbody", { id: "runs-body" });
  const counter = h("span", { class: "muted", id: "runs-total" });
  const errorSlot = h("div");
  const go = (changes) => {
    const next = new URLSearchParams(params);
    for (const [key, value] of Object.entries(changes)) {
      if (value === "" || value === 0) next.delete(key);
      else next.set(key, value);
    }
    const query = next.toString();
    window.location.hash = `#/runs${query ? `?${query}` : ""}`;
  };
  const filter = h(
    "select",
    { id: "status-filter", "aria-label": "Filter by status", onchange: (e) => go({ status: e.target.value, offset: 0 }) },
    h("option", { value: "" }, "All statuses"),
    STATUSES.map((value) => h("option", { value, selected: value === status }, value)),
  );
  const older = h("button", { class: "button", type: "button", onclick: () => go({ offset: offset + PAGE }) }, "Older →");
  const newer = h("button", { class: "button", type: "button", onclick: () => go({ offset: Math.max(0, offset - PAGE) }) }, "← Newer");

  replaceChildren(
    root,
    h("div", { class: "page-head" },
      h("div", {}, h("h1", {}, "Runs"), counter),
      h("div", { class: "toolbar" }, filter, newer, older)),
    errorSlot,
    h("div", { class: "card table-card" },
      h("table", { class: "table", id: "runs-table" },
        headerRow(COLUMNS),
        body)),
  );

  return {
    intervalMs: 2000,
    async refresh() {
      const query = new URLSearchParams({ limit: PAGE, offset });
      if (status) query.set("status", status);
      try {
        const page = await api(`/v1/runs?${query}`);
        replaceChildren(errorSlot);
        replaceChildren(body, page.items.length ? page.items.map(runRow) : emptyRow(COLUMNS.length, status ? `No ${status} runs.` : "No runs yet. Submit a job with POST /v1/jobs."));
        const last = Math.min(page.total, offset + page.items.length);
        counter.textContent = page.total ? `${offset + 1}–${last} of ${page.total}` : "";
        newer.disabled = offset === 0;
        older.disabled = last >= page.total;
      } catch (error) {
        replaceChildren(errorSlot, errorBox(error, "runs"));
      }
    },
  };
}
