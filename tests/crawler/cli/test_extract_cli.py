"""`declutter extract` through the real entry point: files, stdin, URLs, jsonl and exit codes."""

from __future__ import annotations

import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from crawler.cli import main
from tests.kit.paths import ROOT
from tests.kit.text import collapse

DECLUTTER = ROOT / ".venv" / "bin" / "declutter"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["extract", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_file_as_text(capsys, seed_dir, seed_expectations):
    must, _ = seed_expectations
    code, out, err = run(capsys, str(seed_dir / "page.html"))
    assert code == 0 and not err
    assert out.startswith(must[0] + "\n\n")
    assert all(line in collapse(out) for line in must)


def test_file_as_json_has_article_fields(capsys, seed_dir):
    code, out, _ = run(capsys, "--format", "json", "--url", "https://n.example/a", str(seed_dir / "page.html"))
    assert code == 0
    data = json.loads(out)
    assert set(data) >= {"title", "byline", "published", "site_name", "lang", "lead_image", "url",
                         "html", "text", "word_count", "reading_minutes", "extractor_version"}
    assert data["word_count"] > 300


def test_html_format_is_sanitised(capsys, seed_dir):
    code, out, _ = run(capsys, "--format", "html", str(seed_dir / "page.html"))
    assert code == 0
    assert "<p>" in out and "<script" not in out


def test_jsonl_goes_on_after_a_failing_source(capsys, seed_dir, tmp_path):
    missing = tmp_path / "missing.html"
    code, out, _ = run(
        capsys, "--format", "jsonl", str(seed_dir / "page.html"), str(missing),
        str(seed_dir / "page-js.html"), str(seed_dir / "page.html"),
    )
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert len(lines) == 4
    assert lines[0]["title"] and lines[3]["title"] == lines[0]["title"]
    assert lines[1] == {"source": str(missing), "error": "no such file"}
    assert lines[2]["source"] == str(seed_dir / "page-js.html")
    assert "no article found" in lines[2]["error"]


def test_single_failing_source_exits_non_zero_with_one_line(capsys, seed_dir):
    code, out, err = run(capsys, str(seed_dir / "page-js.html"))
    assert code == 1 and not out
    assert len(err.strip().splitlines()) == 1
    assert "no article found" in err


def test_single_failing_source_in_jsonl(capsys, seed_dir):
    code, out, err = run(capsys, "--format", "jsonl", str(seed_dir / "page-js.html"))
    assert code == 1
    assert "no article found" in json.loads(out)["error"]
    assert len(err.strip().splitlines()) == 1


def test_missing_file_and_directory(capsys, tmp_path):
    code, _, err = run(capsys, str(tmp_path / "nope.html"))
    assert code == 1 and "no such file" in err
    code, _, err = run(capsys, str(tmp_path))
    assert code == 1 and "is a directory" in err


def test_stdin_through_the_installed_command(seed_dir, seed_expectations):
    must, _ = seed_expectations
    assert DECLUTTER.exists(), "run `make setup` to install the declutter command"
    result = subprocess.run(
        [str(DECLUTTER), "extract", "-", "--format", "jsonl"],
        input=(seed_dir / "page.html").read_bytes(), capture_output=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert all(line in collapse(data["title"] + " " + data["text"]) for line in must[1:])


def test_installed_command_fails_cleanly_on_binary(tmp_path):
    blob = tmp_path / "image.png"
    blob.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    result = subprocess.run([str(DECLUTTER), "extract", str(blob)], capture_output=True, timeout=60, text=True)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"declutter: {blob}: not HTML: the input looks like a PNG image"]


class _Pages(BaseHTTPRequestHandler):
    pages: dict[str, tuple[int, str, bytes]] = {}

    def do_GET(self) -> None:  # noqa: N802
        status, content_type, body = self.pages.get(self.path, (404, "text/plain", b"not found"))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def origin(seed_dir: Path):
    _Pages.pages = {
        "/article": (200, "text/html; charset=utf-8", (seed_dir / "page.html").read_bytes()),
        "/latin": (
            200,
            "text/html; charset=iso-8859-1",
            (seed_dir / "page.html").read_text("utf-8").replace("Putin earlier", "Café Putin earlier")
            .encode("iso-8859-1", "replace"),
        ),
    }
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_url_sources(capsys, origin):
    code, out, _ = run(capsys, "--format", "jsonl", f"{origin}/article", f"{origin}/latin", f"{origin}/gone")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert lines[0]["url"].startswith("https://thepostmillennial.example/")
    assert "Café Putin earlier" in lines[1]["text"]
    assert "404" in lines[2]["error"]
