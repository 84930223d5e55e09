"""Real Chromium with the unpacked extension, driven as a reader would, and the real server.

Chromium resolves no name but loopback ones and every request a page makes elsewhere is aborted,
so nothing a page links to leaves the machine. The end-to-end tests and ``bench/extension.py``
drive the extension with these helpers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from playwright.async_api import BrowserContext, Page, Playwright, Route, Worker

from tests.kit.pages import start_site
from tests.kit.paths import ROOT
from tests.kit.settings import settings_for

EXTENSION_DIR = ROOT / "extension"
ARTIFACTS = ROOT / "artifacts" / "extension"
HOST_TAG = "declutter-reader"
# Chromium resolves no name but loopback ones, so nothing a page links to can leave the machine.
LOOPBACK_RESOLVER_RULES = "MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def chromium_path() -> str:
    from crawler.config import load

    return load().chromium_path


async def launch_extension_context(
    playwright: Playwright, user_data_dir: Path, *, headless: bool = True
) -> tuple[BrowserContext, Worker]:
    """Chromium with only our extension loaded; returns the context and the extension's worker."""
    args = [
        f"--disable-extensions-except={EXTENSION_DIR}",
        f"--load-extension={EXTENSION_DIR}",
        f"--host-resolver-rules={LOOPBACK_RESOLVER_RULES}",
    ]
    if os.geteuid() == 0:
        args.append("--no-sandbox")
    context = await playwright.chromium.launch_persistent_context(
        str(user_data_dir),
        executable_path=chromium_path(),
        headless=headless,
        args=args,
        viewport={"width": 1280, "height": 800},
        color_scheme="light",
        reduced_motion="reduce",
    )
    worker = next(
        (w for w in context.service_workers if w.url.startswith("chrome-extension://")), None
    )
    if worker is None:
        worker = await context.wait_for_event("serviceworker", timeout=15_000)
    return context, worker


async def keep_on_loopback(route: Route) -> None:
    """Abort any request a page makes to a host that is not this machine."""
    host = urlsplit(route.request.url).hostname or ""
    scheme = urlsplit(route.request.url).scheme
    if scheme in {"http", "https", "ws", "wss"} and host not in LOOPBACK_HOSTS:
        await route.abort("blockedbyclient")
    else:
        await route.continue_()


async def configure(worker: Worker, **values: Any) -> None:
    """Write the extension's stored settings (server, token, readerPrefs) as its options page would."""
    await worker.evaluate("(values) => chrome.storage.local.set(values)", values)


async def forget(worker: Worker, *keys: str) -> None:
    await worker.evaluate("(keys) => chrome.storage.local.remove(keys)", list(keys))


async def toggle(worker: Worker, page: Page) -> int:
    """Call the toggle the toolbar button and shortcut call; returns the worker's clock (ms) then.

    Headless Chromium never delivers command key presses, so the worker is asked directly.
    """
    result = await worker.evaluate(
        """async (url) => {
            const tabs = await chrome.tabs.query({});
            const tab = tabs.find((t) => t.url === url);
            if (!tab) throw new Error(`no tab shows ${url}`);
            const started = Date.now();
            const ok = await self.declutterToggle(tab);
            return { started, ok };
        }""",
        page.url,
    )
    assert result["ok"], f"the extension could not inject its reader into {page.url}"
    return result["started"]


async def reader_state(page: Page) -> str | None:
    return await page.evaluate(
        f"() => document.querySelector('{HOST_TAG}')?.getAttribute('data-state') ?? null"
    )


async def wait_for_state(page: Page, *states: str, timeout: float = 15_000) -> tuple[str, int]:
    """Wait until the overlay's state is one of ``states`` (prefix match); returns it and the page clock."""
    handle = await page.wait_for_function(
        f"""(states) => {{
            const state = document.querySelector('{HOST_TAG}')?.getAttribute('data-state');
            return state && states.some((s) => state === s || state.startsWith(s + ':'))
                ? {{ state, at: Date.now() }} : null;
        }}""",
        arg=list(states),
        timeout=timeout,
        polling="raf",
    )
    value = await handle.json_value()
    return value["state"], value["at"]


async def open_reader(worker: Worker, page: Page, *states: str) -> str:
    await toggle(worker, page)
    state, _ = await wait_for_state(page, *(states or ("ready", "failed")))
    return state


