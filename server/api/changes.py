"""How articles change: ``/api/v1/changes``, ``/api/v1/diff`` and the Atom feed of what is kept.

Silent edits to a story are news, so each recorded change links to its word-level diff, and the
feed carries the full clean text so any feed reader can follow the archive. The diff is the one in
``crawler.catalogue.diff``; the catalogue supplies the rows and the indexed text, so no object is read here.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from xml.etree import ElementTree as ET

import jinja2
from aiohttp import web
from pydantic import BaseModel, Field

from crawler.catalogue import ChangeRow
from crawler.catalogue.diff import diff_captures
from crawler.snapshot.capture import READER
from server import state
from server.declare import (
    LOWER,
    OptionalUrl,
    Params,
    Reply,
    Since,
    Site,
    declare,
    model_of,
)
from server.errors import BadRequest, NotFound

ATOM = "http://www.w3.org/2005/Atom"
ATOM_TYPE = "application/atom+xml"
READER_LABEL = "Kept as a reader's browser showed it: the archive could not fetch this page"
MAX_QUERY = 500
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

ET.register_namespace("", ATOM)


def _links(change: Any) -> dict[str, str]:
    query = f"a={change.from_id}&b={change.to_id}"
    return {
        "diff": f"/api/v1/diff?{query}",
        "diff_html": f"/api/v1/diff?{query}&format=html",
        "before": f"/api/v1/captures/{change.from_id}",
        "after": f"/api/v1/captures/{change.to_id}",
    }


# --- declarations ----------------------------------------------------------------------------


class ChangesQuery(Params):
    url: OptionalUrl = Field(None, description="Only changes of this URL (default: the whole archive).")
    since: Since = Field(None, alias="from")
    limit: int = Field(100, ge=1, le=1000)


class DiffQuery(Params):
    a: str = Field(min_length=1, max_length=64, description="The id of the earlier capture.")
    b: str = Field(min_length=1, max_length=64, description="The id of the later capture.")
    format: Annotated[Literal["json", "html"] | None, LOWER] = Field(
        None, description="html: a page with ins/del (default: as Accept prefers, else json)."
    )


class FeedQuery(Params):
    site: Site = Field(None, description="Only articles on this host and its subdomains.")
    q: str | None = Field(None, max_length=MAX_QUERY,
                          description="Only articles matching this search query.")
    limit: int = Field(20, ge=1, le=100)


Change: Any = model_of(
    ChangeRow, "Change", title_changed=(bool, ...), links=(dict[str, str], ...)
)


class Changes(BaseModel):
    """Recorded changes of one URL (``url``) or of the whole archive (``url`` null)."""

    url: str | None
    changes: list[Change]  # type: ignore[valid-type]


class DiffSide(BaseModel):
    id: str
    url: str
    captured_at: datetime
    title: str | None
    text_digest: str | None


class Span(BaseModel):
    op: Literal["equal", "insert", "delete"]
    text: str


class Diff(BaseModel):
    """Capture ``a``'s clean text against ``b``'s; joining the non-delete spans gives text b."""

    a: DiffSide
    b: DiffSide
    title_changed: bool
    changed: bool
    words_added: int = Field(ge=0)
    words_removed: int = Field(ge=0)
    ops: list[Span]


# --- handlers ---------------------------------------------------------------------------------


@declare(
    "GET", "/api/v1/changes", "listChanges",
    "Recorded changes of clean text between captures, newest first",
    {200: Reply("Changes", Changes)},
    params=ChangesQuery,
    errors=(503,),
)
async def changes(request: web.Request, params: ChangesQuery) -> web.Response:
    """Recorded text changes (newest first), of one URL or of the whole archive."""
    backends = request.app[state.BACKENDS]
    catalogue = await backends.catalogue()
    rows = await backends.call(
        "catalogue", catalogue.changes, params.url, since=params.since, limit=params.limit
    )
    return web.json_response(
        {"url": params.url, "changes": [{**row.to_dict(), "links": _links(row)} for row in rows]}
    )


def _wants_html(request: web.Request, fmt: str | None) -> bool:
    """``format`` when given, else the Accept header's preference between HTML and JSON."""
    if fmt:
        return fmt == "html"
    best = ("application/json", 0.0)
    for position, item in enumerate(request.headers.get("Accept", "").split(",")):
        media, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media = media.strip().lower()
        if media in {"text/html", "application/json"} and quality - position * 1e-6 > best[1]:
            best = (media, quality - position * 1e-6)
    return best[0] == "text/html"


