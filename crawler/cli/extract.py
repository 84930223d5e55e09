"""`declutter extract`: the engine from the command line, over files, stdin or URLs.

With ``--format jsonl`` it reads any number of sources in one process (benchmarks feed it hundreds
of pages) and a failing source becomes an error line instead of ending the run.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import sys
from pathlib import Path

from crawler import config
from crawler.extract import ExtractionError, extract
from crawler.extract.article import Article

FORMATS = ("text", "json", "jsonl", "html")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "extract",
        help="print the clean article of pages (files, - for stdin, or http(s) URLs)",
        description=(
            "Extract the article from each SOURCE: a file (.gz files are decompressed), '-' for "
            "standard input, or an http(s) URL (fetched with the configured timeout and size cap)."
        ),
    )
    parser.add_argument("sources", nargs="+", metavar="SOURCE")
    parser.add_argument("--format", choices=FORMATS, default="text", help="output (default: text)")
    parser.add_argument("--url", help="the page's address, for links and metadata (file/stdin)")
    parser.set_defaults(func=run)


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def _read(source: str, settings: config.Settings) -> tuple[bytes, str | None, str | None]:
    """(body, content type, final URL) of one source."""
    from crawler.errors import DeclutterError

    if source == "-":
        return sys.stdin.buffer.read(settings.max_page_bytes + 1), None, None
    if _is_url(source):
        from crawler.fetch import FetchError, fetch

        try:
            result = asyncio.run(
                fetch(source, timeout=settings.fetch_timeout, max_bytes=settings.max_page_bytes)
            )
        except FetchError as exc:
            raise DeclutterError(str(exc)) from None
        if result.status >= 400:
            raise DeclutterError(f"{source}: the server answered {result.status} {result.reason}")
        return result.body, result.content_type or None, result.final_url
    path = Path(source)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as handle:
            return handle.read(settings.max_page_bytes + 1), None, None
    except FileNotFoundError:
        raise DeclutterError(f"{source}: no such file") from None
    except IsADirectoryError:
        raise DeclutterError(f"{source}: is a directory, give the HTML files inside it") from None
    except (OSError, EOFError) as exc:
        raise DeclutterError(f"{source}: cannot read it ({getattr(exc, 'strerror', None) or exc})") from None


def _article(source: str, url: str | None, settings: config.Settings, explain: bool = False) -> Article:
    from crawler.errors import DeclutterError

    body, content_type, final_url = _read(source, settings)
    try:
        return extract(body, url or final_url, content_type=content_type, explain=explain)
    except ExtractionError as exc:
        raise DeclutterError(f"{source}: {exc}") from None


def _render(article: Article, fmt: str) -> str:
    if fmt == "text":
        head = article.title or ""
        return f"{head}\n\n{article.text}" if head else article.text
    if fmt == "html":
        return article.html
    if fmt == "json":
        return json.dumps(article.to_dict(), ensure_ascii=False, indent=2)
    return json.dumps(article.to_dict(), ensure_ascii=False)


def run(args: argparse.Namespace) -> int:
    from crawler.errors import DeclutterError

    settings = config.load()
    many = len(args.sources) > 1
    if args.url and many:
        raise DeclutterError("--url names one page: give it with a single SOURCE")
    if args.format == "jsonl":
        failed = 0
        out = sys.stdout
        for source in args.sources:
            try:
                line = _render(_article(source, args.url, settings), "jsonl")
            except DeclutterError as exc:
                failed += 1
                if not many:
                    print(f"declutter: {exc}", file=sys.stderr)
                message = str(exc).removeprefix(f"{source}: ")
                line = json.dumps({"source": source, "error": message}, ensure_ascii=False)
            out.write(line + "\n")
            out.flush()
        return 1 if failed == len(args.sources) or (failed and not many) else 0
    if not many:
        explain = args.format == "json"  # the one format meant for a person to inspect
        print(_render(_article(args.sources[0], args.url, settings, explain), args.format))
        return 0
    failed = 0
    for index, source in enumerate(args.sources):
        try:
            rendered = _render(_article(source, args.url, settings, args.format == "json"), args.format)
        except DeclutterError as exc:
            failed += 1
            print(f"declutter: {exc}", file=sys.stderr)
            continue
        if index:
            print("\n" + ("-" * 72) + "\n" if args.format != "json" else "")
        print(rendered)
    return 1 if failed else 0
