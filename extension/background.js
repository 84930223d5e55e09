// The only part of the extension that talks to the Declutter server: the page's content script
// asks, this worker fetches with the host permission the user granted, so pages never see the
// token and the server never needs to trust page origins.

import { DEFAULT_SERVER, loadConnection, originPattern, sealStoredToken } from "./options/connection.js";

const api = globalThis.browser ?? globalThis.chrome;

const CONTENT_FILES = ["reader/sanitize.js", "reader/overlay.js", "content.js"];
const CLEAN_TIMEOUT_MS = 30000;
const LIST_TIMEOUT_MS = 15000;

/** A failure the overlay can explain: `state` picks the friendly message, `detail` adds facts. */
class ReaderFailure extends Error {
  constructor(state, message, detail = "") {
    super(message);
    this.state = state;
    this.detail = detail;
  }
}

function serverLabel(server) {
  try {
    return new URL(server).host;
  } catch {
    return server;
  }
}

async function ensureHostAccess(server) {
  const pattern = originPattern(server);
  if (!pattern) {
    throw new ReaderFailure("settings", `The server address "${server}" is not a valid http(s) URL. Fix it in the extension's options.`);
  }
  const granted = await api.permissions.contains({ origins: [pattern] });
  if (!granted) {
    throw new ReaderFailure(
      "permission",
      `The extension may not contact ${serverLabel(server)} yet. Open the options and press "Save" to allow it.`,
    );
  }
}

function failureFor(status, body, server) {
  const detail = (body && body.detail) || "";
  const code = (body && body.error) || "";
  const host = serverLabel(server);
  if (status === 401) {
    return new ReaderFailure("token", "The server refused the access token. Check the token in the extension's options.", detail);
  }
  if (code === "fetch_refused") {
    return new ReaderFailure("fetch-refused", `The server at ${host} may not fetch this page's address to archive it (it fetches public addresses only unless DECLUTTER_ALLOW_FETCH_HOSTS allows more).`, detail);
  }
  if (status === 413 || code === "page_too_large") {
    return new ReaderFailure("too-large", "This page is too large for the reader.", detail);
  }
  if (code === "no_article" || code === "extraction_failed") {
    return new ReaderFailure("no-article", "No article found on this page: it may be a list, a search page or a login wall.", detail);
  }
  if (["unresolvable_host", "too_many_redirects", "fetch_failed", "fetch_timeout"].includes(code)) {
    return new ReaderFailure("fetch-failed", `The server at ${host} could not fetch this page to archive it.`, detail);
  }
  if (status === 503) {
    return new ReaderFailure("unavailable", `The archive behind ${host} is unavailable right now (its storage or database is down). Try again in a moment.`, detail);
  }
  if (status === 429) {
    return new ReaderFailure("busy", "The server is busy. Wait a moment and try again.", detail);
  }
  if (status === 422) {
    return new ReaderFailure("no-article", "No article found on this page.", detail);
  }
  return new ReaderFailure("server-error", `The server at ${host} answered with an error (${status}${code ? `: ${code}` : ""}).`, detail);
}

/** One JSON request to the configured server; every failure becomes a ReaderFailure. */
async function callServer(path, { method = "GET", body, auth = false, timeout = LIST_TIMEOUT_MS, timings = null } = {}) {
  const { server, token } = await loadConnection();
  await ensureHostAccess(server);
  if (timings) timings.sent = Date.now();
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (auth) {
    if (!token) {
      throw new ReaderFailure("token-missing", "Saving needs an access token. Create one with `declutter token create` and paste it in the extension's options.");
    }
    headers.Authorization = `Bearer ${token}`;
  } else if (token) {
    headers.Authorization = `Bearer ${token}`;
  }
  let response;
  try {
    response = await fetch(new URL(path, server), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
      signal: AbortSignal.timeout(timeout),
    });
  } catch (error) {
    const timedOut = error && (error.name === "TimeoutError" || error.name === "AbortError");
    throw new ReaderFailure(
      "unreachable",
      timedOut
        ? `The Declutter server at ${serverLabel(server)} did not answer in time.`
        : `Can't reach the Declutter server at ${serverLabel(server)}. Is it running (declutter serve)? The address can be changed in the extension's options.`,
      String(error && error.message || error),
    );
  }
  let data = null;
  const text = await response.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) throw failureFor(response.status, data, server);
  if (data === null || typeof data !== "object") {
    throw new ReaderFailure("server-error", `The server at ${serverLabel(server)} did not answer with JSON. Is the address right?`);
  }
  return { data, server };
}

let stylesheet = null;

async function readStylesheet() {
  if (stylesheet === null) {
    const response = await fetch(api.runtime.getURL("reader/overlay.css"));
    stylesheet = await response.text();
  }
  return stylesheet;
}

const PREFS_KEY = "readerPrefs";
const PREF_KEYS = ["fontSize", "width", "theme", "font"];

