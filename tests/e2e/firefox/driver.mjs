// Real Firefox with Declutter's extension installed as a temporary add-on, driven for the Python
// tests and benchmarks (tests/kit/firefox.py) over one JSON message per line on stdin/stdout.
//
// Why a Node process: Playwright's Firefox is a patched build, so the Firefox readers install
// (Debian's firefox-esr) is driven by puppeteer-core over WebDriver BiDi instead.
//
// The ways in, each the nearest thing Firefox has to what the Chromium tests use:
// - the toolbar button: Firefox's own browser-chrome code that a click on the button runs
//   (`triggerAction`), reached through BiDi's chrome scope, which Firefox opens only when started
//   with -remote-allow-system-access. A web page has no such channel, and the extension has no
//   test-only entry point. The same scope types shortcuts into the window (Alt+R) and reads the
//   accessibility tree screen readers get.
// - the extension's own APIs (stored settings, tabs, the background's toggle): its options page,
//   opened in a background tab the way about:addons opens it. BiDi refuses to navigate a tab to a
//   moz-extension:// address, but may run script in one that is already open.
// - the overlay's closed shadow root: WebDriver BiDi serialises a host element's shadow root,
//   closed or open, when asked (`includeShadowTree: "all"`), as CDP's `pierce` does in Chromium.
//
// Requests: {"id": 1, "op": "goto", "page": "p1", "url": "..."}; answers: {"id": 1, "ok": true,
// "value": ...} or {"id": 1, "ok": false, "error": "..."}. The first line out is {"ready": {...}}.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import readline from "node:readline";
import puppeteer from "puppeteer-core";

const EXTENSION_ID = "reader@declutter.example";
// A fixed moz-extension:// host, so the options page's address is known before it is opened.
const EXTENSION_UUID = "6d1ec1e7-7e57-4c6f-9b1a-d3c1a77e57e5";
const HOST_TAG = "declutter-reader";
const extensionDir = process.argv[2] && path.resolve(process.argv[2]);
const executablePath = process.argv[3] || "/usr/bin/firefox-esr";
// Nothing a page links to may leave the machine: every request that is not for loopback (never
// proxied) goes to a "proxy" on this loopback port, with no direct fallback. The tests listen
// there and answer nothing (tests.kit.firefox.Trap), so they can see what was kept in.
const TRAP_PORT = Number(process.argv[4] || 9);
if (!extensionDir) {
  process.stderr.write("usage: node driver.mjs EXTENSION_DIR [FIREFOX] [TRAP_PORT]\n");
  process.exit(2);
}

const prefs = {
  "extensions.webextensions.uuids": JSON.stringify({ [EXTENSION_ID]: EXTENSION_UUID }),
  "network.proxy.type": 1,
  "network.proxy.http": "127.0.0.1",
  "network.proxy.http_port": TRAP_PORT,
  "network.proxy.ssl": "127.0.0.1",
  "network.proxy.ssl_port": TRAP_PORT,
  "network.proxy.socks": "127.0.0.1",
  "network.proxy.socks_port": TRAP_PORT,
  "network.proxy.socks_remote_dns": true,
  "network.proxy.failover_direct": false,
  "network.proxy.allow_hijacking_localhost": false,
  "network.dns.disablePrefetch": true,
  "network.prefetch-next": false,
  // Nobody can answer a permission prompt in a headless browser: grant what the extension asks
  // for (Firefox still refuses a request that does not come from a user's click).
  "extensions.webextOptionalPermissionPrompts": false,
  // The Chromium context's look: light colours and reduced motion.
  "layout.css.prefers-color-scheme.content-override": 1,
  "ui.prefersReducedMotion": 1,
};

const profile = mkdtempSync(path.join(tmpdir(), "declutter-firefox-"));
const browser = await puppeteer.launch({
  browser: "firefox",
  executablePath,
  headless: true,
  userDataDir: profile,
  args: ["-remote-allow-system-access"],
  extraPrefsFirefox: prefs,
  defaultViewport: { width: 1280, height: 800 },
  protocolTimeout: 60_000,
});
const bidi = browser.connection;

async function send(method, params) {
  const answer = await bidi.send(method, params);
  return answer.result;
}

/** The one browser window's chrome context: where the toolbar button's code runs. */
async function chromeContext() {
  const tree = await send("browsingContext.getTree", { "moz:scope": "chrome" });
  const window = tree.contexts.find((c) => c.url === "chrome://browser/content/browser.xhtml");
  if (!window) throw new Error(`no browser window among ${tree.contexts.map((c) => c.url)}`);
  return window.context;
}

