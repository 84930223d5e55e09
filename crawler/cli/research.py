"""Researchers' commands: list, read, search, compare and export what the archive keeps.

``declutter captures``, ``show``, ``search``, ``diff`` and ``export`` read the same catalogue and
objects as the server's API, through the same functions, so the CLI and the API never disagree.
They only read: none of them creates a catalogue, and each says which catalogue it read when it
finds nothing, because an empty answer from the wrong data folder looks like an empty archive.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from crawler import config
from crawler.cli.reading import (
    error,
    nothing_in,
    read_archiver,
    read_catalogue,
    require_capture,
    target,
    times,
    until_exclusive,
)

EXPORT_FORMATS = ("warc", "wacz", "jsonl", "csv")


def register(subparsers: argparse._SubParsersAction) -> None:
    _register_captures(subparsers)
    _register_show(subparsers)
    _register_search(subparsers)
    _register_diff(subparsers)
    _register_export(subparsers)


def _register_captures(subparsers: argparse._SubParsersAction) -> None:
    captures = subparsers.add_parser(
        "captures",
        help="list the captures of a URL, oldest first",
        description=(
            "List the captures of URL kept in the catalogue, oldest first. As at the Wayback CDX "
            "server, the scheme may be left out, example.com/news* lists every URL under that "
            "prefix and *.example.com the domain with its subdomains."
        ),
    )
    captures.add_argument("url", metavar="URL")
    _time_range(captures)
    captures.add_argument("--limit", type=int, default=1000, help="at most this many (default 1000)")
    captures.add_argument("--json", action="store_true", help="one JSON object per line")
    captures.set_defaults(func=run_captures)


def _register_show(subparsers: argparse._SubParsersAction) -> None:
    show = subparsers.add_parser(
        "show",
        help="print one capture: its clean text, raw response or JSON",
        description="Print capture ID: a summary and its clean text (default), or one view of it.",
    )
    show.add_argument("id", metavar="ID")
    view = show.add_mutually_exclusive_group()
    view.add_argument("--raw", action="store_true", help="the response body as it was received")
    view.add_argument("--text", action="store_true", help="the clean text only")
    view.add_argument("--json", action="store_true", help="the catalogue row and the article")
    show.set_defaults(func=run_show)


def _register_search(subparsers: argparse._SubParsersAction) -> None:
    search = subparsers.add_parser(
        "search",
        help="full-text search of the clean text of every capture",
        description=(
            'Search the clean text: all WORDS must match, "exact phrases" rank first, '
            "-word excludes."
        ),
    )
    # argparse takes `-bridge` for an unknown option; this parser reads it as a query word.
    search.__class__ = _QueryParser
    search.add_argument("query", metavar="QUERY", nargs="+")
    search.add_argument("--site", help="only captures on this domain (and its subdomains)")
    _time_range(search)
    search.add_argument("--limit", type=int, default=20, help="at most this many (default 20)")
    search.add_argument("--offset", type=int, default=0, help="skip this many hits first (paging)")
    search.add_argument(
        "--all",
        action="store_true",
        help="every matching capture (default: one hit per URL and text version, its newest capture)",
    )
    search.add_argument("--json", action="store_true", help="one JSON object per line")
    search.set_defaults(func=run_search)


def _register_diff(subparsers: argparse._SubParsersAction) -> None:
    diff = subparsers.add_parser(
        "diff",
        help="show how an article's clean text changed between two captures",
        description="Word-level diff of the clean text of capture A (before) and B (after).",
    )
    diff.add_argument("a", metavar="A")
    diff.add_argument("b", metavar="B")
    diff.add_argument("--json", action="store_true", help="the diff as JSON operations")
    diff.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour insertions and deletions (default: when printing to a terminal)",
    )
    diff.set_defaults(func=run_diff)


def _register_export(subparsers: argparse._SubParsersAction) -> None:
    export = subparsers.add_parser(
        "export",
        help="export captures as WARC, WACZ, JSONL or CSV",
        description=(
            "Export the captures of one URL or one site. WARC and WACZ keep the exchanged bytes "
            "(WACZ opens in ReplayWeb.page and pywb); JSONL and CSV hold the clean articles."
        ),
    )
    which = export.add_mutually_exclusive_group(required=True)
    which.add_argument("--url", help="the captures of this URL")
    which.add_argument("--site", help="the captures on this domain (and its subdomains)")
    _time_range(export)
    export.add_argument("--format", choices=EXPORT_FORMATS, required=True)
    export.add_argument(
        "-o", "--output", required=True, type=Path, metavar="FILE",
        help="the file to write, or - for standard output",
    )
    export.add_argument(
        "--sign",
        action="store_true",
        help="sign a WACZ (datapackage-digest.json) with the archive's key, or through the "
        "authsign server at DECLUTTER_SIGNING_URL; `declutter key show` prints the public key",
    )
    export.add_argument(
        "--progress",
        choices=("auto", "always", "never"),
        default="auto",
        help="a progress bar on standard error (default: when it is a terminal)",
    )
    export.set_defaults(func=run_export)

class _QueryParser(argparse.ArgumentParser):
    """Reads ``-word`` as a search word (an exclusion) unless it is one of the command's options.

    Plain argparse rejects ``declutter search the -bridge`` ("unrecognized arguments") and reads
    ``-hello`` as ``-h ello``; the query syntax the help describes needs such words to be positional.
    """

    def _parse_optional(self, arg_string: str) -> Any:
        if (
            arg_string[:1] == "-"
            and arg_string[1:2] not in {"", "-"}
            and not arg_string[1:2].isdigit()
            and arg_string not in self._option_string_actions
        ):
            return None
        return super()._parse_optional(arg_string)


def _time_range(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from",
        dest="since",
        metavar="WHEN",
        help="from this time on (2024-05-01, 2024-05-01T12:00:00Z or 20240501)",
    )
    parser.add_argument("--to", dest="until", metavar="WHEN", help="up to this time (inclusive)")


# --- shared plumbing ---------------------------------------------------------------------


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")


# --- commands ----------------------------------------------------------------------------


def run_captures(args: argparse.Namespace) -> int:
    since, until = times(args)
    url, match = target(args.url)
    with read_catalogue(config.load()) as catalogue:
        rows, _ = catalogue.list_captures(
            url, since=since, until=until_exclusive(until), limit=max(1, args.limit), match=match
        )
        changed = {
            change.to_id
            for page in {row.url for row in rows}
            for change in catalogue.changes(page, limit=10_000)
        }
        where = nothing_in(catalogue) if not rows else ""
    if not rows:
        when = " in that time range" if since or until else ""
        print(f"no captures of {args.url}{when} in {where}", file=sys.stderr)
        return 1
    for row in rows:
        if args.json:
            _print_json({**row.to_dict(), "changed": row.id in changed})
            continue
        flags = ("revisit" if row.revisit else "") + (" changed" if row.id in changed else "")
        flags += " reader" if row.source == "reader" else ""
        name = row.title or row.url
        print(
            f"{row.id}  {_when(row.captured_at)}  {row.status}  {row.word_count:>6} words"
            f"  {flags.strip() or '-':<8}  {name if match == 'exact' else f'{row.url}  {name}'}"
        )
    return 0


def run_show(args: argparse.Namespace) -> int:
    settings = config.load()
    with read_archiver(settings) as archiver:
        row = require_capture(archiver.catalogue, args.id)
        if args.raw:
            _, _, body = archiver.read_raw(row.id)
            sys.stdout.buffer.write(body)
            sys.stdout.buffer.flush()
            return 0
        article = archiver.read_article(row.id)
        original = archiver.catalogue.get_capture(row.revisit_of) if row.revisit_of else None
    if args.json:
        _print_json({"capture": row.to_dict(), "article": article.to_dict()})
        return 0
    if args.text:
        sys.stdout.write(article.text + ("\n" if not article.text.endswith("\n") else ""))
        return 0
    print(article.title or row.title or "(no title)")
    origin = (
        f"as the reader's browser showed it (the server could not fetch it: {row.fetch_error})"
        if row.source == "reader"
        else f"HTTP {row.status}"
    )
    print(f"{row.url}\ncaptured {_when(row.captured_at)} UTC, {origin}, "
          f"{article.word_count} words" + (f", by {article.byline}" if article.byline else ""))
    if row.revisit:
        since = f" (captured {_when(original.captured_at)} UTC)" if original else ""
        print(f"a revisit: the page was the same as capture {row.revisit_of}{since},"
              " so only a reference to it was stored")
    print()
    print(article.text or "(no article text was found on this page)")
    return 0


def run_search(args: argparse.Namespace) -> int:
    from crawler.catalogue import BadQuery

    since, until = times(args)
    query = " ".join(args.query)
    with read_catalogue(config.load()) as catalogue:
        try:
            hits = catalogue.search(
                query, site=args.site, since=since, until=until_exclusive(until),
                limit=max(1, args.limit), offset=max(0, args.offset), collapse=not args.all,
            )
        except BadQuery as exc:
            raise error(str(exc)) from None
        where = nothing_in(catalogue) if not hits else ""
    if not hits:
        print(f"nothing matches {query!r} in {where}", file=sys.stderr)
        return 1
    for hit in hits:
        if args.json:
            _print_json(hit.to_dict())
            continue
        row = hit.capture
        print(f"{row.id}  {_when(row.captured_at)}  {row.title or '(no title)'}\n  {row.url}")
        if hit.capture_count > 1 and hit.first_captured_at is not None:
            print(f"  {hit.capture_count} captures with this text, first {_when(hit.first_captured_at)}")
        print("  " + _plain_snippet(hit.snippet))
    return 0


def _plain_snippet(snippet: str) -> str:
    import html

    text = snippet.replace("<mark>", "\x00").replace("</mark>", "\x01")
    text = html.unescape(text)
    if sys.stdout.isatty():
        return text.replace("\x00", "\x1b[1m").replace("\x01", "\x1b[0m")
    return text.replace("\x00", "").replace("\x01", "")


def run_diff(args: argparse.Namespace) -> int:
    from crawler.catalogue.diff import diff_captures

    with read_catalogue(config.load()) as catalogue:
        for capture_id in (args.a, args.b):
            require_capture(catalogue, capture_id)
        result = diff_captures(catalogue, args.a, args.b)
    if args.json:
        _print_json(result.to_dict())
        return 0
    color = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
    before, after = result.before, result.after
    print(f"--- {before.id}  {_when(before.captured_at)}  {before.title or ''}")
    print(f"+++ {after.id}  {_when(after.captured_at)}  {after.title or ''}")
    if result.title_changed:
        print(f"title: {before.title!r} -> {after.title!r}")
    if not result.text.changed:
        print("the clean text is the same")
        return 0
    print(f"{result.text.words_added} words added, {result.text.words_removed} removed\n")
    print(result.text.to_terminal(color=color))
    return 0


def run_export(args: argparse.Namespace) -> int:
    from crawler.catalogue import BadQuery
    from crawler.research.export import Exporter, ExportError, Selection
    from crawler.research.signing import signer_for
    from crawler.snapshot.store import StorageError

    since, until = times(args)
    output = _output(args.output, args.format)
    url = target(args.url)[0] if args.url else None
    try:
        selection = Selection(url=url, site=args.site, since=since, until=until_exclusive(until))
    except ExportError as exc:
        raise error(str(exc)) from None
    show = args.progress == "always" or (args.progress == "auto" and sys.stderr.isatty())
    settings = config.load()
    if args.sign and args.format != "wacz":
        raise error("only a WACZ can be signed: use --format wacz with --sign")
    signer = signer_for(settings.data_dir, settings.signing_url) if args.sign else None
    with read_archiver(settings) as archiver:
        exporter = Exporter(archiver.catalogue, archiver, signer=signer)
        try:
            total = exporter.count(selection)
            if total == 0:
                where = nothing_in(archiver.catalogue)
                raise error(f"no {selection.describe()} in {where}; nothing was written")
            size = _export_with_progress(exporter, selection, args.format, output, total, show)
        except (ExportError, BadQuery) as exc:
            raise error(str(exc)) from None
        except StorageError as exc:
            left = f"{output} was not written" if output else "standard output holds a part of it"
            raise error(f"{exc}; the export stopped and {left}") from None
    print(f"wrote {total} captures ({size / 1e6:.1f} MB) to {output or 'standard output'}", file=sys.stderr)
    return 0


def _output(output: Path, fmt: str) -> Path | None:
    """The file to write, or None for standard output (``-o -``, as most tools read it)."""
    if str(output) == "-":
        if fmt in {"warc", "wacz"} and sys.stdout.isatty():
            raise error(
                f"a {fmt.upper()} export is binary; redirect standard output to a file"
                f" (> export.{fmt}) or give -o FILE"
            )
        return None
    if output.is_dir():
        raise error(f"{output} is a directory; give a file name such as export.{fmt}")
    if not output.parent.exists():
        raise error(f"{output.parent} does not exist; create it or choose another -o FILE")
    return output


def _write(
    exporter: Any, selection: Any, fmt: str, output: Path | None, progress: Any = None
) -> int:
    if output is not None:
        return exporter.export_to(selection, fmt, output, progress=progress)
    size = 0
    stdout = sys.stdout.buffer
    for chunk in exporter.export(selection, fmt, progress=progress):
        stdout.write(chunk)
        size += len(chunk)
    stdout.flush()
    return size


def _export_with_progress(
    exporter: Any, selection: Any, fmt: str, output: Path | None, total: int, show: bool
) -> int:
    if not show:
        return _write(exporter, selection, fmt, output)
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("exporting"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("captures  {task.fields[megabytes]:.1f} MB"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task("export", total=total, megabytes=0.0)
        size = _write(
            exporter, selection, fmt, output,
            lambda done, written: bar.update(task, completed=done, megabytes=written / 1e6),
        )
        bar.update(task, completed=total)
        return size
