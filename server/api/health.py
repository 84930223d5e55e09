"""Liveness and metrics: what an operator (or a probe) asks the server about itself."""

from __future__ import annotations

import os
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel

from server import state
from server.declare import Reply, declare
from server.metrics import CONTENT_TYPE


class Health(BaseModel):
    """The server's state: "degraded" while any dependency is down, with each one's check."""

    status: Literal["ok", "degraded"]
    checks: dict[str, dict[str, Any]]


@declare(
    "GET", "/healthz", "healthz",
    "State of the server and each dependency (storage, catalogue, browser)",
    {200: Reply("Health report", Health)},
    rate_limited=False,
)
async def healthz(request: web.Request) -> web.Response:
    """Each dependency's state; 200 while the server itself can answer, "degraded" if one is down."""
    settings = request.app[state.SETTINGS]
    metrics = request.app[state.METRICS]
    checks = await request.app[state.BACKENDS].health()
    browser = settings.chromium_path
    if os.access(browser, os.X_OK):
        checks["browser"] = {"ok": True, "path": browser}
    else:
        checks["browser"] = {
            "ok": False,
            "detail": f"no executable Chromium at {browser}; set DECLUTTER_CHROMIUM",
        }
    for name, check in checks.items():
        metrics.backend_up.labels(name).set(1 if check["ok"] else 0)
    status = "ok" if all(check["ok"] for check in checks.values()) else "degraded"
    return web.json_response({"status": status, "checks": checks})


@declare(
    "GET", "/metrics", "metrics", "Prometheus metrics (text exposition format)",
    {200: Reply("Metrics", media={"text/plain": {"type": "string"}})},
    rate_limited=False,
)
async def metrics(request: web.Request) -> web.Response:
    response = web.Response(body=request.app[state.METRICS].render())
    response.headers["Content-Type"] = CONTENT_TYPE
    return response
