"""The JSON the API answers with, as pydantic models for the OpenAPI document.

Capture, Article and search hits are derived from the classes the catalogue and the extractor
return (``CaptureRow``, ``Article``, ``SearchHit``); only what the API adds around them (links,
``source``, paging) is written here. Handlers still build their answers from the rows directly
(validating every listing would cost more than the listing); the schemathesis test checks that
what they send matches these models.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from crawler.catalogue import CaptureRow, SearchHit
from crawler.extract.article import Article as ArticleRecord
from server.declare import model_of

Capture: Any = model_of(
    CaptureRow,
    "Capture",
    source=(
        Annotated[
            Literal["server", "reader"],
            Field(description="server: an HTTP exchange the archive made; reader: the DOM the "
                  "reader's browser showed, kept because the server's fetch failed (status 0)"),
        ],
        "server",
    ),
)

Article: Any = model_of(ArticleRecord, "Article")


def _capture_id_optional(schema: dict[str, Any]) -> None:
    schema["required"].remove("capture_id")


class CleanedArticle(Article):  # type: ignore[misc, valid-type]
    """The article ``/clean`` made, and where its HTML came from."""

    # capture_id is there only when the article came from a capture.
    model_config = ConfigDict(json_schema_extra=_capture_id_optional)

    source: Literal["posted", "capture", "fetched", "rendered"]
    capture_id: str | None = None


class CaptureDetail(Capture):  # type: ignore[misc, valid-type]
    """A capture's catalogue row, its clean article (null when none was found) and its views."""

    article: Article | None  # type: ignore[valid-type]
    links: dict[str, str]


class CaptureList(BaseModel):
    """A page of captures, newest first; ``next_cursor`` asks for the next page."""

    captures: list[Capture]  # type: ignore[valid-type]
    next_cursor: str | None


class CaptureCreated(BaseModel):
    """A capture just made (201) or waiting in the spool while storage is down (202)."""

    id: str
    url: str
    captured_at: datetime
    revisit: bool
    href: str
    source: Literal["server", "reader"]
    title: str | None = None
    spooled: bool = False
    detail: str = Field("", description="What the client should know: a reader-only capture, "
                        "a spooled one.")


Hit: Any = model_of(
    SearchHit,
    "SearchHit",
    base=Capture,
    exclude=("capture",),
    capture_count=(int, Field(1, ge=1, description="captures of this URL with this text")),
    first_captured_at=(datetime, ...),
)


class SearchResults(BaseModel):
    """Hits, best first, one per URL and text version unless ``all=1``."""

    query: str
    results: list[Hit]  # type: ignore[valid-type]
    total: int  # hits over every page, counted as they are listed
    limit: int
    offset: int
    collapsed: bool
