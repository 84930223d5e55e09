"""Real Firefox (Debian's firefox-esr) with the extension installed as a temporary add-on.

Playwright's Firefox is a patched build, not the browser readers install, so Firefox is driven by
``tests/e2e/firefox/driver.mjs`` (puppeteer-core over WebDriver BiDi) and reached from Python
through the small facades below. They offer the part of Playwright's ``Page`` and of the Chromium
helpers in ``tests.kit.extension`` that the overlay tests use, so the same test bodies run in both
browsers; anything Chromium-only (CDP sessions) fails loudly instead of quietly doing less.

Nothing leaves the machine: Firefox sends every request that is not for loopback to a "proxy" on
a loopback port (``Trap``) that answers nothing, with no direct fallback.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
from typing import Any, NoReturn

from tests.kit.extension import ARTIFACTS, EXTENSION_DIR, Reader, ShadowReader, wait_for_state
from tests.kit.paths import ROOT

DRIVER = ROOT / "tests" / "e2e" / "firefox" / "driver.mjs"
PUPPETEER = ROOT / "node_modules" / "puppeteer-core"
DRIVER_LOG = ARTIFACTS / "firefox-driver.log"
START_TIMEOUT_S = 90.0
CALL_TIMEOUT_S = 120.0


class FirefoxError(RuntimeError):
    """Firefox or its driver refused or failed a step; the message says which and why."""


def firefox_path() -> str | None:
    """The Firefox the tests drive: Debian's ESR (what `make setup` installs), else any firefox."""
    return shutil.which("firefox-esr") or shutil.which("firefox")


def missing_tools() -> str | None:
    """Why Firefox cannot be driven here, as the fix to make, or None when it can."""
    if firefox_path() is None:
        return "firefox-esr is not installed (`make setup` installs it)"
    if shutil.which("node") is None:
        return "node is not installed (`make setup` needs Node.js for web-ext and puppeteer-core)"
    if not PUPPETEER.is_dir():
        return "node_modules/puppeteer-core is missing (`make node` installs it)"
    return None


class Trap:
    """Where Firefox sends every request that is not for loopback: a "proxy" on a loopback port
    that notes the request line and closes the connection, so nothing leaves and tests can see
    what a page tried."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._caught, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _caught(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            line = await asyncio.wait_for(reader.readline(), 5)
            self.requests.append(line.decode("latin-1").strip())
        writer.close()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await self.server.wait_closed()


class FirefoxDriver:
    """One Firefox process with the extension, behind the Node driver; one request at a time."""

    def __init__(self, process: asyncio.subprocess.Process, info: dict[str, Any], trap: Trap) -> None:
        self.process = process
        self.info = info
        self.trap = trap
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()
        self.extension = ExtensionRealm(self)

    @classmethod
    async def start(cls) -> FirefoxDriver:
        problem = missing_tools()
        if problem:
            raise FirefoxError(problem)
        trap = Trap()
        trap_port = await trap.start()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        # A file, not a pipe nobody reads: a chatty browser must never block on a full pipe.
        with DRIVER_LOG.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                "node", str(DRIVER), str(EXTENSION_DIR), str(firefox_path()), str(trap_port),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                cwd=ROOT,
                env={**os.environ, "PUPPETEER_SKIP_DOWNLOAD": "1"},
                limit=64 * 1024 * 1024,  # screenshots come back base64 on one line
            )
        try:
            line = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            await trap.close()
            raise FirefoxError(f"Firefox did not start within {START_TIMEOUT_S:.0f} s (log: {DRIVER_LOG})") from None
        if not line:
            await process.wait()
            await trap.close()
            stderr = DRIVER_LOG.read_text(errors="replace")
            raise FirefoxError(f"the Firefox driver exited ({process.returncode}) before it was ready:\n{stderr[-3000:]}")
        return cls(process, json.loads(line)["ready"], trap)

    async def call(self, op: str, **params: Any) -> Any:
        async with self._lock:
            request = {"id": next(self._ids), "op": op, **params}
            self.process.stdin.write(json.dumps(request).encode() + b"\n")
            await self.process.stdin.drain()
            line = await asyncio.wait_for(self.process.stdout.readline(), CALL_TIMEOUT_S)
        if not line:
            raise FirefoxError(f"the Firefox driver exited during {op}")
        answer = json.loads(line)
        if not answer["ok"]:
            raise FirefoxError(f"Firefox {op} failed: {answer['error']}")
        return answer["value"]

    async def new_page(self) -> FirefoxPage:
        return FirefoxPage(self, await self.call("newPage"))

    async def open_options(self) -> FirefoxPage:
        """The extension's options page in a new tab, as about:addons → Preferences opens it."""
        page = FirefoxPage(self, await self.call("openOptions"))
        page.url = await page.call("url")
        return page

    async def close(self) -> None:
        """Close Firefox and remove its profile (the driver does both when its input ends)."""
        if self.process.returncode is None:
            self.process.stdin.close()
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        await self.trap.close()


class _Keyboard:
    def __init__(self, page: FirefoxPage) -> None:
        self._page = page

    async def press(self, key: str) -> None:
        """A key or combination in Playwright's spelling (``Escape``, ``Shift+Tab``)."""
        await self._page.call("press", key=key)


class _Mouse:
    def __init__(self, page: FirefoxPage) -> None:
        self._page = page

    async def wheel(self, delta_x: float, delta_y: float) -> None:
        await self._page.call("wheel", dx=delta_x, dy=delta_y)


