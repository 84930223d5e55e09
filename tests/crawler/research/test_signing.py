"""Signed WACZ exports (issue 16), judged by a verifier written from the spec alone
(tests/kit/wacz_verifier.py) and by py-wacz's validator: they accept our files, and reject a file with one
byte changed in the WARC, in datapackage.json or in the signature."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import io
import json
import stat
import subprocess
import threading
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from crawler.cli import main
from crawler.research.export import Exporter, ExportError, Selection
from crawler.research.signing import KeySigner, SigningError
from tests.kit.archive import ResearchArchive
from tests.kit.paths import ROOT
from tests.kit.settings import settings_vars
from tests.kit.wacz_verifier import NotVerified, verify_signed_wacz

WACZ_BIN = ROOT / ".venv-wacz" / "bin" / "wacz"
SITE = "news.example.org"


def _signed_export(research: ResearchArchive, signer: KeySigner) -> bytes:
    exporter = Exporter(research.catalogue, research.archiver, signer=signer)
    return b"".join(exporter.export(Selection(site=SITE), "wacz"))


def _rewrite(data: bytes, name: str, change: Callable[[bytes], bytes]) -> bytes:
    """The same zip with one member's content passed through ``change``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            target.writestr(info, change(content) if info.filename == name else content)
    return out.getvalue()


def _flip(content: bytes, at: int) -> bytes:
    return content[:at] + bytes([content[at] ^ 0x01]) + content[at + 1 :]


