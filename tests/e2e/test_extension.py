"""The reader extension in real Chromium, against the real server, on pages served from loopback:
reading (the overlay, hostile pages, Escape, settings, strict CSP, screen readers) and its lint.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.kit.extension import (
    EXTENSION_DIR,
    HOST_TAG,
    Reader,
    save_artifact,
)
from tests.kit.pages import HOSTILE_PARAGRAPHS
from tests.kit.paths import ROOT
from tests.kit.text import collapse

pytestmark = pytest.mark.e2e

WEB_EXT = ROOT / "node_modules" / ".bin" / "web-ext"


def test_web_ext_lint_reports_no_errors(tmp_path: Path) -> None:
    if not WEB_EXT.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("node_modules/.bin/web-ext is missing: `make node` installs it")
        pytest.skip("web-ext is not installed (run `make node` to lint the extension)")
    output = tmp_path / "lint.json"
    with output.open("w") as out:
        subprocess.run(
            [str(WEB_EXT), "lint", "--source-dir", str(EXTENSION_DIR), "--self-hosted", "--output", "json", "--no-input"],
            stdout=out,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            timeout=120,
            check=False,
            env={**os.environ, "NO_UPDATE_NOTIFIER": "1"},
        )
    report = json.loads(output.read_text())
    assert report["summary"]["errors"] == 0, report["errors"]
    assert report["count"] == report["summary"]["errors"] + report["summary"]["warnings"] + report["summary"]["notices"]
    unexpected = [w for w in report["warnings"] if w["code"] != "MANIFEST_FIELD_UNSUPPORTED"]
    assert not unexpected, unexpected


async def test_shortcut_is_assigned(extension_browser) -> None:
    _, worker = extension_browser
    commands = await worker.evaluate("chrome.commands.getAll()")
    toggle = next(c for c in commands if c["name"] == "toggle-reader")
    assert toggle["shortcut"], f"Chromium left the reader shortcut unassigned: {commands}"
    assert toggle["shortcut"].replace(" ", "").lower() in {"alt+r", "⌥r"}


@pytest.mark.parametrize("name", ["page.html", "page-js.html"])
async def test_seed_article_overlay(
    reader: Reader, page_site: str, seed_expectations: tuple[list[str], list[str]], name: str
) -> None:
    must_contain, must_not_contain = seed_expectations
    await reader.goto(f"{page_site}/seed/{name}")
    if name == "page-js.html":
        await reader.page.wait_for_selector(".entry-content[data-loaded]", state="attached")
    assert await reader.open() == "ready"

    text = collapse(await reader.shadow.text())
    missing = [line for line in must_contain if line not in text]
    assert not missing, f"the overlay lacks {len(missing)} article lines, first: {missing[:1]}"
    clutter = [line for line in must_not_contain if line in text]
    assert not clutter, f"the overlay shows clutter: {clutter}"

    parts = await reader.shadow.call(
        """function () {
            const q = (s) => this.querySelector(s);
            const dialog = q('[role=dialog]');
            return {
                site: q('.site')?.textContent, title: q('#dr-title')?.textContent,
                time: q('.meta time')?.getAttribute('datetime'), minutes: q('.reading-time')?.textContent,
                quote: !!q('.body blockquote'), original: q('a.original')?.href,
                modal: dialog?.getAttribute('aria-modal'), labelled: dialog?.getAttribute('aria-labelledby'),
            };
        }"""
    )
    assert parts["site"] == "The Post Millennial"
    assert parts["title"] == must_contain[0]
    assert parts["time"].startswith("2022-02-25")
    assert parts["minutes"].endswith("min read")
    assert parts["quote"] is True
    assert parts["original"].startswith("http")
    assert parts["modal"] == "true" and parts["labelled"] == "dr-title"


async def test_hostile_article_shows_text_and_runs_nothing(reader: Reader, page_site: str) -> None:
    page = reader.page
    await reader.goto(f"{page_site}/hostile.html")
    await page.wait_for_function("window.__ran >= 11")  # the page itself runs its script and onerror
    await page.wait_for_timeout(200)
    baseline = await page.evaluate("window.__ran")
    assert await reader.open() == "ready"
    text = collapse(await reader.shadow.text())
    for paragraph in HOSTILE_PARAGRAPHS:
        assert collapse(paragraph) in text

    found = await reader.shadow.call(
        """function () {
            const all = [...this.querySelectorAll('*')];
            return {
                scripts: this.querySelectorAll('script, iframe, object, embed').length,
                handlers: all.flatMap((e) => [...e.attributes].map((a) => a.name)).filter((n) => n.startsWith('on')),
                hrefs: [...this.querySelectorAll('[href], [src]')].map((e) => e.getAttribute('href') || e.getAttribute('src')),
                links: [...this.querySelectorAll('.body a')].map((a) => a.textContent),
            };
        }"""
    )
    assert found["scripts"] == 0 and found["handlers"] == []
    assert all(not href.lower().startswith(("javascript:", "data:")) for href in found["hrefs"]), found["hrefs"]
    await reader.shadow.call(
        "function () { for (const a of this.querySelectorAll('.body a')) a.click();"
        " for (const p of this.querySelectorAll('.body p')) p.dispatchEvent(new MouseEvent('mouseover', {bubbles: true})); }"
    )
    await page.wait_for_timeout(300)
    assert await page.evaluate("window.__ran") == baseline


async def test_client_sanitiser_rebuilds_hostile_markup_inertly(reader: Reader, page_site: str) -> None:
    """The overlay's own allowlist, run on markup the server would never send."""
    page = reader.page
    await reader.goto(f"{page_site}/empty.html")
    await page.add_script_tag(content=(EXTENSION_DIR / "reader" / "sanitize.js").read_text())
    result = await page.evaluate(
        """() => {
            window.__ran = 0;
            const hostile = `<h2 onclick="window.__ran++">Heading</h2>
              <p style="position:fixed">Text <a href="javascript:window.__ran++">js</a>
              <a href=" java&#9;script:window.__ran++">tab</a> <a href="/relative">rel</a></p>
              <img src="x" onerror="window.__ran++"><img src="data:image/png;base64,AAAA">
              <script>window.__ran++</script><svg><script>window.__ran++</script></svg>
              <math><mi xlink:href="javascript:window.__ran++">m</mi></math>
              <iframe srcdoc="<script>parent.__ran++</script>"></iframe>
              <form action="javascript:window.__ran++"><button>go</button></form>
              <ul><li>one</li><li>two</li></ul><blockquote>quoted</blockquote>
              <figure><img src="https://example.test/a.jpg" alt="A"><figcaption>Cap</figcaption></figure>`;
            const box = document.createElement('div');
            box.append(DeclutterReader.sanitize(hostile, 'http://127.0.0.1/base/page.html'));
            document.body.append(box);
            return { html: box.innerHTML, text: box.textContent };
        }"""
    )
    await page.wait_for_timeout(200)
    html = result["html"]
    for needle in ("script", "onerror", "onclick", "javascript", "iframe", "svg", "math", "style=", "data:", "<form", "<button"):
        assert needle not in html.lower(), (needle, html)
    assert 'href="http://127.0.0.1/relative"' in html
    assert 'rel="noopener noreferrer"' in html
    for kept in ("<h2>Heading</h2>", "<li>one</li>", "<blockquote>quoted</blockquote>", "<figcaption>Cap</figcaption>"):
        assert kept in html
    assert await page.evaluate("window.__ran") == 0


