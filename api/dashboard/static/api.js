// Calls to /v1 with the stored API key; errors carry the API's own message and hint.

const KEY_STORAGE = "cricket-gnn.api-key";

export class ApiError extends Error {
  constructor(status, message, hint = "") {
    super(message);
    this.status = status;
    this.hint = hint;
  }
}

export function storedKey() {
  return window.localStorage.getItem(KEY_STORAGE);
}

export function storeKey(key) {
  window.localStorage.setItem(KEY_STORAGE, key);
}

export function forgetKey() {
  window.localStorage.removeItem(KEY_STORAGE);
}

let onUnauthorized = () => {};

/** Called when the API refuses the key (401): the app asks for another one. */
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

export async function api(path, { method = "GET", body, key = storedKey() } = {}) {
  const headers = { Accept: "application/json" };
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch (error) {
    throw new ApiError(0, `The API did not answer: ${error.message}.`, "Is the service running?");
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const message = data?.message ?? data?.detail ?? (text.slice(0, 300) || response.statusText);
    const error = new ApiError(response.status, typeof message === "string" ? message : JSON.stringify(message), data?.hint ?? "");
    if (response.status === 401) onUnauthorized(error);
    throw error;
  }
  return data;
}

/** The key's name and scopes; ``admin`` implies every other scope. */
export async function whoAmI(key) {
  const me = await api("/v1/keys/me", { key });
  return { name: me.name, scopes: new Set(me.scopes ?? []) };
}

export function hasScope(identity, scope) {
  return Boolean(identity && (identity.scopes.has("admin") || identity.scopes.has(scope)));
}
