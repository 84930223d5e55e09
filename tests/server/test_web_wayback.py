"""The web app reads the Wayback Machine's addresses as pywb does (issue 13, item 5): the capture
nearest a time, ``*`` listings with a time prefix, addresses without a scheme; and the listing
form, the home page grouped by article, and the smaller web items of item 8.

One archive for the module, on real SeaweedFS and SQLite, read through the real server.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crawler.archive import Archiver
from crawler.snapshot.capture import Capture
from tests.kit.api import Api, running_api
from tests.kit.archive import archive_page
from tests.kit.origin import PARAGRAPHS, article_html
from tests.kit.settings import settings_for

A = "https://example.com/a"
A_TIMES = [
    datetime(2023, 12, 1, 8, tzinfo=UTC),
    datetime(2024, 4, 1, 8, tzinfo=UTC),
    datetime(2024, 5, 2, 12, tzinfo=UTC),
    datetime(2024, 7, 1, 8, tzinfo=UTC),
]
OTHERS = {
    "https://example.com/ab": datetime(2024, 3, 1, tzinfo=UTC),
    "https://example.com/news/one": datetime(2024, 2, 1, tzinfo=UTC),
    "https://example.com/news/two": datetime(2025, 1, 1, tzinfo=UTC),
    "https://sub.example.com/x": datetime(2024, 6, 1, tzinfo=UTC),
    "https://example.org/a": datetime(2024, 5, 1, tzinfo=UTC),
    "http://127.0.0.1:8090/articles/harbour": datetime(2024, 5, 3, tzinfo=UTC),
}

SKIPPED_URL = "https://example.com/report.pdf"
# A static list page: links and headlines, no article, no script anywhere.
LIST_PAGE = "<!doctype html><html><head><title>Sections</title></head><body><ul>" + "".join(
    f'<li><a href="/s/{n}">Section {n}</a></li>' for n in range(30)
) + "</ul></body></html>"


@dataclass
class Site:
    api: Api
    a_ids: list[str]
    ids: dict[str, str]

    async def get(self, path: str, **kwargs: Any) -> tuple[int, str, str]:
        """(status, Location or "", body) of one request, redirects not followed."""
        response = await self.api.client.get(path, allow_redirects=False, **kwargs)
        return response.status, response.headers.get("Location", ""), await response.text()


@pytest.fixture(scope="module")
async def site(s3_server: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    data_dir = tmp_path_factory.mktemp("wayback")
    (data_dir / "crawls.toml").write_text(
        '[crawls.morning]\nspider = "urls"\nseeds = ["https://example.com/a"]\nschedule = "0 6 * * *"\n\n'
        '[crawls.archived-feeds]\nspider = "feed"\nseeds = ["https://example.com/feed"]\n'
        'schedule = "0 7 * * *"\nenabled = false\n',
        encoding="utf-8",
    )
    settings = settings_for(
        s3_server, data_dir, rate_limit=0.0, crawls_file=data_dir / "crawls.toml"
    )
    archiver = Archiver.from_settings(settings)
    crawl_id = archiver.catalogue.start_crawl("morning")
    archiver.catalogue.finish_crawl(
        crawl_id,
        {"pages": 8, "captured": 1, "deduplicated": 5, "new": 0, "changed": 1, "unchanged": 5,
         "skipped": 2, "skipped.binary": 2, "urls": {"skipped.binary": [SKIPPED_URL]}},
    )
    ids_by_name = {
        "crawled": archiver.archive(Capture(
            url="https://example.net/crawled", status=200, crawl_id=crawl_id,
            body=article_html("Crawled", PARAGRAPHS).encode(), captured_at=datetime(2024, 1, 5, tzinfo=UTC),
            response_headers=[("Content-Type", "text/html; charset=utf-8")],
        )).capture_id,
        "list": archive_page(
            archiver, "https://example.net/sections", LIST_PAGE, datetime(2024, 1, 6, tzinfo=UTC)
        ),
    }
    a_ids = []
    for i, when in enumerate(A_TIMES):  # each capture a new version of the text
        a_ids.append(archive_page(archiver, A, article_html("Story A", [f"Version {i}.", *PARAGRAPHS]), when))
    ids = {
        url: archive_page(archiver, url, article_html(f"Page {url}", PARAGRAPHS), when)
        for url, when in OTHERS.items()
    }
    ids.update(ids_by_name)
    try:
        async with running_api(settings, archiver=archiver) as api:
            yield Site(api, a_ids, ids)
    finally:
        archiver.close()


def listed_urls(body: str) -> list[str]:
    """The addresses of a listing page's table, in its order."""
    table = body.split('<table class="listing">', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<th scope="row" class="url"><a href="[^"]*">([^<]*)</a>', table)


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("20240501000000", 2),  # a day before the third capture, a month after the second
        ("20240415", 1),  # nearer 1 April than 2 May
        ("2024", 0),  # 1 January 2024: nearer 1 December 2023
        ("20300101", 3),  # after the last: the last
        ("20240501000000if_", 2),  # pywb's modifiers are accepted
    ],
)
async def test_a_timestamp_opens_the_capture_nearest_it(site: Site, stamp: str, expected: int) -> None:
    for address in (A, "example.com/a", "http://example.com/a", "https:/example.com/a"):
        status, location, _ = await site.get(f"/web/{stamp}/{address}")
        assert (status, location) == (302, f"/web/capture/{site.a_ids[expected]}"), (stamp, address)