async def test_escape_restores_the_page(reader: Reader, page_site: str) -> None:
    page = reader.page
    await reader.goto(f"{page_site}/tall.html")
    await page.focus("#search")
    await page.evaluate("window.scrollTo(0, 700)")
    before = await page.evaluate(
        "() => ({ html: document.documentElement.outerHTML, x: scrollX, y: scrollY })"
    )
    assert before["y"] == 700
    assert await reader.open() == "ready"

    assert await page.evaluate("document.activeElement.localName") == HOST_TAG
    for _ in range(30):  # the focus trap keeps Tab inside the dialog
        await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.localName") == HOST_TAG
    await page.keyboard.press("Shift+Tab")
    assert await page.evaluate("document.activeElement.localName") == HOST_TAG
    await page.mouse.wheel(0, 900)  # scrolls the overlay, not the page under it
    await page.wait_for_timeout(100)

    await page.keyboard.press("Escape")
    await page.wait_for_function(f"!document.querySelector('{HOST_TAG}')")
    after = await page.evaluate(
        "() => ({ html: document.documentElement.outerHTML, x: scrollX, y: scrollY, focus: document.activeElement.id })"
    )
    assert after["html"] == before["html"]
    assert (after["x"], after["y"]) == (before["x"], before["y"])
    assert after["focus"] == "search"

    assert await reader.open() == "ready"  # the toolbar button toggles it closed the same way
    await reader.worker.evaluate(
        "async (url) => { const t = (await chrome.tabs.query({})).find((t) => t.url === url);"
        " return self.declutterToggle(t); }",
        page.url,
    )
    await page.wait_for_function(f"!document.querySelector('{HOST_TAG}')")
    assert await page.evaluate("document.documentElement.outerHTML") == before["html"]

    assert await reader.open() == "ready"  # and so does the overlay's own Close button
    await reader.shadow.click("[data-action=close]")
    await page.wait_for_function(f"!document.querySelector('{HOST_TAG}')")
    assert await page.evaluate("[scrollY, document.documentElement.outerHTML]") == [700, before["html"]]


