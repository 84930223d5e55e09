"""The overlay tests, the very same functions as in Chromium, run in real Firefox ESR.

The test bodies are imported from the Chromium modules and collected here a second time; this
module's ``reader`` (and ``extension_browser``, ``declutter_server``) fixtures replace the
conftest's, so each of them drives a Firefox tab (tests.kit.firefox) against the same server code
and page site. Firefox is installed with the extension as a temporary add-on, as the README's
Firefox install step does, and the reader is opened with the toolbar button. Below them, the
checks whose Chromium versions are bound to Playwright or CDP (options page, screen readers,
the token out of content scripts' reach), what only Firefox does (host access withdrawn), and
``make package``.
"""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import test_extension, test_extension_archive
from tests.e2e.test_extension import (  # noqa: F401 (collected here to run in Firefox)
    WEB_EXT,
    test_client_sanitiser_rebuilds_hostile_markup_inertly,
    test_escape_restores_the_page,
    test_hostile_article_shows_text_and_runs_nothing,
    test_overlay_is_styled_on_a_strict_csp_page_and_follows_the_system,
    test_seed_article_overlay,
    test_shortcut_is_assigned,
    test_theme_persists_to_the_next_page,
)
from tests.e2e.test_extension_archive import (  # noqa: F401 (collected here to run in Firefox)
    test_friendly_states,
    test_save_snapshot_creates_a_capture_the_server_lists,
    test_versions_mark_an_edited_article_and_show_the_diff,
)
from tests.kit.extension import (
    EXTENSION_DIR,
    HOST_TAG,
    ServerHandle,
    configure,
    forget,
    page_server,
    save_artifact,
    wait_for_state,
)
from tests.kit.firefox import (
    ExtensionRealm,
    FirefoxDriver,
    FirefoxPage,
    FirefoxReader,
    FirefoxShadow,
    missing_tools,
)
from tests.kit.paths import ROOT

pytestmark = pytest.mark.e2e

# Firefox's names for the ARIA roles the Chromium tests name.
FIREFOX_ROLES = {"pushbutton": "button", "statusbar": "status"}


@pytest.fixture(scope="session")
async def firefox() -> AsyncIterator[FirefoxDriver]:
    problem = missing_tools()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(problem)
        pytest.skip(problem)
    driver = await FirefoxDriver.start()
    try:
        yield driver
    finally:
        await driver.close()


@pytest.fixture(scope="session")
async def declutter_server(s3_server: Any, page_site: str) -> AsyncIterator[ServerHandle]:
    """The conftest's server, built afresh for Firefox: the shared test bodies expect a catalogue
    in which the Chromium run has not already saved the same pages."""
    async with page_server(s3_server, page_site, prefix="declutter-ext-firefox-") as handle:
        yield handle


@pytest.fixture(scope="session")
def extension_browser(firefox: FirefoxDriver) -> tuple[None, ExtensionRealm]:
    """Replaces the Chromium (context, worker) pair: what the tests ask the worker, Firefox's
    extension realm answers."""
    return None, firefox.extension


@pytest.fixture(autouse=True)
def firefox_artifacts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Screenshots the shared test bodies take land beside Chromium's, named for Firefox."""

    def save(name: str, data: bytes):
        return save_artifact(f"firefox-{name}", data)

    for module in (test_extension, test_extension_archive):
        monkeypatch.setattr(module, "save_artifact", save)


@pytest.fixture
async def reader(firefox: FirefoxDriver, declutter_server: ServerHandle) -> AsyncIterator[FirefoxReader]:
    """A fresh Firefox tab, the extension pointed at the test server with a token, default prefs."""
    await forget(firefox.extension, "readerPrefs")
    await configure(firefox.extension, server=declutter_server.url, token=declutter_server.token)
    page = await firefox.new_page()
    yield FirefoxReader(page=page, worker=firefox.extension, shadow=FirefoxShadow(page), server=declutter_server)
    await page.close()


