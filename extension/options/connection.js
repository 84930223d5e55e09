// Where the server is and how to prove who we are: read by the worker and the options page alike.

const api = globalThis.browser ?? globalThis.chrome;

export const DEFAULT_SERVER = "http://127.0.0.1:8080";

/** The stored server address (without a trailing slash) and token. */
export async function loadConnection() {
  const stored = await api.storage.local.get(["server", "token"]);
  const server = String(stored.server || DEFAULT_SERVER).trim().replace(/\/+$/, "");
  return { server, token: String(stored.token || "").trim() };
}

/** The host-permission pattern that covers a server address, or null when it is not http(s). */
export function originPattern(server) {
  let url;
  try {
    url = new URL(server);
  } catch {
    return null;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return null;
  return `${url.protocol}//${url.hostname}/*`;
}