function pickPrefs(prefs) {
  const picked = {};
  for (const key of PREF_KEYS) {
    const value = prefs && prefs[key];
    if (typeof value === "string" || typeof value === "number") picked[key] = value;
  }
  return picked;
}

const handlers = {
  // What the overlay needs before it can appear: its stylesheet and the reader's preferences.
  async setup() {
    const [css, stored] = await Promise.all([readStylesheet(), api.storage.local.get(PREFS_KEY)]);
    return { css, prefs: pickPrefs(stored[PREFS_KEY]) };
  },
  async savePrefs({ prefs }) {
    await api.storage.local.set({ [PREFS_KEY]: pickPrefs(prefs) });
    return {};
  },
  async clean({ url, html }) {
    // Clock marks of the worker's part, so `bench extension` can tell messaging from the server.
    const timings = { received: Date.now() };
    const { data, server } = await callServer("/api/v1/clean", {
      method: "POST",
      body: { url, html },
      timeout: CLEAN_TIMEOUT_MS,
      timings,
    });
    timings.answered = Date.now();
    return { article: data, server, timings };
  },
  async save({ url, html }) {
    const { data, server } = await callServer("/api/v1/captures", {
      method: "POST",
      body: { url, html },
      auth: true,
      timeout: CLEAN_TIMEOUT_MS,
    });
    const id = data && typeof data.id === "string" ? data.id : "";
    const page = id ? new URL(`/web/capture/${encodeURIComponent(id)}`, server).href : "";
    return { capture: data, page };
  },
  async captures({ url }) {
    const { data, server } = await callServer(`/api/v1/captures?url=${encodeURIComponent(url)}&limit=50`);
    let changes = [];
    try {
      const answer = await callServer(`/api/v1/changes?url=${encodeURIComponent(url)}`);
      changes = Array.isArray(answer.data.changes) ? answer.data.changes : [];
    } catch {
      changes = [];
    }
    return { captures: Array.isArray(data.captures) ? data.captures : [], changes, server };
  },
  async capture({ id }) {
    const { data, server } = await callServer(`/api/v1/captures/${encodeURIComponent(id)}`);
    const cite = new URL(`/web/capture/${encodeURIComponent(id)}#cite-heading`, server).href;
    return { capture: data, server, cite };
  },
  async diff({ a, b }) {
    const { data } = await callServer(`/api/v1/diff?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`);
    return { diff: data };
  },
  async openOptions() {
    await api.runtime.openOptionsPage();
    return {};
  },
};

api.runtime.onMessage.addListener((message, sender, sendResponse) => {
  if (sender.id !== api.runtime.id || !message || !Object.hasOwn(handlers, message.type)) {
    return false;
  }
  handlers[message.type](message)
    .then((result) => sendResponse({ ok: true, ...result }))
    .catch((error) => {
      const failure = error instanceof ReaderFailure
        ? error
        : new ReaderFailure("error", "Something went wrong in the reader.", String(error && error.message || error));
      sendResponse({ ok: false, state: failure.state, message: failure.message, detail: failure.detail });
    });
  return true;
});

/** Open or close the reader on a tab; the toolbar button and the shortcut both end here. */
async function toggleReader(tab) {
  if (!tab || tab.id === undefined) return false;
  try {
    await api.scripting.executeScript({ target: { tabId: tab.id }, files: CONTENT_FILES });
    await api.action.setBadgeText({ tabId: tab.id, text: "" });
    return true;
  } catch (error) {
    await api.action.setBadgeText({ tabId: tab.id, text: "!" });
    await api.action.setTitle({
      tabId: tab.id,
      title: `Reader view is not available on this page (${String(error && error.message || error)})`,
    });
    return false;
  }
}

api.action.onClicked.addListener((tab) => {
  toggleReader(tab);
});

api.commands.onCommand.addListener((command, tab) => {
  if (command !== "toggle-reader") return;
  if (tab) {
    toggleReader(tab);
  } else {
    api.tabs.query({ active: true, currentWindow: true }).then(([active]) => toggleReader(active));
  }
});

// Content scripts live inside pages, so stored settings (the token) stay out of their reach where
// the browser can enforce it; they ask this worker for what they need instead.
api.storage.local.setAccessLevel?.({ accessLevel: "TRUSTED_CONTEXTS" }).catch(() => {});
// Where the browser cannot (Firefox), the token is sealed instead (options/connection.js),
// including one written in the clear by an older version of the extension.
sealStoredToken().catch(() => {});
api.storage.onChanged.addListener((changes, area) => {
  if (area === "local" && typeof changes.token?.newValue === "string") sealStoredToken().catch(() => {});
});

api.runtime.onInstalled.addListener(async ({ reason }) => {
  if (reason !== "install") return;
  const stored = await api.storage.local.get("server");
  if (!stored.server) await api.storage.local.set({ server: DEFAULT_SERVER });
});

// Tests and benchmarks reach the toggle through the worker, as headless Chromium never delivers
// command key presses.
globalThis.declutterToggle = toggleReader;
