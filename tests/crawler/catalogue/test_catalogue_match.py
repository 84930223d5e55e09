"""CDX-style URL matching (exact, prefix, host, domain) and collapsed search, on both engines."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crawler.catalogue import BadQuery, key_ranges, open_catalogue, url_key
from tests.kit.catalogue import T0, capture_row

URLS = [
    "https://example.com/",
    "https://example.com/path",
    "https://example.com/path/deeper",
    "https://example.com/pathology",
    "https://example.com/other",
    "https://www.example.com/www-is-the-same-host",
    "https://news.example.com/story",
    "https://a.b.example.com/deep-subdomain",
    "https://example.com:8080/other-port",
    "https://example.com.evil.org/path",
    "https://examplexcom.org/path",
    "https://examplexcom/path",
    "https://notexample.com/path",
    "https://examplex.com/path",
    "https://example0.com/path",
    "https://example-news.com/path",
    "https://example.co/path",
    "https://example.community/path",
    "https://org.example/com",
]


@pytest.fixture
def catalogue(settings, database):
    cat = open_catalogue(settings(database=database))
    yield cat
    cat.close()


@pytest.fixture
def spread(catalogue):
    for i, url in enumerate(URLS):
        for k in range(2):
            catalogue.record_capture(capture_row(url, T0 + timedelta(days=k, minutes=i)))
    return catalogue


def _urls(cat, url: str, match: str, **kwargs) -> list[str]:
    return [r.url for r in cat.iter_by_key(url, match=match, **kwargs)]


def test_key_ranges_are_surt_prefixes():
    assert key_ranges("http://example.com/a", "exact") == [("com,example)/a", None)]
    assert key_ranges("http://example.com/a", "prefix") == [("com,example)/a", "com,example)/b")]
    assert key_ranges("http://example.com/2024/", "prefix") == [("com,example)/2024/", "com,example)/20240")]
    assert key_ranges("http://www.example.com/a", "host") == [
        ("com,example)", "com,example*"), ("com,example:", "com,example;")
    ]
    assert key_ranges("http://news.example.com/", "domain") == [
        ("com,example,news)", "com,example,news-"), ("com,example,news:", "com,example,news;")
    ]
    assert key_ranges("http://example.com:8080/", "domain") == [("com,example:8080)", "com,example:8080*")]
    with pytest.raises(BadQuery, match="matchType"):
        key_ranges("http://example.com/", "regex")


def test_match_types_select_the_right_urls_in_cdx_order(spread):
    exact = _urls(spread, "http://example.com/path", "exact")
    assert exact == ["https://example.com/path"] * 2
    prefix = _urls(spread, "http://example.com/path", "prefix")
    assert sorted(set(prefix)) == [
        "https://example.com/path", "https://example.com/path/deeper", "https://example.com/pathology"
    ]
    host = set(_urls(spread, "http://example.com/anything", "host"))
    assert host == {
        "https://example.com/", "https://example.com/path", "https://example.com/path/deeper",
        "https://example.com/pathology", "https://example.com/other",
        "https://www.example.com/www-is-the-same-host", "https://example.com:8080/other-port",
    }
    assert set(_urls(spread, "http://example.com:8080/", "host")) == {"https://example.com:8080/other-port"}
    domain = set(_urls(spread, "http://example.com/", "domain"))
    assert domain == host | {"https://news.example.com/story", "https://a.b.example.com/deep-subdomain"}
    for look_alike in ("example.com.evil.org", "examplexcom", "notexample.com", "examplex.com", "example0.com",
                       "example-news", "example.co/", "example.community", "org.example"):
        assert not any(look_alike in u for u in domain), look_alike
    assert set(_urls(spread, "http://news.example.com/", "domain")) == {"https://news.example.com/story"}
    assert set(_urls(spread, "http://b.example.com/", "domain")) == {"https://a.b.example.com/deep-subdomain"}

    rows = list(spread.iter_by_key("http://example.com/", match="domain", batch=3))
    keys = [(r.url_key, r.captured_at, r.id) for r in rows]
    assert keys == sorted(keys) and len(rows) == 2 * len(domain)
    assert [r.id for r in spread.iter_by_key("http://example.com/", match="domain", reverse=True, batch=4)] == [
        r.id for r in reversed(rows)
    ]
    first_day = _urls(spread, "http://example.com/", "domain", until=T0 + timedelta(hours=1))
    assert len(first_day) == len(domain)
    page, cursor = spread.list_captures("http://example.com/path", match="prefix", limit=4)
    assert len(page) == 4 and cursor is not None
    assert {r.url_key for r in page} <= {url_key(u) for u in prefix}


def test_site_filter_uses_the_same_domain_range(spread):
    sites = {r.url for r in spread.iter_captures(site="example.com")}
    assert sites == set(_urls(spread, "http://example.com/", "domain"))
    assert spread.count_captures(site="example.com") == 2 * len(sites)


IP_URLS = [
    "http://127.0.0.1:8090/articles/one",
    "http://127.0.0.1:8090/",
    "http://127.0.0.1/no-port",
    "http://127.0.0.1:9/other-port",
    "http://127.0.0.10:8090/look-alike",
    "http://localhost:8090/named",
    "http://localhostx/look-alike",
]


def test_site_and_host_filters_find_hosts_with_ports(catalogue):
    """The demo site is http://127.0.0.1:8090/: its captures are found by the host, with or without its port."""
    for i, url in enumerate(IP_URLS):
        catalogue.record_capture(capture_row(url, T0 + timedelta(minutes=i)), text=f"harbour lights {i}")
    on_host = {u for u in IP_URLS if "//127.0.0.1:" in u or "//127.0.0.1/" in u}
    assert {r.url for r in catalogue.iter_captures(site="127.0.0.1")} == on_host
    assert {r.url for r in catalogue.iter_captures(site="127.0.0.1:8090")} == {IP_URLS[0], IP_URLS[1]}
    assert {r.url for r in catalogue.iter_captures(site="http://127.0.0.1:8090/")} == {IP_URLS[0], IP_URLS[1]}
    assert catalogue.count_captures(site="127.0.0.1") == len(on_host)
    assert {r.url for r in catalogue.iter_captures(site="localhost")} == {"http://localhost:8090/named"}
    assert set(_urls(catalogue, "http://127.0.0.1/", "host")) == on_host
    assert set(_urls(catalogue, "http://127.0.0.1:8090/", "domain")) == {IP_URLS[0], IP_URLS[1]}
    hits = catalogue.search("harbour lights", site="127.0.0.1", collapse=False)
    assert {h.capture.url for h in hits} == on_host
    rows = list(catalogue.iter_by_key("http://127.0.0.1/", match="domain", batch=1))
    assert [r.url_key for r in rows] == sorted(r.url_key for r in rows) and len(rows) == len(on_host)
    backwards = list(catalogue.iter_by_key("http://127.0.0.1/", match="domain", reverse=True, batch=2))
    assert [r.id for r in backwards] == [r.id for r in reversed(rows)]


