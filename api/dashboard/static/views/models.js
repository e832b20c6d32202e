// #/models: the registry — versions, where each alias points, promote and roll back (admin).

import { api, hasScope } from "../api.js";
import { emptyRow, errorBox, fmtNumber, h, headerRow, replaceChildren, timeCell } from "../dom.js";

const ALIASES = ["production", "staging"];

function metric(version, split, name) {
  const value = version.metrics?.[split]?.[name] ?? version.metrics?.[`${split}_${name}`];
  return fmtNumber(value, 4);
}

function aliasCards(aliases) {
  return h("div", { class: "alias-cards" }, ALIASES.map((alias) => h(
    "div", { class: `alias-card alias-${alias}`, dataset: { alias } },
    h("span", { class: "alias-name" }, alias),
    h("span", { class: "alias-version" }, aliases[alias] ? `v${aliases[alias]}` : "not set"),
  )));
}

export function modelsView(root, params, { identity }) {
  const isAdmin = hasScope(identity, "admin");
  const errorSlot = h("div");
  const notice = h("div", { class: "notice", role: "status", hidden: true });
  const aliasSlot = h("div");
  const body = h("tbody", { id: "models-body" });
  const dialog = h("dialog", { class: "confirm", id: "promote-dialog" });
  const columns = ["Version#", "Aliases", "Run#", "Variant", "Checkpoint", "Val log-loss#", "Val macro F1#", "sha256", "Registered", ...(isAdmin ? ["Promote"] : [])];
  const chosenAlias = new Map();
  const view = { intervalMs: 5000, refresh };

  function showNotice(text, kind = "ok") {
    notice.className = `notice notice-${kind}`;
    notice.textContent = text;
    notice.hidden = false;
  }

  async function move(path, done) {
    try {
      const version = await api(path, { method: "POST" });
      showNotice(done(version));
    } catch (error) {
      showNotice(`${error.message}${error.hint ? ` ${error.hint}` : ""}`, "error");
    }
    await refresh();
  }

  function confirmPromote(version, alias) {
    replaceChildren(
      dialog,
      h("form", { method: "dialog" },
        h("h2", {}, `Promote v${version.version} to ${alias}?`),
        h("p", {}, alias === "production"
          ? "The prediction service loads this model and serves it from the next request."
          : "Staging points at this version; production is unchanged."),
        h("div", { class: "dialog-actions" },
          h("button", { class: "button", value: "cancel" }, "Cancel"),
          h("button", { class: "button primary", value: "confirm", id: "confirm-promote" }, `Promote to ${alias}`))),
    );
    dialog.onclose = () => {
      if (dialog.returnValue !== "confirm") return;
      move(`/v1/models/${version.version}/promote?alias=${alias}`, (v) => `v${v.version} is now ${alias}.`);
    };
    dialog.showModal();
  }

  function promoteCell(version) {
    // Redraws every few seconds must not undo the alias the user picked.
    const picked = chosenAlias.get(version.version) ?? "production";
    const select = h("select", {
      "aria-label": `Alias for v${version.version}`,
      class: "alias-select",
      onchange: (event) => chosenAlias.set(version.version, event.target.value),
    }, ALIASES.map((alias) => h("option", { value: alias, selected: alias === picked }, alias)));
    return h("td", { class: "actions" }, select,
      h("button", {
        class: "button small primary promote",
        type: "button",
        dataset: { version: version.version },
        onclick: () => confirmPromote(version, select.value),
      }, "Promote"));
  }

  function row(version) {
    return h(
      "tr", { dataset: { version: version.version } },
      h("td", { class: "num" }, h("strong", {}, `v${version.version}`)),
      h("td", {}, version.aliases.map((alias) => h("span", { class: `pill alias-pill alias-${alias}` }, alias))),
      h("td", { class: "num" }, h("a", { href: `#/runs/${version.run_id}` }, `#${version.run_id}`)),
      h("td", {}, version.variant),
      h("td", {}, h("code", {}, version.checkpoint_kind)),
      h("td", { class: "num" }, metric(version, "val", "log_loss")),
      h("td", { class: "num" }, metric(version, "val", "macro_f1")),
      h("td", {}, h("code", { title: version.sha256 }, version.sha256.slice(0, 12))),
      h("td", {}, timeCell(version.created_at), h("span", { class: "sub" }, version.created_by)),
      isAdmin ? promoteCell(version) : null,
    );
  }

  const rollback = isAdmin
    ? h("button", {
      class: "button", type: "button", id: "rollback",
      onclick: () => move("/v1/models/rollback", (v) => `Production rolled back to v${v.version}.`),
    }, "Roll back production")
    : null;

  replaceChildren(
    root,
    h("div", { class: "page-head" },
      h("div", {}, h("h1", {}, "Model registry"),
        h("span", { class: "muted" }, isAdmin ? "Your key may promote versions." : "Promoting needs a key with the admin scope.")),
      h("div", { class: "toolbar" }, rollback)),
    notice, errorSlot, aliasSlot,
    h("div", { class: "card table-card" },
      h("table", { class: "table", id: "models-table" },
        headerRow(columns),
        body)),
    dialog,
  );

  async function refresh() {
    if (dialog.open) return; // don't redraw under an open confirmation
    try {
      const list = await api("/v1/models");
      replaceChildren(errorSlot);
      replaceChildren(aliasSlot, aliasCards(list.aliases));
      replaceChildren(body, list.items.length ? list.items.map(row)
        : emptyRow(columns.length, "No model versions yet. Register a run's checkpoint with POST /v1/models."));
    } catch (error) {
      replaceChildren(errorSlot, errorBox(error, "the model registry"));
    }
  }
  return view;
}
