"""``GET /api/v1/export``: the captures of a URL or a site as WARC, WACZ, JSONL or CSV, streamed.

The bytes come from ``crawler.research.export`` (the same exporter as ``declutter export``), pulled a block
at a time in a worker thread, so a large export neither blocks the event loop nor fills memory.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import Field, field_validator, model_validator

from crawler.catalogue import BadQuery, site_key
from crawler.research.export import (
    FORMATS,
    MEDIA_TYPES,
    ExportError,
    Selection,
)
from server import actions, state
from server.auth import request_token, require_valid_token
from server.declare import LOWER, OptionalUrl, Params, Reply, Since, Site, Until, declare
from server.errors import BadRequest

Format: Any = Annotated[Literal[FORMATS], LOWER]  # type: ignore[valid-type]


class ExportQuery(Params):
    format: Format = Field(description=f"One of {', '.join(FORMATS)}.", examples=["wacz"])
    url: OptionalUrl = None
    site: Site = None
    since: Since = Field(None, alias="from")
    until: Until = Field(None, alias="to")
    sign: bool = Field(
        False,
        description="Sign a WACZ (wacz-auth 0.1.0 signedData in datapackage-digest.json) with "
        "the archive's key, listed at /api/v1/keys; only with format=wacz.",
        examples=[True],
    )

    @model_validator(mode="after")
    def _sign_only_wacz(self) -> ExportQuery:
        if self.sign and self.format != "wacz":
            raise ValueError("sign: only a WACZ can be signed; use format=wacz, or leave sign off")
        return self

    @field_validator("site")
    @classmethod
    def _known_site(cls, site: str | None) -> str | None:
        if site is not None:
            try:
                site_key(site)
            except BadQuery as exc:
                raise ValueError(str(exc)) from exc
        return site

    def selection(self) -> Selection:
        try:
            return Selection(url=self.url, site=self.site, since=self.since, until=self.until)
        except ExportError as exc:
            raise BadRequest(f"{exc} ('url' or 'site', and 'from' before 'to')") from exc


@declare(
    "GET", "/api/v1/export", "export",
    "Export the captures of a URL or a site (WARC, WACZ, JSONL or CSV), streamed",
    {
        200: Reply(
            "The export, as an attachment",
            media={
                media.split(";")[0]: {"type": "string", "format": "binary"}
                for media in MEDIA_TYPES.values()
            },
        )
    },
    params=ExportQuery,
    errors=(
        (401, "The selection holds more captures than DECLUTTER_EXPORT_OPEN_LIMIT (default "
         "1000) and no valid token came with it: send 'Authorization: Bearer <token>' "
         "(`declutter token create`). The detail gives the count and the limit."),
        (404, "No capture matches."),
        (500, "A stored object of a selected capture could not be read, or (sign) the "
         "signature could not be made."),
        (503, "Storage or the catalogue is unreachable; retry later."),
    ),
    description="Give exactly one of url and site. WACZ 1.1.1 opens in ReplayWeb.page "
    "and pywb; JSONL and CSV carry the clean articles.",
)
async def export(request: web.Request, params: ExportQuery) -> web.StreamResponse:
    selection = params.selection()
    count = await actions.count_selection(request, selection)
    needed_for = actions.over_open_limit(request, count)
    if needed_for:
        require_valid_token(request.app[state.TOKENS], request_token(request), needed_for=needed_for)
    return await actions.stream_export(request, selection, params.format, sign=params.sign)
