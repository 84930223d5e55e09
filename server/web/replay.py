"""The capture as it looked: ReplayWeb.page (``make replaywebpage``) served from this origin.

ReplayWeb.page replays a WACZ in the browser through a service worker, which can only control
pages under the folder its script is served from; so its app (``ui.js``), its worker (``sw.js``)
and the page that starts them all live under ``/web/replay/``, and the worker's scope is exactly
that folder. Its source is the exporter's own WACZ of one capture (``/api/v1/captures/{id}/wacz``),
so the replay shows what an export holds, nothing fetched live.

The app's pages keep their strict policy (``pages.PAGE_CSP``); ReplayWeb.page gets what it needs
(its components' inline styles, blob and data images, a worker) only on its own path. Archived
pages replayed there run on this origin, inside the worker's rewriting rather than a sandbox: the
sandboxed source HTML view (``/web/capture/{id}/raw``) stays for reading a page with nothing run.
That is why a private archive (``DECLUTTER_REQUIRE_TOKEN``) does not replay at all: a replayed
page would run as the signed-in reader and could read the archive. A separate replay origin would
lift that; until then the source HTML view is the way to read a private capture.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from aiohttp import web

from server.errors import ApiError, NotFound
from server.state import SETTINGS, public_base
from server.web.pages import HERE, page, render
from server.web.views import CaptureView

APP_DIR = HERE.parents[1] / "node_modules" / "replaywebpage"
APP_FILES = ("ui.js", "sw.js")
PREFIX = "/web/replay/"

# ReplayWeb.page's components set inline styles and load blob:/data: images and fonts; its worker
# reads the WACZ from this origin. Nothing may come from anywhere else.
REPLAY_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data: blob:; media-src 'self' blob:; "
    "connect-src 'self' data:; frame-src 'self'; worker-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'self'"
)
REPLAY_HEADERS = {
    "Content-Security-Policy": REPLAY_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
PRIVATE = (
    "replay is off in a private archive: a replayed page runs on this server's origin and could "
    "read the archive as the signed-in reader; the source HTML view shows the page with nothing run"
)
MISSING = (
    "the replay app (ReplayWeb.page) is not installed on this server: run `make replaywebpage` "
    "(part of `make setup`) in the checkout; the source HTML view works without it"
)


def available() -> bool:
    return all((APP_DIR / name).is_file() for name in APP_FILES)


def replay_src(request: web.Request, view: CaptureView) -> str:
    """The replay frame's address: the app in replay-only mode on this capture's own WACZ.

    The source is absolute because the worker, not the page, fetches it; ``url`` and ``ts``
    (a 14-digit Wayback timestamp) pick the page inside the WACZ.
    """
    source = f"{public_base(request)}/api/v1/captures/{view.id}/wacz"
    query = urlencode({"source": source, "embed": "replayonly"})
    ts = view.captured.strftime("%Y%m%d%H%M%S") if view.captured else ""
    return f"{PREFIX}?{query}#" + urlencode({"view": "replay", "url": view.url, "ts": ts})


def replay_or_reason(request: web.Request, view: CaptureView) -> tuple[str, str]:
    """The replay frame's address, or ("", why there is none) for the capture page to say."""
    if view.source == "reader":
        # Only the reader's DOM was kept (no HTTP exchange), and replay serves responses.
        return "", "This capture holds no response from the site to replay (the server could not fetch it)."
    if request.app[SETTINGS].require_token_for_app:
        return "", "Replay is off in a private archive (a replayed page would run as you); the source HTML view below shows the page with nothing run."
    if not available():
        return "", "Replay is not installed on this server (`make replaywebpage` adds it)."
    return replay_src(request, view), ""


def _refuse_when_private(request: web.Request) -> None:
    if request.app[SETTINGS].require_token_for_app:
        raise ApiError(PRIVATE, status=404, error="replay_off")


@page
async def replay_app(request: web.Request) -> web.Response:
    """The page the frame opens; once its worker runs, the worker serves this page itself."""
    _refuse_when_private(request)
    if not available():
        raise ApiError(MISSING, status=503, error="replay_unavailable")
    response = render("replay_app.html", request, {"prefix": PREFIX})
    response.headers.update(REPLAY_HEADERS)
    return response


async def replay_file(request: web.Request) -> web.FileResponse:
    """``ui.js`` or ``sw.js``; the worker's own policy is this response's, so it may read the WACZ."""
    _refuse_when_private(request)
    name = request.match_info["name"]
    if name not in APP_FILES:
        raise NotFound(f"{PREFIX}{name} is not part of the replay app")
    path: Path = APP_DIR / name
    if not path.is_file():
        raise ApiError(MISSING, status=503, error="replay_unavailable")
    return web.FileResponse(
        path, headers={**REPLAY_HEADERS, "Content-Type": "text/javascript; charset=utf-8"}
    )
