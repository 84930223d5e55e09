"""Slow pages cannot take rendering from everyone (issue 21, finding 4).

A real server on 127.0.0.1 with the real Chromium renders JavaScript pages from a loopback site
whose script arrives only after a delay the test chooses. Clients are told apart by their source
address, so each one connects from its own loopback address (127.0.0.2, 127.0.0.3).
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from crawler.config import Settings
from tests.kit.api import Api, running_api
from tests.kit.origin import PARAGRAPHS, serve

SHELL = """<!doctype html><html><head><title>Loading</title></head><body>
<noscript>Please enable JavaScript to read this story.</noscript><div id="root"></div>
<script src="/app.js?d={delay}"></script></body></html>"""
APP_JS = """document.title = 'Ferry pier saved'; document.getElementById('root').innerHTML = '<article><h1>Ferry pier saved</h1>' +
  {paragraphs} + '</article>';"""
_ids = itertools.count()
SLOW = 8  # seconds the slow pages' script takes to arrive


@pytest.fixture(scope="module")
async def script_site() -> AsyncIterator[int]:
    """Pages with no article until their script runs; ``d`` is how late the script comes."""

    async def shell(request: web.Request) -> web.Response:
        return web.Response(text=SHELL.format(delay=request.query.get("d", "0")), content_type="text/html")

    async def app_js(request: web.Request) -> web.Response:
        await asyncio.sleep(float(request.query.get("d", "0")))
        paragraphs = " + ".join(repr(f"<p>{p}</p>") for p in PARAGRAPHS)
        return web.Response(text=APP_JS.format(paragraphs=paragraphs), content_type="text/javascript")

    app = web.Application()
    app.add_routes([web.get("/story", shell), web.get("/app.js", app_js)])
    async with serve(app) as port:
        yield port


@pytest.fixture
def bounded(settings: Callable[..., Settings], script_site: int) -> Callable[..., Any]:
    def start(**overrides: Any) -> Any:
        chosen = settings(rate_limit=0.0, render_slots=2, **overrides)
        return running_api(chosen, allow=[f"127.0.0.1:{script_site}"])

    return start


def _page(port: int, delay: float) -> str:
    return f"http://127.0.0.1:{port}/story?d={delay}&n={next(_ids)}"


async def _clean(api: Api, url: str, source: str) -> tuple[int, dict[str, Any], dict[str, str], float]:
    """POST /clean from the loopback address ``source``: (status, body, headers, seconds)."""
    connector = aiohttp.TCPConnector(local_addr=(source, 0))
    started = time.monotonic()
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.post(str(api.client.make_url("/api/v1/clean")), json={"url": url}) as response:
            return response.status, await response.json(), dict(response.headers), time.monotonic() - started


async def test_one_client_cannot_hold_every_slot(bounded: Callable[..., Any], script_site: int) -> None:
    async with bounded(render_queue_timeout=1.5, render_timeout=20) as api:
        warm = await _clean(api, _page(script_site, 0), "127.0.0.4")  # Chromium starts once
        assert warm[0] == 200 and warm[1]["source"] == "rendered", warm[1]

        greedy = [asyncio.create_task(_clean(api, _page(script_site, SLOW), "127.0.0.2")) for _ in range(4)]
        await asyncio.sleep(0.5)
        other = await _clean(api, _page(script_site, 0), "127.0.0.3")
        results = await asyncio.gather(*greedy)

        status, body, _, seconds = other
        assert status == 200 and body["title"] == "Ferry pier saved", body
        # A render here takes about 2 s (its settle time), 4 s on a loaded machine; behind the
        # slow pages it would wait 8 s or more, or be refused after the queue timeout.
        assert seconds < 6.0, f"another client's render waited {seconds:.1f} s behind slow pages"
        statuses = sorted(result[0] for result in results)
        assert statuses == [200, 503, 503, 503], [r[:2] for r in results]
        for status, body, headers, seconds in results:
            if status == 503:
                assert body["error"] == "render_busy" and "retry" in body["detail"]
                assert int(headers["Retry-After"]) >= 1
                assert seconds < 4.0, "a refused render must not wait past the queue timeout"

        metrics = await (await api.client.get("/metrics")).text()
        assert _value(metrics, 'declutter_renders_total{outcome="busy"}') == 3
        assert _value(metrics, 'declutter_renders_total{outcome="ok"}') == 3
        assert _value(metrics, "declutter_render_wait_seconds_count") == 6
        assert _value(metrics, "declutter_render_queue") == 0
        assert _value(metrics, "declutter_render_active") == 0
        assert _value(metrics, "declutter_render_wait_seconds_sum") >= 4.5  # three refused waits


async def test_a_render_has_a_total_time_cap(bounded: Callable[..., Any], script_site: int) -> None:
    async with bounded(render_queue_timeout=5, render_timeout=2) as api:
        status, body, _, seconds = await _clean(api, _page(script_site, 8), "127.0.0.2")
        assert status == 422 and body["error"] == "no_article", body
        assert "longer than 2 s" in body["detail"] and "DECLUTTER_RENDER_TIMEOUT" in body["detail"]
        assert seconds < 6.0, f"the capped render took {seconds:.1f} s"
        # The slot came back: the next render runs.
        status, body, _, _ = await _clean(api, _page(script_site, 0), "127.0.0.2")
        assert status == 200 and body["source"] == "rendered", body
        metrics = await (await api.client.get("/metrics")).text()
        assert _value(metrics, 'declutter_renders_total{outcome="timeout"}') == 1
        assert _value(metrics, "declutter_render_active") == 0


def _value(metrics: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} (\S+)$", metrics, re.M)
    assert match, f"{name} not in /metrics"
    return float(match.group(1))