async def test_firefox_is_the_esr_with_our_add_on(firefox: FirefoxDriver) -> None:
    """What the README's install step gives: the add-on, its gecko id, loopback host access."""
    assert firefox.info["version"].startswith("firefox/")
    manifest = await firefox.extension.evaluate("chrome.runtime.getManifest()")
    assert manifest["browser_specific_settings"]["gecko"]["id"] == await firefox.extension.evaluate("chrome.runtime.id")
    granted = await firefox.extension.evaluate("chrome.permissions.getAll()")
    assert {"http://127.0.0.1/*", "http://localhost/*"} <= set(granted["origins"])


def test_make_package_zips_the_same_folder_for_both_stores(tmp_path: Path) -> None:
    if not WEB_EXT.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("node_modules/.bin/web-ext is missing: `make node` installs it")
        pytest.skip("web-ext is not installed (run `make node`)")
    # -o: take node_modules as installed, so the test never runs npm
    subprocess.run(
        ["make", "-s", "-o", "node_modules/.installed", "package", f"DIST={tmp_path}"],
        cwd=ROOT, check=True, capture_output=True, timeout=300,
        env={**os.environ, "NO_UPDATE_NOTIFIER": "1"},
    )
    manifest = json.loads((EXTENSION_DIR / "manifest.json").read_text())
    shipped = sorted(
        str(p.relative_to(EXTENSION_DIR)) for p in EXTENSION_DIR.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(EXTENSION_DIR).parts)
    )
    for store in ("firefox", "chromium"):
        path = tmp_path / f"declutter-reader-{manifest['version']}-{store}.zip"
        with zipfile.ZipFile(path) as archive:
            names = sorted(n for n in archive.namelist() if not n.endswith("/"))
            assert names == shipped, (store, set(names) ^ set(shipped))
            assert json.loads(archive.read("manifest.json")) == manifest


async def test_nothing_a_page_asks_for_leaves_the_machine(firefox: FirefoxDriver, reader: FirefoxReader, page_site: str) -> None:
    """As Chromium's loopback-only resolver does: requests for other hosts end at the trap."""
    await reader.goto(f"{page_site}/empty.html")
    answer = await reader.page.evaluate(
        "() => fetch('http://elsewhere.example/probe?x=1').then((r) => 'answered ' + r.status, (e) => 'failed')"
    )
    assert answer == "failed"
    assert "GET http://elsewhere.example/probe?x=1 HTTP/1.1" in firefox.trap.requests


async def test_alt_r_opens_and_closes_the_reader(reader: FirefoxReader, page_site: str) -> None:
    """The README's shortcut, typed into the browser window (headless Chromium cannot do this)."""
    page = reader.page
    await reader.goto(f"{page_site}/tall.html")
    before = await page.evaluate("document.documentElement.outerHTML")
    shortcut = await reader.worker.evaluate("chrome.commands.getAll()")
    assert [c["shortcut"] for c in shortcut if c["name"] == "toggle-reader"] == ["Alt+R"]
    await page.shortcut("Alt+R")
    state, _ = await wait_for_state(page, "ready", "failed")
    assert state == "ready"
    await page.shortcut("Alt+R")
    await page.wait_for_function(f"!document.querySelector('{HOST_TAG}')")
    assert await page.evaluate("document.documentElement.outerHTML") == before


async def test_options_page_connects_as_the_readme_says(firefox: FirefoxDriver, declutter_server: ServerHandle, page_site: str) -> None:
    """The README's Firefox steps after the temporary install: the server and token typed into the
    options page, "Test connection", then the reader and Save snapshot with that token."""
    await forget(firefox.extension, "server", "token", "readerPrefs")
    options = await firefox.open_options()
    try:
        await options.wait_for_function("() => document.getElementById('server').value !== ''", timeout=10_000)
        assert await options.input_value("#server") == "http://127.0.0.1:8080"  # the default
        assert await options.input_value("#token") == ""
        await options.fill("#server", declutter_server.url)
        await options.fill("#token", "dcl_not-a-real-token")
        await options.click("#test")
        result = await _result(options, "refused the token")
        assert result["className"] == "bad", result
        await options.fill("#token", declutter_server.token)
        await options.click("#test")
        result = await _result(options, "Connected, and the token is accepted")
        assert result["className"] == "ok", result
    finally:
        await options.close()
    stored = await firefox.extension.evaluate("chrome.storage.local.get(['server', 'token'])")
    assert stored["server"] == declutter_server.url
    assert stored["token"]["sealed"] == "AES-GCM", stored  # what a content script could read

    page = await firefox.new_page()
    reader = FirefoxReader(page=page, worker=firefox.extension, shadow=FirefoxShadow(page), server=declutter_server)
    try:
        await reader.goto(f"{page_site}/tall.html")
        assert await reader.open() == "ready"
        await reader.shadow.click("[data-action=save]")
        state, _ = await wait_for_state(page, "saved", "save-failed", timeout=30_000)
        assert state == "saved", await reader.shadow.text(".status")
    finally:
        await page.close()


