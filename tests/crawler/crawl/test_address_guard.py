"""The crawl's address guard, tried as an attacker would, on loopback only.

The crawl's seed is a site on 127.0.0.1:A. The "internal" service is another loopback port B the
crawl never named (and names resolving to 127.0.0.1, which are not seeds either): every way a
crawled site can point the crawler at it (a redirect, a link, a feed or sitemap entry, a rendered
page navigating or loading it) must leave B with zero hits and the crawl with a
``skipped.blocked_address`` count and the URL in its log. ``allow_hosts`` opens B, which is also
the proof that these tests would see a hit if the guard let one through.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from twisted.internet.address import IPv4Address

from crawler.archive import Archiver
from crawler.config import Settings
from crawler.crawl.definitions import CrawlConfigError, load_crawls
from crawler.crawl.guard import GuardedNameResolver
from crawler.crawl.settings import scrapy_settings
from crawler.fetch.guard import CHROMIUM_NO_WEBRTC_ARGS, AddressGuard
from tests.kit.crawls import crawl_def, write_crawls
from tests.kit.probes import Pointer


@pytest.fixture
def seed_site() -> Any:
    site = Pointer().start()
    yield site
    site.stop()


@pytest.fixture
def internal() -> Any:
    site = Pointer().start()
    yield site
    site.stop()


def run_crawl(crawl_env: Any, tmp_path: Path, fields: dict[str, Any]) -> tuple[dict[str, Any], list[str], str]:
    """(counts, captured URLs, crawl log) of one crawl named ``g``."""
    settings, _, run = crawl_env()
    crawls = write_crawls(tmp_path / "crawls.toml", {"g": fields})
    result = run("g", crawls)
    assert result.returncode == 0, result.stderr[-3000:]
    with Archiver.from_settings(settings) as archiver:
        rows, _ = archiver.catalogue.list_captures(limit=100)
        counts = archiver.catalogue.list_crawls()[0].counts
    return counts, [row.url for row in rows], result.stderr


def query(*targets: str) -> str:
    return "?" + "&".join(f"to={t}" for t in targets)


def assert_refused(internal: Pointer, counts: dict[str, Any], log: str, urls: list[str]) -> None:
    assert sum(internal.hits.values()) == 0, f"the internal service was reached: {internal.hits}"
    assert counts.get("skipped.blocked_address") == len(urls), counts
    for url in urls:
        assert f"refused {url}" in log, f"{url} missing from the crawl log:\n{log[-3000:]}"


def test_a_redirect_to_an_internal_port_or_name_is_refused(
    seed_site: Pointer, internal: Pointer, crawl_env: Any, tmp_path: Path
) -> None:
    port = internal.origin.rsplit(":", 1)[1]
    targets = [internal.url("/by-address"), f"http://localhost:{port}/by-name"]
    seeds = [seed_site.url("/redirect" + query(t)) for t in targets]
    counts, captured, log = run_crawl(crawl_env, tmp_path, crawl_def("urls", seeds, render="never"))
    assert_refused(internal, counts, log, targets)
    assert seed_site.hits["/redirect"] == 2 and captured == []


def test_a_link_to_another_port_of_the_seed_host_is_refused(
    seed_site: Pointer, internal: Pointer, crawl_env: Any, tmp_path: Path
) -> None:
    """allowed_domains lets 127.0.0.1 through on any port; the guard does not."""
    target = internal.url("/linked")
    seed = seed_site.url("/link" + query(target))
    counts, captured, log = run_crawl(crawl_env, tmp_path, crawl_def("site", [seed], render="never"))
    assert_refused(internal, counts, log, [target])
    assert captured == [seed], captured


@pytest.mark.parametrize("spider", ["feed", "sitemap"])
def test_feed_and_sitemap_entries_naming_internal_addresses_are_refused(
    spider: str, seed_site: Pointer, internal: Pointer, crawl_env: Any, tmp_path: Path
) -> None:
    port = internal.origin.rsplit(":", 1)[1]
    targets = [
        internal.url("/entry"),
        f"http://localhost:{port}/named",
        f"http://2130706433:{port}/decimal",
        f"http://[::ffff:127.0.0.1]:{port}/mapped",
        "file:///etc/passwd",
    ]
    inner = seed_site.url("/link")  # a page of the seed site itself is still crawled
    path = "/feed.xml" if spider == "feed" else "/sitemap.xml"
    seed = seed_site.url(path + query(*targets, inner))
    counts, captured, log = run_crawl(crawl_env, tmp_path, crawl_def(spider, [seed], render="never"))
    assert_refused(internal, counts, log, targets)
    assert captured == [inner], captured


def test_allow_hosts_lets_a_named_internal_port_through(
    seed_site: Pointer, internal: Pointer, crawl_env: Any, tmp_path: Path
) -> None:
    port = internal.origin.rsplit(":", 1)[1]
    other = Pointer().start()  # a second internal service, on a port the entry does not name
    try:
        targets = [internal.url("/opened"), f"http://localhost:{port}/by-name", other.url("/closed")]
        seeds = [seed_site.url("/redirect" + query(t)) for t in targets]
        fields = crawl_def("urls", seeds, render="never", allow_hosts=[f"127.0.0.1:{port}"])
        counts, captured, log = run_crawl(crawl_env, tmp_path, fields)
    finally:
        other.stop()
    # an address entry opens that address and port, whatever name leads to it
    assert internal.hits["/opened"] == 1 and internal.hits["/by-name"] == 1, internal.hits
    assert sorted(captured) == sorted(targets[:2]), captured
    assert sum(other.hits.values()) == 0, other.hits
    assert counts.get("skipped.blocked_address") == 1 and f"refused {targets[2]}" in log, counts


@pytest.mark.parametrize("allowed", [False, True], ids=["refused", "allowed"])
def test_a_rendered_page_cannot_navigate_or_load_an_internal_address(
    allowed: bool, seed_site: Pointer, internal: Pointer, crawl_env: Any, tmp_path: Path
) -> None:
    port = internal.origin.rsplit(":", 1)[1]
    target = internal.url("/navigated")
    seed = seed_site.url("/navigate" + query(target))
    extra = {"allow_hosts": [f"127.0.0.1:{port}"]} if allowed else {}
    counts, captured, log = run_crawl(crawl_env, tmp_path, crawl_def("urls", [seed], render="always", **extra))
    assert captured == [seed], captured
    assert counts["browsers_started"] == 1, counts
    if allowed:
        # the same page with B opened: the render does reach it, so the refusal below is real
        assert internal.hits["/navigated"] >= 1 and internal.hits["/navigated-sub"] >= 1, internal.hits
        assert not counts.get("skipped.blocked_address"), counts
        return
    assert sum(internal.hits.values()) == 0, f"the render reached the internal service: {internal.hits}"
    assert counts.get("skipped.blocked_address", 0) >= 1, counts
    assert f"refused {target}" in log and f"asked for by the render of {seed}" in log, log[-3000:]


def test_allow_hosts_is_checked_when_the_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "crawls.toml"
    path.write_text('[crawls.a]\nspider = "urls"\nseeds = ["http://x.test/"]\n'
                    'allow_hosts = ["10.0.0.0/33"]\n', encoding="utf-8")
    with pytest.raises(CrawlConfigError, match=r"crawl 'a': allow_hosts: '10.0.0.0/33' is not a host"):
        load_crawls(path)


def test_the_guard_settings_name_the_seeds_and_allow_hosts_and_keep_webrtc_off(tmp_path: Path) -> None:
    path = tmp_path / "crawls.toml"
    path.write_text(
        '[crawls.a]\nspider = "urls"\nseeds = ["http://127.0.0.1:8090/", "https://intranet.test/x"]\n'
        'allow_hosts = ["10.1.2.3"]\n'
        '[crawls.a.scrapy]\nPLAYWRIGHT_LAUNCH_OPTIONS = { args = ["--mute-audio"] }\n',
        encoding="utf-8",
    )
    values = scrapy_settings(Settings(allowed_fetch_hosts=["db.internal:5432"]), load_crawls(path)["a"])
    assert values["DECLUTTER_FETCH_ALLOW"] == [
        "127.0.0.1:8090", "intranet.test:443", "10.1.2.3", "db.internal:5432"]
    assert values["TWISTED_DNS_RESOLVER"].endswith("GuardedNameResolver")
    args = values["PLAYWRIGHT_LAUNCH_OPTIONS"]["args"]
    assert args[0] == "--mute-audio" and set(CHROMIUM_NO_WEBRTC_ARGS) <= set(args), args


class _Rebinding:
    """A name resolver whose answer for a name changes: first a public address, then loopback."""

    def __init__(self) -> None:
        self.answers = ["192.0.2.10", "127.0.0.1"]  # TEST-NET-1 stands for public; never connected

    def resolveHostName(self, receiver: Any, host: str, port: int = 0, *args: Any) -> Any:  # noqa: N802
        receiver.resolutionBegan(None)
        receiver.addressResolved(IPv4Address("TCP", self.answers.pop(0), port))
        receiver.resolutionComplete()
        return receiver


def test_the_resolver_judges_the_answer_it_connects_with(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no DNS cache a re-pointed name gets a fresh answer, and that answer is judged too."""
    from scrapy.resolver import dnscache

    monkeypatch.setattr(dnscache, "limit", 0)
    guard = AddressGuard(["192.0.2.0/24"])  # the "public" stand-in, so only loopback is refused
    resolver = GuardedNameResolver(SimpleNamespace(nameResolver=_Rebinding()), 0, guard)
    first: list[Any] = []
    resolver.judge("rebind.test", 80).addBoth(first.append)
    assert first == [None]
    connected: list[str] = []
    receiver = SimpleNamespace(resolutionBegan=lambda r: None, resolutionComplete=lambda: None,
                               addressResolved=lambda a: connected.append(a.host))
    resolver.resolveHostName(receiver, "rebind.test", 80)
    assert connected == [], "the connect-time answer (loopback) was handed to the connector"
    assert "a loopback address" in resolver.refused[("rebind.test", 80)]
