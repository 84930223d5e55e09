"""Schemathesis fuzzes every operation in the served OpenAPI document: no answer may be a 5xx.

The server runs in its own thread and loop (schemathesis calls it with a blocking client) over
real storage; its fetches go through ``NamesResolver``, so the random host names the fuzzer makes
up are never looked up outside this machine. Examples per operation are few: this is a smoke
test of the contract, bounded to seconds.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import hypothesis
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, Phase
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from crawler.config import Settings
from crawler.fetch import AddressGuard
from server.app import create_app, routes
from server.auth import TokenStore
from server.declare import endpoints
from tests.kit.origin import NamesResolver

EXAMPLES_PER_OPERATION = 12


@contextmanager
def server_in_thread(app: web.Application) -> Iterator[str]:
    loop = asyncio.new_event_loop()
    started = threading.Event()
    box: dict[str, object] = {}

    async def start() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        box["runner"] = runner
        box["port"] = runner.addresses[0][1]

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        started.set()
        loop.run_forever()
        loop.run_until_complete(box["runner"].cleanup())  # type: ignore[union-attr]
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(30), "the server thread did not start"
    try:
        yield f"http://127.0.0.1:{box['port']}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)


def test_no_operation_answers_5xx(settings) -> None:
    config: Settings = settings(database="sqlite", rate_limit=0.0, max_page_bytes=256 * 1024)
    tokens = TokenStore.from_settings(config)
    token = tokens.create("schemathesis")
    app = create_app(config, guard=AddressGuard(), tokens=tokens, resolver=NamesResolver(),
                     app_modules=[])
    with server_in_thread(app) as base:
        schema = schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json")
        failures: list[str] = []
        statuses: list[int] = []
        labels: set[str] = set()
        for result in schema.get_all_operations():
            operation = result.ok()
            labels.add(operation.label)

            @hypothesis.given(case=operation.as_strategy())
            @hypothesis.settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def exercise(case: schemathesis.Case) -> None:
                response = case.call(
                    base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30
                )
                statuses.append(response.status_code)
                try:
                    case.validate_response(
                        response,
                        checks=[
                            not_a_server_error,
                            status_code_conformance,
                            content_type_conformance,
                            response_schema_conformance,
                        ],
                    )
                except AssertionError as exc:  # collect every operation's failures, then report
                    failures.append(f"{case.operation.label}: {exc}"[:2000])

            exercise()
        # Every declared operation is fuzzed; schemathesis leaves out the document's own URL.
        declared = {f"{e.method} {e.document_path}" for e in endpoints(r.handler for r in routes())}
        assert labels == declared - {"GET /api/v1/openapi.json"}
        operations = len(labels)
        assert len(statuses) >= operations * 5
        assert not [s for s in statuses if s >= 500]
        print(f"{len(statuses)} calls over {operations} operations:",
              {s: statuses.count(s) for s in sorted(set(statuses))})
        assert not failures, "\n\n".join(failures)
