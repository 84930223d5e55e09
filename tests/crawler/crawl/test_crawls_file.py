"""crawls.toml: the shipped example, defaults, and errors that name the crawl and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.config import Settings
from crawler.crawl.definitions import CrawlConfigError, CrawlJob, load_crawls, parse_duration
from crawler.crawl.settings import scrapy_settings, user_agent
from crawler.crawl.spiders.feed import feed_links
from tests.kit.paths import ROOT


def test_the_shipped_crawls_file_has_one_enabled_loopback_crawl_and_disabled_real_sites() -> None:
    crawls = load_crawls(ROOT / "crawls.toml")
    scheduled = [c for c in crawls.values() if c.enabled and c.schedule]
    assert [c.name for c in scheduled] == ["demo"]
    for crawl in crawls.values():
        hosts = crawl.domains()
        if crawl.enabled:
            assert hosts == ["127.0.0.1"], crawl.name
        else:
            assert "127.0.0.1" not in hosts, crawl.name
    assert {c.spider for c in crawls.values()} == {"site", "sitemap", "feed", "wayback"}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "crawls.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_are_polite(tmp_path: Path) -> None:
    crawl = load_crawls(write(tmp_path, '[crawls.a]\nspider = "feed"\nseeds = ["https://x.test/rss"]\n'))["a"]
    assert crawl.render == "auto" and crawl.delay == 1.0 and crawl.concurrency == 2
    values = scrapy_settings(Settings(contact_url="https://example.org/about-our-crawl"), crawl)
    assert values["ROBOTSTXT_OBEY"] and values["AUTOTHROTTLE_ENABLED"]
    assert values["CONCURRENT_REQUESTS_PER_DOMAIN"] == 2 and values["RETRY_TIMES"] >= 1
    assert values["USER_AGENT"] == user_agent(Settings(contact_url="https://example.org/about-our-crawl"))
    assert "Declutter/" in values["USER_AGENT"] and "https://example.org/about-our-crawl" in values["USER_AGENT"]
    launch = values["PLAYWRIGHT_LAUNCH_OPTIONS"]
    assert launch["executable_path"] == Settings().chromium_path and launch["headless"]


def test_render_never_does_not_install_the_browser_handler(tmp_path: Path) -> None:
    crawl = load_crawls(write(tmp_path, '[crawls.a]\nspider = "urls"\nseeds = ["http://x.test/"]\nrender = "never"\n'))["a"]
    assert "DOWNLOAD_HANDLERS" not in scrapy_settings(Settings(), crawl)


@pytest.mark.parametrize(("body", "message"), [
    ('[crawls.a]\nspider = "nope"\nseeds = ["http://x/"]', "spider must be one of"),
    ('[crawls.a]\nspider = "urls"', "give seeds"),
    ('[crawls.a]\nspider = "urls"\nseeds = ["ftp://x/"]', "not an http(s) URL"),
    ('[crawls.a]\nspider = "urls"\nseeds = ["http://x/"]\nschedule = "every day"', "not a cron expression"),
    ('[crawls.a]\nspider = "urls"\nseeds = ["http://x/"]\nrender = "sometimes"', "render must be one of"),
    ('[crawls.a]\nspider = "urls"\nseeds = ["http://x/"]\nmax_pgaes = 3', "unknown field(s) max_pgaes"),
    ('[crawls.a]\nspider = "urls"\nseeds = ["http://x/"]\nmax_duration = "soon"', "not a duration"),
    ('[crawls.a]\nspider = "site"\nseeds = ["http://x/"]\narticle_patterns = ["("]', "bad regular expression"),
    ('[crawls.a]\nspider = "wayback"', "needs a [crawls.NAME.wayback] table"),
    ('[crawls.a]\nspider = "wayback"\n[crawls.a.wayback]\nurl = "x.org"\narchive = "http://a/c"\nfrom = "May"',
     "timestamps"),
    ('[crawls."a b"]\nspider = "urls"\nseeds = ["http://x/"]', "names use letters"),
    ("[crawls.a\n", "not valid TOML"),
])
def test_bad_definitions_say_what_is_wrong(tmp_path: Path, body: str, message: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(CrawlConfigError) as err:
        load_crawls(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_missing_file_says_how_to_point_at_one(tmp_path: Path) -> None:
    with pytest.raises(CrawlConfigError, match="DECLUTTER_CRAWLS_FILE"):
        load_crawls(tmp_path / "absent.toml")


def test_seeds_file_and_durations(tmp_path: Path) -> None:
    (tmp_path / "seeds.txt").write_text("# news\nhttp://a.test/1\n\nhttp://a.test/2\n")
    crawl = load_crawls(write(tmp_path, '[crawls.a]\nspider = "urls"\nseeds_file = "seeds.txt"\nmax_duration = "10m"\n'))["a"]
    assert crawl.all_seeds() == ["http://a.test/1", "http://a.test/2"]
    assert crawl.max_duration == 600 and parse_duration("2h", "x") == 7200 and parse_duration(5, "x") == 5


def test_wayback_archive_shortcut_means_pywb_cdx_and_replay(tmp_path: Path) -> None:
    crawl = load_crawls(write(tmp_path, '[crawls.w]\nspider = "wayback"\n[crawls.w.wayback]\n'
                              'archive = "http://127.0.0.1:8088/news/"\nurl = "example.org/a/"\nmatch = "prefix"\n'))["w"]
    assert crawl.wayback is not None and crawl.render == "never"
    assert crawl.wayback.cdx == "http://127.0.0.1:8088/news/cdx"
    assert crawl.wayback.replay == "http://127.0.0.1:8088/news"
    assert crawl.domains() == ["127.0.0.1"]


def test_feed_links_from_rss_rdf_and_atom() -> None:
    rss = b"""<rss version="2.0"><channel><item><link> /a.html </link></item>
      <item><guid>http://x.test/b.html</guid></item><item><link>/a.html</link></item></channel></rss>"""
    rdf = b"""<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
      <item rdf:about="http://x.test/c"><link>http://x.test/c</link></item></rdf:RDF>"""
    atom = b"""<feed xmlns="http://www.w3.org/2005/Atom"><entry>
      <link rel="self" href="http://x.test/self"/><link rel="alternate" type="text/html" href="/d"/>
      </entry><entry><link href="http://x.test/e"/></entry></feed>"""
    assert feed_links(rss, "http://x.test/feed") == ["http://x.test/a.html", "http://x.test/b.html"]
    assert feed_links(rdf, "http://x.test/feed") == ["http://x.test/c"]
    assert feed_links(atom, "http://x.test/feed") == ["http://x.test/d", "http://x.test/e"]


def test_one_run_of_a_crawl_at_a_time(tmp_path: Path) -> None:
    from crawler.crawl.definitions import CrawlBusy

    job = CrawlJob(tmp_path, "a")
    with job.locked():
        assert CrawlJob(tmp_path, "a").is_running()
        with pytest.raises(CrawlBusy, match="already running"):
            with CrawlJob(tmp_path, "a").locked():
                pass
    assert not CrawlJob(tmp_path, "a").is_running()


def test_cli_lists_crawls_and_names_unknown_ones(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from crawler.cli import main

    path = write(tmp_path, '[crawls.a]\nspider = "feed"\nseeds = ["https://x.test/rss"]\nschedule = "0 * * * *"\n')
    assert main(["crawl", "--list", "--file", str(path)]) == 0
    assert "a" in capsys.readouterr().out
    assert main(["crawl", "nope", "--file", str(path)]) == 1
    assert "no crawl named 'nope'" in capsys.readouterr().err
