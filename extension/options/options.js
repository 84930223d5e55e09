// The options page: where the server lives and the token for saving. Host access to a server
// other than this machine is asked for here, when the user saves it, never up front.

import { DEFAULT_SERVER, loadConnection, originPattern } from "./connection.js";

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

/** Ask for host access to the server when the manifest's loopback access does not cover it. */
async function allowServer(server) {
  const origins = [originPattern(server)];
  if (await api.permissions.contains({ origins })) return true;
  return api.permissions.request({ origins });
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
  await api.storage.local.set({ server, token: tokenInput.value.trim() });
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
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(new URL("/api/v1/captures?limit=1&url=" + encodeURIComponent(server + "/"), server), {
      headers,
      credentials: "omit",
      cache: "no-store",
      signal: AbortSignal.timeout(8000),
    });
  } catch (error) {
    report(`Can't reach ${server}: is \`declutter serve\` running there? (${error.message})`, false);
    return;
  }
  if (response.status === 401 || response.status === 403) {
    report("The server answered but refused the token. Create a new one with `declutter token create`.", false);
  } else if (!response.ok) {
    report(`The server answered with an error (${response.status}). Is this a Declutter server?`, false);
  } else if (!(response.headers.get("content-type") || "").includes("json")) {
    report("Something answered, but not a Declutter server. Check the address.", false);
  } else {
    report(token ? "Connected. Reading and saving snapshots will work." : "Connected. Reading works; add a token to save snapshots.", true);
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
