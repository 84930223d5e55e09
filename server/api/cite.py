"""``GET /api/v1/captures/{id}/cite``: a citation of one capture, as text, BibTeX or CSL-JSON.

A reader who quotes an archived article cites the capture, not the live page, which may have
changed or gone: the citation names the capture's Memento URI (the archived bytes, with
Memento-Datetime), when it was captured, the original URL and title, and the two things that let
someone check the quote later: the sha256 of the capture's WARC record (which `declutter verify`
and a WACZ's index re-derive) and the fingerprint of the key that signs this archive's WACZ
exports (``GET /api/v1/keys``).
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import Field

from crawler.research.signing import SigningError, public_keys
from server import state
from server.api import memento
from server.api.captures import CaptureRef
from server.declare import LOWER, Reply, declare
from server.errors import ApiError, NotFound

CITE_FORMATS = ("text", "bibtex", "csl-json")
MEDIA = {
    "text": "text/plain",
    "bibtex": "application/x-bibtex",
    "csl-json": "application/vnd.citationstyles.csl+json",
}
# BibTeX's special characters, each written so that LaTeX prints it as itself.
_BIBTEX_ESCAPES = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "%": r"\%", "&": r"\&", "$": r"\$",
    "#": r"\#", "_": r"\_", "^": r"\^{}", "~": r"\~{}",
}
_BIBTEX_SPECIAL = re.compile("|".join(re.escape(c) for c in _BIBTEX_ESCAPES))


class CiteQuery(CaptureRef):
    format: Annotated[Literal[CITE_FORMATS], LOWER] = Field(  # type: ignore[valid-type]
        "text", description=f"One of {', '.join(CITE_FORMATS)}.", examples=["bibtex"]
    )


@declare(
    "GET", "/api/v1/captures/{id}/cite", "citeCapture",
    "A citation of the capture: Memento URI, time, original URL, title, WARC digest, key",
    {
        200: Reply(
            "The citation",
            media={media: {"type": "string"} for media in MEDIA.values()},
        )
    },
    params=CiteQuery,
    errors=(404, (500, "The signing key could not be read or made."), 503),
    description="format=text for a reference list, bibtex for LaTeX, csl-json for Zotero and "
    "pandoc. The WARC digest is the sha256 of the capture's stored WARC record; the key is the "
    "one GET /api/v1/keys lists, which signs this archive's WACZ exports.",
)
async def cite(request: web.Request, params: CiteQuery) -> web.Response:
    backends = request.app[state.BACKENDS]
    catalogue = await backends.catalogue()
    row = await backends.call("catalogue", catalogue.get_capture, params.id)
    if row is None:
        raise NotFound(f"there is no capture {params.id!r}")
    settings = request.app[state.SETTINGS]
    try:
        [key, *_] = await asyncio.to_thread(public_keys, settings.data_dir)
    except SigningError as exc:
        raise ApiError(str(exc), status=500, error="signing_key") from exc
    facts = Citation(
        capture_id=row.id,
        memento=memento.memento_url(request, row),
        captured_at=row.captured_at.astimezone(UTC),
        url=row.url,
        title=row.title or row.url,
        byline=row.byline or "",
        site=row.site_name or "",
        published=row.published or "",
        warc_sha256=row.warc_sha256,
        fingerprint=key.fingerprint,
    )
    body = {"text": facts.text, "bibtex": facts.bibtex, "csl-json": facts.csl_json}[params.format]()
    return web.Response(text=body, content_type=MEDIA[params.format], charset="utf-8")


@dataclass(frozen=True)
class Citation:
    """The facts of one capture, written in each citation format."""

    capture_id: str
    memento: str
    captured_at: datetime
    url: str
    title: str
    byline: str
    site: str
    published: str
    warc_sha256: str
    fingerprint: str

    @property
    def when(self) -> str:
        return self.captured_at.strftime("%Y-%m-%dT%H:%M:%SZ")

    def _evidence(self) -> str:
        return (
            f"WARC record sha256:{self.warc_sha256}; signed WACZ exports: key {self.fingerprint}"
        )

    def text(self) -> str:
        by = f"{self.byline}. " if self.byline else ""
        site = f" {self.site}." if self.site else ""
        return (
            f"{by}\u201c{self.title}.\u201d{site} {self.url}. Archived {self.when} by Declutter: "
            f"{self.memento}. {self._evidence()}.\n"
        )

    def bibtex(self) -> str:
        fields = {
            "title": _bibtex(self.title),
            "author": "{" + _bibtex(self.byline) + "}" if self.byline else "",
            "organization": _bibtex(self.site),
            "year": str(self.captured_at.year),
            "url": self.memento,
            "urldate": self.captured_at.strftime("%Y-%m-%d"),
            "note": (
                f"Archived capture of \\url{{{self.url}}} taken {self.when}; "
                + _bibtex(self._evidence())
            ),
        }
        lines = [f"  {name} = {{{value}}}," for name, value in fields.items() if value]
        return "@misc{declutter-" + self.capture_id + ",\n" + "\n".join(lines) + "\n}\n"

    def csl_json(self) -> str:
        item: dict[str, Any] = {
            "id": f"declutter-{self.capture_id}",
            "type": "webpage",
            "title": self.title,
            "URL": self.url,
            "archive": "Declutter",
            "archive_location": self.memento,
            "accessed": {"date-parts": [_date_parts(self.captured_at)]},
            "note": f"Archived {self.when}; {self._evidence()}",
        }
        if self.byline:
            item["author"] = [{"literal": self.byline}]
        if self.site:
            item["container-title"] = self.site
        issued = _parse_date(self.published)
        if issued is not None:
            item["issued"] = {"date-parts": [_date_parts(issued)]}
        return json.dumps([item], ensure_ascii=False, indent=2) + "\n"


def _bibtex(value: str) -> str:
    return _BIBTEX_SPECIAL.sub(lambda match: _BIBTEX_ESCAPES[match.group()], value)


def _date_parts(moment: datetime) -> list[int]:
    return [moment.year, moment.month, moment.day]


def _parse_date(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None
    except ValueError:
        return None
