"""`make run` (infra/run-local.sh) as a newcomer meets it (issue 13, items 4 and 9).

Every run here is pointed at free 127.0.0.1 ports, a temporary data folder and either the
session's SeaweedFS or a closed loopback port for S3, so it never touches a running stack.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crawler.catalogue import open_catalogue
from crawler.cli.services import SeaweedPorts, free_port
from crawler.config import Settings

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "infra" / "run-local.sh"
CLOSED_S3 = "127.0.0.1:9"  # discard port on loopback: nothing listens, nothing leaves the host


def env_for(data: Path, **settings: str) -> dict[str, str]:
    """The environment without any DECLUTTER_* of the caller's, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DECLUTTER_")}
    env.update({"DECLUTTER_DATA_DIR": str(data), "DECLUTTER_HOST": "127.0.0.1", **settings})
    return env


def run_script(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(SCRIPT), *args], env=env, cwd=ROOT, capture_output=True, text=True,
        timeout=timeout, check=False,
    )


@pytest.fixture
def listener() -> Iterator[tuple[int, subprocess.Popen]]:
    """A separate process listening on a free 127.0.0.1 port: (port, process)."""
    code = (
        "import socket, sys, time\n"
        "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n"
        "print(s.getsockname()[1], flush=True)\n"
        "time.sleep(120)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        port = int(process.stdout.readline())
        yield port, process
    finally:
        process.kill()
        process.wait(10)


def test_the_script_checks_the_ports_seaweedfs_opens(tmp_path: Path) -> None:
    done = run_script(env_for(tmp_path / "data", DECLUTTER_PORT="18080"), "--ports")
    assert done.returncode == 0, done.stderr
    ports = {int(line.split()[0]): line.split(None, 1)[1] for line in done.stdout.splitlines()}
    assert ports.pop(18080) == "the server (DECLUTTER_PORT)"
    assert ports.pop(8090) == "the demo site (DECLUTTER_DEMO_PORT)"
    assert sorted(ports) == sorted(SeaweedPorts.beside(8333).all())

    done = run_script(env_for(tmp_path / "data", DECLUTTER_S3_ENDPOINT=CLOSED_S3), "--ports")
    assert [line.split()[0] for line in done.stdout.splitlines()] == ["8080", "8090"]


@pytest.mark.parametrize("which", ["DECLUTTER_PORT", "DECLUTTER_DEMO_PORT"])
def test_a_taken_port_stops_everything_before_it_starts(
    which: str, listener: tuple[int, subprocess.Popen], tmp_path: Path
) -> None:
    port, holder = listener
    other = "DECLUTTER_DEMO_PORT" if which == "DECLUTTER_PORT" else "DECLUTTER_PORT"
    env = env_for(
        tmp_path / "data", **{which: str(port), other: str(free_port())},
        DECLUTTER_S3_ENDPOINT=CLOSED_S3,
    )
    # With setup on: a stand-in `make` records whether the script got as far as installing.
    stubs, marker = tmp_path / "bin", tmp_path / "make-was-run"
    stubs.mkdir()
    (stubs / "make").write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    (stubs / "make").chmod(0o755)
    env["PATH"] = f"{stubs}:{env['PATH']}"
    started = time.monotonic()
    done = run_script(env, timeout=30)
    assert done.returncode == 1, done.stdout + done.stderr
    assert time.monotonic() - started < 10
    assert f"port {port}, for the " in done.stderr and f"({which})" in done.stderr
    assert f"is taken by pid {holder.pid}: {sys.executable} -c" in done.stderr
    assert "Nothing was started" in done.stderr
    assert "Declutter is running" not in done.stdout
    assert not marker.exists(), "nothing is installed when a port is taken"
    assert not (tmp_path / "data").exists(), "nothing is created when a port is taken"


def test_the_two_ports_must_differ(tmp_path: Path) -> None:
    port = str(free_port())
    env = env_for(tmp_path / "data", DECLUTTER_PORT=port, DECLUTTER_DEMO_PORT=port,
                  DECLUTTER_S3_ENDPOINT=CLOSED_S3)
    done = run_script(env, "--no-setup")
    assert done.returncode == 1
    assert f"DECLUTTER_PORT and DECLUTTER_DEMO_PORT are both {port}" in done.stderr


def test_a_service_that_exits_shows_the_end_of_its_log(tmp_path: Path) -> None:
    demo = free_port()
    env = env_for(
        tmp_path / "data", DECLUTTER_PORT=str(free_port()), DECLUTTER_DEMO_PORT=str(demo),
        DECLUTTER_S3_ENDPOINT=CLOSED_S3, DECLUTTER_MAX_BODY_BYTES="lots",
    )
    done = run_script(env, "--no-setup", timeout=90)
    assert done.returncode == 1, done.stdout
    err = done.stderr
    assert "the server (declutter serve) exited (code 1)" in err
    assert f"The end of {tmp_path / 'data' / 'logs' / 'server.log'}:" in err
    assert "  | ValueError: invalid literal for int() with base 10: 'lots'" in err
    assert "stopping the other services" in err and "Declutter is running" not in done.stdout
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", demo)) != 0, "the demo site was stopped too"


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def wait_for_text(path: Path, text: str, process: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while text not in path.read_text():
        assert process.poll() is None, f"the script exited: {path.read_text()}"
        assert time.monotonic() < deadline, f"no {text!r} after {seconds}s"
        time.sleep(0.2)


def test_a_moved_demo_site_is_crawled_and_ctrl_c_is_a_normal_stop(
    s3_server: Any, tmp_path: Path
) -> None:
    port, demo, data = free_port(), free_port(), tmp_path / "data"
    env = env_for(
        data, DECLUTTER_PORT=str(port), DECLUTTER_DEMO_PORT=str(demo),
        DECLUTTER_S3_ENDPOINT=s3_server.endpoint, DECLUTTER_S3_ACCESS_KEY=s3_server.access_key,
        DECLUTTER_S3_SECRET_KEY=s3_server.secret_key, DECLUTTER_S3_BUCKET=s3_server.bucket,
    )
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    # Ctrl+C reaches the terminal's whole process group with SIGINT; a new session stands in.
    process = subprocess.Popen(
        ["bash", str(SCRIPT), "--no-setup"], env=env, cwd=ROOT, stdout=out.open("w"),
        stderr=err.open("w"), start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        wait_for_text(out, "Declutter is running", process, 60)
        assert f"Demo news site: http://127.0.0.1:{demo}/" in out.read_text()
        sitemap = fetch(f"http://127.0.0.1:{demo}/sitemap-news.xml")
        assert f"http://127.0.0.1:{demo}/articles/" in sitemap and ":8090" not in sitemap
        assert "Declutter" in fetch(f"http://127.0.0.1:{port}/")

        settings = Settings(data_dir=data, database_url="")
        deadline, found = time.monotonic() + 120, []
        while not found:
            assert process.poll() is None, err.read_text()
            assert time.monotonic() < deadline, "the demo crawl stored nothing within 120 s"
            time.sleep(1)
            if settings.sqlite_path.exists():
                with open_catalogue(settings) as catalogue:
                    found, _ = catalogue.list_captures(
                        f"http://127.0.0.1:{demo}/articles/", match="prefix"
                    )
        assert all(row.url.startswith(f"http://127.0.0.1:{demo}/articles/") for row in found)
        # The banner's way to read this archive from another folder works as printed.
        banner = out.read_text().splitlines()
        start = next(i for i, line in enumerate(banner) if "export DECLUTTER_DATA_DIR=" in line)
        commands = "; ".join(line.strip() for line in banner[start:start + 2])
        listed = subprocess.run(
            ["bash", "-c", commands], cwd=tmp_path, env=env_for(tmp_path / "elsewhere"),
            capture_output=True, text=True, timeout=60, check=False,
        )
        assert listed.returncode == 0, (commands, listed.stderr)
        assert found[0].id in listed.stdout and found[0].url in listed.stdout

        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(60) == 0, err.read_text()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
    assert "stopping Declutter...\nDeclutter stopped." in out.read_text()
    assert "exited" not in err.read_text(), "a normal stop does not report a service as failed"
    for closed in (port, demo):
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", closed)) != 0, f"port {closed} still answers"
