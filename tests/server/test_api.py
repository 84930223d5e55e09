"""The server without storage: /clean with posted HTML, errors, CORS, limits, health, metrics, SSRF.

Storage and the catalogue point at nothing here, which is also the "degraded, not down" case:
everything that does not need them must work.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from crawler.config import Settings
from tests.kit.api import Api, running_api
from tests.kit.origin import PARAGRAPHS, NamesResolver, Origin, article_html
from tests.kit.text import collapse


def offline_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Storage and catalogue unreachable: S3 on a closed loopback port, SQLite under a plain file."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    return replace(
        Settings(),
        data_dir=tmp_path / "data",
        s3_endpoint="127.0.0.1:9",
        database_url=f"sqlite:///{blocker}/catalogue.sqlite3",
        **{"rate_limit": 0.0, "max_page_bytes": 1024 * 1024, **overrides},
    )


@pytest.fixture
async def offline(tmp_path: Path, origin: Origin) -> AsyncIterator[Api]:
    async with running_api(offline_settings(tmp_path), allow=[f"127.0.0.1:{origin.port}"]) as api:
        yield api


def _error(body: dict) -> tuple[str, str]:
    assert set(body) == {"error", "detail"}, body
    assert "Traceback" not in body["detail"]
    return body["error"], body["detail"]


async def test_clean_posted_seed_page(offline: Api, seed_dir: Path, seed_expectations) -> None:
    must, must_not = seed_expectations
    html = (seed_dir / "page.html").read_text(encoding="utf-8")
    response = await offline.client.post(
        "/api/v1/clean", json={"url": "https://news.example.com/seed", "html": html}
    )
    assert response.status == 200, await response.text()
    article = await response.json()
    assert article["source"] == "posted"
    assert response.headers["X-Cache"] == "miss"
    text = collapse(article["text"])
    for line in must:
        assert line in text or line in collapse(article["title"] or "")
    for line in must_not:
        assert line not in text and line not in article["html"]
    assert "<script" not in article["html"].lower()

    again = await offline.client.post(
        "/api/v1/clean", json={"url": "https://news.example.com/seed", "html": html}
    )
    assert again.headers["X-Cache"] == "hit"
    assert await again.json() == article
    other_url = await offline.client.post(
        "/api/v1/clean", json={"url": "https://news.example.com/other", "html": html}
    )
    assert other_url.headers["X-Cache"] == "miss"
    metrics = await (await offline.client.get("/metrics")).text()
    assert 'declutter_clean_cache_total{result="hit"} 1.0' in metrics
    assert 'declutter_clean_cache_total{result="miss"} 2.0' in metrics
    assert "declutter_extraction_seconds_count" in metrics


async def test_clean_returns_sanitised_html(offline: Api) -> None:
    hostile = article_html(
        "Hostile",
        PARAGRAPHS,
        extra='<p>More <a href="javascript:alert(1)">link</a> <img src="x.png" onerror="alert(2)">'
        "<script>alert(3)</script> text that is long enough to stay in the article body.</p>",
    )
    response = await offline.client.post(
        "/api/v1/clean", json={"url": "https://news.example.com/h", "html": hostile}
    )
    assert response.status == 200
    html = (await response.json())["html"].lower()
    assert "footbridge" in html
    for bad in ("<script", "javascript:", "onerror", "alert("):
        assert bad not in html


@pytest.mark.parametrize(
    "body,status,error",
    [
        (b"", 400, "bad_request"),
        (b"not json", 400, "bad_request"),
        (b"[1, 2]", 400, "bad_request"),
        (json.dumps({"html": "<p>x</p>"}).encode(), 400, "bad_request"),
        (json.dumps({"url": "ftp://example.com/", "html": "<p>x</p>"}).encode(), 400, "bad_request"),
        (json.dumps({"url": "https://example.com/", "html": 5}).encode(), 400, "bad_request"),
        (json.dumps({"url": "https://example.com/", "html": "<ul><li>menu</li></ul>"}).encode(), 422, "no_article"),
    ],
)
async def test_clean_bad_input(offline: Api, body: bytes, status: int, error: str) -> None:
    response = await offline.client.post(
        "/api/v1/clean", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status == status
    assert _error(await response.json())[0] == error


async def test_body_cap(tmp_path: Path) -> None:
    async with running_api(offline_settings(tmp_path, max_body_bytes=100_000)) as api:
        big = {"url": "https://example.com/", "html": "<p>" + "x" * 200_000 + "</p>"}
        response = await api.client.post("/api/v1/clean", json=big)
        assert response.status == 413
        error, detail = _error(await response.json())
        assert "100000" in detail


async def test_unknown_route_and_method_are_json(offline: Api) -> None:
    response = await offline.client.get("/api/v1/nothing-here")
    assert response.status == 404
    assert _error(await response.json())[0] == "not_found"
    response = await offline.client.put("/api/v1/clean", json={})
    assert response.status == 405
    assert "POST" in response.headers["Allow"]
    _error(await response.json())


async def test_degraded_health_and_503s(offline: Api) -> None:
    health = await offline.client.get("/healthz")
    assert health.status == 200
    report = await health.json()
    assert report["status"] == "degraded"
    assert report["checks"]["catalogue"]["ok"] is False
    assert "catalogue" in report["checks"]["catalogue"]["detail"]
    for path in ("/api/v1/captures", "/api/v1/search?q=bridge", "/api/v1/captures/x1",
                 "/timemap/link/https://example.com/", "/cdx?url=https://example.com/"):
        response = await offline.client.get(path)
        assert response.status == 503, path
        error, detail = _error(await response.json())
        assert error == "service_unavailable" and "catalogue" in detail
        assert response.headers["Retry-After"]
    response = await offline.client.post(
        "/api/v1/captures", json={"url": "https://example.com/"}, headers=offline.auth
    )
    assert response.status == 503


async def test_clean_without_html_fetches_when_the_archive_is_down(
    offline: Api, origin: Origin
) -> None:
    response = await offline.client.post("/api/v1/clean", json={"url": origin.page("/article")})
    assert response.status == 200, await response.text()
    article = await response.json()
    assert article["source"] == "fetched"
    assert "footbridge" in article["text"]


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "localhost", "[::1]", "0.0.0.0", "127.1", "2130706433", "0x7f000001",
     "[::ffff:127.0.0.1]"],
)
async def test_ssrf_loopback_refused_end_to_end(tmp_path: Path, origin: Origin, host: str) -> None:
    """With no allow-list (the default), /clean refuses to fetch any spelling of loopback."""
    async with running_api(offline_settings(tmp_path)) as api:
        before = len(origin.hits)
        response = await api.client.post(
            "/api/v1/clean", json={"url": f"http://{host}:{origin.port}/article"}
        )
        assert response.status == 403, await response.text()
        error, detail = _error(await response.json())
        assert error == "fetch_refused" and "refusing to fetch" in detail
        assert len(origin.hits) == before


async def test_ssrf_redirect_from_allowed_origin_to_other_port_refused(
    offline: Api, origin: Origin, other_origin: Origin
) -> None:
    before = len(other_origin.hits)
    response = await offline.client.post(
        "/api/v1/clean", json={"url": origin.page(f"/redirect?to={other_origin.page('/article')}")}
    )
    assert response.status == 403
    assert _error(await response.json())[0] == "fetch_refused"
    assert len(other_origin.hits) == before


async def test_fetch_failures_are_clear(offline: Api, origin: Origin) -> None:
    cases = [
        ("/big", 422, "page_too_large"),
        ("/chain/20", 422, "too_many_redirects"),
        ("/empty", 422, "no_article"),
    ]
    for path, status, error in cases:
        response = await offline.client.post("/api/v1/clean", json={"url": origin.page(path)})
        assert response.status == status, path
        assert _error(await response.json())[0] == error
    response = await offline.client.post("/api/v1/clean", json={"url": "https://unknown.test/"})
    assert response.status == 422
    assert _error(await response.json())[0] == "unresolvable_host"


async def test_cors_for_extensions_only(offline: Api) -> None:
    extension = "chrome-extension://abcdefghijklmnopabcdefghijklmnop"
    preflight = await offline.client.options(
        "/api/v1/captures",
        headers={"Origin": extension, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization, content-type"},
    )
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == extension
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    response = await offline.client.get("/healthz", headers={"Origin": "moz-extension://1234"})
    assert response.headers["Access-Control-Allow-Origin"] == "moz-extension://1234"
    assert "Origin" in response.headers["Vary"]
    evil = await offline.client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in evil.headers
    refused = await offline.client.options(
        "/api/v1/clean",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert refused.status == 403
    assert "Access-Control-Allow-Origin" not in refused.headers


async def test_configured_cors_origin(tmp_path: Path) -> None:
    settings = offline_settings(tmp_path, cors_origins=["https://reader.example.org"])
    async with running_api(settings) as api:
        response = await api.client.get("/healthz", headers={"Origin": "https://reader.example.org"})
        assert response.headers["Access-Control-Allow-Origin"] == "https://reader.example.org"


async def test_rate_limit_per_client(tmp_path: Path) -> None:
    async with running_api(offline_settings(tmp_path, rate_limit=0.5, rate_burst=3)) as api:
        statuses = []
        for _ in range(5):
            response = await api.client.get("/api/v1/openapi.json")
            statuses.append(response.status)
        assert statuses[:3] == [200, 200, 200]
        assert statuses[3:] == [429, 429]
        assert int(response.headers["Retry-After"]) >= 1
        assert _error(await response.json())[0] == "rate_limited"
        assert (await api.client.get("/healthz")).status == 200
        metrics = await (await api.client.get("/metrics")).text()
        assert "declutter_rate_limited_total 2.0" in metrics


async def test_metrics_are_prometheus_text(offline: Api) -> None:
    await offline.client.get("/api/v1/openapi.json")
    response = await offline.client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    text = await response.text()
    assert '# TYPE declutter_http_requests_total counter' in text
    assert 'declutter_http_requests_total{method="GET",route="/api/v1/openapi.json",status="200"} 1.0' in text
    assert 'declutter_http_request_duration_seconds_bucket{le="0.005",route="/api/v1/openapi.json"}' in text


async def test_openapi_document_lists_every_route(offline: Api) -> None:
    document = await (await offline.client.get("/api/v1/openapi.json")).json()
    assert document["openapi"].startswith("3.")
    served = {
        resource.canonical
        for resource in offline.app.router.resources()
        if resource.canonical.startswith(("/api/", "/timemap", "/timegate", "/cdx", "/healthz", "/metrics"))
    }
    documented = set(document["paths"])
    assert served == documented


async def test_endpoints_come_back_when_the_catalogue_does(tmp_path: Path, origin: Origin) -> None:
    """Nothing is opened at startup; after the catalogue returns, its endpoints answer again,
    and a capture made while storage is still down is kept in the spool (202), not lost."""
    from aiohttp.test_utils import TestClient, TestServer

    from crawler.fetch import AddressGuard
    from server import state
    from server.app import create_app
    from server.auth import TokenStore
    from server.state import Backends
    settings = offline_settings(tmp_path)
    tokens = TokenStore.from_settings(settings)
    token = tokens.create()
    app = create_app(settings, guard=AddressGuard([f"127.0.0.1:{origin.port}"]), tokens=tokens,
                     resolver=NamesResolver(), app_modules=[])
    app[state.BACKENDS] = Backends(settings, retry_interval=0.0)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        assert (await client.get("/api/v1/captures")).status == 503
        blocker = tmp_path / "not-a-directory"
        blocker.unlink()
        blocker.mkdir()
        listing = await client.get("/api/v1/captures")
        assert listing.status == 200, await listing.text()
        assert (await listing.json())["captures"] == []
        response = await client.post(
            "/api/v1/captures", json={"url": origin.page("/article")},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status == 202, await response.text()
        body = await response.json()
        assert body["spooled"] is True and body["id"]
        assert any(settings.spool_dir.iterdir())
        health = await (await client.get("/healthz")).json()
        assert health["checks"]["catalogue"]["ok"] is True
        assert health["checks"]["storage"]["ok"] is False


async def test_clean_renders_a_page_built_by_javascript(
    offline: Api, origin: Origin, seed_dir: Path, seed_expectations
) -> None:
    """page-js.html has no article until its script runs: /clean renders it in Chromium, whose
    every request goes through the guarded fetch (the ad script's host is refused, not fetched)."""
    must, must_not = seed_expectations
    response = await offline.client.post("/api/v1/clean", json={"url": origin.page("/seed-js")})
    assert response.status == 200, await response.text()
    article = await response.json()
    assert article["source"] == "rendered"
    text = collapse(article["text"])
    for line in must:
        assert line in text or line in collapse(article["title"] or "")
    for line in must_not:
        assert line not in text
    assert "ads.example" in offline.resolver.asked


async def test_health_reports_each_backend_on_its_own(api: Api) -> None:
    """Real storage and catalogue up: every check passes, and the gauges say so."""
    report = await (await api.client.get("/healthz")).json()
    assert report["checks"]["catalogue"] == {"ok": True}
    assert report["checks"]["storage"] == {"ok": True}
    metrics = await (await api.client.get("/metrics")).text()
    assert 'declutter_backend_up{backend="storage"} 1.0' in metrics
    assert 'declutter_backend_up{backend="catalogue"} 1.0' in metrics
