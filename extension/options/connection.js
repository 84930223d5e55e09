// Where the server is and how to prove who we are: read by the worker and the options page alike.

const api = globalThis.browser ?? globalThis.chrome;

export const DEFAULT_SERVER = "http://127.0.0.1:8080";

// Chromium keeps storage.local from content scripts (the worker sets TRUSTED_CONTEXTS), but
// Firefox has no storage access levels and hands storage.local to every content script. There the
// token is kept sealed: AES-GCM under a key that cannot be exported, held in this extension's own
// IndexedDB, which content scripts cannot open (theirs is the page's). What storage.local holds
// then is of no use to a content script, or to a page that broke into one.
const SEALING = typeof api.storage.local.setAccessLevel !== "function";
const KEY_DB = "declutter-secrets";
const KEY_STORE = "keys";
const KEY_NAME = "token";

function request(operation) {
  return new Promise((resolve, reject) => {
    operation.onsuccess = () => resolve(operation.result);
    operation.onerror = () => reject(operation.error);
  });
}

/** The sealing key, made on first use; the same one for the worker and the options page. */
async function sealingKey() {
  const opening = indexedDB.open(KEY_DB, 1);
  opening.onupgradeneeded = () => opening.result.createObjectStore(KEY_STORE);
  const db = await request(opening);
  try {
    const existing = await request(db.transaction(KEY_STORE).objectStore(KEY_STORE).get(KEY_NAME));
    if (existing) return existing;
    const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
    // add(), not put(): if the other extension page made one meanwhile, theirs wins and is read back.
    await request(db.transaction(KEY_STORE, "readwrite").objectStore(KEY_STORE).add(key, KEY_NAME)).catch(() => null);
    return await request(db.transaction(KEY_STORE).objectStore(KEY_STORE).get(KEY_NAME));
  } finally {
    db.close();
  }
}

/** The token as storage.local keeps it: itself where content scripts cannot read storage, else sealed. */
export async function sealToken(token) {
  if (!SEALING || !token) return token;
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const data = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await sealingKey(), new TextEncoder().encode(token));
  return { sealed: "AES-GCM", iv: Array.from(iv), data: Array.from(new Uint8Array(data)) };
}

/** The token from what storage.local holds; "" when it cannot be opened (then it must be pasted again). */
async function openToken(stored) {
  if (typeof stored === "string") return stored;
  if (!stored || stored.sealed !== "AES-GCM") return "";
  try {
    const data = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: new Uint8Array(stored.iv) },
      await sealingKey(),
      new Uint8Array(stored.data),
    );
    return new TextDecoder().decode(data);
  } catch {
    return "";
  }
}

/** Seal a token written in the clear (by an older version, or straight into storage); the
 * worker calls this at start and whenever the stored token changes. */
export async function sealStoredToken() {
  if (!SEALING) return;
  const { token } = await api.storage.local.get("token");
  if (typeof token === "string" && token) await api.storage.local.set({ token: await sealToken(token) });
}

/** The stored server address (without a trailing slash) and token. */
export async function loadConnection() {
  const stored = await api.storage.local.get(["server", "token"]);
  const server = String(stored.server || DEFAULT_SERVER).trim().replace(/\/+$/, "");
  return { server, token: String(await openToken(stored.token)).trim() };
}

export async function saveConnection(server, token) {
  await api.storage.local.set({ server, token: await sealToken(token) });
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