@declare(
    "GET", "/api/v1/diff", "diffCaptures",
    "Word-level diff of two captures' clean text (JSON, or HTML with ins/del)",
    {200: Reply("The diff", Diff, media={"text/html": {"type": "string"}})},
    params=DiffQuery,
    errors=(404, 503),
    description="HTML when format=html or when Accept prefers text/html.",
)
async def diff(request: web.Request, params: DiffQuery) -> web.Response:
    """The word-level diff of two captures' clean text, as JSON operations or marked-up HTML."""
    ids = [params.a, params.b]
    as_html = _wants_html(request, params.format)
    backends = request.app[state.BACKENDS]
    catalogue = await backends.catalogue()
    for capture_id in ids:
        if await backends.call("catalogue", catalogue.get_capture, capture_id) is None:
            raise NotFound(f"there is no capture {capture_id!r}")
    result = await backends.call("catalogue", diff_captures, catalogue, ids[0], ids[1])
    if not as_html:
        return web.json_response(result.to_dict(), headers={"Vary": "Accept"})
    return web.Response(
        text=_diff_page(result),
        content_type="text/html",
        charset="utf-8",
        headers={
            "Vary": "Accept",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            "X-Content-Type-Options": "nosniff",
        },
    )


@functools.cache
def _templates() -> jinja2.Environment:
    # The API renders with its own environment: it must work without the web app mounted.
    return jinja2.Environment(
        loader=jinja2.PackageLoader("server", "web/templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def _diff_page(result: Any) -> str:
    return _templates().get_template("api_diff.html").render(
        before=result.before, after=result.after, text=result.text,
        title_changed=result.title_changed,
    )


# --- Atom feed -----------------------------------------------------------------------------


@declare(
    "GET", "/api/v1/feed.atom", "feed",
    "Atom feed of the newest captured articles with their full clean text",
    {200: Reply("Atom 1.0 feed (RFC 4287)", media={ATOM_TYPE: {"type": "string"}})},
    params=FeedQuery,
    errors=(503,),
)
async def feed(request: web.Request, params: FeedQuery) -> web.Response:
    """The newest captured articles (optionally of one site or matching a query), full text."""
    site, q = params.site, params.q
    backends = request.app[state.BACKENDS]
    catalogue = await backends.catalogue()
    entries = await backends.call("catalogue", _feed_entries, catalogue, site, q, params.limit)
    body = _atom(request, entries, site=site, q=q)
    return web.Response(body=body, content_type=ATOM_TYPE, charset="utf-8")


def _feed_entries(
    catalogue: Any, site: str | None, q: str | None, limit: int
) -> list[tuple[Any, str, Any]]:
    """(row, clean text, change or None) of the newest captures that brought an article or a new
    version of one; a new version carries the change that links to its diff."""
    from crawler.catalogue import BadQuery

    if q:
        try:
            rows = [hit.capture for hit in catalogue.search(q, site=site, limit=limit * 2)]
        except BadQuery as exc:
            raise BadRequest(str(exc)) from exc
        rows.sort(key=lambda row: row.captured_at, reverse=True)
    else:
        rows, _ = catalogue.list_captures(site=site, limit=limit * 4, newest_first=True)
    entries: list[tuple[Any, str, Any]] = []
    for row in rows:
        if row.revisit or not row.text_digest:
            continue
        found = catalogue.capture_text(row.id)
        if not found or not found[1]:
            continue
        change = next((c for c in catalogue.changes(row.url, limit=50) if c.to_id == row.id), None)
        entries.append((row, found[1], change))
        if len(entries) == limit:
            break
    return entries


def _xml_text(value: str | None) -> str:
    return _NOT_XML.sub("", value or "")


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _atom(
    request: web.Request, entries: list[tuple[Any, str, Any]], *, site: str | None, q: str | None
) -> bytes:
    def el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        node = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            node.text = _xml_text(text)
        return node

    base = state.public_base(request)
    root = ET.Element(f"{{{ATOM}}}feed")
    what = " ".join(part for part in (site and f"on {site}", q and f"matching “{q}”") if part)
    el(root, "title", f"Declutter archive: articles {what}".strip() if what else "Declutter archive: articles")
    el(root, "id", f"{base}{request.rel_url}")
    el(root, "link", rel="self", href=f"{base}{request.rel_url}", type=ATOM_TYPE)
    newest = max((row.captured_at for row, _, _ in entries), default=datetime.now(UTC))
    el(root, "updated", _stamp(newest))
    author = el(root, "author")
    el(author, "name", "Declutter archive")
    el(root, "generator", "Declutter")
    for row, text, change in entries:
        entry = el(root, "entry")
        el(entry, "id", f"urn:declutter:capture:{row.id}")
        el(entry, "title", row.title or row.url)
        el(entry, "updated", _stamp(row.captured_at))
        if row.byline:
            el(el(entry, "author"), "name", row.byline)
        el(entry, "link", rel="alternate", href=row.url)
        el(entry, "link", rel="related", href=f"{base}/api/v1/captures/{row.id}", type="application/json")
        if change is not None:
            el(entry, "link", rel="related", type="text/html", title="What changed",
               href=f"{base}{_links(change)['diff_html']}")
            el(entry, "summary", f"A new version: {change.words_added} words added, "
               f"{change.words_removed} removed since capture {change.from_id}.")
        if row.site_name:
            el(entry, "category", term=_xml_text(row.site_name))
        if row.source == READER:
            el(entry, "category", term="source:reader", label=READER_LABEL)
        el(entry, "content", text, type="text")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
