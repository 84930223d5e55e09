"""Provenance: what signing a WACZ export costs (issue 16: under 10% of the export's time).

Captures archived with ``archive()`` on a real SeaweedFS + SQLite, then the same selection
exported as WACZ unsigned and signed with the archive's key (ECDSA P-384, as ArchiveWeb.page),
alternating (each first in half of the rounds), in the same run. The verdict compares the fastest
run of each: on a shared machine other load moves a median by 15% either way, while the fastest run
is the export's own cost. A signature covers one hash (of datapackage.json), so its cost is one
ECDSA signature per file whatever the file's size; the table also shows that signature alone.
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import time
from datetime import UTC, datetime, timedelta

from crawler.archive import Archiver
from crawler.cli.services import SeaweedFS, SeaweedPorts, temp_dir
from crawler.config import Settings
from crawler.research.export import Exporter, Selection
from crawler.research.signing import KeySigner
from crawler.snapshot.capture import Capture

CAPTURES = int(os.environ.get("DECLUTTER_BENCH_SIGN_CAPTURES", "1000"))
ROUNDS = int(os.environ.get("DECLUTTER_BENCH_SIGN_ROUNDS", "5"))
LIMIT = 1.10
T0 = datetime(2024, 1, 1, tzinfo=UTC)
WORDS = "talks minister city report river market season council bridge harbour winter".split()


def _page(i: int, rng: random.Random) -> bytes:
    paragraphs = "".join(
        "<p>" + " ".join(rng.choices(WORDS, k=80)).capitalize() + ".</p>" for _ in range(20)
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Report {i}</title></head><body><article><h1>Report {i}</h1>{paragraphs}"
        "</article></body></html>"
    ).encode()


def _timed(exporter: Exporter, selection: Selection) -> tuple[float, int]:
    started = time.perf_counter()
    size = sum(len(chunk) for chunk in exporter.export(selection, "wacz"))
    return time.perf_counter() - started, size


def bench_signing(settings: Settings) -> dict[str, list[float]]:
    rng = random.Random(16)
    with Archiver.from_settings(settings) as archiver:
        for i in range(CAPTURES):
            archiver.archive(
                Capture(
                    url=f"https://signed.example/news/{i}",
                    status=200,
                    body=_page(i, rng),
                    response_headers=[("Content-Type", "text/html; charset=utf-8")],
                    request_headers=[("User-Agent", "Declutter-bench")],
                    captured_at=T0 + timedelta(minutes=i),
                )
            )
        selection = Selection(site="signed.example")
        exporters = {
            "export wacz": Exporter(archiver.catalogue, archiver),
            "export wacz, signed": Exporter(
                archiver.catalogue, archiver, signer=KeySigner.for_data_dir(settings.data_dir)
            ),
        }
        _timed(exporters["export wacz"], selection)  # warm-up: caches, pool threads, key load
        times: dict[str, list[float]] = {label: [] for label in exporters}
        sizes: dict[str, int] = {}
        for round_ in range(ROUNDS):
            # Each order half the time: in a fixed order the second run found warmer caches.
            order = list(exporters.items())
            for label, exporter in order if round_ % 2 == 0 else reversed(order):
                seconds, sizes[label] = _timed(exporter, selection)
                times[label].append(seconds)
    signer = KeySigner.for_data_dir(settings.data_dir)
    started = time.perf_counter()
    for _ in range(100):
        signer.sign("sha256:" + "0" * 64, "2024-01-01T00:00:00Z")
    times["one signature alone"] = [(time.perf_counter() - started) / 100]
    times["MB out"] = [sizes["export wacz, signed"] / 1e6]
    return times


def main() -> None:
    root = temp_dir("declutter-bench-provenance-")
    s3 = SeaweedFS(root / "weed", bucket="bench", ports=SeaweedPorts.free())
    try:
        s3.start()
        settings = Settings(
            data_dir=root / "data", s3_endpoint=s3.endpoint, s3_access_key=s3.access_key,
            s3_secret_key=s3.secret_key, s3_bucket=s3.bucket,
        )
        times = bench_signing(settings)
    finally:
        s3.stop(timeout=5)
        shutil.rmtree(root, ignore_errors=True)

    print(f"Signed WACZ: {CAPTURES} archived pages on SeaweedFS + SQLite, "
          f"{times['MB out'][0]:.1f} MB; {ROUNDS} alternating rounds")
    header = (f"{'run':26} {'min s':>8} {'median s':>9} {'max s':>8} {'x unsigned (min)':>17}"
              f" {'(median)':>9}")
    print(header)
    print("-" * len(header))
    best = min(times["export wacz"])
    middle = statistics.median(times["export wacz"])
    for label in ("export wacz", "export wacz, signed"):
        samples = times[label]
        median = statistics.median(samples)
        print(f"{label:26} {min(samples):8.3f} {median:9.3f} {max(samples):8.3f}"
              f" {min(samples) / best:17.3f} {median / middle:9.3f}")
    signature = times["one signature alone"][0]
    print(f"{'one signature alone':26} {signature:8.5f} {'':>9} {'':>8} {signature / best:17.5f}")
    ratio = min(times["export wacz, signed"]) / best
    verdict = "within" if ratio < LIMIT else "OVER"
    print(f"\nsigning: x{ratio:.3f} the unsigned export's time, fastest runs ({verdict} the"
          f" x{LIMIT:.2f} limit); the signature itself is {signature / best:.4%} of it")


if __name__ == "__main__":
    main()
