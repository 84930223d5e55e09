// The options page: where the server lives and the token for saving. Host access to a server
// other than this machine is asked for here, when the user saves it, never up front.

import { DEFAULT_SERVER, loadConnection, originPattern, saveConnection } from "./connection.js";

const api = globalThis.browser ?? globalThis.chrome;

const form = document.getElementById("connection");
const serverInput = document.getElementById("server");
const tokenInput = document.getElementById("token");
const result = document.getElementById("result");

function report(message, ok) {
  result.textContent = message;
  result.className = ok ? "ok" : "bad";
}

function readServer() {
  const value = serverInput.value.trim().replace(/\/+$/, "") || DEFAULT_SERVER;
  if (!originPattern(value)) {
    throw new Error(`"${value}" is not an http:// or https:// address, e.g. ${DEFAULT_SERVER}.`);
  }
  return value;
}

/** Host access to the server: granted at once for loopback (the manifest has it), asked for
 * otherwise. It must be the first thing awaited so that it still counts as the user's click. */
function allowServer(server) {
  return api.permissions.request({ origins: [originPattern(server)] }).catch(() => false);
}

async function save(event) {
  event?.preventDefault();
  let server;
  try {
    server = readServer();
  } catch (error) {
    report(error.message, false);
    serverInput.focus();
    return false;
  }
  const allowed = await allowServer(server);
  await saveConnection(server, tokenInput.value.trim());
  serverInput.value = server;
  if (!allowed) {
    report(`Saved, but the browser did not allow access to ${new URL(server).host}: the reader cannot reach it until you allow it.`, false);
    return false;
  }
  report("Saved.", true);
  return true;
}

async function testConnection() {
  if (!(await save())) return;
  const { server, token } = await loadConnection();
  report(`Contacting ${server}…`, true);
  let health;
  try {
    health = await fetch(new URL("/healthz", server), { credentials: "omit", cache: "no-store", signal: AbortSignal.timeout(8000) });
  } catch (error) {
    report(`Can't reach ${server}: is \`declutter serve\` running there? (${error.message})`, false);
    return;
  }
  if (!health.ok || !(health.headers.get("content-type") || "").includes("json")) {
    report(`Something answers at ${server}, but not a Declutter server (status ${health.status}). Check the address.`, false);
    return;
  }
  const { status } = await health.json().catch(() => ({}));
  if (status && status !== "ok") {
    report(`Connected, but the server reports it is ${status}: reading works, saving may fail until its storage is back.`, false);
    return;
  }
  if (!token) {
    report("Connected. Reading works; add a token to save snapshots.", true);
    return;
  }
  // An empty capture request is checked for its token before anything else and then refused
  // for lack of a URL, so it tells a valid token from a wrong one without saving anything.
  const probe = await fetch(new URL("/api/v1/captures", server), {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", Accept: "application/json" },
    body: "{}",
    credentials: "omit",
    cache: "no-store",
    signal: AbortSignal.timeout(8000),
  }).catch(() => null);
  if (probe && (probe.status === 401 || probe.status === 403)) {
    report("The server answered but refused the token. Create a new one with `declutter token create`.", false);
  } else if (probe && probe.status >= 400 && probe.status < 500) {
    report("Connected, and the token is accepted. Reading and saving snapshots will work.", true);
  } else {
    report(`Connected, but the token could not be checked (status ${probe ? probe.status : "none"}).`, false);
  }
}

async function init() {
  const { server, token } = await loadConnection();
  serverInput.value = server;
  tokenInput.value = token;
  const commands = await api.commands.getAll();
  const toggle = commands.find((command) => command.name === "toggle-reader");
  if (toggle && toggle.shortcut) document.getElementById("shortcut").textContent = toggle.shortcut;
}

form.addEventListener("submit", save);
document.getElementById("test").addEventListener("click", testConnection);
init();