def test_the_key_is_made_once_private_and_the_same_for_every_process(tmp_path: Path) -> None:
    found: list[str] = []
    start = threading.Barrier(6)

    def load() -> None:
        start.wait()
        found.append(KeySigner.for_data_dir(tmp_path).public_key.fingerprint)

    threads = [threading.Thread(target=load) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 6 and len(set(found)) == 1, "racing first uses must share one key"
    key_files = list((tmp_path / "keys").iterdir())
    assert [path.name for path in key_files] == ["wacz-signing-key.pem"], "no temporary file left"
    assert stat.S_IMODE(key_files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700

    signer = KeySigner.for_data_dir(tmp_path)
    assert signer.public_key.fingerprint == found[0]
    secret = key_files[0].read_text()
    assert "PRIVATE KEY" in secret and secret not in repr(signer)
    assert signer.public_key.fingerprint == "sha256:" + hashlib.sha256(
        base64.b64decode(signer.public_key.base64)
    ).hexdigest()

    key_files[0].write_text("not a key")
    with pytest.raises(SigningError, match="not an unencrypted PEM private key"):
        KeySigner.for_data_dir(tmp_path)


def test_a_signed_wacz_passes_the_spec_verifier_and_the_wacz_validator(
    research_sqlite: ResearchArchive, tmp_path: Path
) -> None:
    signer = KeySigner.for_data_dir(tmp_path)
    data = _signed_export(research_sqlite, signer)
    signed = verify_signed_wacz(data)
    assert signed["publicKey"] == signer.public_key.base64
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        package = json.loads(archive.read("datapackage.json"))
    assert signed["created"] == package["created"] and signed["software"] == "Declutter"

    unsigned = b"".join(
        Exporter(research_sqlite.catalogue, research_sqlite.archiver).export(
            Selection(site=SITE), "wacz"
        )
    )
    with pytest.raises(NotVerified, match="no signedData"):
        verify_signed_wacz(unsigned)

    if not WACZ_BIN.exists():
        pytest.fail(f"{WACZ_BIN} is missing: run `make wacz` to install the validator's venv")
    path = tmp_path / "signed.wacz"
    path.write_bytes(data)
    result = subprocess.run(
        [str(WACZ_BIN), "validate", "-f", str(path)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation succeeded" in result.stdout


def test_one_changed_byte_anywhere_is_refused(
    research_sqlite: ResearchArchive, tmp_path: Path
) -> None:
    data = _signed_export(research_sqlite, KeySigner.for_data_dir(tmp_path))
    # Rewriting the zip unchanged keeps it valid: each refusal below is the changed byte's doing.
    verify_signed_wacz(_rewrite(data, "datapackage.json", lambda content: content))

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        warc_size = archive.getinfo("archive/data.warc.gz").file_size
    in_warc = _rewrite(data, "archive/data.warc.gz", lambda c: _flip(c, warc_size // 2))
    with pytest.raises(NotVerified, match="step 1: archive/data.warc.gz"):
        verify_signed_wacz(in_warc)

    def retitled(content: bytes) -> bytes:
        return content.replace(b'"title": "Declutter', b'"title": "Deklutter', 1)

    in_package = _rewrite(data, "datapackage.json", retitled)
    with pytest.raises(NotVerified, match="step 2"):
        verify_signed_wacz(in_package)

    # The forger's best: datapackage.json changed and both hashes recomputed to match it. Only
    # the signature, which needs the private key, still tells.
    with zipfile.ZipFile(io.BytesIO(in_package)) as archive:
        new_hash = "sha256:" + hashlib.sha256(archive.read("datapackage.json")).hexdigest()

    def rehashed(content: bytes) -> bytes:
        digest = json.loads(content)
        digest["hash"] = digest["signedData"]["hash"] = new_hash
        return json.dumps(digest).encode()

    forged = _rewrite(in_package, "datapackage-digest.json", rehashed)
    with pytest.raises(NotVerified, match="step 3: the signature does not verify"):
        verify_signed_wacz(forged)

    def resigned(content: bytes) -> bytes:
        digest = json.loads(content)
        raw = base64.b64decode(digest["signedData"]["signature"])
        digest["signedData"]["signature"] = base64.b64encode(_flip(raw, 10)).decode()
        return json.dumps(digest).encode()

    in_signature = _rewrite(data, "datapackage-digest.json", resigned)
    with pytest.raises(NotVerified, match="step 3: the signature does not verify"):
        verify_signed_wacz(in_signature)


def test_only_a_wacz_is_signed(research_sqlite: ResearchArchive, tmp_path: Path) -> None:
    exporter = Exporter(
        research_sqlite.catalogue, research_sqlite.archiver,
        signer=KeySigner.for_data_dir(tmp_path),
    )
    with pytest.raises(ExportError, match="only a WACZ export can be signed"):
        b"".join(exporter.export(Selection(site=SITE), "warc"))


def test_cli_signs_with_the_key_that_key_show_publishes(
    research_sqlite: ResearchArchive, tmp_path: Path, monkeypatch, capsys
) -> None:
    for name, value in settings_vars(research_sqlite.settings).items():
        monkeypatch.setenv(name, value)
    out = tmp_path / "signed.wacz"
    assert main(["export", "--site", SITE, "--format", "wacz", "--sign", "-o", str(out)]) == 0
    signed = verify_signed_wacz(out.read_bytes())
    capsys.readouterr()

    assert main(["key", "show", "--json"]) == 0
    published = json.loads(capsys.readouterr().out)
    assert published["publicKey"] == signed["publicKey"]
    assert published["fingerprint"] == "sha256:" + hashlib.sha256(
        base64.b64decode(signed["publicKey"])
    ).hexdigest()
    assert "PRIVATE" not in json.dumps(published)

    assert main(["key", "show"]) == 0
    text = capsys.readouterr().out
    assert published["fingerprint"] in text and published["publicKey"] in text

    assert main(["export", "--site", SITE, "--format", "csv", "--sign",
                 "-o", str(tmp_path / "x.csv")]) == 1
    assert "only a WACZ can be signed" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()


# ReplayWeb.page's check (wabac.js), in Chromium's own WebCrypto: import the SPKI key as P-384
# ECDSA, verify the signature of the hash string's UTF-8 bytes with SHA-256.
WEBCRYPTO_VERIFY = """async ({publicKey, signature, hash}) => {
    const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const key = await crypto.subtle.importKey(
        "spki", bytes(publicKey), {name: "ECDSA", namedCurve: "P-384"}, true, ["verify"]);
    return await crypto.subtle.verify(
        {name: "ECDSA", hash: "SHA-256"}, key, bytes(signature), new TextEncoder().encode(hash));
}"""


async def test_chromiums_webcrypto_accepts_the_signature_as_replaywebpage_checks_it(
    research_sqlite: ResearchArchive, tmp_path: Path
) -> None:
    from aiohttp import web
    from aiohttp.test_utils import TestServer
    from playwright.async_api import async_playwright

    from crawler.config import Settings

    data = _signed_export(research_sqlite, KeySigner.for_data_dir(tmp_path))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        signed = json.loads(archive.read("datapackage-digest.json"))["signedData"]
    raw = base64.b64decode(signed["signature"])
    tampered = {**signed, "signature": base64.b64encode(_flip(raw, 50)).decode()}
    # WebCrypto needs a secure context: a page from 127.0.0.1 is one, about:blank is not.
    async def blank(_: web.Request) -> web.Response:
        return web.Response(text="<!doctype html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/", blank)
    async with TestServer(app, host="127.0.0.1") as server, async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=Settings().chromium_path, headless=True
        )
        try:
            page = await browser.new_page()
            await page.goto(str(server.make_url("/")))
            assert await page.evaluate("isSecureContext"), "WebCrypto needs a secure context"
            assert await page.evaluate(WEBCRYPTO_VERIFY, signed) is True
            assert await page.evaluate(WEBCRYPTO_VERIFY, tampered) is False
        finally:
            await browser.close()


async def test_api_and_web_form_sign_with_the_key_the_server_publishes(
    research_sqlite: ResearchArchive,
) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from server.app import create_app

    app = create_app(research_sqlite.settings, archiver=research_sqlite.archiver)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        response = await client.get("/api/v1/keys")
        assert response.status == 200
        listed = await response.json()
        assert listed["domainSigning"] is False and len(listed["keys"]) == 1
        key = listed["keys"][0]
        assert "PRIVATE" not in json.dumps(listed)

        response = await client.get(
            "/api/v1/export", params={"site": SITE, "format": "wacz", "sign": "1"}
        )
        assert response.status == 200
        signed = verify_signed_wacz(await response.read())
        assert signed["publicKey"] == key["publicKey"]
        assert key["fingerprint"] == "sha256:" + hashlib.sha256(
            base64.b64decode(signed["publicKey"])
        ).hexdigest()

        response = await client.get("/api/v1/export", params={"site": SITE, "format": "wacz"})
        with pytest.raises(NotVerified, match="no signedData"):
            verify_signed_wacz(await response.read())

        response = await client.get(
            "/api/v1/export", params={"site": SITE, "format": "csv", "sign": "true"}
        )
        assert response.status == 400
        assert "only a WACZ can be signed" in (await response.json())["detail"]

        form = await (await client.get("/web/export")).text()
        assert 'type="checkbox" name="sign"' in form

        response = await client.get(
            "/web/export/download", params={"site": SITE, "format": "wacz", "sign": "1"}
        )
        assert response.status == 200 and "sign=1" in str(response.url)
        assert verify_signed_wacz(await response.read())["publicKey"] == key["publicKey"]

        response = await client.get(
            "/web/export/download", params={"site": SITE, "format": "csv", "sign": "1"}
        )
        assert response.status == 400
        page = await response.text()
        assert "only a WACZ can be signed" in page and "checked" in page.split('name="sign"')[1][:80]


def _readme_verification() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [b.split("```")[0] for b in readme.split("```sh\n")[1:]]
    [block] = [b for b in blocks if b.startswith("unzip -p export.wacz")]
    return [line for line in block.splitlines() if line.strip()]


def test_the_readmes_third_party_check_verifies_our_file_and_refuses_a_forged_one(
    research_sqlite: ResearchArchive, tmp_path: Path
) -> None:
    """The README's OpenSSL commands, run as written: no code of ours judges the file."""
    signer = KeySigner.for_data_dir(tmp_path)
    data = _signed_export(research_sqlite, signer)
    lines = _readme_verification()

    def run(wacz: bytes) -> subprocess.CompletedProcess:
        folder = tmp_path / f"check-{hashlib.sha256(wacz).hexdigest()[:8]}"
        folder.mkdir()
        (folder / "export.wacz").write_bytes(wacz)
        # One shell, so that `sig=` carries over as it does for a reader pasting the lines.
        script = "\n".join(f"{line}\necho '--- exit' $?" for line in lines)
        return subprocess.run(
            ["bash", "-c", script], cwd=folder, capture_output=True, text=True, timeout=60
        )

    done = run(data)
    steps = done.stdout.split("--- exit")
    assert all(step.strip().startswith("0") for step in steps[1:]), done.stdout + done.stderr
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        digest = json.loads(archive.read("datapackage-digest.json"))
    # steps[n]: the exit status of line n, then what line n + 1 printed.
    assert digest["hash"].removeprefix("sha256:") in steps[1]
    assert signer.public_key.fingerprint.removeprefix("sha256:") in steps[2]
    assert "Verified OK" in steps[-2]

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        package = archive.read("datapackage.json").replace(b"Declutter export", b"Declutter exporT")
    new_hash = "sha256:" + hashlib.sha256(package).hexdigest()

    def forged_digest(content: bytes) -> bytes:
        forged = json.loads(content)
        forged["hash"] = forged["signedData"]["hash"] = new_hash
        return json.dumps(forged).encode()

    forged = _rewrite(_rewrite(data, "datapackage.json", lambda _: package),
                      "datapackage-digest.json", forged_digest)
    done = run(forged)
    assert "Verification failure" in done.stdout + done.stderr
    assert "Verified OK" not in done.stdout


def test_a_rotated_key_stays_listed_so_files_it_signed_stay_verifiable(
    research_sqlite: ResearchArchive, tmp_path: Path, monkeypatch, capsys
) -> None:
    data_dir = tmp_path / "rotating"
    monkeypatch.setenv("DECLUTTER_DATA_DIR", str(data_dir))
    before = verify_signed_wacz(_signed_export(research_sqlite, KeySigner.for_data_dir(data_dir)))
    old_pem = (data_dir / "keys" / "wacz-signing-key.pem").read_text()

    assert main(["key", "rotate"]) == 0
    out = capsys.readouterr().out
    old_fingerprint = "sha256:" + hashlib.sha256(base64.b64decode(before["publicKey"])).hexdigest()
    assert f"retired {old_fingerprint}" in out
    key_file = data_dir / "keys" / "wacz-signing-key.pem"
    assert key_file.read_text() != old_pem, "the old private key is gone"
    assert old_pem not in "".join(p.read_text() for p in (data_dir / "keys").iterdir())
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    after = verify_signed_wacz(_signed_export(research_sqlite, KeySigner.for_data_dir(data_dir)))
    assert after["publicKey"] != before["publicKey"]

    from aiohttp.test_utils import TestClient, TestServer

    from server.app import create_app

    settings = dataclasses.replace(research_sqlite.settings, data_dir=data_dir)
    app = create_app(settings, archiver=research_sqlite.archiver, app_modules=[])

    async def listed() -> list[dict]:
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            return (await (await client.get("/api/v1/keys")).json())["keys"]

    keys = asyncio.run(listed())
    assert [k["publicKey"] for k in keys] == [after["publicKey"], before["publicKey"]]
    assert keys[0]["retired"] is None
    assert keys[0]["created"] >= keys[1]["retired"] >= keys[1]["created"]

    assert main(["key", "show"]) == 0
    assert f"retired:     {old_fingerprint} (signed from {keys[1]['created']}" in capsys.readouterr().out
