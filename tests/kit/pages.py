"""Pages the browser reads in the end-to-end tests and the extension bench, served on loopback.

Each page is a shape the reader must cope with: an article full of script payloads, a page with
no article, one too large to send, one long enough to scroll, one whose CSP forbids everything.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

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
