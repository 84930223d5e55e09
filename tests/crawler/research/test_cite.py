"""``GET /api/v1/captures/{id}/cite`` (issue 16): a citation names what lets a reader check the
quote later (the Memento URI, which resolves to the capture; its time; the WARC record's sha256;
the published signing key), in text, BibTeX and CSL-JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from aiohttp.test_utils import TestClient, TestServer

from server.api.cite import Citation
from server.app import create_app
from tests.kit.archive import SEED_URL, ResearchArchive


async def test_a_citation_names_a_memento_that_resolves_and_the_evidence(
    research_sqlite: ResearchArchive,
) -> None:
    capture_id = research_sqlite.ids["edited"]
    row = research_sqlite.catalogue.get_capture(capture_id)
    app = create_app(research_sqlite.settings, archiver=research_sqlite.archiver, app_modules=[])
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        fingerprint = (await (await client.get("/api/v1/keys")).json())["keys"][0]["fingerprint"]
        memento = str(client.make_url(f"/api/v1/captures/{capture_id}/raw"))

        response = await client.get(f"/api/v1/captures/{capture_id}/cite")
        assert response.status == 200 and response.content_type == "text/plain"
        text = await response.text()
        for fact in (memento, SEED_URL, row.title, "2024-05-02T09:00:00Z", row.warc_sha256,
                     fingerprint):
            assert fact in text, fact

        resolved = await client.session.get(memento)  # the absolute URI, as a reader follows it
        assert resolved.status == 200
        assert resolved.headers["Memento-Datetime"] == "Thu, 02 May 2024 09:00:00 GMT"

        response = await client.get(f"/api/v1/captures/{capture_id}/cite", params={"format": "bibtex"})
        assert response.content_type == "application/x-bibtex"
        bibtex = await response.text()
        assert bibtex.startswith(f"@misc{{declutter-{capture_id},\n")
        assert f"  url = {{{memento}}}," in bibtex and "  urldate = {2024-05-02}," in bibtex
        assert row.warc_sha256 in bibtex and fingerprint in bibtex
        assert bibtex.count("{") == bibtex.count("}")

        response = await client.get(
            f"/api/v1/captures/{capture_id}/cite", params={"format": "CSL-JSON"}
        )
        assert response.content_type == "application/vnd.citationstyles.csl+json"
        [item] = json.loads(await response.text())
        assert item["type"] == "webpage" and item["URL"] == SEED_URL
        assert item["archive_location"] == memento and item["title"] == row.title
        assert item["accessed"] == {"date-parts": [[2024, 5, 2]]}
        assert row.warc_sha256 in item["note"] and fingerprint in item["note"]

        response = await client.get("/api/v1/captures/01NOSUCHCAPTURE/cite")
        assert response.status == 404 and "01NOSUCHCAPTURE" in (await response.json())["detail"]
        response = await client.get(f"/api/v1/captures/{capture_id}/cite", params={"format": "ris"})
        assert response.status == 400 and "format" in (await response.json())["detail"]


def test_bibtex_prints_special_characters_as_themselves() -> None:
    citation = Citation(
        capture_id="01X", memento="http://127.0.0.1/api/v1/captures/01X/raw",
        captured_at=datetime(2024, 5, 2, 9, tzinfo=UTC), url="https://example.org/a_b?x=1&y=2",
        title="50% of R&D_costs {now} #1 $5 ~ ^ \\", byline="", site="", published="",
        warc_sha256="ab" * 32, fingerprint="sha256:" + "cd" * 32,
    )
    bibtex = citation.bibtex()
    assert (
        r"title = {50\% of R\&D\_costs \{now\} \#1 \$5 \~{} \^{} \textbackslash{}}," in bibtex
    )
    assert r"\url{https://example.org/a_b?x=1&y=2}" in bibtex, "\\url takes the address raw"
    assert "author" not in bibtex and "organization" not in bibtex