async function evaluateIn(target, expression) {
  const answer = await send("script.evaluate", {
    target,
    expression,
    awaitPromise: true,
    resultOwnership: "none",
  });
  if (answer.type === "exception") {
    throw new Error(answer.exceptionDetails.text || JSON.stringify(answer.exceptionDetails));
  }
  return fromRemote(answer.result);
}

/** A BiDi RemoteValue as plain JSON (what Playwright's evaluate returns). */
function fromRemote(value) {
  switch (value.type) {
    case "undefined":
    case "null":
      return null;
    case "string":
    case "boolean":
      return value.value;
    case "number":
      return typeof value.value === "number" ? value.value : Number(value.value);
    case "bigint":
      return Number(value.value);
    case "array":
    case "set":
      return (value.value || []).map(fromRemote);
    case "object":
    case "map":
      return Object.fromEntries(
        (value.value || []).map(([key, item]) => [typeof key === "string" ? key : fromRemote(key), fromRemote(item)]),
      );
    case "date":
      return value.value;
    default:
      return { type: value.type };
  }
}

/** Plain JSON as a BiDi LocalValue, for arguments. */
function toLocal(value) {
  if (value === null || value === undefined) return { type: "null" };
  if (typeof value === "string") return { type: "string", value };
  if (typeof value === "number") return { type: "number", value };
  if (typeof value === "boolean") return { type: "boolean", value };
  if (Array.isArray(value)) return { type: "array", value: value.map(toLocal) };
  return { type: "object", value: Object.entries(value).map(([key, item]) => [key, toLocal(item)]) };
}

/** Source that calls `source` with `arg` when it is a function, or is its value otherwise:
 * Playwright's rule for evaluate(), decided in the browser. */
function callOrValue(source, arg) {
  return `(async () => { const it = (${source}); return typeof it === "function" ? await it(${JSON.stringify(arg ?? null)}) : await it; })()`;
}

const extensionUrl = (file) => `moz-extension://${EXTENSION_UUID}/${file}`;

const installed = await browser.installExtension(extensionDir);
if (installed !== EXTENSION_ID) throw new Error(`installed ${installed}, expected ${EXTENSION_ID}`);
const chrome = await chromeContext();

/** The extension's options page in a new tab, opened as about:addons opens it; returns its
 * BiDi context once its script has run. */
