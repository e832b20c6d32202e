// #/studies and #/studies/{id}: the guide's stages, each with its experiments and the
// decision that closed it.

import { api } from "../api.js";
import {
  emptyRow, errorBox, fmtNumber, h, headerRow, keyValues, replaceChildren, statusPill, timeCell,
} from "../dom.js";

function items(page) {
  return Array.isArray(page) ? page : page?.items ?? [];
}

export function studiesView(root) {
  const body = h("tbody", { id: "studies-body" });
  const errorSlot = h("div");
  const columns = ["Study#", "Name", "Template", "Status", "Stage", "Created", "Finished"];
  const opener = h("form", {
    class: "toolbar",
    id: "open-study",
    onsubmit: (event) => {
      event.preventDefault();
      const id = Number(event.target.elements.study.value);
      if (id > 0) window.location.hash = `#/studies/${id}`;
    },
  },
  h("input", { name: "study", type: "number", min: 1, placeholder: "Study id", "aria-label": "Study id", class: "id-input" }),
  h("button", { class: "button", type: "submit" }, "Open"));
  replaceChildren(
    root,
    h("div", { class: "page-head" }, h("div", {}, h("h1", {}, "Studies"),
      h("span", { class: "muted" }, "The training guide's stages 1–4 and the ablation, with the decisions between stages.")),
    opener),
    errorSlot,
    h("div", { class: "card table-card" },
      h("table", { class: "table", id: "studies-table" },
        headerRow(columns), body)),
  );
  return {
    intervalMs: 5000,
    async refresh() {
      try {
        const studies = items(await api("/v1/studies"));
        replaceChildren(errorSlot);
        replaceChildren(body, studies.length ? studies.map((study) => h(
          "tr", { dataset: { studyId: study.id } },
          h("td", { class: "num" }, h("a", { href: `#/studies/${study.id}` }, `#${study.id}`)),
          h("td", {}, h("a", { href: `#/studies/${study.id}` }, study.name ?? "(unnamed)")),
          h("td", {}, study.template ?? "—"),
          h("td", {}, statusPill(study.status)),
          h("td", {}, study.stage ?? "—"),
          h("td", {}, timeCell(study.created_at)),
          h("td", {}, study.finished_at ? timeCell(study.finished_at) : "—"),
        )) : emptyRow(columns.length, "No studies yet. Start one with POST /v1/studies."));
      } catch (error) {
        replaceChildren(body, emptyRow(columns.length, "—"));
        replaceChildren(errorSlot, errorBox(error, "studies"));
      }
    },
  };
}

const STAGE_TITLES = {
  stage1: "Stage 1 — base model: tune hidden_dim, then num_layers, then lr",
  stage2: "Stage 2 — parallel comparison: WithPooling vs Hybrid",
  stage3: "Stage 3 — advanced features: FiLM and innings heads",
  stage4: "Stage 4 — full model and ablations (A1–A9)",
};

function scalarText(value) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
  if (typeof value === "boolean") return value ? "yes" : "no";
  return String(value);
}

/** Nested settings as readable text: "hidden_dim = 32 · num_layers = 1". */
function objectText(value) {
  if (Array.isArray(value)) return value.map(objectText).join(", ");
  if (value && typeof value === "object") {
    return Object.entries(value).map(([key, inner]) => (inner && typeof inner === "object" && !Array.isArray(inner)
      ? `${key}: { ${objectText(inner)} }`
      : `${key} = ${objectText(inner)}`)).join(" · ");
  }
  return scalarText(value);
}

function valueCell(value) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "number") return fmtNumber(value, 4);
  if (typeof value === "object") return h("span", { class: "settings" }, objectText(value));
  return scalarText(value);
}

/** "mean ± sd" of a summary entry (over seeds), or a dash. */
function meanSd(summary, split, metric, group = "all") {
  const entry = summary?.[split]?.[group]?.[metric];
  if (!entry || entry.mean === null || entry.mean === undefined) return "—";
  return `${entry.mean.toFixed(4)} ± ${(entry.sd ?? 0).toFixed(4)}`;
}

