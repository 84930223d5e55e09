"""Real Chromium with the unpacked extension, the real server and a page server, all on loopback.

One browser context is shared by the whole session (starting Chromium is the slow part); each test
opens its own tab. The helpers here are also what ``bench/extension.py`` measures with.
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

import pytest
from aiohttp import web
from playwright.async_api import BrowserContext, Page, Playwright, Route, Worker, async_playwright

from tests.support import ROOT, SHARED

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


# --- pages the browser reads --------------------------------------------------------------------

HOSTILE_PARAGRAPHS = [
    "The harbour commission met on Tuesday evening to decide the future of the old ferry pier, "
    "which has stood unused since the storm of last winter tore away most of its decking.",
    "Residents who attended the meeting spoke for nearly two hours, most of them asking that the "
    "pier be repaired rather than demolished, and several offered to help raise the money.",
    "The commission's engineer said that the pilings were sound below the waterline and that a "
    "new deck could be laid within a single season if the funding were found by the spring.",
    "A final vote is expected next month, after the commission has received the engineer's "
    "written estimate and a second survey of the seabed around the southern end of the pier.",
]


def hostile_page() -> str:
    """An article that carries scripts, an onerror handler and javascript: links in its body.

    Every payload adds to ``window.__ran`` in the page's own world, so a test can see whether any
    of them ran a second time once the overlay shows the article.
    """
    paragraphs = "\n".join(f"<p>{text}</p>" for text in HOSTILE_PARAGRAPHS)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Harbour commission weighs the ferry pier</title></head>
<body>
<article>
<h1>Harbour commission weighs the ferry pier</h1>
<script>window.__ran = (window.__ran || 0) + 1;</script>
{paragraphs}
<p>Read the <a id="js-link" href="javascript:window.__ran=(window.__ran||0)+1000">full minutes</a>
 of the meeting <img src="/missing.png" alt="" onerror="window.__ran=(window.__ran||0)+10"></p>
<p onmouseover="window.__ran=(window.__ran||0)+100000">The pier was built in 1912 and served the
island ferry for more than eighty years before the service moved to the new terminal.</p>
<p><a href="JaVaScRiPt:window.__ran=(window.__ran||0)+1000">Minutes</a> and
<iframe src="javascript:parent.__ran=(parent.__ran||0)+100"></iframe> attachments.</p>
</article>
</body></html>"""


def empty_page() -> str:
    return """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Sign in</title></head>
<body><form><label>Email <input type="email"></label><button>Sign in</button></form></body></html>"""


def large_page(size: int) -> str:
    filler = "<p>" + "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 20 + "</p>\n"
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Very long page</title></head><body>"
        + filler * (size // len(filler) + 1)
        + "</body></html>"
    )


def tall_page() -> str:
    """A page long enough to scroll, with an article the server can find."""
    paragraphs = "\n".join(f"<p>{text}</p>" for text in HOSTILE_PARAGRAPHS * 6)
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>A long read</title>
<style>body {{ font-size: 20px; }} #top {{ height: 1200px; }}</style></head>
<body><div id="top">Top of the page</div><article><h1>A long read about the pier</h1>{paragraphs}</article>
<input id="search" aria-label="Search the site"></body></html>"""


async def start_site(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


def page_app(seed_dir: Path | None, *, large_bytes: int = 0) -> web.Application:
    pages: dict[str, str] = {
        "/hostile.html": hostile_page(),
        "/empty.html": empty_page(),
        "/tall.html": tall_page(),
    }
    if large_bytes:
        pages["/large.html"] = large_page(large_bytes)
    if seed_dir is not None:
        for name in ("page.html", "page-js.html"):
            pages[f"/seed/{name}"] = (seed_dir / name).read_text(encoding="utf-8")
        pages["/seed/again.html"] = pages["/seed/page.html"]

    pages["/strict.html"] = pages["/tall.html"]
    # A page that forbids every script and style of its own, as some sites do.
    strict = {"Content-Security-Policy": "default-src 'none'; style-src 'none'; script-src 'none'"}

    async def handler(request: web.Request) -> web.Response:
        body = pages.get(request.path)
        if body is None:
            return web.Response(status=404, text="not found")
        headers = strict if request.path == "/strict.html" else None
        return web.Response(text=body, content_type="text/html", charset="utf-8", headers=headers)

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    return app


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


# --- fixtures -------------------------------------------------------------------------------------

MAX_BODY_BYTES = 512 * 1024


@pytest.fixture(scope="session")
async def page_site() -> AsyncIterator[str]:
    """Test pages on loopback; the seed pages under /seed/ when ../shared is there (tests that
    read them ask for ``seed_dir`` too, which skips or fails them as tests/support says)."""
    seed = SHARED / "fixtures" / "seed-article"
    runner, url = await start_site(
        page_app(seed if seed.is_dir() else None, large_bytes=MAX_BODY_BYTES * 2)
    )
    yield url
    await runner.cleanup()


@pytest.fixture(scope="session")
async def declutter_server(s3_server: Any, page_site: str) -> AsyncIterator[ServerHandle]:
    """The real server on the session's real S3 storage, with a SQLite catalogue of its own.

    Built here rather than with the per-test ``settings`` factory because one server serves the
    whole session; it may fetch from the page site (the one loopback origin it is allowed).
    """
    from tests.services import settings_for

    data_dir = Path(tempfile.mkdtemp(prefix="declutter-ext-data-"))
    settings = settings_for(
        s3_server,
        data_dir,
        allowed_fetch_hosts=[urlsplit(page_site).netloc],
        max_body_bytes=MAX_BODY_BYTES,
        rate_limit=0,
    )
    runner, handle = await start_declutter(settings)
    yield handle
    await runner.cleanup()
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
async def extension_browser() -> AsyncIterator[tuple[BrowserContext, Worker]]:
    profile = Path(tempfile.mkdtemp(prefix="declutter-ext-"))
    async with async_playwright() as playwright:
        context, worker = await launch_extension_context(playwright, profile)
        await context.route("**/*", keep_on_loopback)
        try:
            yield context, worker
        finally:
            await context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="session")
def extension_id(extension_browser: tuple[BrowserContext, Worker]) -> str:
    return urlsplit(extension_browser[1].url).netloc


@pytest.fixture
async def reader(
    extension_browser: tuple[BrowserContext, Worker], declutter_server: ServerHandle
) -> AsyncIterator[Reader]:
    """A fresh tab, the extension pointed at the test server with a token, default prefs."""
    context, worker = extension_browser
    await forget(worker, "readerPrefs")
    await configure(worker, server=declutter_server.url, token=declutter_server.token)
    page = await context.new_page()
    shadow = ShadowReader(page)
    yield Reader(page=page, worker=worker, shadow=shadow, server=declutter_server)
    await shadow.close()
    await page.close()


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


def save_artifact(name: str, data: bytes) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    path.write_bytes(data)
    return path
