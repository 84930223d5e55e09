"""Catalogue rows turned into what the templates show: labels, links, timelines, marked snippets.

Pure functions over the rows the catalogue returns, so the pages and the benchmark share them and
nothing here touches storage. Everything an archived page supplied stays text here; the templates
escape it, and the only markup built here (``<mark>`` in snippets, links for images) is built
from escaped pieces.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

import lxml.html
from lxml.etree import ParserError, tounicode
from markupsafe import Markup, escape

from crawler.catalogue import CaptureRow, SearchHit
from crawler.catalogue.history import HistorySummary, TimelineEntry

MONTH_NAMES = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]
MONTH_ABBR = [name[:3] for name in MONTH_NAMES]


def as_datetime(value: datetime | str | None) -> datetime | None:
    """A time as aware UTC, whether the row gave a datetime or ISO text (an article's date)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def time_label(moment: datetime | None, *, seconds: bool = False) -> str:
    if moment is None:
        return ""
    fmt = "%d %b %Y, %H:%M:%S UTC" if seconds else "%d %b %Y, %H:%M UTC"
    return moment.strftime(fmt).lstrip("0")


def date_label(value: str | None) -> str:
    moment = as_datetime(value)
    if moment is None:
        return str(value or "")
    if isinstance(value, str) and len(value) <= 10:
        return moment.strftime("%d %B %Y").lstrip("0")
    return moment.strftime("%d %B %Y, %H:%M UTC").lstrip("0")


def history_href(url: str) -> str:
    """``/web/<url>``: the address stays readable; only what would break the path is escaped."""
    return "/web/" + quote(url, safe=":/?&=%;,+@!$'()*~._-")


def site_of(url: str) -> str:
    host = urlsplit(url).hostname or ""
    return host[4:] if host.startswith("www.") else host


@dataclass
class CaptureView:
    id: str
    url: str
    title: str
    site: str
    captured: datetime | None
    status: int
    revisit: bool
    rendered: bool
    crawl_id: str | None
    source: str = "server"
    fetch_error: str | None = None
    digests: list[tuple[str, str]] = field(default_factory=list)
    has_screenshot: bool = False
    kind: str = "unchanged"
    added: int = 0
    removed: int = 0
    previous_id: str | None = None
    title_changed: bool = False
    captured_iso: str = ""
    captured_label: str = ""

    def __post_init__(self) -> None:
        # Worked out once: a 1,000-capture history shows each of them twice. To the second:
        # two captures a few seconds apart must not look like one.
        if self.captured is not None:
            self.captured_iso = self.captured.isoformat()
            self.captured_label = time_label(self.captured, seconds=True)

    @functools.cached_property
    def history_href(self) -> str:
        return history_href(self.url)


_DIGEST_LABELS = (
    ("payload_digest", "Payload digest"),
    ("text_digest", "Text digest"),
    ("warc_sha256", "WARC SHA-256"),
    ("article_sha256", "Article SHA-256"),
)


def capture_view(row: CaptureRow | SearchHit) -> CaptureView:
    """What the templates show of one capture (a search hit shows the capture it wraps)."""
    if isinstance(row, SearchHit):
        row = row.capture
    resources = row.resource_digests if isinstance(row.resource_digests, dict) else {}
    digests = [(label, str(getattr(row, key))) for key, label in _DIGEST_LABELS if getattr(row, key)]
    return CaptureView(
        id=str(row.id),
        url=row.url or "",
        title=(row.title or "").strip(),
        site=row.site_name or site_of(row.url or ""),
        captured=as_datetime(row.captured_at),
        status=int(row.status or 0),
        revisit=bool(row.revisit),
        rendered=bool(row.rendered),
        crawl_id=row.crawl_id,
        source=row.source or "server",
        fetch_error=row.fetch_error,
        digests=digests,
        has_screenshot="screenshot" in resources,
    )


@dataclass
class Timeline:
    years: list[PageYear]
    total: int
    counts: dict[str, int]
    first: CaptureView | None
    last: CaptureView | None


@dataclass(slots=True)
class TimelineItem:
    """One capture on a history page: what its line in the timeline shows."""

    id: str
    captured_iso: str
    captured_label: str
    kind: str
    status: int
    revisit: bool
    title: str
    added: int = 0
    removed: int = 0
    previous_id: str | None = None
    title_changed: bool = False


@dataclass(slots=True)
class Edge:
    """The first or last capture of a history, for its summary line."""

    id: str
    captured_iso: str
    captured_label: str


@dataclass
class PageMonth:
    """A month with captures on this page; ``total``/``changes`` count the whole month."""

    month: int
    total: int = 0
    changes: int = 0
    captures: list[TimelineItem] = field(default_factory=list)


@dataclass
class PageYear:
    year: int
    months: list[PageMonth] = field(default_factory=list)
    month_counts: list[int] = field(default_factory=lambda: [0] * 12)
    month_changes: list[int] = field(default_factory=lambda: [0] * 12)
    month_hrefs: list[str] = field(default_factory=lambda: [""] * 12)


def _edge(capture_id: str | None, moment: datetime | None) -> Edge | None:
    if capture_id is None or moment is None:
        return None
    moment = as_datetime(moment)
    return Edge(capture_id, moment.isoformat(), time_label(moment, seconds=True))


def _item(entry: TimelineEntry, first_id: str | None) -> TimelineItem:
    moment = as_datetime(entry.captured_at) or datetime(1970, 1, 1, tzinfo=UTC)
    kind = "changed" if entry.changed else "new" if entry.id == first_id else "unchanged"
    return TimelineItem(
        id=entry.id, captured_iso=moment.isoformat(),
        captured_label=time_label(moment, seconds=True), kind=kind, status=entry.status,
        revisit=entry.revisit, title=(entry.title or "").strip(), added=entry.words_added,
        removed=entry.words_removed, previous_id=entry.from_id,
        title_changed=entry.title_changed,
    )


def history_timeline(
    summary: HistorySummary, entries: list[TimelineEntry], month_href: Callable[[int, int], str]
) -> Timeline:
    """A history page: the calendar and counts of the whole history (``summary``, counted in
    SQL), the timeline of this page's ``entries`` (newest first) grouped by year and month.

    A month on this page links to its section, any other to ``month_href(year, month)``: the
    page that starts there. Each capture is marked by the history, not the page: "changed" when
    a recorded change ends at it, "new" when it is the URL's first capture, else "unchanged".
    """
    years: dict[int, PageYear] = {}
    for day in summary.days:
        year = years.setdefault(day.day.year, PageYear(day.day.year))
        year.month_counts[day.day.month - 1] += day.captures
        year.month_changes[day.day.month - 1] += day.changes
    for entry in entries:
        item = _item(entry, summary.first_id)
        moment = as_datetime(entry.captured_at) or datetime(1970, 1, 1, tzinfo=UTC)
        year = years.setdefault(moment.year, PageYear(moment.year))
        if not year.months or year.months[-1].month != moment.month:
            index = moment.month - 1
            year.months.append(
                PageMonth(moment.month, year.month_counts[index], year.month_changes[index])
            )
            year.month_hrefs[index] = f"#m{moment.year}-{moment.month}"
        year.months[-1].captures.append(item)
    ordered = sorted(years.values(), key=lambda y: y.year, reverse=True)
    for year in ordered:
        for index, count in enumerate(year.month_counts):
            if count and not year.month_hrefs[index]:
                year.month_hrefs[index] = month_href(year.year, index + 1)
    counts = {"new": summary.new, "changed": summary.changed, "unchanged": summary.unchanged}
    return Timeline(
        years=ordered,  # type: ignore[arg-type]
        total=summary.total,
        counts=counts,
        first=_edge(summary.first_id, summary.first_at),  # type: ignore[arg-type]
        last=_edge(summary.last_id, summary.last_at),  # type: ignore[arg-type]
    )


_MARK_SPLIT = re.compile(r"(</?mark>)")
_WORD = re.compile(r"\w+", re.UNICODE)


def query_terms(query: str) -> list[str]:
    """The words of a search query worth marking (operators and one-letter words left out)."""
    words = [w for w in _WORD.findall(query) if len(w) > 1 and w not in {"AND", "OR", "NOT"}]
    return sorted(set(words), key=len, reverse=True)


def mark_snippet(snippet_html: str, query: str) -> Markup:
    """The catalogue's snippet (escaped text, matches in ``<mark>``) rebuilt from escaped pieces.

    Only the ``<mark>`` tags survive: every other piece is unescaped and escaped again, so a
    snippet can never carry other markup onto the page. When the catalogue marked nothing (a
    phrase match it could not highlight), the query's words are marked here instead.
    """
    pieces = _MARK_SPLIT.split(snippet_html or "")
    if "<mark>" in pieces:
        out: list[str] = []
        inside = False
        for piece in pieces:
            if piece in ("<mark>", "</mark>"):
                inside = piece == "<mark>"
                continue
            text = str(escape(html.unescape(piece)))
            out.append(f"<mark>{text}</mark>" if inside and text else text)
        return Markup("".join(out))
    plain = html.unescape("".join(p for p in pieces if p not in ("<mark>", "</mark>")))
    terms = query_terms(query)
    if not terms:
        return escape(plain)
    pattern = re.compile(
        r"\b(" + "|".join(re.escape(t) for t in terms) + r")\w*", re.IGNORECASE | re.UNICODE
    )
    out = []
    last = 0
    for match in pattern.finditer(plain):
        out.append(str(escape(plain[last : match.start()])))
        out.append(f"<mark>{escape(match.group(0))}</mark>")
        last = match.end()
    out.append(str(escape(plain[last:])))
    return Markup("".join(out))


def reader_html(html: str) -> Markup:
    """Article HTML (already sanitised by the extractor) ready for the app's origin.

    Images become links: the archive keeps the page, not its images, and a reader's browser should
    not contact the original site just by opening an archived article.
    """
    from crawler.extract import sanitize_html

    safe = sanitize_html(html or "")
    if "<img" not in safe:
        return Markup(safe)
    try:
        root = lxml.html.fragment_fromstring(safe, create_parent="div")
    except (ValueError, ParserError):
        return Markup(safe)
    for img in list(root.iter("img")):
        src = img.get("src") or ""
        alt = (img.get("alt") or img.get("title") or "").strip()
        link = lxml.html.Element("a", {"class": "img-link", "href": src, "rel": "noopener noreferrer nofollow"})
        link.text = f"Image: {alt}" if alt else "Image"
        link.tail = img.tail
        if src:
            img.getparent().replace(img, link)
        else:
            img.drop_tree()
    inner = (root.text and str(escape(root.text)) or "") + "".join(
        tounicode(child, method="html") for child in root
    )
    return Markup(inner)