function experimentRows(stageName, stage, study) {
  const tracked = new Map(
    (study.experiments ?? []).filter((e) => e.stage === stageName).map((e) => [e.name, e]),
  );
  const seen = new Set();
  return (stage.experiments ?? []).filter((e) => !seen.has(e.name) && seen.add(e.name)).map((e) => {
    const summary = stage.summaries?.[e.name];
    const job = tracked.get(e.name);
    const config = e.config ?? {};
    return h(
      "tr", { dataset: { experiment: e.name } },
      h("td", {}, h("strong", {}, e.name), e.label && e.label !== e.name ? h("span", { class: "sub" }, e.label) : null),
      h("td", {}, h("code", {}, config.model ?? "—")),
      h("td", { class: "num" }, config.hidden_dim ?? "—"),
      h("td", { class: "num" }, config.num_layers ?? "—"),
      h("td", { class: "num" }, config.lr ?? "—"),
      h("td", { class: "num" }, meanSd(summary, "val", "macro_f1")),
      h("td", { class: "num" }, meanSd(summary, "val", "log_loss")),
      h("td", { class: "num" }, meanSd(summary, "test", "macro_f1")),
      h("td", { class: "num" }, meanSd(summary, "test", "log_loss")),
      h("td", { class: "runs-cell" },
        job ? [statusPill(job.status), " ", job.runs.map((run) => h("a", { href: `#/runs/${run.id}`, title: `${run.run_name}: ${run.status}`, class: `run-link status-text-${run.status}` }, `#${run.id}`))] : null,
        e.reused_from ? h("span", { class: "sub", title: e.reused_from }, `↻ same runs as ${e.reused_from.split("/").pop()}`) : null),
    );
  });
}

function comparisonTable(comparisons) {
  const rows = comparisons.map((c) => {
    const boot = c.bootstrap ?? {};
    const p = c.t_test?.p_value;
    return h(
      "tr", {},
      h("td", {}, `${c.a} − ${c.b}`),
      h("td", {}, c.split),
      h("td", {}, c.group && c.group !== "all" ? `${c.metric} (${c.group})` : c.metric),
      h("td", { class: "num" }, typeof c.diff === "number" ? `${c.diff >= 0 ? "+" : ""}${c.diff.toFixed(4)}` : "—"),
      h("td", { class: "num" }, typeof p === "number" ? p.toPrecision(3) : (c.t_test?.note ? "n/a" : "—")),
      h("td", { class: "num" }, typeof boot.ci_low === "number" ? `[${boot.ci_low.toFixed(4)}, ${boot.ci_high.toFixed(4)}]` : "—"),
      h("td", { class: "num" }, typeof c.holm_p === "number" ? c.holm_p.toPrecision(3) : "—"),
      h("td", {}, c.significant ? h("span", { class: "pill status-succeeded" }, "significant") : h("span", { class: "muted" }, "no (≈)")),
    );
  });
  return h("table", { class: "table compact" },
    headerRow(["Comparison", "Split", "Metric", "Δ mean#", "t-test p#", "Bootstrap 95% CI#", "Holm p#", "Significant"]),
    h("tbody", {}, rows));
}

function decisionBlock(decision) {
  const evidence = Array.isArray(decision.evidence) ? decision.evidence : [];
  const extra = Object.entries(decision).filter(([key]) => !["stage", "step", "summary", "evidence", "rule", "metric", "choice"].includes(key));
  return h(
    "div", { class: "decision", dataset: { step: decision.step ?? "" } },
    h("h3", {}, `Decision · ${decision.step ?? decision.stage}`),
    h("p", { class: "decision-summary" }, decision.summary ?? JSON.stringify(decision.choice ?? {})),
    keyValues([
      ["Rule", decision.rule ? h("code", {}, decision.rule) : "—"],
      ["On", decision.metric],
      ["Choice", valueCell(decision.choice)],
      ...extra.map(([key, value]) => [key.replaceAll("_", " "), valueCell(value)]),
    ]),
    evidence.length ? objectTable(evidence) : null,
  );
}