async def test_id_after_a_timestamp_opens_the_bytes_as_captured(site: Site) -> None:
    status, location, _ = await site.get("/web/20240501000000id_/example.com/a")
    assert (status, location) == (302, f"/api/v1/captures/{site.a_ids[2]}/raw")
    raw = await site.api.client.get(location)
    assert raw.status == 200 and "Version 2." in await raw.text()


async def test_a_timestamp_never_becomes_part_of_the_address(site: Site) -> None:
    status, location, body = await site.get("/web/20240501000000/http://example.com/never")
    assert status == 404 and "20240501" not in location
    assert "no capture of http://example.com/never" in body


async def test_an_address_without_a_scheme_opens_its_history(site: Site) -> None:
    status, location, _ = await site.get("/web/example.com/a")
    assert (status, location) == (302, "/web/" + A)  # spelled as its captures spell it
    status, _, body = await site.get("/web/*/" + A)
    assert status == 200 and body.count('<li class="') >= len(A_TIMES)
    status, _, body = await site.get("/web/example.com/nothing-here")
    assert status == 404 and "No captures of this address" in body


async def test_a_prefix_lists_every_address_under_it(site: Site) -> None:
    status, _, body = await site.get("/web/*/example.com/*")
    assert status == 200
    assert listed_urls(body) == [A, "https://example.com/ab", "https://example.com/news/one",
                                 "https://example.com/news/two"]
    assert f"{len(A_TIMES) + 3} captures" in body
    status, _, body = await site.get("/web/*/example.com/a*")
    assert listed_urls(body) == [A, "https://example.com/ab"]
    assert re.search(rf'<th scope="row" class="url"><a href="/web/{re.escape(A)}">{re.escape(A)}</a>.*?'
                     rf"<td>{len(A_TIMES)}</td>", body, re.S)


async def test_a_time_prefix_filters_a_listing(site: Site) -> None:
    status, _, body = await site.get("/web/2024*/example.com/*")
    assert status == 200
    assert listed_urls(body) == [A, "https://example.com/ab", "https://example.com/news/one"]
    assert "<td>3</td>" in body  # A's three 2024 captures, not its 2023 one
    status, _, body = await site.get("/web/202405*/example.com/a")
    captures = re.findall(r'href="/web/capture/([^"]+)"', body.split("Each capture", 1)[1])
    assert captures == [site.a_ids[2]]
    status, _, body = await site.get("/web/1999*/example.com/*")
    assert status == 404 and "No captures" in body


async def test_a_domain_lists_its_subdomains_and_no_look_alikes(site: Site) -> None:
    _, _, body = await site.get("/web/*/*.example.com")
    urls = listed_urls(body)
    assert "https://sub.example.com/x" in urls and A in urls
    assert "https://example.org/a" not in urls