async def test_theme_persists_to_the_next_page(
    reader: Reader, page_site: str, seed_dir: Path
) -> None:
    page = reader.page
    await reader.goto(f"{page_site}/seed/page.html")
    assert await reader.open() == "ready"
    await reader.shadow.choose("dr-theme", "light")
    await page.wait_for_timeout(150)
    save_artifact("overlay-light.png", await page.screenshot())
    await reader.shadow.choose("dr-theme", "dark")
    await reader.shadow.click("[data-action=larger]")
    await reader.shadow.choose("dr-font", "sans")
    await page.wait_for_timeout(150)
    save_artifact("overlay-dark.png", await page.screenshot())
    stored = await reader.worker.evaluate("chrome.storage.local.get('readerPrefs')")
    assert stored["readerPrefs"] == {"fontSize": 22, "width": "medium", "theme": "dark", "font": "sans"}
    await page.keyboard.press("Escape")

    # Reopened on the same page, the reader reuses what it loaded, with the new settings.
    assert await reader.open() == "ready"
    assert await reader.shadow.call("function () { return this.querySelector('.reader').dataset.theme; }") == "dark"
    await page.keyboard.press("Escape")

    await reader.goto(f"{page_site}/seed/again.html")
    assert await reader.open() == "ready"
    look = await reader.shadow.call(
        """function () {
            const dialog = this.querySelector('.reader');
            const style = getComputedStyle(dialog);
            return { theme: dialog.dataset.theme, font: dialog.dataset.font, size: style.fontSize,
                     background: style.backgroundColor, select: this.getElementById('dr-theme').value };
        }"""
    )
    assert look == {
        "theme": "dark", "font": "sans", "size": "22px", "background": "rgb(21, 23, 26)", "select": "dark",
    }


async def test_overlay_is_styled_on_a_strict_csp_page_and_follows_the_system(reader: Reader, page_site: str) -> None:
    await reader.goto(f"{page_site}/strict.html")
    assert await reader.page.evaluate("getComputedStyle(document.body).fontSize") != "20px"  # page CSS blocked
    assert await reader.open() == "ready"
    look = (
        "function () { const s = getComputedStyle(this.querySelector('.reader'));"
        " return [s.position, s.backgroundColor, s.animationName, getComputedStyle(this.host).zIndex]; }"
    )
    # light by default, no animation for a reader who asked for reduced motion
    assert await reader.shadow.call(look) == ["absolute", "rgb(251, 251, 248)", "none", "2147483647"]
    await reader.page.emulate_media(color_scheme="dark", reduced_motion="no-preference")
    assert await reader.shadow.call(look) == ["absolute", "rgb(21, 23, 26)", "dr-appear", "2147483647"]
    await reader.page.emulate_media(color_scheme="light", reduced_motion="reduce")


async def test_screen_readers_get_a_named_dialog_with_named_controls(reader: Reader, page_site: str) -> None:
    """What assistive technology reads: Chromium's accessibility tree, which sees into the overlay."""
    await reader.goto(f"{page_site}/tall.html")
    assert await reader.open() == "ready"
    cdp = await reader.shadow.session()
    await cdp.send("Accessibility.enable")
    tree = await cdp.send("Accessibility.getFullAXTree")
    await cdp.send("Accessibility.disable")
    named: dict[str, set[str]] = {}
    for node in tree["nodes"]:
        if node.get("ignored"):
            continue
        role = node.get("role", {}).get("value", "")
        name = node.get("name", {}).get("value", "")
        named.setdefault(role, set()).add(name)
    dialogs = named.get("dialog", set())
    assert len(dialogs) == 1 and dialogs <= named["heading"], (dialogs, named.get("heading"))
    assert next(iter(dialogs)).startswith("A long read")  # named by the article's title
    assert {"Close reader view", "Smaller text", "Larger text", "Save snapshot", "Versions"} <= named["button"]
    assert {"Line width", "Theme", "Font"} <= named["combobox"]
    assert "status" in named
