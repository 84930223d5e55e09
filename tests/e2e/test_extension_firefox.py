"""The overlay tests, the very same functions as in Chromium, run in real Firefox ESR.

The test bodies are imported from the Chromium modules and collected here a second time; this
module's ``reader`` fixture replaces the conftest's, so each of them drives a Firefox tab
(tests.kit.firefox) against the same real server and page site. Firefox is installed with the
extension as a temporary add-on, as the README's Firefox install step does, and the reader is
opened with the toolbar button.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from tests.e2e import test_extension, test_extension_archive
from tests.e2e.test_extension import (  # noqa: F401 (collected here to run in Firefox)
    test_escape_restores_the_page,
    test_hostile_article_shows_text_and_runs_nothing,
    test_seed_article_overlay,
    test_theme_persists_to_the_next_page,
)
from tests.e2e.test_extension_archive import (  # noqa: F401 (collected here to run in Firefox)
    test_friendly_states,
    test_save_snapshot_creates_a_capture_the_server_lists,
    test_versions_mark_an_edited_article_and_show_the_diff,
)
from tests.kit.extension import ServerHandle, configure, forget, save_artifact
from tests.kit.firefox import FirefoxDriver, FirefoxReader, FirefoxShadow, missing_tools

pytestmark = pytest.mark.e2e


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