class ShadowReader:
    """Reaches into the overlay's closed shadow root the way assistive tools do: through CDP."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self._session = None

    async def session(self):
        if self._session is None:
            self._session = await self.page.context.new_cdp_session(self.page)
        return self._session

    async def _shadow_object(self) -> str:
        cdp = await self.session()
        document = await cdp.send("DOM.getDocument", {"depth": 0})
        found = await cdp.send(
            "DOM.querySelector", {"nodeId": document["root"]["nodeId"], "selector": HOST_TAG}
        )
        if not found["nodeId"]:
            raise AssertionError("the reader overlay is not on the page")
        host = await cdp.send(
            "DOM.describeNode", {"nodeId": found["nodeId"], "depth": 0, "pierce": True}
        )
        roots = host["node"].get("shadowRoots") or []
        assert roots and roots[0]["shadowRootType"] == "closed", "the overlay's shadow root is not closed"
        resolved = await cdp.send("DOM.resolveNode", {"backendNodeId": roots[0]["backendNodeId"]})
        return resolved["object"]["objectId"]

    async def call(self, function: str, *args: Any) -> Any:
        """Run ``function`` (JS source; ``this`` is the shadow root) and return its JSON result."""
        cdp = await self.session()
        object_id = await self._shadow_object()
        answer = await cdp.send(
            "Runtime.callFunctionOn",
            {
                "objectId": object_id,
                "functionDeclaration": function,
                "arguments": [{"value": arg} for arg in args],
                "returnByValue": True,
                "awaitPromise": True,
            },
        )
        if "exceptionDetails" in answer:
            raise AssertionError(f"script in the shadow root failed: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    async def text(self, selector: str = ".main") -> str:
        return await self.call(
            "function (selector) { const e = this.querySelector(selector); return e ? e.innerText : null; }",
            selector,
        )

    async def click(self, selector: str) -> None:
        await self.call(
            "function (selector) { const e = this.querySelector(selector);"
            " if (!e) throw new Error('no ' + selector); e.click(); }",
            selector,
        )

    async def choose(self, control_id: str, value: str) -> None:
        await self.call(
            "function (id, value) { const e = this.getElementById(id); e.value = value;"
            " e.dispatchEvent(new Event('change', { bubbles: true })); }",
            control_id,
            value,
        )

    async def close(self) -> None:
        if self._session is not None:
            with contextlib.suppress(Exception):
                await self._session.detach()
            self._session = None


@dataclasses.dataclass
class Reader:
    page: Page
    worker: Worker
    shadow: ShadowReader
    server: ServerHandle

    async def open(self, *states: str) -> str:
        return await open_reader(self.worker, self.page, *states)

    async def goto(self, url: str) -> None:
        await self.page.goto(url, wait_until="load")
        await self.shadow.close()


@dataclasses.dataclass
class ServerHandle:
    url: str
    token: str
    app: web.Application


async def start_declutter(settings: Any, *, token_name: str = "extension-tests") -> tuple[web.AppRunner, ServerHandle]:
    """The real server (the app ``declutter serve`` runs) on a free loopback port."""
    from server.app import create_app
    from server.auth import TokenStore

    token = TokenStore.from_settings(settings).create(token_name)
    app = create_app(settings)
    runner, url = await start_site(app)
    return runner, ServerHandle(url=url, token=token, app=app)


def save_artifact(name: str, data: bytes) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    path.write_bytes(data)
    return path


# The server's body limit in the extension tests: small, so the "page too large" state is cheap.
MAX_BODY_BYTES = 512 * 1024


@contextlib.asynccontextmanager
async def page_server(s3_server: Any, page_site: str, *, prefix: str) -> AsyncIterator[ServerHandle]:
    """The real server on the session's S3 storage, with a SQLite catalogue of its own, allowed
    to fetch from the page site (the one loopback origin it may reach)."""
    data_dir = Path(tempfile.mkdtemp(prefix=prefix))
    settings = settings_for(
        s3_server,
        data_dir,
        allowed_fetch_hosts=[urlsplit(page_site).netloc],
        max_body_bytes=MAX_BODY_BYTES,
        rate_limit=0,
    )
    runner, handle = await start_declutter(settings)
    try:
        yield handle
    finally:
        await runner.cleanup()
        shutil.rmtree(data_dir, ignore_errors=True)