class _Value:
    def __init__(self, value: Any) -> None:
        self._value = value

    async def json_value(self) -> Any:
        return self._value


class FirefoxPage:
    """A Firefox tab with the part of Playwright's ``Page`` the overlay tests call."""

    def __init__(self, driver: FirefoxDriver, page_id: str) -> None:
        self.driver = driver
        self.id = page_id
        self.url = "about:blank"
        self.keyboard = _Keyboard(self)
        self.mouse = _Mouse(self)

    async def call(self, op: str, **params: Any) -> Any:
        return await self.driver.call(op, page=self.id, **params)

    async def goto(self, url: str, wait_until: str = "load", timeout: float = 30_000) -> None:
        if wait_until != "load":
            raise FirefoxError(f"the Firefox page waits for load only, not {wait_until}")
        await self.call("goto", url=url, timeout=timeout)
        self.url = await self.call("url")

    async def evaluate(self, expression: str, arg: Any = None) -> Any:
        return await self.call("evaluate", source=expression, arg=arg)

    async def wait_for_function(
        self, expression: str, arg: Any = None, timeout: float = 30_000, polling: str = "raf"
    ) -> _Value:
        return _Value(await self.call("waitForFunction", source=expression, arg=arg, timeout=timeout, polling=polling))

    async def wait_for_selector(self, selector: str, state: str = "visible", timeout: float = 30_000) -> None:
        await self.call("waitForSelector", selector=selector, state=state, timeout=timeout)

    async def wait_for_timeout(self, ms: float) -> None:
        await asyncio.sleep(ms / 1000)

    async def click(self, selector: str) -> None:
        """A real click (trusted input, so it counts as the user's gesture)."""
        await self.call("click", selector=selector)

    async def fill(self, selector: str, value: str) -> None:
        await self.call("fill", selector=selector, value=value)

    async def input_value(self, selector: str) -> str:
        return await self.evaluate("(s) => document.querySelector(s).value", selector)

    async def focus(self, selector: str) -> None:
        await self.call("focus", selector=selector)

    async def add_script_tag(self, content: str) -> None:
        """A classic script in the page's own world, as Playwright's ``add_script_tag(content=)``."""
        await self.evaluate(
            """(content) => { const s = document.createElement('script'); s.textContent = content;
                 document.head.append(s); s.remove(); }""",
            content,
        )

    async def emulate_media(self, color_scheme: str | None = None, reduced_motion: str | None = None) -> None:
        """The system's colour scheme and motion setting, as the browser reports them to pages.

        Firefox has no per-page emulation over BiDi here, so this sets the browser's own
        preferences: it holds for every tab until set back, as the Chromium tests do.
        """
        await self.driver.call("emulateMedia", colorScheme=color_scheme, reducedMotion=reduced_motion)

    async def screenshot(self) -> bytes:
        return base64.b64decode(await self.call("screenshot"))

    async def accessible_tree(self) -> list[tuple[str, str]]:
        """(role, name) of every node of Firefox's accessibility tree of this tab, in tree order;
        roles in Firefox's names (``pushbutton``, ``statusbar``)."""
        return [tuple(node) for node in await self.call("accessibleTree")]

    async def shortcut(self, keys: str) -> int:
        """Type a key combination (``Alt+R``) into the browser window with this tab in front, as
        a keyboard does, so Firefox's and extensions' shortcuts see it; returns the clock (ms)."""
        return await self.call("shortcut", keys=keys)

    async def click_action(self) -> int:
        """Press the extension's toolbar button on this tab; returns the browser's clock (ms) then."""
        return await self.call("clickAction")

    async def close(self) -> None:
        await self.call("closePage")


class ExtensionRealm:
    """The extension's own pages' realm (its options page): its APIs, like the Chromium worker.

    ``self.declutterToggle`` there is the background's toggle, as in the Chromium worker.
    """

    def __init__(self, driver: FirefoxDriver) -> None:
        self.driver = driver

    async def evaluate(self, expression: str, arg: Any = None) -> Any:
        return await self.driver.call("extensionEvaluate", source=expression, arg=arg)


class FirefoxShadow(ShadowReader):
    """The overlay's closed shadow root through WebDriver BiDi, which serialises closed roots."""

    async def session(self) -> NoReturn:
        raise FirefoxError("CDP sessions are Chromium's; Firefox reaches the overlay through WebDriver BiDi")

    async def call(self, function: str, *args: Any) -> Any:
        try:
            return await self.page.call("shadowCall", source=function, args=list(args))
        except FirefoxError as error:
            raise AssertionError(str(error)) from None

    async def close(self) -> None:
        return None


class FirefoxReader(Reader):
    """A Firefox tab and the extension, opened the way a reader opens it: the toolbar button."""

    async def open(self, *states: str) -> str:
        await self.page.click_action()
        try:
            state, _ = await wait_for_state(self.page, *(states or ("ready", "failed")))
        except FirefoxError as error:
            raise AssertionError(f"the overlay did not reach {states or 'ready/failed'}: {await self.why()} ({error})") from None
        return state

    async def why(self) -> str:
        """What the toolbar button says about this tab (its title explains a failed injection)."""
        with contextlib.suppress(FirefoxError):
            return await self.worker.evaluate(
                """async (url) => {
                    const tab = (await chrome.tabs.query({})).find((t) => t.url === url);
                    return tab ? chrome.action.getTitle({ tabId: tab.id }) : `no tab shows ${url}`;
                }""",
                self.page.url,
            )
        return "the extension did not answer"