async def test_the_listing_form_takes_a_prefix_or_a_site_with_its_ports(site: Site) -> None:
    status, _, body = await site.get("/web/list")
    assert status == 200 and 'name="site"' in body and "<table" not in body
    _, _, body = await site.get("/web/list", params={"url": "example.com/news/"})
    assert listed_urls(body) == ["https://example.com/news/one", "https://example.com/news/two"]
    _, _, body = await site.get("/web/list", params={"site": "127.0.0.1"})
    assert listed_urls(body) == ["http://127.0.0.1:8090/articles/harbour"]
    _, _, body = await site.get("/web/list", params={"site": "example.com", "from": "2024-06-01", "to": "2024-12-31"})
    assert listed_urls(body) == [A, "https://sub.example.com/x"]
    status, _, body = await site.get("/web/list", params={"url": "example.com", "site": "example.com"})
    assert status == 400 and "either" in body
    status, location, _ = await site.get("/web/history", params={"url": "example.com/news/*"})
    assert status == 303 and location.startswith("/web/list?url=example.com")


async def test_two_chosen_captures_open_the_compare_view_oldest_first(site: Site) -> None:
    first, _, _, last = site.a_ids
    status, location, _ = await site.get(f"/web/compare?c={last}&c={first}")
    assert (status, location) == (303, f"/web/compare?a={first}&b={last}")
    status, _, body = await site.get(f"/web/compare?c={first}")
    assert status == 400 and "choose two captures" in body
    _, _, history = await site.get("/web/" + A)
    boxes = re.findall(r'<input class="pick" type="checkbox" name="c" value="([^"]+)"', history)
    assert sorted(boxes) == sorted(site.a_ids)
    assert 'action="/web/compare"' in history


async def test_times_in_lists_show_seconds(site: Site) -> None:
    _, _, body = await site.get("/web/" + A)
    assert "2 May 2024, 12:00:00 UTC" in body


async def test_a_favicon_is_served_and_linked(site: Site) -> None:
    response = await site.api.client.get("/favicon.ico", allow_redirects=True)
    assert response.status == 200 and response.headers["Content-Type"].startswith("image/")
    icon = await response.read()
    _, _, home = await site.get("/")
    link = re.search(r'<link rel="icon" href="([^"]+)"', home)
    assert link is not None
    served = await site.api.client.get(link.group(1))
    assert served.status == 200 and await served.read() == icon


async def test_home_groups_captures_by_article_with_changes_first(site: Site) -> None:
    _, _, body = await site.get("/")
    section = body.split('id="newest-heading"', 1)[1].split("</section>", 1)[0]
    items = re.findall(r'<li class="article[^"]*">(.*?)</li>', section, re.S)
    shown = [re.search(r'class="title" href="/web/capture/([^"]+)"', item).group(1) for item in items]  # type: ignore[union-attr]
    ids = site.ids
    # by latest news: the last change (A, 1 July 2024), else the first capture; revisits move nothing
    assert shown == [
        ids["https://example.com/news/two"], site.a_ids[-1], ids["https://sub.example.com/x"],
        ids["http://127.0.0.1:8090/articles/harbour"], ids["https://example.org/a"],
        ids["https://example.com/ab"], ids["https://example.com/news/one"], ids["list"], ids["crawled"],
    ]
    story_a = items[1]
    assert f"{len(A_TIMES)} captures" in story_a and "1 Jul 2024, 08:00:00 UTC" in story_a
    assert f'href="/web/compare?a={site.a_ids[-2]}&amp;b={site.a_ids[-1]}"' in story_a


def test_nearest_prefers_the_earlier_capture_on_a_tie() -> None:
    from server.web.wayback import nearest

    class Rows:
        def list_captures(self, url: str, **kw: Any) -> tuple[list[Any], None]:
            before = type("Row", (), {"captured_at": datetime(2024, 1, 1, tzinfo=UTC), "id": "before"})
            after = type("Row", (), {"captured_at": datetime(2024, 1, 3, tzinfo=UTC), "id": "after"})
            return ([before] if kw.get("newest_first") else [after]), None

    assert nearest(Rows(), A, datetime(2024, 1, 2, tzinfo=UTC)).id == "before"  # type: ignore[arg-type, union-attr]
    assert nearest(Rows(), A, datetime(2024, 1, 2, 1, tzinfo=UTC) + timedelta(0)).id == "after"  # type: ignore[arg-type, union-attr]


async def test_the_save_form_keeps_its_address_after_an_error(site: Site) -> None:
    typed = "http://127.0.0.1:9/news/kept-address"
    response = await site.api.client.post("/web/save", data={"url": typed, "token": "dcl_wrong"})
    body = await response.text()
    assert response.status == 401 and "not valid" in body
    assert f'id="save-url" name="url" type="url" value="{typed}"' in body
    response = await site.api.client.post(
        "/web/save", data={"url": typed, "token": site.api.token}
    )  # a token, but the guard refuses a private address no one allowed
    body = await response.text()
    assert response.status == 403 and "Not captured:" in body and f'value="{typed}"' in body