/** A table whose columns are the union of the rows' keys (first-seen order). */
function objectTable(rows) {
  const keys = [];
  for (const row of rows) for (const key of Object.keys(row)) if (!keys.includes(key)) keys.push(key);
  return h(
    "table", { class: "table compact evidence" },
    h("thead", {}, h("tr", {}, keys.map((k) => h("th", {}, k.replaceAll("_", " "))))),
    h("tbody", {}, rows.map((row) => h("tr", {}, keys.map((key) => h("td", { class: typeof row[key] === "number" ? "num" : "" }, valueCell(row[key])))))),
  );
}

function stageSections(report, study) {
  const stages = Object.entries(report.stages ?? {});
  if (stages.length === 0) {
    return h("section", { class: "card" }, h("p", { class: "muted" }, "No stage has started yet."));
  }
  const waiting = new Set(report.waiting ?? []);
  return stages.map(([name, stage]) => {
    const decided = (stage.decisions ?? []).length > 0;
    const pending = (stage.experiments ?? []).filter((e) => waiting.has(e.key)).length;
    return h(
      "section", { class: "card stage", dataset: { stage: name } },
      h("div", { class: "stage-head" },
        h("h2", {}, STAGE_TITLES[name] ?? name),
        decided ? h("span", { class: "pill status-succeeded" }, "decided")
          : h("span", { class: "pill status-running" }, pending ? `waiting for ${pending} experiment${pending > 1 ? "s" : ""}` : "in progress")),
      h("div", { class: "scroll-x" }, h("table", { class: "table compact stage-table" },
        headerRow(["Experiment", "Model", "hidden_dim#", "num_layers#", "lr#", "Val macro F1#", "Val log-loss#", "Test macro F1#", "Test log-loss#", "Runs"]),
        h("tbody", {}, experimentRows(name, stage, study)))),
      (stage.comparisons ?? []).length ? [h("h3", {}, "Comparisons (paired over seeds; bootstrap over matches)"), h("div", { class: "scroll-x" }, comparisonTable(stage.comparisons))] : null,
      (stage.decisions ?? []).map(decisionBlock),
    );
  });
}

export function studyView(root, params, { id }) {
  replaceChildren(root, h("p", { class: "muted" }, `Loading study #${id}…`));
  const view = {
    intervalMs: 5000,
    async refresh() {
      let study;
      let report;
      try {
        [study, report] = await Promise.all([api(`/v1/studies/${id}`), api(`/v1/studies/${id}/report?format=json`)]);
      } catch (error) {
        replaceChildren(root, h("p", { class: "crumbs" }, h("a", { href: "#/studies" }, "← All studies")), errorBox(error, `study #${id}`));
        return;
      }
      replaceChildren(
        root,
        h("p", { class: "crumbs" }, h("a", { href: "#/studies" }, "← All studies")),
        h("div", { class: "page-head" },
          h("div", {}, h("h1", {}, `Study #${study.id}${study.name ? ` · ${study.name}` : ""}`),
            h("span", { class: "muted" }, `${study.template ?? ""}${study.stage ? ` · now at ${study.stage}` : ""}`)),
          h("div", { class: "toolbar" }, statusPill(study.status))),
        study.status_reason ? h("p", { class: "muted" }, study.status_reason) : null,
        stageSections(report, study),
        study.final_config ? h("section", { class: "card" }, h("h2", {}, "Final configuration"),
          keyValues(Object.entries(study.final_config).map(([k, v]) => [k, valueCell(v)]))) : null,
      );
      view.intervalMs = study.status === "running" ? 3000 : 15000;
    },
  };
  return view;
}
