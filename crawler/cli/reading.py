"""Opening the archive for reading from the command line: the catalogue, the objects, the arguments.

The researchers' commands and ``declutter verify`` only read. Opening SQLite creates the file, so
these helpers check it exists first: run from the wrong folder or with the wrong settings, a read
used to leave an empty catalogue behind and answer "no captures" as if the archive were empty.
Every empty answer names the catalogue it read, for the same reason.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler import config
from crawler.errors import DeclutterError

if TYPE_CHECKING:
    from crawler.archive import Archiver
    from crawler.catalogue import Catalogue


def error(message: str) -> DeclutterError:
    """The one error the CLI prints as ``declutter: message`` (exit 1), without a traceback."""
    return DeclutterError(message)


def times(args: argparse.Namespace) -> tuple[datetime | None, datetime | None]:
    """``--from`` and ``--to`` as UTC times, each error naming the option it came from."""
    from crawler.catalogue.times import BadTime, parse_time

    try:
        since = parse_time(args.since, "--from")
        until = parse_time(args.until, "--to", end=True)
    except BadTime as exc:
        raise error(str(exc)) from None
    if since and until and since > until:
        raise error("--from must come before --to")
    return since, until


def until_exclusive(until: datetime | None) -> datetime | None:
    """The catalogue's upper bound is exclusive; the CLI's ``--to`` includes its last moment."""
    from datetime import timedelta

    return until + timedelta(microseconds=1) if until else None


def sqlite_file(settings: config.Settings) -> Path | None:
    """The SQLite file the catalogue lives in, or None when it is a PostgreSQL database."""
    url = settings.database_url.strip()
    if not url:
        return settings.sqlite_path
    if url.startswith("sqlite:///"):
        return Path(url[len("sqlite:///"):])
    return None


def require_catalogue(settings: config.Settings) -> None:
    """Refuse to read a catalogue that does not exist, instead of opening (creating) an empty one.

    Opening SQLite creates the file; from the wrong folder or with the wrong settings that used to
    leave an empty catalogue behind and answer "no captures", as if the archive had lost them.
    """
    path = sqlite_file(settings)
    if path is None or path.is_file():
        return
    raise error(
        f"there is no catalogue at {path}. Point DECLUTTER_DATA_DIR at the data folder that "
        "holds catalogue.sqlite3 (`make run` keeps it in the checkout's ./data), or "
        "DECLUTTER_DATABASE_URL at your catalogue (postgresql://... or sqlite:///path/catalogue.sqlite3)"
    )


def describe(catalogue: Any) -> str:
    """Which catalogue was read (password hidden), for answers that found nothing."""
    engine = getattr(catalogue, "engine", None)
    return engine.describe() if engine is not None else repr(catalogue)


def nothing_in(catalogue: Any) -> str:
    """Where an empty answer came from, and whether the catalogue holds anything at all."""
    where = f"the catalogue {describe(catalogue)}"
    if not catalogue.list_captures(limit=1)[0]:
        where += (
            " holds no captures at all; set DECLUTTER_DATA_DIR or DECLUTTER_DATABASE_URL"
            " to read another"
        )
    return where


def read_catalogue(settings: config.Settings) -> Catalogue:
    """The existing catalogue, or an error saying what to set; never a new empty one."""
    from crawler.catalogue import CatalogueError, open_catalogue

    require_catalogue(settings)
    try:
        return open_catalogue(settings)
    except CatalogueError as exc:
        raise error(str(exc)) from None
    except Exception as exc:
        raise error(
            f"cannot open the catalogue ({type(exc).__name__}: {exc}); check "
            "DECLUTTER_DATABASE_URL and that the database is running"
        ) from None


def read_archiver(settings: config.Settings) -> Archiver:
    """Catalogue and object store together (``show``, ``export``, ``verify`` read both)."""
    from crawler.archive import Archiver

    require_catalogue(settings)
    try:
        return Archiver.from_settings(settings)
    except Exception as exc:
        raise error(
            f"cannot open the archive ({type(exc).__name__}: {exc}); check DECLUTTER_S3_ENDPOINT, "
            "DECLUTTER_DATABASE_URL and that both services run"
        ) from None


def require_capture(catalogue: Catalogue, capture_id: str) -> Any:
    row = catalogue.get_capture(capture_id)
    if row is None:
        raise error(
            f"no capture with id {capture_id!r}; list them with `declutter captures URL`"
        )
    return row


def target(text: str) -> tuple[str, str]:
    """The URL and match type of an address as the Wayback CDX server reads its ``url=``.

    ``*.example.com`` is the domain with its subdomains, ``example.com/news*`` every URL starting
    so; without a scheme it is http (the url key ignores the scheme, so https captures match).
    """
    from urllib.parse import urlsplit

    url, match = text.strip(), "exact"
    if url.startswith("*."):
        url, match = url[2:], "domain"
    elif url.endswith("*"):
        url, match = url[:-1], "prefix"
    if "://" not in url:
        url = "http://" + url
    if not urlsplit(url).hostname:
        raise error(
            f"{text!r} is not an address; give one like example.com/a, https://example.com/a,"
            " example.com/news* (a prefix) or *.example.com (a domain)"
        )
    return url, match