async def test_the_crawls_page_says_which_crawls_are_disabled(site: Site) -> None:
    _, _, body = await site.get("/web/crawls")
    rows = dict(re.findall(r'<tr(?: class="disabled")?><th scope="row">([\w-]+)(.*?)</tr>', body, re.S))
    assert set(rows) == {"morning", "archived-feeds"}
    assert "disabled" in rows["archived-feeds"] and "enabled = false" in rows["archived-feeds"]
    assert "disabled" not in rows["morning"]
    assert "6 checked: 0 new, 1 changed, 5 unchanged" in body
    skipped = body.split("Skipped pages by reason", 1)[1].split("</details>", 1)[0]
    assert "<code>binary</code>: 2" in skipped and f'<li class="url">{SKIPPED_URL}</li>' in skipped
    assert "and 1 more" in skipped


async def test_a_capture_names_its_crawl(site: Site) -> None:
    _, _, body = await site.get(f"/web/capture/{site.ids['crawled']}")
    crawl = re.search(r"<dt>Crawl</dt><dd><a [^>]*>(.*?)</a>", body)
    assert crawl is not None and crawl.group(1).startswith("morning"), body[-2000:]


async def test_a_static_page_without_an_article_says_what_was_looked_at(site: Site) -> None:
    _, _, body = await site.get(f"/web/capture/{site.ids['list']}")
    assert "No article text was found in the HTML the site served" in body
    assert "JavaScript" not in body and "built by" not in body


@pytest.mark.parametrize(
    "tail",
    [
        "xn--zz.example/a", "example.com:abc/a", "20240501/example.com:99999999/a",
        "2024*/xn--zz.example/*", "*/*.xn--zz.example", "2024x/example.com/a", "20241399*/example.com/*",
        "*/" + "a" * 80 + ".example/*", "http://", "*",
    ],
)
async def test_an_address_the_archive_cannot_look_up_is_a_readable_400(site: Site, tail: str) -> None:
    status, _, body = await site.get("/web/" + tail)
    assert status in (400, 404), (tail, status, body[-500:])
    assert "Something went wrong" not in body


async def test_a_listing_over_its_limit_says_how_to_see_the_rest(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server.web import wayback

    monkeypatch.setattr(wayback, "LISTING_CAPTURES", 3)
    _, _, body = await site.get("/web/*/example.com/*")
    assert listed_urls(body) == [A]  # A's first three captures, in address order
    assert "Only the first 3 captures" in body and "narrow the prefix" in body


async def test_a_capture_page_offers_its_citation_in_three_formats(site: Site) -> None:
    capture_id = site.a_ids[1]
    status, _, page = await site.get(f"/web/capture/{capture_id}")
    assert status == 200
    cite = page[page.index('id="cite-heading"'):]
    hrefs = re.findall(r'href="([^"]+/cite\?format=[a-z-]+)"', cite)
    assert hrefs == [
        f"/api/v1/captures/{capture_id}/cite?format={fmt}" for fmt in ("text", "bibtex", "csl-json")
    ]
    status, _, text = await site.get(hrefs[0])
    assert status == 200 and A in text and "Archived 2024-04-01T08:00:00Z" in text
    assert re.search(r"WARC record sha256:[0-9a-f]{64}", text)
    status, _, bibtex = await site.get(hrefs[1])
    assert status == 200 and bibtex.startswith(f"@misc{{declutter-{capture_id},")


async def test_search_says_how_many_hits_there_are_over_every_page(site: Site) -> None:
    response = await site.api.client.get("/api/v1/search", params={"q": "footbridge", "limit": "2"})
    answer = await response.json()
    assert response.status == 200 and len(answer["results"]) == 2
    everything = await site.api.client.get("/api/v1/search", params={"q": "footbridge", "limit": "100"})
    total = len((await everything.json())["results"])
    assert answer["total"] == total > 2
    status, _, page = await site.get("/web/search?q=footbridge")
    assert status == 200
    assert re.search(rf"Results 1–{min(total, 20)} of {total}\b", page), page[:2000]
