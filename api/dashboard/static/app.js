// The dashboard's shell: ask for a key once, learn its scopes, route by #fragment and
// poll the current view (every ~2 s for runs) until the user goes elsewhere.

import { forgetKey, setUnauthorizedHandler, storedKey, storeKey, whoAmI } from "./api.js";
import { errorBox, h, replaceChildren } from "./dom.js";
import { modelsView } from "./views/models.js";
import { runView } from "./views/run.js";
import { runsView } from "./views/runs.js";
import { studiesView, studyView } from "./views/studies.js";

const ROUTES = [
  [/^\/runs\/(\d+)$/, "runs", (root, params, ctx) => runView(root, params, ctx)],
  [/^\/runs$/, "runs", runsView],
  [/^\/studies\/(\d+)$/, "studies", (root, params, ctx) => studyView(root, params, ctx)],
  [/^\/studies$/, "studies", studiesView],
  [/^\/models$/, "models", modelsView],
];

const viewRoot = document.getElementById("view");
const keyCard = document.getElementById("key-form-card");
let identity = null;
let current = null; // {view, timer, generation}
let generation = 0;

function stopPolling() {
  generation += 1;
  if (current?.timer) window.clearTimeout(current.timer);
  current = null;
}

async function poll(view, mine) {
  if (mine !== generation) return;
  try {
    await view.refresh();
  } finally {
    if (mine === generation && view.intervalMs > 0) {
      current.timer = window.setTimeout(() => poll(view, mine), view.intervalMs);
    }
  }
}

function route() {
  stopPolling();
  if (!identity) return;
  const [path, query = ""] = (window.location.hash.replace(/^#/, "") || "/runs").split("?");
  const params = new URLSearchParams(query);
  const match = ROUTES.map(([pattern, section, make]) => [path.match(pattern), section, make]).find(([m]) => m);
  for (const link of document.querySelectorAll(".nav a")) {
    link.classList.toggle("active", Boolean(match) && link.dataset.section === match[1]);
  }
  if (!match) {
    replaceChildren(viewRoot, errorBox({ message: `No page at #${path}.` }, "the page"));
    return;
  }
  const [m, , make] = match;
  const view = make(viewRoot, params, { id: m[1], identity });
  current = { view, timer: null };
  poll(view, generation);
}

function showIdentity() {
  document.getElementById("identity").hidden = !identity;
  if (!identity) return;
  document.getElementById("identity-name").textContent = identity.name;
  replaceChildren(
    document.getElementById("identity-scopes"),
    [...identity.scopes].map((scope) => h("span", { class: `scope scope-${scope}`, dataset: { scope } }, scope)),
  );
}

function askForKey(message, hint) {
  stopPolling();
  identity = null;
  showIdentity();
  replaceChildren(viewRoot);
  keyCard.hidden = false;
  for (const [id, text] of [["key-error", message], ["key-hint", hint]]) {
    const node = document.getElementById(id);
    node.hidden = !text;
    node.textContent = text ?? "";
  }
  document.getElementById("key-input").focus();
}

async function signIn(key) {
  try {
    identity = await whoAmI(key);
  } catch (error) {
    if (error.status === 401 || error.status === 403) {
      forgetKey();
      askForKey(error.message, error.hint);
      return;
    }
    if (error.status !== 404) {
      askForKey(`Could not check the key: ${error.message}`);
      return;
    }
    // 404: the service runs with authentication off, so every action is open.
    identity = { name: "auth off", scopes: new Set(["admin"]) };
  }
  storeKey(key);
  keyCard.hidden = true;
  showIdentity();
  route();
}

document.getElementById("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const key = document.getElementById("key-input").value.trim();
  if (key) signIn(key);
});

document.getElementById("sign-out").addEventListener("click", () => {
  forgetKey();
  askForKey();
});

setUnauthorizedHandler((error) => {
  forgetKey();
  askForKey(`The API refused the key: ${error.message}`, error.hint);
});

window.addEventListener("hashchange", route);

const saved = storedKey();
if (saved) signIn(saved);
else askForKey();
