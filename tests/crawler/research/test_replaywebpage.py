"""ReplayWeb.page itself (its built app, `make replaywebpage`) opens a signed WACZ export in real
Chromium on loopback: it lists the pages, its own WebCrypto check accepts the signature, and its
Archive Info names our public key as the observer's; a file with a changed signature fails its
check. (ReplayWeb.page 2.5.3 stores the check's result but counts the signature as verified either
way in its "Validation" line, so the test reads the result it stored.)"""

from __future__ import annotations

import base64
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from crawler.research.export import Exporter, Selection
from crawler.research.signing import KeySigner
from tests.kit.archive import ResearchArchive
from tests.kit.extension import LOOPBACK_RESOLVER_RULES, chromium_path
from tests.kit.paths import ROOT

REPLAYWEBPAGE = ROOT / "node_modules" / "replaywebpage"
SITE = "news.example.org"

# What ReplayWeb.page's service worker recorded when it checked the file (its IndexedDB).
STORED_CHECKS = """async () => {
  const found = {};
  for (const info of await indexedDB.databases()) {
    const db = await new Promise((ok, no) => {
      const open = indexedDB.open(info.name); open.onsuccess = () => ok(open.result); open.onerror = no;
    });
    if (![...db.objectStoreNames].includes("verification")) continue;
    const rows = await new Promise((ok) => {
      const all = db.transaction("verification").objectStore("verification").getAll();
      all.onsuccess = () => ok(all.result);
    });
    for (const row of rows) found[row.id] = row;
  }
  return found;
}"""


def _require_replaywebpage() -> None:
    if not (REPLAYWEBPAGE / "sw.js").exists():
        message = f"{REPLAYWEBPAGE} is missing: `make replaywebpage` unpacks it"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def _with_signature_changed(data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "datapackage-digest.json":
                digest = json.loads(content)
                raw = bytearray(base64.b64decode(digest["signedData"]["signature"]))
                raw[20] ^= 0x01
                digest["signedData"]["signature"] = base64.b64encode(bytes(raw)).decode()
                content = json.dumps(digest).encode()
            target.writestr(info, content)
    return out.getvalue()


async def _open_in_replaywebpage(
    files: Path, name: str, expected_pages: list, key: str
) -> dict[str, Any]:
    """Open FILES/NAME in ReplayWeb.page served from 127.0.0.1: its page count, its checks, and
    whether its Archive Info shows ``key`` as the observer's."""
    from playwright.async_api import async_playwright

    async def index(_: web.Request) -> web.FileResponse:
        return web.FileResponse(REPLAYWEBPAGE / "index.html")

    async def wacz(request: web.Request) -> web.FileResponse:
        # A file response answers the range requests ReplayWeb.page reads a WACZ URL with.
        return web.FileResponse(files / request.match_info["name"])

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_get("/files/{name}", wacz)
    app.router.add_static("/", REPLAYWEBPAGE)
    async with TestServer(app, host="127.0.0.1") as server, async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path(), headless=True,
            args=[f"--host-resolver-rules={LOOPBACK_RESOLVER_RULES}"],
        )
        try:
            page = await browser.new_page()
            source = server.make_url(f"/files/{name}")
            start = server.make_url("/").with_query(source=str(source)).with_fragment("view=pages")
            await page.goto(str(start))
            entries = page.locator("wr-page-entry")  # one per line of pages.jsonl
            await entries.first.wait_for(timeout=30_000)
            await page.get_by_text(f"{len(expected_pages)} pages").wait_for(timeout=10_000)
            count = await entries.count()
            checks = await page.evaluate(STORED_CHECKS)
            await page.get_by_role("button", name="more", exact=False).last.click()
            await page.get_by_role("menuitem", name="Archive Info").click()
            info = page.locator("wr-item-info")
            await info.get_by_text("Observer Public Key").wait_for(timeout=10_000)
            shown = await info.get_by_text(key).count()
            return {"pages": count, "checks": checks, "key_shown": shown == 1}
        finally:
            await browser.close()


async def test_replaywebpage_opens_a_signed_export_and_checks_its_signature(
    research_sqlite: ResearchArchive, tmp_path: Path
) -> None:
    _require_replaywebpage()
    signer = KeySigner.for_data_dir(tmp_path)
    exporter = Exporter(research_sqlite.catalogue, research_sqlite.archiver, signer=signer)
    signed = b"".join(exporter.export(Selection(site=SITE), "wacz"))
    files = tmp_path / "files"
    files.mkdir()
    (files / "signed.wacz").write_bytes(signed)
    (files / "changed.wacz").write_bytes(_with_signature_changed(signed))

    captures = list(research_sqlite.catalogue.iter_captures(site=SITE))
    key = signer.public_key.base64
    shown = await _open_in_replaywebpage(files, "signed.wacz", captures, key)
    assert shown["pages"] == len(captures) == 4
    assert shown["checks"]["signature"]["matched"] is True
    assert shown["checks"]["publicKey"]["expected"] == signer.public_key.base64
    assert shown["key_shown"], "Archive Info names our key as the Observer Public Key"

    shown = await _open_in_replaywebpage(files, "changed.wacz", captures, key)
    assert shown["checks"]["signature"]["matched"] is False
