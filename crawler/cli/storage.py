"""`declutter storage|sync|verify`: run the embedded S3 server, finish spooled captures, check objects."""

from __future__ import annotations

import argparse
import signal
import sys
import time

from crawler import config


def register(subparsers: argparse._SubParsersAction) -> None:
    storage = subparsers.add_parser(
        "storage",
        help="run the embedded S3 server (SeaweedFS) on 127.0.0.1 in the foreground",
        description="Run SeaweedFS with its data under DATA_DIR/seaweedfs, serving S3 at"
        " DECLUTTER_S3_ENDPOINT (127.0.0.1:8333) with the configured credentials. Ctrl+C stops it.",
    )
    storage.add_argument(
        "--postgres",
        nargs="?",
        const=5433,
        type=int,
        metavar="PORT",
        help="also run PostgreSQL 15 (data in DATA_DIR/postgres) on 127.0.0.1:PORT (default 5433)"
        " and print the DECLUTTER_DATABASE_URL to use",
    )
    storage.set_defaults(func=_storage)

    sync = subparsers.add_parser(
        "sync",
        help="upload captures waiting in the spool (DATA_DIR/spool) and catalogue them",
    )
    sync.set_defaults(func=_sync)

    verify = subparsers.add_parser(
        "verify",
        help="re-read stored objects and check their digests against the catalogue",
    )
    verify.add_argument("ids", nargs="*", metavar="ID", help="capture ids (default: every capture)")
    verify.add_argument("-q", "--quiet", action="store_true", help="print only problems")
    verify.add_argument(
        "--log",
        action="store_true",
        help="check the capture log instead: its hash chain against the catalogue, and its signed"
        " checkpoints in storage; names the first entry that breaks",
    )
    verify.set_defaults(func=_verify)


def _archiver(*, read_only: bool = False):
    from crawler.archive import Archiver
    from crawler.catalogue import CatalogueError
    from crawler.cli.reading import require_catalogue
    from crawler.errors import DeclutterError

    settings = config.load()
    if read_only:
        require_catalogue(settings)
    try:
        return Archiver.from_settings(settings)
    except CatalogueError as exc:
        raise DeclutterError(str(exc)) from exc


def _storage(args: argparse.Namespace) -> int:
    from crawler.cli.services import PostgresServer, SeaweedFS, ServiceError
    from crawler.errors import DeclutterError

    settings = config.load()
    started: list = []
    try:
        server = SeaweedFS.from_settings(settings)
        server.die_with_parent = True
        started.append(server.start())
        print(
            f"S3 (SeaweedFS) at http://{server.endpoint}, bucket {server.bucket},"
            f" data in {server.data_dir}, log {server.log_path}",
            flush=True,
        )
        if args.postgres:
            pg = PostgresServer(settings.data_dir / "postgres", port=args.postgres, fast=False)
            pg.die_with_parent = True
            started.append(pg.start())
            url = pg.url("declutter")
            if not pg.has_database("declutter"):
                pg.create_database("declutter")
            print(f"PostgreSQL at 127.0.0.1:{args.postgres}: export DECLUTTER_DATABASE_URL={url}")
    except ServiceError as exc:
        for service in reversed(started):
            service.stop()
        raise DeclutterError(str(exc)) from exc
    print("Ctrl+C stops them", flush=True)
    stopping: list[bool] = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    try:
        while not stopping and all(service.running for service in started):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for service in reversed(started):
            service.stop()
    return 0


def _sync(args: argparse.Namespace) -> int:
    from crawler.errors import DeclutterError

    with _archiver() as archiver:
        waiting = archiver.pending()
        if not waiting:
            print("spool is empty: nothing to sync")
            return 0
        report = archiver.sync()
    print(f"synced {report.synced} of {waiting} spooled captures; {report.remaining} remain")
    if report.remaining:
        raise DeclutterError(f"sync stopped: {report.error}; run `declutter sync` again when fixed")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from crawler.catalogue import CaptureNotFound
    from crawler.cli.reading import describe
    from crawler.errors import DeclutterError

    if args.log:
        return _verify_log(args)
    checked = bad = 0
    with _archiver(read_only=True) as archiver:
        _require_storage(archiver, checked)
        try:
            for result in archiver.verify(args.ids or None):
                checked += 1
                if result.ok:
                    if not args.quiet:
                        print(f"ok   {result.capture_id}")
                    continue
                # A storage outage is one problem, not one per remaining capture.
                _require_storage(archiver, checked - 1)
                bad += 1
                for problem in result.problems:
                    print(f"FAIL {result.capture_id}: {problem}", file=sys.stdout)
        except CaptureNotFound as exc:
            raise DeclutterError(str(exc)) from exc
        where = describe(archiver.catalogue)
    if checked == 0:
        print(f"the catalogue {where} holds no captures: nothing to verify")
        return 0
    print(f"verified {checked} captures: {checked - bad} ok, {bad} with problems")
    return 1 if bad else 0


def _verify_log(args: argparse.Namespace) -> int:
    """Exit 1 and name the first entry that breaks, else say how much of the log is signed."""
    from crawler.archive.checkpoints import verify_log
    from crawler.errors import DeclutterError

    if args.ids:
        raise DeclutterError("`declutter verify --log` checks the whole log: leave out the capture ids")
    with _archiver(read_only=True) as archiver:
        _require_storage(archiver, 0)
        report = verify_log(archiver.store, archiver.catalogue, config.load().data_dir)
    if report.problems:
        first = report.problems[0]
        print(f"FAIL the capture log breaks at {first}")
        for problem in report.problems[1:20]:
            print(f"FAIL {problem}")
        if len(report.problems) > 20:
            print(f"... and {len(report.problems) - 20} more problems")
        print(f"checked {report.entries} log entries and {report.checkpoints} checkpoints:"
              f" {len(report.problems)} problems")
        return 1
    print(
        f"capture log ok: {report.entries} entries chained, {report.checkpoints} signed"
        f" checkpoints verified (the last covers {report.last_checkpoint} entries;"
        f" {report.unsigned} after it are held by the chain until the next)"
    )
    return 0


def _require_storage(archiver, checked: int) -> None:
    """Stop with one "storage unreachable" when the object store does not answer a ping."""
    from crawler.errors import DeclutterError

    if archiver.store.ping():
        return
    done = f"; {checked} captures were checked before it went away" if checked else ""
    raise DeclutterError(
        f"storage unreachable at {archiver.store.endpoint}: nothing can be verified until it "
        f"answers{done}. Start it (`declutter storage`) or fix DECLUTTER_S3_ENDPOINT, then run "
        "`declutter verify` again"
    )
