"""pywb, the reference Wayback implementation (in its own venv), indexes and replays our exports.

Each capture comes back through pywb's ``id_`` form with the exact bytes that were archived,
from the exported WARC and from the exported WACZ (added with ``--unpack-wacz``), including the
unchanged re-capture, which is a revisit record pywb must resolve to the earlier response.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from crawler.cli.services import free_port
from crawler.research.export import Exporter, Selection
from tests.kit.archive import ResearchArchive
from tests.kit.pywb import PYWB_BIN, get, run, wait_for_port


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
    run([manager, "init", "fromwarc"], tmp_path)
    run([manager, "add", "fromwarc", str(warc)], tmp_path)
    run([manager, "init", "fromwacz"], tmp_path)
    run([manager, "add", "--unpack-wacz", "fromwacz", str(wacz)], tmp_path)

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
        wait_for_port(port, process)
        for collection in ("fromwarc", "fromwacz"):
            for name in ("first", "edited", "revisit", "scattered"):
                row = research.catalogue.get_capture(research.ids[name])
                stamp = row.captured_at.strftime("%Y%m%d%H%M%S")
                status, body = get(f"http://127.0.0.1:{port}/{collection}/{stamp}id_/{row.url}")
                assert status == 200, (collection, name, body[:300])
                assert body == research.bodies[name], (collection, name)
            status, _ = get(
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