async function openExtensionPage({ inBackground }) {
  const url = extensionUrl("options/options.html");
  const before = new Set((await send("browsingContext.getTree", {})).contexts.map((c) => c.context));
  await evaluateIn({ context: chrome }, `(() => {
    const tab = gBrowser.addTab(${JSON.stringify(url)}, {
      triggeringPrincipal: Services.scriptSecurityManager.getSystemPrincipal(),
      inBackground: ${Boolean(inBackground)},
    });
    if (!${Boolean(inBackground)}) gBrowser.selectedTab = tab;
  })()`);
  for (let i = 0; i < 200; i++) {
    const tree = await send("browsingContext.getTree", {});
    const found = tree.contexts.find((c) => c.url === url && !before.has(c.context));
    if (found) {
      const ready = await evaluateIn({ context: found.context }, "document.readyState === 'complete' && typeof browser === 'object'").catch(() => false);
      if (ready) return found.context;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the extension's options page did not open at ${url}`);
}

const extensionPage = await openExtensionPage({ inBackground: true });
// The Chromium tests call the background's toggle as `self.declutterToggle`; in this test tab it
// is the same function, reached through the event page Firefox runs instead of a service worker.
await evaluateIn({ context: extensionPage }, `(() => {
  self.declutterToggle = async (tab) => (await browser.runtime.getBackgroundPage()).declutterToggle(tab);
})()`);

const pages = new Map();
let pageCount = 0;

function pageOf(request) {
  const page = pages.get(request.page);
  if (!page) throw new Error(`no page ${request.page} (closed already?)`);
  return page;
}

const contextOf = (page) => page.mainFrame().browsingContext.id;

async function press(page, combo) {
  const keys = combo.split("+");
  const key = keys.pop();
  for (const modifier of keys) await page.keyboard.down(modifier);
  await page.keyboard.press(key);
  for (const modifier of keys.reverse()) await page.keyboard.up(modifier);
}

/** The overlay's shadow root, open or closed, as a BiDi shared reference. */
async function shadowRootOf(page) {
  const answer = await send("script.evaluate", {
    target: { context: contextOf(page) },
    expression: `document.querySelector(${JSON.stringify(HOST_TAG)})`,
    awaitPromise: false,
    resultOwnership: "none",
    serializationOptions: { maxDomDepth: 0, includeShadowTree: "all" },
  });
  const host = answer.result;
  if (host.type !== "node") throw new Error("the reader overlay is not on the page");
  const root = host.value && host.value.shadowRoot;
  if (!root) throw new Error("the overlay has no shadow root");
  return root.sharedId;
}

const ops = {
  async newPage() {
    const page = await browser.newPage();
    const id = `p${++pageCount}`;
    pages.set(id, page);
    return id;
  },
  /** A new options tab as a page the test drives with real input (a click there is a user's). */
  async openOptions() {
    const context = await openExtensionPage({ inBackground: false });
    const page = (await browser.pages()).find((p) => contextOf(p) === context);
    if (!page) throw new Error("the options tab is not among the browser's pages");
    const id = `p${++pageCount}`;
    pages.set(id, page);
    return id;
  },
  async click(request) {
    await pageOf(request).click(request.selector);
    return null;
  },
  async fill(request) {
    await pageOf(request).locator(request.selector).fill(request.value);
    return null;
  },
  async closePage(request) {
    await pageOf(request).close();
    pages.delete(request.page);
    return null;
  },
  async goto(request) {
    const page = pageOf(request);
    const response = await page.goto(request.url, { waitUntil: "load", timeout: request.timeout ?? 30_000 });
    return response ? response.status() : null;
  },
  async url(request) {
    return pageOf(request).url();
  },
  async evaluate(request) {
    return evaluateIn({ context: contextOf(pageOf(request)) }, callOrValue(request.source, request.arg));
  },
  async waitForFunction(request) {
    const page = pageOf(request);
    const source = `(() => { const it = (${request.source}); return typeof it === "function" ? it(${JSON.stringify(request.arg ?? null)}) : it; })()`;
    const handle = await page.waitForFunction(source, {
      polling: request.polling ?? "raf",
      timeout: request.timeout ?? 30_000,
    });
    const value = await handle.jsonValue();
    await handle.dispose();
    return value;
  },
  async waitForSelector(request) {
    const handle = await pageOf(request).waitForSelector(request.selector, {
      visible: request.state === "visible" ? true : undefined,
      timeout: request.timeout ?? 30_000,
    });
    await handle?.dispose();
    return null;
  },
  async focus(request) {
    await pageOf(request).focus(request.selector);
    return null;
  },
  async press(request) {
    await press(pageOf(request), request.key);
    return null;
  },
  async wheel(request) {
    const page = pageOf(request);
    await page.mouse.wheel({ deltaX: request.dx, deltaY: request.dy });
    return null;
  },
  async screenshot(request) {
    return pageOf(request).screenshot({ encoding: "base64" });
  },
  async shadowCall(request) {
    const page = pageOf(request);
    const root = await shadowRootOf(page);
    const answer = await send("script.callFunction", {
      target: { context: contextOf(page) },
      functionDeclaration: request.source,
      this: { sharedId: root },
      arguments: (request.args || []).map(toLocal),
      awaitPromise: true,
      resultOwnership: "none",
    });
    if (answer.type === "exception") {
      throw new Error(`script in the shadow root failed: ${answer.exceptionDetails.text}`);
    }
    return fromRemote(answer.result);
  },
  /** Press the toolbar button on this page's tab; returns the browser's clock (ms) then. */
  async clickAction(request) {
    const page = pageOf(request);
    await page.bringToFront();
    return evaluateIn({ context: chrome }, `(() => {
      const { ExtensionParent } = ChromeUtils.importESModule("resource://gre/modules/ExtensionParent.sys.mjs");
      const extension = WebExtensionPolicy.getByID(${JSON.stringify(EXTENSION_ID)}).extension;
      const shown = gBrowser.selectedBrowser.currentURI.spec;
      if (shown !== ${JSON.stringify(page.url())}) throw new Error("the selected tab shows " + shown);
      const started = Date.now();
      ExtensionParent.apiManager.global.browserActionFor(extension).triggerAction(window);
      return started;
    })()`);
  },
  /** The system look pages see (prefers-color-scheme, prefers-reduced-motion), browser-wide. */
  async emulateMedia(request) {
    const schemes = { light: 1, dark: 0 };
    const motion = { reduce: 1, "no-preference": 0 };
    const settings = {};
    if (request.colorScheme) settings["layout.css.prefers-color-scheme.content-override"] = schemes[request.colorScheme];
    if (request.reducedMotion) settings["ui.prefersReducedMotion"] = motion[request.reducedMotion];
    if (Object.values(settings).includes(undefined)) throw new Error(`cannot emulate ${JSON.stringify(request)}`);
    await evaluateIn({ context: chrome }, `(() => {
      for (const [name, value] of Object.entries(${JSON.stringify(settings)})) Services.prefs.setIntPref(name, value);
    })()`);
    return null;
  },
  /** What assistive technology reads: Firefox's accessibility tree, which the parent process
   * holds for every tab (screen readers get it through ATK from there), as [role, name] pairs. */
  async accessibleTree(request) {
    const page = pageOf(request);
    await page.bringToFront();
    return evaluateIn({ context: chrome }, `(async () => {
      const service = Cc["@mozilla.org/accessibilityService;1"].getService(Ci.nsIAccessibilityService);
      const browser = gBrowser.selectedBrowser;
      let doc = null;
      // Started on first use, the service needs a moment to receive the tab's tree.
      for (let i = 0; i < 200 && !(doc && doc.childCount); i++) {
        const top = service.getAccessibleFor(browser);
        doc = top && top.firstChild;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const nodes = [];
      const walk = (accessible, depth) => {
        if (!accessible || depth > 80 || nodes.length > 20000) return;
        nodes.push([service.getStringRole(accessible.role), accessible.name || ""]);
        for (let child = accessible.firstChild; child; child = child.nextSibling) walk(child, depth + 1);
      };
      walk(doc, 0);
      return nodes;
    })()`);
  },
  /** A key combination (`Alt+R`) typed into the browser window as a keyboard would: it reaches
   * the page, and what the page leaves goes on to Firefox's own shortcuts, extensions' included
   * (BiDi's key input stays inside the page, so it never gets there). */
  async shortcut(request) {
    const page = pageOf(request);
    await page.bringToFront();
    const keys = request.keys.split("+");
    const letter = keys.pop();
    if (!/^[A-Za-z]$/.test(letter)) throw new Error(`a shortcut ends in a letter, not ${letter}`);
    return evaluateIn({ context: chrome }, `(() => {
      const tip = Cc["@mozilla.org/text-input-processor;1"].createInstance(Ci.nsITextInputProcessor);
      if (!tip.beginInputTransactionForTests(window)) throw new Error("the window takes no key input now");
      const modifiers = ${JSON.stringify(keys)}.map((name) => new KeyboardEvent("", {
        key: name, code: name + "Left", keyCode: KeyEvent["DOM_VK_" + name.toUpperCase()],
      }));
      const letter = ${JSON.stringify(letter.toUpperCase())};
      const key = new KeyboardEvent("", { key: letter.toLowerCase(), code: "Key" + letter, keyCode: KeyEvent["DOM_VK_" + letter] });
      const started = Date.now();
      for (const modifier of modifiers) tip.keydown(modifier);
      tip.keydown(key);
      tip.keyup(key);
      for (const modifier of modifiers.reverse()) tip.keyup(modifier);
      return started;
    })()`);
  },
  async extensionEvaluate(request) {
    return evaluateIn({ context: extensionPage }, callOrValue(request.source, request.arg));
  },
};

async function shutdown(code) {
  try {
    await browser.close();
  } finally {
    rmSync(profile, { recursive: true, force: true });
    process.exit(code);
  }
}

process.stdout.write(`${JSON.stringify({ ready: { version: await browser.version(), extensionPage: extensionUrl("options/options.html") } })}\n`);

// One request at a time, in order, as the tests send them.
let queue = Promise.resolve();
const lines = readline.createInterface({ input: process.stdin });
lines.on("line", (line) => {
  queue = queue.then(() => answer(line));
});
lines.on("close", () => queue.then(() => shutdown(0)));
process.on("SIGTERM", () => shutdown(0));

async function answer(line) {
  let request;
  try {
    request = JSON.parse(line);
  } catch {
    return;
  }
  const op = Object.hasOwn(ops, request.op) ? ops[request.op] : null;
  let reply;
  try {
    if (!op) throw new Error(`unknown op ${request.op}`);
    reply = { id: request.id, ok: true, value: (await op(request)) ?? null };
  } catch (error) {
    reply = { id: request.id, ok: false, error: String((error && error.message) || error) };
  }
  process.stdout.write(`${JSON.stringify(reply)}\n`);
}
