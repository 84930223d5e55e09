"""Liveness and metrics: what an operator (or a probe) asks the server about itself."""

from __future__ import annotations

import os

from aiohttp import web

from server import state
from server.metrics import CONTENT_TYPE


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


async def metrics(request: web.Request) -> web.Response:
    response = web.Response(body=request.app[state.METRICS].render())
    response.headers["Content-Type"] = CONTENT_TYPE
    return response
