"""Domain-identity signing through an authsign server (DECLUTTER_SIGNING_URL), as far as loopback
allows: a mock authsign on 127.0.0.1 with a self-signed certificate stands in for the real one
(which needs a public CA and a timestamp authority). What is checked is ours: the request we send
(POST JSON with the datapackage's hash and the creation time), that its answer goes into the file
whole, and that an answer which would make a file look signed when it is not stops the export."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import socket
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from crawler.cli import main
from crawler.research.export import Exporter, Selection
from crawler.research.signing import AuthsignSigner, SigningError
from tests.kit.archive import ResearchArchive
from tests.kit.settings import settings_vars
from tests.kit.wacz_verifier import verify_signed_wacz

SITE = "news.example.org"
DOMAIN = "archive.example"


@dataclass
class MockAuthsign:
    """authsign's POST /sign, answering with a P-256 key and a self-signed cert for DOMAIN."""

    mode: str = "good"
    requests: list[dict[str, Any]] = field(default_factory=list)
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    url: str = ""

    def certificate_pem(self) -> str:
        name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, DOMAIN)])
        now = dt.datetime.now(dt.UTC)
        certificate = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
            .sign(self.key, hashes.SHA256())
        )
        return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")

    def answer(self, request: dict[str, Any]) -> tuple[int, bytes]:
        if self.mode == "http-error":
            return 400, b'{"detail": "Invalid auth token"}'
        if self.mode == "not-json":
            return 200, b"<html>a proxy's login page</html>"
        digest = request["hash"] if self.mode != "other-hash" else "sha256:" + "0" * 64
        signed = digest if self.mode != "bad-signature" else digest + "x"
        signature = self.key.sign(signed.encode("ascii"), ec.ECDSA(hashes.SHA256()))
        answer = {
            "hash": digest,
            "created": request["created"],
            "software": "authsign (mock)",
            "signature": base64.b64encode(signature).decode("ascii"),
            "domain": DOMAIN,
            "domainCert": self.certificate_pem(),
            "timeSignature": "bW9jaw==",
            "timestampCert": "(none: no timestamp authority on loopback)",
        }
        return 200, json.dumps(answer).encode()


@pytest.fixture
def authsign() -> Iterator[MockAuthsign]:
    mock = MockAuthsign()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            request = {
                "path": self.path,
                "content_type": self.headers["Content-Type"],
                **json.loads(body),
            }
            mock.requests.append(request)
            status, answer = mock.answer(request)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    mock.url = f"http://127.0.0.1:{server.server_address[1]}/sign"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield mock
    finally:
        server.shutdown()
        server.server_close()


def test_a_mock_authsign_signs_the_datapackage_hash_and_its_answer_is_the_files(
    research_sqlite: ResearchArchive, authsign: MockAuthsign, tmp_path: Path, monkeypatch, capsys
) -> None:
    for name, value in settings_vars(research_sqlite.settings).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DECLUTTER_SIGNING_URL", authsign.url)
    out = tmp_path / "domain.wacz"
    assert main(["export", "--site", SITE, "--format", "wacz", "--sign", "-o", str(out)]) == 0

    signed = verify_signed_wacz(out.read_bytes())
    assert signed["domain"] == DOMAIN and signed["software"] == "authsign (mock)"
    [request] = authsign.requests
    assert request["path"] == "/sign" and request["content_type"] == "application/json"
    with zipfile.ZipFile(io.BytesIO(out.read_bytes())) as archive:
        package = json.loads(archive.read("datapackage.json"))
        digest = json.loads(archive.read("datapackage-digest.json"))
    assert request["hash"] == digest["hash"] and request["created"] == package["created"]
    assert set(request) == {"path", "content_type", "hash", "created"}, "only the hash is sent"

    capsys.readouterr()
    assert main(["key", "show"]) == 0
    assert f"signed by {authsign.url}" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("other-hash", "signed another hash"),
        ("bad-signature", "does not verify with the key it names"),
        ("http-error", "answered HTTP 400"),
        ("not-json", "not JSON"),
    ],
)
def test_a_mock_authsign_answer_that_would_not_verify_stops_the_export(
    research_sqlite: ResearchArchive, authsign: MockAuthsign, tmp_path: Path, mode: str, message: str
) -> None:
    authsign.mode = mode
    exporter = Exporter(
        research_sqlite.catalogue, research_sqlite.archiver, signer=AuthsignSigner(authsign.url)
    )
    with pytest.raises(SigningError, match=message):
        exporter.export_to(Selection(site=SITE), "wacz", tmp_path / "out.wacz")
    assert list(tmp_path.iterdir()) == [], "no file, unsigned or half-signed, is left"
    assert len(authsign.requests) == 1


def test_an_unreachable_signing_server_is_named_with_what_to_do(
    research_sqlite: ResearchArchive, tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/sign"
    exporter = Exporter(
        research_sqlite.catalogue, research_sqlite.archiver, signer=AuthsignSigner(url, timeout=5)
    )
    with pytest.raises(SigningError, match=f"cannot reach the signing server at {url}.*unset"):
        exporter.export_to(Selection(site=SITE), "wacz", tmp_path / "out.wacz")
