"""Server throughput: req/s and p50/p99 latency under load, beside a minimal aiohttp handler.

Each server runs in its own process (one event loop, as ``declutter serve`` runs it) on loopback;
wrk (Debian's package) drives it with 32 connections from 2 threads, so the load generator costs
little of the server's CPU. Scenarios: ``/clean`` with the seed page posted (every body differs, so
each request is a cache miss and a full extraction), the same request cached, and one page of
``/api/v1/captures`` from a catalogue of 2,000 captures. The baseline is a handler that returns
"ok", measured in the same run on the same machine: the ratios are what Declutter's own work costs.

The rate limit is off for the run (a benchmark client is one address sending thousands of
requests a second); everything else is the default configuration.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.kit.paths import SHARED

SEED = SHARED / "fixtures" / "seed-article" / "page.html"
CONNECTIONS = 32
THREADS = 2
DURATION_S = 4
# Each measured run follows a discarded one: the first second after another scenario carries its
# residue (connections wrk abandoned mid-request), which would otherwise be billed to this one.
WARMUP_S = 1
ROUNDS = 3
WARMUP_S = 1
CAPTURES = 2_000
PAGE_URL = "https://news.example.com/2022/02/25/talks"
FLOOR_RATIO = 0.30
FLOOR_P99_MS = 50.0
LISTING_AIM_US = 500  # issue 19: a 20-row listing under 0.5 ms of server CPU


@dataclass
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int = 0
    cpu_us: float = 0.0  # the server process's CPU time per request


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (and its threads) from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(kind: str, port: int, data_dir: str) -> None:
    """Entry point of a server process: ``minimal`` (the baseline) or ``declutter``."""
    from aiohttp import web

    if kind == "minimal":
        async def ok(request: web.Request) -> web.Response:
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_get("/", ok)
        app.router.add_post("/", ok)
    else:
        from crawler.config import Settings
        from server.app import create_app

        settings = replace(Settings(), data_dir=Path(data_dir), rate_limit=0.0, database_url="")
        app = create_app(settings)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def _start(kind: str, data_dir: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    code = f"from bench.server import _serve; _serve({kind!r}, {port}, {str(data_dir)!r})"
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[1],
        env={**os.environ, "DECLUTTER_DATA_DIR": str(data_dir)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{kind} server exited: {process.stderr.read().decode()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process, base
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{kind} server did not start within 60 s")


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _populate(data_dir: Path) -> None:
    """Catalogue rows only: the listing reads the catalogue, never storage."""
    from crawler.catalogue import CaptureRow, new_capture_id, open_catalogue, url_key
    from crawler.config import Settings

    catalogue = open_catalogue(replace(Settings(), data_dir=data_dir, database_url=""))
    start = datetime(2022, 2, 25, tzinfo=UTC)
    for i in range(CAPTURES):
        when = start + timedelta(hours=i)
        capture_id = new_capture_id(when)
        catalogue.record_capture(
            CaptureRow(
                id=capture_id,
                url=PAGE_URL,
                url_key=url_key(PAGE_URL),
                captured_at=when,
                status=200,
                payload_digest=f"sha1:{i:032d}",
                warc_key=f"warc/{capture_id}.warc.gz",
                warc_sha256="0" * 64,
                warc_size=10_000,
                mime="text/html",
                title=f"Capture {i}",
            ),
            text=f"capture {i} of the talks article",
        )
    catalogue.close()


def _lua_string(text: str) -> str:
    level = "=" * 4
    assert f"]{level}]" not in text
    return f"[{level}[{text}]{level}]"


def _wrk_script(folder: Path, method: str, path: str, body: str | None, vary: bool) -> Path:
    """A wrk script; with ``vary`` each request's body differs (a counter in an HTML comment)."""
    headers = '{["Content-Type"] = "application/json"}' if body is not None else "{}"
    if body is not None and vary:
        prefix, suffix = body.split("__N__")
        script = f"""
local prefix = {_lua_string(prefix)}
local suffix = {_lua_string(suffix)}
local n = 0
local id = 0
setup = function(thread) id = id + 1; thread:set("tid", id) end
request = function()
  n = n + 1
  return wrk.format("{method}", "{path}", {headers}, prefix .. tid .. "-" .. n .. suffix)
end
"""
    elif body is not None:
        script = f"""
wrk.method = "{method}"
wrk.body = {_lua_string(body)}
wrk.headers["Content-Type"] = "application/json"
wrk.path = "{path}"
"""
    else:
        script = f'wrk.method = "{method}"\nwrk.path = "{path}"\n'
    target = folder / f"s{abs(hash((method, path, vary, body is None)))}.lua"
    target.write_text(script)
    return target


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _latency_ms(text: str, percentile: str) -> float:
    match = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    if not match:
        raise RuntimeError(f"wrk printed no {percentile}% latency:\n{text}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _wrk(name: str, base: str, script: Path, duration: int = DURATION_S) -> Result:
    command = ["wrk", "-t", str(THREADS), "-c", str(CONNECTIONS), "-d", f"{duration}s",
               "--latency", "-s", str(script), base]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = 0
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if non_2xx:
        errors += int(non_2xx.group(1))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return Result(name, rps, _latency_ms(out, "50"), _latency_ms(out, "99"), errors, requests)


def _check(base: str, method: str, path: str, body: str | None) -> None:
    request = urllib.request.Request(
        base + path, data=body.encode() if body is not None else None, method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        if response.status != 200:
            raise RuntimeError(f"{method} {path} answered {response.status}")
        response.read()


SERVERS: dict[str, tuple[subprocess.Popen, str]] = {}


@dataclass
class Scenario:
    name: str
    server: str
    method: str
    path: str
    body: str | None = None
    vary: bool = False


def _wait_idle(process: subprocess.Popen, limit_s: float = 15.0) -> None:
    """Until the server has finished work left from the previous run (extractions still running
    for requests wrk already gave up on), so that work is not billed to the next scenario."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        before = _cpu_seconds(process.pid)
        time.sleep(0.2)
        if _cpu_seconds(process.pid) - before < 0.02:
            return


def _measure(scenario: Scenario, server: tuple[subprocess.Popen, str], script: Path) -> Result:
    process, base = server
    for other, _ in SERVERS.values():
        _wait_idle(other)
    _wrk(scenario.name, base, script, duration=WARMUP_S)
    for other, _ in SERVERS.values():
        _wait_idle(other)
    cpu_before = _cpu_seconds(process.pid)
    result = _wrk(scenario.name, base, script)
    result.cpu_us = (_cpu_seconds(process.pid) - cpu_before) / max(result.requests, 1) * 1e6
    return result


def _median(results: list[Result]) -> Result:
    """The run with the median req/s; errors are summed over all runs."""
    ordered = sorted(results, key=lambda r: r.rps)
    middle = ordered[len(ordered) // 2]
    return replace(middle, errors=sum(r.errors for r in results))


def main() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (make setup does)")
    if not SEED.exists():
        raise SystemExit(f"{SEED} is absent: clone the project beside ../shared")
    html = SEED.read_text(encoding="utf-8")
    folder = Path(tempfile.mkdtemp(prefix="declutter-bench-server-"))
    data_dir = folder / "data"
    data_dir.mkdir()
    _populate(data_dir)
    cached_body = json.dumps({"url": PAGE_URL, "html": html})
    varying_body = json.dumps(
        {"url": PAGE_URL, "html": html.replace("</body>", "<!-- __N__ --></body>", 1)}
    )
    scenarios = [
        Scenario("minimal aiohttp handler (GET)", "minimal", "GET", "/"),
        Scenario("minimal aiohttp handler (POST seed JSON)", "minimal", "POST", "/", cached_body),
        Scenario("/clean seed page posted (miss)", "declutter", "POST", "/api/v1/clean",
                 varying_body, vary=True),
        Scenario("/clean seed page cached (hit)", "declutter", "POST", "/api/v1/clean", cached_body),
        Scenario(f"/captures listing (20 of {CAPTURES})", "declutter", "GET",
                 f"/api/v1/captures?url={PAGE_URL}&limit=20"),
    ]
    servers = SERVERS
    runs: dict[str, list[Result]] = {s.name: [] for s in scenarios}
    try:
        for kind in ("minimal", "declutter"):
            servers[kind] = _start(kind, data_dir)
        scripts = {}
        for scenario in scenarios:
            base = servers[scenario.server][1]
            probe = scenario.body.replace("__N__", "probe") if scenario.vary else scenario.body
            _check(base, scenario.method, scenario.path, probe)
            scripts[scenario.name] = _wrk_script(
                folder, scenario.method, scenario.path, scenario.body, scenario.vary
            )
            _wrk(scenario.name, base, scripts[scenario.name], duration=WARMUP_S)
        # Rounds interleave the scenarios, so a burst of other work on the machine falls on all
        # of them alike; each row is its median round.
        for _round in range(ROUNDS):
            for scenario in scenarios:
                result = _measure(scenario, servers[scenario.server], scripts[scenario.name])
                runs[scenario.name].append(result)
    finally:
        for process, _ in servers.values():
            _stop(process)
        servers.clear()
        shutil.rmtree(folder, ignore_errors=True)
    _print([_median(runs[s.name]) for s in scenarios])
    _print_listing_stages()


def _listing_stages(data_dir: Path, runs: int = 2000) -> list[tuple[str, float]]:
    """The 20-row listing's own stages in this process, CPU per call: what is left of its server
    CPU per request is aiohttp, the middlewares and the hop to the catalogue's thread."""
    from crawler.catalogue import open_catalogue
    from crawler.config import Settings
    from server.api.captures import listing_json

    catalogue = open_catalogue(replace(Settings(), data_dir=data_dir, database_url=""))
    try:
        def read() -> tuple:
            return catalogue.list_captures(PAGE_URL, limit=20, newest_first=True)

        rows, cursor = read()
        stages = [("catalogue read (20 rows + cursor)", read),
                  ("JSON answer (orjson from the rows)", lambda: listing_json(rows, cursor))]
        timed = []
        for name, stage in stages:
            for _ in range(100):
                stage()
            started = time.process_time()
            for _ in range(runs):
                stage()
            timed.append((name, (time.process_time() - started) / runs * 1e6))
        return timed
    finally:
        catalogue.close()


def _print_listing_stages() -> None:
    folder = Path(tempfile.mkdtemp(prefix="declutter-bench-listing-"))
    try:
        _populate(folder)
        stages = _listing_stages(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"\n/captures listing stages, in process, CPU per call (aim: whole request < {LISTING_AIM_US} us):")
    for name, micros in stages:
        print(f"  {name:40} {micros:7.0f} us")


def _print(results: list[Result]) -> None:
    named = {r.name: r for r in results}
    get_base = named["minimal aiohttp handler (GET)"]
    post_base = named["minimal aiohttp handler (POST seed JSON)"]
    load = os.getloadavg()[0]
    print(f"wrk, {CONNECTIONS} connections, {THREADS} threads, median of {ROUNDS} interleaved "
          f"{DURATION_S} s runs per row (each after a discarded {WARMUP_S} s run), loopback; "
          f"{os.cpu_count()} cores shared by server and load generator; load average {load:.1f} "
          "at the end (other work on the machine lowers req/s and widens p99; server CPU per "
          "request is the steadier figure)\n")
    print(f"| {'scenario':42} | {'req/s':>8} | {'p50 ms':>7} | {'p99 ms':>7} | "
          f"{'vs GET ok':>9} | {'server CPU/req':>14} | {'errors':>6} |")
    print(f"|{'-' * 44}|{'-' * 10}|{'-' * 9}|{'-' * 9}|{'-' * 11}|{'-' * 16}|{'-' * 8}|")
    for r in results:
        print(f"| {r.name:42} | {r.rps:8.0f} | {r.p50_ms:7.2f} | {r.p99_ms:7.2f} | "
              f"{r.rps / get_base.rps:9.0%} | {r.cpu_us:11.0f} us | {r.errors:6d} |")
    cached = named["/clean seed page cached (hit)"]
    ratio = cached.rps / get_base.rps
    ok = ratio >= FLOOR_RATIO and cached.p99_ms < FLOOR_P99_MS and cached.errors == 0
    print(f"\nfloor (issue 5): cached /clean >= {FLOOR_RATIO:.0%} of the minimal GET handler's "
          f"req/s and p99 < {FLOOR_P99_MS:.0f} ms at {CONNECTIONS} connections: {ratio:.0%}, "
          f"p99 {cached.p99_ms:.1f} ms -> {'met' if ok else 'NOT MET'}")
    print(f"CPU per request, cached /clean vs minimal GET: {cached.cpu_us / get_base.cpu_us:.1f}x; "
          f"vs minimal POST of the same body: {cached.cpu_us / post_base.cpu_us:.1f}x")
    listing = named[f"/captures listing (20 of {CAPTURES})"]
    verdict = "meets" if listing.cpu_us < LISTING_AIM_US else "MISSES"
    print(f"/captures listing: {listing.cpu_us:.0f} us server CPU per request {verdict} the "
          f"{LISTING_AIM_US} us aim ({listing.cpu_us / get_base.cpu_us:.1f}x the minimal GET)")


if __name__ == "__main__":
    main()
