"""``POST /api/v1/clean``: the clean article for a URL, from the reader's HTML, the archive or a fetch.

Responses are cached by URL and a digest of the HTML they came from, as ready-to-send bytes: the
extension asks again for the same page often (every toggle), and extraction is the slow part.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from typing import Any

from aiohttp import web
from pydantic import Field

from crawler.extract import ExtractionError, NoArticleError
from crawler.snapshot.capture import READER
from server import actions, state
from server.api.models import CleanedArticle
from server.declare import Body, BodyReader, HttpUrl, Reply, declare
from server.errors import ApiError, ServiceUnavailable
from server.render import RenderBusy, RenderError

# How many of a URL's newest captures are searched for one the archive fetched itself.
ARCHIVE_LOOKBACK = 50


class PageRequest(Body):
    """A page by its URL, with its HTML as the reader's browser shows it when the client has it."""

    url: HttpUrl
    html: str | None = Field(None, description="The page's HTML as the reader sees it.")


@declare(
    "POST", "/api/v1/clean", "clean", "The clean article for a URL",
    {200: Reply("The article", CleanedArticle)},
    body=PageRequest,
    errors=(403, 422, 502, (503, "The page needs rendering and every render slot stayed busy "
                                "(see Retry-After)."), 504),
    description="With `html` (the page as the reader sees it), extract it. Without, the newest "
    "capture of the URL, else a server-side fetch (public addresses only). "
    "Results are cached by URL and content digest.",
)
async def clean(request: web.Request, body: BodyReader[PageRequest]) -> web.Response:
    cache = request.app[state.CLEAN_CACHE]
    raw = await request.read()
    # A repeated request (the extension re-sending the same page) is answered from the digest of
    # its bytes before any parsing; the cache is only filled under this key for posted HTML.
    request_key = "request:" + hashlib.sha256(raw).hexdigest()
    cached = cache.get(request_key)
    if cached is not None:
        request.app[state.METRICS].cache.labels("hit").inc()
        return _json_bytes(cached, cache="hit")
    page_request = await body()
    url, html = page_request.url, page_request.html
    if html is not None:
        return await _cleaned(request, url, html, source="posted", aliases=(request_key,))
    stored = await _from_archive(request, url)
    if stored is not None:
        return stored
    page = await actions.guarded_fetch(request, url)
    try:
        return await _cleaned(
            request, page.final_url, page.body, source="fetched", content_type=page.content_type
        )
    except ApiError as exc:
        if exc.error != "no_article" or "html" not in page.content_type.lower():
            raise
    # The served HTML holds no article: a page built by JavaScript. Render it, then extract.
    try:
        rendered = await request.app[state.RENDERER].render(page, request.remote or "")
    except RenderBusy as exc:
        raise ApiError(
            f"the page needs rendering and the renderer is busy: {exc}",
            status=503, error="render_busy", headers={"Retry-After": str(exc.retry_after)},
        ) from exc
    except RenderError as exc:
        raise ApiError(
            f"no article in the served HTML, and rendering it failed: {exc}",
            status=422,
            error="no_article",
        ) from exc
    return await _cleaned(request, page.final_url, rendered, source="rendered")


async def _cleaned(
    request: web.Request,
    url: str,
    html: str | bytes,
    *,
    source: str,
    content_type: str | None = None,
    aliases: tuple[str, ...] = (),
) -> web.Response:
    """The article for (url, html), from the cache keyed by URL and content digest when there."""
    app = request.app
    raw = html.encode("utf-8", "surrogatepass") if isinstance(html, str) else html
    key = "content:" + hashlib.sha256(url.encode("utf-8") + b"\0" + raw).hexdigest()
    cache = app[state.CLEAN_CACHE]
    body = cache.get(key)
    if body is not None:
        app[state.METRICS].cache.labels("hit").inc()
        for alias in aliases:
            cache.put(alias, body)
        return _json_bytes(body, cache="hit")
    app[state.METRICS].cache.labels("miss").inc()
    article = await run_extract(request, html, url, content_type=content_type)
    payload = article.to_dict()
    payload["source"] = source
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    for cache_key in (key, *aliases):
        cache.put(cache_key, body)
    return _json_bytes(body, cache="miss")


def _json_bytes(body: bytes, *, cache: str) -> web.Response:
    return web.Response(
        body=body, content_type="application/json", charset="utf-8", headers={"X-Cache": cache}
    )


async def run_extract(
    request: web.Request, html: str | bytes, url: str | None, *, content_type: str | None = None
) -> Any:
    """Extract in a worker thread (it is CPU work), timing it and turning failures into 422s."""
    extract = request.app[state.EXTRACT]
    histogram = request.app[state.METRICS].extraction
    started = time.perf_counter()
    try:
        article = await asyncio.to_thread(extract, html, url, content_type=content_type)
    except NoArticleError as exc:
        histogram.labels("no_article").observe(time.perf_counter() - started)
        raise ApiError(str(exc), status=422, error="no_article") from exc
    except ExtractionError as exc:
        histogram.labels("error").observe(time.perf_counter() - started)
        raise ApiError(str(exc), status=422, error="extraction_failed") from exc
    histogram.labels("ok").observe(time.perf_counter() - started)
    return article


def _newest_fetched(catalogue: Any, url: str) -> Any:
    """The newest capture of ``url`` whose article came from the archive's own fetch, or None.

    A reader-only capture's article is whatever HTML its token holder posted; it is theirs to
    read back through the captures API (labelled ``source: reader``), never an answer to another
    client asking for the URL's article.
    """
    row = catalogue.latest_capture(url)
    if row is None or row.source != READER:
        return row
    rows, _ = catalogue.list_captures(url, limit=ARCHIVE_LOOKBACK, newest_first=True)
    return next((row for row in rows if row.source != READER), None)


async def _from_archive(request: web.Request, url: str) -> web.Response | None:
    """The newest fetched capture's article, or None when there is none or the archive is down."""
    backends = request.app[state.BACKENDS]
    try:
        catalogue = await backends.catalogue()
        row = await backends.call("catalogue", _newest_fetched, catalogue, url)
        if row is None:
            return None
        archiver = await backends.archiver()
        article = await backends.call("storage", archiver.read_article, row.id)
    except ServiceUnavailable:
        return None
    if article is None:
        return None
    payload = article.to_dict()
    payload.update({"source": "capture", "capture_id": row.id})
    return _json_bytes(json.dumps(payload, ensure_ascii=False).encode("utf-8"), cache="archive")