def _versions(cat, url: str, texts: list[str], start_hour: int = 0) -> list:
    rows = []
    for i, text in enumerate(texts):
        row = capture_row(url, T0 + timedelta(hours=start_hour + i), text_digest=f"sha1:{hash(text) & 0xFFFFFF}")
        cat.record_capture(row, text=text)
        rows.append(row)
    return rows


def test_search_collapses_unchanged_recaptures(catalogue):
    same = "The harbour board approved the new lighthouse keeper's cottage."
    edited = "The harbour board rejected the new lighthouse keeper's cottage."
    a = _versions(catalogue, "https://example.com/lighthouse", [same, same, same, edited, edited])
    b = _versions(catalogue, "https://example.org/lighthouse", [same], start_hour=1)

    hits = catalogue.search("lighthouse cottage")
    assert len(hits) == 3
    by_id = {h.capture.id: h for h in hits}
    assert set(by_id) == {a[2].id, a[4].id, b[0].id}  # the newest capture of each version
    assert by_id[a[2].id].capture_count == 3 and by_id[a[2].id].first_captured_at == a[0].captured_at
    assert by_id[a[4].id].capture_count == 2 and by_id[a[4].id].first_captured_at == a[3].captured_at
    assert by_id[b[0].id].capture_count == 1
    assert by_id[a[2].id].to_dict()["capture_count"] == 3
    assert "<mark>" in by_id[a[2].id].snippet

    every = catalogue.search("lighthouse cottage", collapse=False)
    assert len(every) == 6
    assert {h.capture.id: h.capture_count for h in every}[a[0].id] == 3

    rejected = catalogue.search("rejected lighthouse")
    assert [h.capture.id for h in rejected] == [a[4].id]


def test_collapsed_search_pages_without_gaps_or_repeats(catalogue):
    text = "Quarterly tide tables for the estuary, version {}."
    expected = set()
    for n in range(7):
        url = f"https://example.com/tides/{n}"
        rows = _versions(catalogue, url, [text.format(n)] * 3)
        expected.add(rows[-1].id)
    pages = [catalogue.search("tide tables estuary", limit=3, offset=o) for o in (0, 3, 6, 9)]
    assert [len(p) for p in pages] == [3, 3, 1, 0]
    ids = [h.capture.id for p in pages for h in p]
    assert len(ids) == len(set(ids)) == 7 and set(ids) == expected
    assert all(h.capture_count == 3 for p in pages for h in p)
    every = [catalogue.search("tide tables estuary", limit=5, offset=o, collapse=False) for o in range(0, 25, 5)]
    assert [len(p) for p in every] == [5, 5, 5, 5, 1]
    assert len({h.capture.id for p in every for h in p}) == 21
