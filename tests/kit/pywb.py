"""pywb, the reference Wayback implementation, run from its own venv (``make pywb``) on loopback."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.kit.paths import ROOT

PYWB_BIN = ROOT / ".venv-pywb" / "bin"
# Replay requests go to 127.0.0.1 directly, whatever proxy the developer's shell sets.
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def run(args: list[str], cwd: Path) -> None:
    """Run one of pywb's tools (``wb-manager``); a failure fails the test with its output."""
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    """Return once ``wayback`` listens on ``port``; fail the test if it exits or never does."""
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


def get(url: str) -> tuple[int, bytes]:
    """(status, body) of a replay request; an HTTP error status is an answer, not an exception."""
    try:
        with NO_PROXY.open(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
