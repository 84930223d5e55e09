"""The extension's options page and its token, in real Chromium against the real server."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from crawler.cli.services import free_port
from tests.kit.extension import (
    Reader,
)

pytestmark = pytest.mark.e2e



async def test_options_page_tests_the_connection(reader: Reader, extension_id: str) -> None:
    page = reader.page
    await page.goto(f"chrome-extension://{extension_id}/options/options.html")
    assert await page.input_value("#server") == reader.server.url
    assert await page.input_value("#token") == reader.server.token
    assert await page.inner_text("#shortcut") == "Alt+R"
    await page.click("#test")
    result = page.locator("#result")  # the options page's CSP forbids eval: locators only
    await expect(result).to_have_text(re.compile("^Connected, and the token is accepted"))

    await page.fill("#token", "dcl_not-a-real-token")
    await page.click("#test")
    await expect(result).to_contain_text("refused the token")

    await page.fill("#server", f"http://127.0.0.1:{free_port()}")
    await page.click("#test")
    await expect(result).to_have_text(re.compile("^Can't reach"))
    await expect(result).to_have_class("bad")
    stored = await reader.worker.evaluate("chrome.storage.local.get(['server', 'token'])")
    assert stored["token"] == "dcl_not-a-real-token" and stored["server"].startswith("http://127.0.0.1:")

    await page.fill("#server", "ftp://example.test")
    await page.click("#save")
    await expect(result).to_contain_text("is not an http:// or https:// address")


async def test_content_script_cannot_read_the_token(reader: Reader, page_site: str) -> None:
    """The reader code that runs inside pages gets articles through the worker, never the token."""
    await reader.goto(f"{page_site}/tall.html")
    assert await reader.open() == "ready"
    cdp = await reader.shadow.session()
    contexts = []
    cdp.on("Runtime.executionContextCreated", lambda event: contexts.append(event["context"]))
    await cdp.send("Runtime.enable")
    await reader.page.wait_for_timeout(100)
    isolated = [c for c in contexts if c.get("auxData", {}).get("type") == "isolated" and c["origin"].startswith("chrome-extension://")]
    assert isolated, contexts
    answer = await cdp.send(
        "Runtime.evaluate",
        {
            "contextId": isolated[0]["id"],
            "expression": "typeof DeclutterReader.Overlay + ' ' + (chrome.storage?.local ? 'storage' : 'none')",
            "returnByValue": True,
        },
    )
    assert answer["result"]["value"].startswith("function")
    answer = await cdp.send(
        "Runtime.evaluate",
        {
            "contextId": isolated[0]["id"],
            "expression": "chrome.storage.local.get('token').then((r) => JSON.stringify(r), (e) => 'refused: ' + e.message)",
            "awaitPromise": True,
            "returnByValue": True,
        },
    )
    value = answer["result"].get("value") or str(answer)
    assert reader.server.token not in value and value.startswith("refused"), value
    await cdp.send("Runtime.disable")


async def test_options_page_has_no_serious_accessibility_violations(reader: Reader, extension_id: str) -> None:
    from axe_playwright_python.async_playwright import Axe

    await reader.page.goto(f"chrome-extension://{extension_id}/options/options.html")
    results = await Axe().run(reader.page)
    serious = [
        f"{v['impact']}: {v['id']} ({v['help']})"
        for v in results.response["violations"]
        if v.get("impact") in {"serious", "critical"}
    ]
    assert not serious, serious