async def test_the_token_is_sealed_where_content_scripts_can_read_storage(firefox: FirefoxDriver, reader: FirefoxReader) -> None:
    """Firefox gives content scripts storage.local (it has no storage access levels), so the
    extension keeps the token there sealed, with its key where content scripts cannot go, and
    seals one written in the clear (as the fixture, or an older version, writes it)."""
    assert await firefox.extension.evaluate("typeof chrome.storage.local.setAccessLevel") == "undefined"
    token = reader.server.token
    stored: dict = {}
    for _ in range(100):
        stored = await firefox.extension.evaluate("chrome.storage.local.get(null)")
        if isinstance(stored.get("token"), dict):
            break
        await reader.page.wait_for_timeout(50)
    assert stored["token"]["sealed"] == "AES-GCM", stored
    assert token not in json.dumps(stored) and token[-12:] not in json.dumps(stored)
    # and the extension still opens it: the options page shows it, and saving works
    options = await firefox.open_options()
    try:
        await options.wait_for_function("(token) => document.getElementById('token').value === token", arg=token, timeout=10_000)
    finally:
        await options.close()


async def test_withdrawn_host_access_is_explained_and_asked_for_again(
    firefox: FirefoxDriver, reader: FirefoxReader, page_site: str
) -> None:
    """Firefox lets the reader withdraw the add-on's host access (about:addons → Permissions): the
    overlay says what to do, and "Save" in the options, a real click, asks for it again."""
    loopback = "http://127.0.0.1/*"
    assert await firefox.extension.evaluate("(o) => chrome.permissions.remove({ origins: [o] })", loopback)
    try:
        await reader.goto(f"{page_site}/tall.html")
        assert await reader.open("failed") == "failed:permission"
        assert 'Open the options and press "Save"' in await reader.shadow.text()
        await reader.page.keyboard.press("Escape")
    finally:
        options = await firefox.open_options()
        try:
            await options.wait_for_function("() => document.getElementById('server').value !== ''", timeout=10_000)
            await options.click("#save")
            await _result(options, "Saved.")
        finally:
            await options.close()
    assert await firefox.extension.evaluate("(o) => chrome.permissions.contains({ origins: [o] })", loopback)
    assert await reader.open() == "ready"


async def test_screen_readers_get_a_named_dialog_with_named_controls(reader: FirefoxReader, page_site: str) -> None:
    """Chromium's test of the same name reads CDP's tree; here Firefox's own accessibility tree."""
    await reader.goto(f"{page_site}/tall.html")
    assert await reader.open() == "ready"
    named: dict[str, set[str]] = {}
    for role, name in await reader.page.accessible_tree():
        named.setdefault(FIREFOX_ROLES.get(role, role), set()).add(name)
    dialogs = named.get("dialog", set())
    assert len(dialogs) == 1 and dialogs <= named["heading"], (dialogs, named.get("heading"))
    assert next(iter(dialogs)).startswith("A long read")  # named by the article's title
    assert {"Close reader view", "Smaller text", "Larger text", "Save snapshot", "Versions"} <= named["button"]
    assert {"Line width", "Theme", "Font"} <= named["combobox"]
    assert "status" in named


async def _result(options: FirefoxPage, text: str) -> dict:
    handle = await options.wait_for_function(
        """(text) => { const r = document.getElementById('result');
            return r.textContent.includes(text) ? { text: r.textContent, className: r.className } : null; }""",
        arg=text,
        timeout=15_000,
    )
    return await handle.json_value()
