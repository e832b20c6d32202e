// #/runs/{id}: one run's progress, loss and macro-F1 curves per epoch, checkpoints, log.

import { api, hasScope } from "../api.js";
import { lineChart } from "../chart.js";
import {
  ACTIVE_STATUSES, emptyRow, errorBox, fmtDuration, fmtNumber, fmtTime, h, headerRow, keyValues,
  progressBar, replaceChildren, statusPill,
} from "../dom.js";
import { progressLabel } from "./runs.js";

const COLORS = { train: "#2563eb", val: "#ea580c", f1: "#059669" };

function curves(epochs) {
  const series = (key, pick) => epochs.map((e) => [e.epoch, pick(e)]).filter(([, v]) => typeof v === "number");
  return h(
    "div",
    { class: "charts" },
    lineChart({
      id: "loss-chart",
      title: "Loss per epoch",
      yLabel: "loss",
      series: [
        { key: "train_loss", name: "train loss", color: COLORS.train, points: series("train_loss", (e) => e.train?.loss) },
        { key: "val_loss", name: "val log-loss", color: COLORS.val, points: series("val_loss", (e) => e.val?.log_loss) },
      ],
    }),
    lineChart({
      id: "f1-chart",
      title: "Validation macro F1 per epoch",
      yLabel: "macro F1",
      series: [{ key: "val_macro_f1", name: "val macro F1", color: COLORS.f1, points: series("val_macro_f1", (e) => e.val?.macro_f1) }],
    }),
  );
}

function epochTable(epochs) {
  const best = Math.max(...epochs.map((e) => e.val?.macro_f1 ?? -Infinity));
  return h(
    "table",
    { class: "table compact", id: "epochs-table" },
    headerRow(["Epoch#", "Learning rate#", "Train loss#", "Val log-loss#", "Val macro F1#", "Val accuracy#"]),
    h("tbody", {}, epochs.length ? [...epochs].reverse().map((e) => h(
      "tr",
      { class: e.val?.macro_f1 === best ? "best" : "" },
      h("td", { class: "num" }, e.epoch),
      h("td", { class: "num" }, e.lr === null ? "—" : e.lr.toExponential(2)),
      h("td", { class: "num" }, fmtNumber(e.train?.loss, 4)),
      h("td", { class: "num" }, fmtNumber(e.val?.log_loss, 4)),
      h("td", { class: "num" }, fmtNumber(e.val?.macro_f1, 4)),
      h("td", { class: "num" }, fmtNumber(e.val?.accuracy, 4)),
    )) : emptyRow(6, "No epoch finished yet.")),
  );
}

function metricsSummary(run) {
  const row = (label, metrics) => h(
    "tr", {},
    h("th", { scope: "row" }, label),
    h("td", { class: "num" }, fmtNumber(metrics?.val?.log_loss, 4)),
    h("td", { class: "num" }, fmtNumber(metrics?.val?.macro_f1, 4)),
    h("td", { class: "num" }, fmtNumber(metrics?.test?.log_loss, 4)),
    h("td", { class: "num" }, fmtNumber(metrics?.test?.macro_f1, 4)),
  );
  return h(
    "table", { class: "table compact" },
    headerRow(["", "Val log-loss#", "Val F1#", "Test log-loss#", "Test F1#"]),
    h("tbody", {},
      row(`Latest (epoch ${run.latest_metrics?.epoch ?? "—"})`, run.latest_metrics),
      row(`Best F1 (epoch ${run.best_metrics?.epoch ?? "—"})`, run.best_metrics),
      row("Final (calibrated)", run.final_metrics)),
  );
}

function checkpointTable(checkpoints) {
  return h(
    "table", { class: "table compact" },
    headerRow(["Kind", "Epoch#", "Size#", "sha256", "Updated"]),
    h("tbody", {}, checkpoints.length ? checkpoints.map((c) => h(
      "tr", {},
      h("td", {}, h("code", { title: c.path }, c.kind)),
      h("td", { class: "num" }, c.epoch ?? "—"),
      h("td", { class: "num" }, `${(c.size_bytes / 1e6).toFixed(2)} MB`),
      h("td", {}, h("code", { title: c.sha256 }, c.sha256.slice(0, 12))),
      h("td", {}, fmtTime(c.updated_at)),
    )) : emptyRow(5, "No checkpoint written yet.")),
  );
}

