"""`make run` lets "Capture now" fetch the demo site and nothing else private (issue 13, item 7).

The allow list comes from infra/run-local.sh's own line, evaluated by bash with the demo site on a
loopback port; the real server then saves the demo page through the web form, and refuses a second
loopback site on another port.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable

from crawler.config import Settings
from tests.kit.api import running_api
from tests.kit.origin import Origin
from tests.kit.paths import ROOT

SCRIPT = ROOT / "infra" / "run-local.sh"


def allowed_by_make_run(demo_port: int, given: str = "") -> list[str]:
    """DECLUTTER_ALLOW_FETCH_HOSTS as run-local.sh exports it for a demo site on ``demo_port``."""
    [line] = [
        line for line in SCRIPT.read_text(encoding="utf-8").splitlines()
        if line.startswith("export DECLUTTER_ALLOW_FETCH_HOSTS=")
    ]
    env = {k: v for k, v in os.environ.items() if k != "DECLUTTER_ALLOW_FETCH_HOSTS"}
    if given:
        env["DECLUTTER_ALLOW_FETCH_HOSTS"] = given
    shown = subprocess.run(
        ["bash", "-c", f'set -euo pipefail\nDEMO_PORT={demo_port}\n{line}\nprintf %s "$DECLUTTER_ALLOW_FETCH_HOSTS"'],
        env=env, capture_output=True, text=True, check=True, timeout=10,
    )
    return [item.strip() for item in shown.stdout.split(",") if item.strip()]


def test_make_run_allows_exactly_the_demo_site_and_keeps_what_was_given() -> None:
    assert allowed_by_make_run(8090) == ["127.0.0.1:8090"]
    assert allowed_by_make_run(8091, "10.0.0.5") == ["10.0.0.5", "127.0.0.1:8091"]


async def test_capture_now_saves_the_demo_site_and_no_other_loopback_site(
    settings: Callable[..., Settings], origin: Origin, other_origin: Origin
) -> None:
    allow = allowed_by_make_run(origin.port)
    async with running_api(settings(rate_limit=0.0), allow=allow) as api:
        saved = await api.client.post(
            "/web/save", data={"url": origin.page("/article"), "token": api.token}, allow_redirects=False
        )
        assert saved.status == 303 and saved.headers["Location"].startswith("/web/capture/")
        refused = await api.client.post(
            "/web/save", data={"url": other_origin.page("/article"), "token": api.token}
        )
        body = await refused.text()
        assert refused.status == 403 and "Not captured:" in body
        assert f'value="{other_origin.page("/article")}"' in body
    assert "/article" in origin.hits and "/article" not in other_origin.hits
