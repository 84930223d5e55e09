"""pywb, the reference Wayback implementation (in its own venv), indexes and replays our exports.

Each capture comes back through pywb's ``id_`` form with the exact bytes that were archived,
from the exported WARC and from the exported WACZ (added with ``--unpack-wacz``), including the
unchanged re-capture, which is a revisit record pywb must resolve to the earlier response.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from crawler.cli.services import free_port
from crawler.research.export import Exporter, Selection
from tests.crawler.research.conftest import ResearchArchive
from tests.support import ROOT

PYWB_BIN = ROOT / ".venv-pywb" / "bin"
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _run(args: list[str], cwd: Path) -> None:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"wayback exited with {process.returncode}")
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    pytest.fail("wayback did not start listening")


def _get(url: str) -> tuple[int, bytes]:
    try:
        with NO_PROXY.open(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_pywb_replays_exported_warc_and_wacz(research_sqlite: ResearchArchive, tmp_path: Path) -> None:
    if not (PYWB_BIN / "wayback").exists():
        pytest.fail(f"{PYWB_BIN} is missing: run `make pywb` to install pywb's venv")
    research = research_sqlite
    exporter = Exporter(research.catalogue, research.archiver)
    selection = Selection(site="news.example.org")
    warc = tmp_path / "site.warc.gz"
    wacz = tmp_path / "site.wacz"
    exporter.export_to(selection, "warc", warc)
    exporter.export_to(selection, "wacz", wacz)

    manager = str(PYWB_BIN / "wb-manager")
    _run([manager, "init", "fromwarc"], tmp_path)
    _run([manager, "add", "fromwarc", str(warc)], tmp_path)
    _run([manager, "init", "fromwacz"], tmp_path)
    _run([manager, "add", "--unpack-wacz", "fromwacz", str(wacz)], tmp_path)

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    process = subprocess.Popen(
        [str(PYWB_BIN / "wayback"), "-b", "127.0.0.1", "-p", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_for_port(port, process)
        for collection in ("fromwarc", "fromwacz"):
            for name in ("first", "edited", "revisit", "scattered"):
                row = research.catalogue.get_capture(research.ids[name])
                stamp = row.captured_at.strftime("%Y%m%d%H%M%S")
                status, body = _get(f"http://127.0.0.1:{port}/{collection}/{stamp}id_/{row.url}")
                assert status == 200, (collection, name, body[:300])
                assert body == research.bodies[name], (collection, name)
            status, _ = _get(
                f"http://127.0.0.1:{port}/{collection}/2024id_/{research.urls['other_site']}"
            )
            assert status == 404, "a page outside the export must not replay"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