function configTable(config) {
  const entries = Object.entries(config ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return keyValues(
    entries.map(([key, value]) => [key, h("code", {}, typeof value === "object" ? JSON.stringify(value) : String(value))]),
    "kv config",
  );
}

function actions(run, identity, reload) {
  if (!hasScope(identity, "train")) return null;
  const act = (verb) => async (event) => {
    event.target.disabled = true;
    try {
      await api(`/v1/runs/${run.id}/${verb}`, { method: "POST" });
    } catch (error) {
      window.alert(error.message);
    }
    reload();
  };
  if (ACTIVE_STATUSES.has(run.status) && run.status !== "cancelling") {
    return h("button", { class: "button danger", type: "button", id: "cancel-run", onclick: act("cancel") }, "Cancel run");
  }
  if (run.status === "failed" || run.status === "cancelled") {
    return h("button", { class: "button", type: "button", id: "retry-run", onclick: act("retry") }, "Retry");
  }
  return null;
}

export function runView(root, params, { id, identity }) {
  replaceChildren(root, h("p", { class: "muted" }, `Loading run #${id}…`));
  const view = {
    intervalMs: 2000,
    async refresh() {
      let run;
      let metrics;
      let logs = null;
      try {
        [run, metrics] = await Promise.all([api(`/v1/runs/${id}`), api(`/v1/runs/${id}/metrics`)]);
      } catch (error) {
        replaceChildren(root, h("p", {}, h("a", { href: "#/runs" }, "← All runs")), errorBox(error, `run #${id}`));
        return;
      }
      try {
        logs = await api(`/v1/runs/${id}/logs?lines=200`);
      } catch {
        logs = null; // a run that never started has no log yet
      }
      const openLog = root.querySelector("details.log")?.open ?? false;
      const progress = run.progress ?? {};
      replaceChildren(
        root,
        h("p", { class: "crumbs" }, h("a", { href: "#/runs" }, "← All runs")),
        h("div", { class: "page-head" },
          h("div", {}, h("h1", {}, `Run #${run.id} · ${run.run_name}`),
            h("span", { class: "muted" }, `${run.model} · seed ${run.seed} · job #${run.job_id}`, run.sweep_id ? ` · sweep #${run.sweep_id}` : "")),
          h("div", { class: "toolbar" }, statusPill(run.status), actions(run, identity, () => view.refresh()))),
        run.error ? h("div", { class: "error-box" }, h("strong", {}, run.status_reason ?? "Failed"), h("pre", {}, run.error)) : null,
        h("section", { class: "card" },
          h("div", { class: "run-progress", id: "run-progress", dataset: { status: run.status } }, progressBar(progress.fraction_done, progressLabel(progress, run.status))),
          keyValues([
            ["Step", progress.step && progress.steps_per_epoch ? `${progress.step}/${progress.steps_per_epoch}` : "—"],
            ["Samples/s", fmtNumber(progress.samples_per_s, 0)],
            ["ETA", ACTIVE_STATUSES.has(run.status) ? fmtDuration(progress.eta_s) : "—"],
            ["Device", progress.device ? `${progress.device} × ${progress.world_size ?? 1}` : "—"],
            ["Attempt", `${run.attempt}/${run.attempt_limit}`],
            ["Worker", run.worker],
            ["Status", run.status_reason],
            ["Started", fmtTime(run.started_at)],
            ["Finished", fmtTime(run.finished_at)],
          ])),
        h("section", { class: "card" }, h("h2", {}, "Curves"), curves(metrics.epochs)),
        h("div", { class: "two-columns" },
          h("section", { class: "card" }, h("h2", {}, "Metrics"), h("div", { class: "scroll-x" }, metricsSummary(run))),
          h("section", { class: "card" }, h("h2", {}, "Checkpoints"), h("div", { class: "scroll-x" }, checkpointTable(run.checkpoints)))),
        h("section", { class: "card" }, h("h2", {}, "Epochs"), epochTable(metrics.epochs)),
        h("section", { class: "card" }, h("h2", {}, "Configuration"), configTable(run.config),
          keyValues([["Config hash", h("code", { title: run.config_hash }, run.config_hash.slice(0, 16))], ["Data version", run.data_version], ["Code version", run.code_version]])),
        h("section", { class: "card" },
          h("details", { class: "log", open: openLog },
            h("summary", {}, "Training log", h("span", { class: "muted" }, logs?.lines?.length ? ` · attempt ${logs.attempt}, last ${logs.lines.length} lines` : " · empty")),
            h("pre", {}, logs?.lines?.length ? logs.lines.join("\n") : "No log yet."))),
      );
      // A settled run rarely changes (a retry re-queues it): poll it slowly.
      view.intervalMs = ACTIVE_STATUSES.has(run.status) ? 2000 : 10000;
    },
  };
  return view;
}
